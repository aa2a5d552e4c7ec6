"""Every public name of hmm_core has a numpydoc docstring.

Public names are the ``__all__`` of the package and of every public submodule
(no leading underscore in any part of its dotted name). Each function, class
and public method (defined in hmm_core) must have a docstring; one that takes
arguments must describe them in a ``Parameters`` section, and a function that
returns something must have a ``Returns`` (or ``Yields``) section.
"""

import importlib
import inspect
import pkgutil
import re

import pytest

import hmm_core

MODULES = ["hmm_core"] + sorted(
    info.name for info in pkgutil.walk_packages(hmm_core.__path__, prefix="hmm_core.")
    if not any(part.startswith("_") for part in info.name.split(".")[1:])
    and not info.name.startswith("hmm_core.kernels")  # internal: the kernels' Python face
)
# Documented where they are defined (a NamedTuple's fields, a plain constant).
SKIP_KINDS = (int, float, str, dict, tuple, list)


def _public_objects():
    seen = {}
    for name in MODULES:
        module = importlib.import_module(name)
        assert module.__doc__ and module.__doc__.strip(), f"{name} has no module docstring"
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.ismodule(obj) or isinstance(obj, SKIP_KINDS):
                continue
            seen.setdefault(id(obj), (f"{name}.{attr}", obj))
    return sorted(seen.values(), key=lambda item: item[0])


PUBLIC = _public_objects()


def _arguments(func):
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [p for p in signature.parameters.values() if p.name not in ("self", "cls")]


def _returns_something(func):
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    body = source.split('"""', 2)[-1]  # after the docstring
    return bool(re.search(r"^\s+(return\s+\S|yield\b)", body, re.MULTILINE))


def _problems_of_callable(where, func, method=False):
    doc = inspect.getdoc(func)
    if not doc or not doc.strip():
        return [f"{where} has no docstring"]
    if method and func.__name__.startswith("__"):
        return []
    problems = []
    if _arguments(func) and "Parameters\n----------" not in doc:
        # A method may point to the one it mirrors ("as scikit-learn's ...", "see ...").
        if not re.search(r"\b(see|as scikit-learn|as numpy)\b", doc, re.IGNORECASE):
            problems.append(f"{where}: no Parameters section")
    if _returns_something(func) and not re.search(r"Returns\n-------|Yields\n------", doc):
        problems.append(f"{where}: no Returns section")
    return problems


def _methods(cls):
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        func = member.fget if isinstance(member, property) else member
        if isinstance(func, (classmethod, staticmethod)):
            func = func.__func__
        if inspect.isfunction(func):
            yield name, member, func


def _problems(where, obj):
    if not inspect.isclass(obj):
        return _problems_of_callable(where, obj)
    doc = inspect.getdoc(obj)
    if not doc or not doc.strip():
        return [f"{where} has no docstring"]
    problems = []
    init = obj.__dict__.get("__init__")
    if init is not None and _arguments(init) and not issubclass(obj, Exception) and \
            "Parameters\n----------" not in doc:
        problems.append(f"{where}: no Parameters section")
    for klass in obj.__mro__:
        if not klass.__module__.startswith("hmm_core"):
            continue
        for name, member, func in _methods(klass):
            if isinstance(member, property):
                if not (member.__doc__ or "").strip():
                    problems.append(f"{where}.{name} (property) has no docstring")
            else:
                own = _problems_of_callable(f"{where}.{name}", func, method=True)
                if own and inspect.getdoc(func) and _documented_in_a_base(klass, name):
                    own = []  # an implementation of an interface documented there
                problems += own
    return problems


def _documented_in_a_base(klass, name):
    for base in klass.__mro__[1:]:
        member = vars(base).get(name)
        if inspect.isfunction(member) and base.__module__.startswith("hmm_core"):
            return not _problems_of_callable(name, member, method=True)
    return False


@pytest.mark.parametrize("where,obj", PUBLIC, ids=[name for name, _ in PUBLIC])
def test_public_name_has_a_numpydoc_docstring(where, obj):
    assert callable(obj), where
    problems = _problems(where, obj)
    assert not problems, "\n".join(problems)


def test_the_walk_covers_the_main_api():
    names = {name for name, _ in PUBLIC}
    for expected in ("hmm_core.GaussianHMM", "hmm_core.load", "hmm_core.forward",
                     "hmm_core.plot.plot_trellis", "hmm_core.io.formats.read_observations",
                     "hmm_core.cli.main", "hmm_core.structure.topology.left_right"):
        assert expected in names
    assert len(PUBLIC) > 60
