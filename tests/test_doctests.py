"""Run the docstring examples of every hmm_core module (on the installed package).

``pytest --doctest-modules`` would import the source tree, which has no
compiled kernels; importing the modules and calling :func:`doctest.testmod`
runs the examples against the package that the tests import.
"""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import hmm_core

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(hmm_core.__path__, prefix="hmm_core.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    if name == "hmm_core.plot":
        pytest.importorskip("matplotlib")
    module = importlib.import_module(name)
    monkeypatch.chdir(tmp_path)
    # Print arrays the way the examples were written, whatever the caller set.
    with np.printoptions(legacy=False, precision=8, suppress=False):
        result = doctest.testmod(module, report=False,
                                 optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_key_modules_have_examples():
    finder = doctest.DocTestFinder()
    for name in ("hmm_core.io.modelfile", "hmm_core.io.formats", "hmm_core.plot",
                 "hmm_core.hmm.base", "hmm_core.models.categorical",
                 "hmm_core.structure.topology"):
        tests = finder.find(importlib.import_module(name))
        assert sum(len(t.examples) for t in tests) > 0, name


def _readme_blocks(heading):
    """The ```python blocks of one README section."""
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not beside the tests")
    text = readme.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def test_readme_quick_start_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = _readme_blocks("Quick start")[0]
    assert len(first.strip().splitlines()) <= 10
    namespace = {}
    exec(compile(first, "README quick start", "exec"), namespace)
    assert namespace["posteriors"].shape == (3000, 3)
    assert namespace["states"].shape == (3000,)


def test_readme_migration_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    block = _readme_blocks("Migrating from hmmlearn")[0]
    rng = np.random.RandomState(0)
    namespace = {"X": np.concatenate([rng.normal(0, 1, (150, 2)), rng.normal(4, 1, (150, 2))]),
                 "lengths": [100, 200]}
    exec(compile(block, "README migration", "exec"), namespace)
    assert namespace["X_new"].shape == (500, 2)
