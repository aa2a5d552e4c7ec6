"""The type stubs of the compiled kernels match the modules (mypy's stubtest).

Each compiled module in ``hmm_core.kernels`` has a ``.pyi`` stub beside its
``.pyx`` in ``src/``, installed beside the extension. stubtest imports the
built module and compares every name and signature with its stub; any
difference (a missing or extra function, a renamed or reordered argument, a
changed default) fails the test.
"""

import importlib
import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy.stubtest")

MODULES = ["_forward", "_viterbi", "_baumwelch", "_emissions", "_openmp_helpers", "_yardstick",
           "_semimarkov", "_blocks"]
SOURCE_STUBS = Path(__file__).resolve().parents[1] / "src"


def _stub(name):
    """The installed stub beside the extension, or (editable builds) the source one."""
    module = importlib.import_module(f"hmm_core.kernels.{name}")
    beside = Path(module.__file__).parent / f"{name}.pyi"
    if beside.exists():
        return beside
    source = SOURCE_STUBS / f"{name}.pyi"
    if not source.exists():
        pytest.fail(f"no stub for hmm_core.kernels.{name}")
    return source


def test_every_compiled_module_has_a_stub():
    import hmm_core.kernels as kernels

    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    folders = [Path(folder) for folder in kernels.__path__ if Path(folder).is_dir()]
    compiled = {path.name.split(".")[0] for folder in folders
                for path in folder.iterdir() if path.name.endswith(suffixes)}
    source = {path.stem for path in SOURCE_STUBS.glob("_*.pyx")} if SOURCE_STUBS.exists() else set()
    assert compiled | source == set(MODULES)


def test_stubs_match_the_compiled_modules(tmp_path):
    # stubtest finds stubs through MYPYPATH: lay them out as a package there
    # (an editable install serves the modules through an import hook, which
    # mypy does not see).
    package = tmp_path / "hmm_core" / "kernels"
    package.mkdir(parents=True)
    (tmp_path / "hmm_core" / "__init__.pyi").write_text("")
    (package / "__init__.pyi").write_text("")
    for name in MODULES:
        shutil.copy(_stub(name), package / f"{name}.pyi")
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", *(f"hmm_core.kernels.{name}" for name in MODULES)],
        cwd=tmp_path, env={**os.environ, "MYPYPATH": str(tmp_path)},
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
