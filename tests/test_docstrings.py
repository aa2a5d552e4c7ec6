"""Every public name of hmm_core passes numpydoc's own validator.

Public names are the ``__all__`` of the package and of every public submodule
(no leading underscore in any part of its dotted name; ``hmm_core.kernels`` is
the kernels' internal Python face), and the public methods and properties
those classes define. Each is checked with :func:`numpydoc.validate.validate`
for the codes in ``CHECKED``: a docstring with a summary, every argument
described (in signature order, nothing unknown), a ``Returns`` or ``Yields``
section when something is returned, known sections in the standard order.
A method that implements an interface documented in a base class (an emission
model's ``log_frameprob``, say) is checked where the interface is documented.
"""

import importlib
import inspect
import pkgutil

import pytest

import hmm_core

numpydoc_validate = pytest.importorskip("numpydoc.validate")

CHECKED = {
    "GL06": "unknown section",
    "GL07": "sections in the wrong order",
    "GL08": "no docstring",
    "SS01": "no summary",
    "SS02": "summary does not start with a capital letter",
    "SS05": "summary starts with a third-person verb",
    "PR01": "a parameter is not documented",
    "PR02": "an unknown parameter is documented",
    "PR03": "parameters in the wrong order",
    "PR08": "a parameter description does not start with a capital letter",
    "RT01": "no Returns section",
    "RT02": "the first Returns line is not only the type",
    "RT04": "a return description does not start with a capital letter",
    "SA03": "a See Also description is not capitalised",
    "YD01": "no Yields section",
}

MODULES = ["hmm_core"] + sorted(
    info.name for info in pkgutil.walk_packages(hmm_core.__path__, prefix="hmm_core.")
    if not any(part.startswith("_") for part in info.name.split(".")[1:])
    and not info.name.startswith("hmm_core.kernels")
)
# Documented where they are defined (a NamedTuple's fields, a plain constant).
SKIP_KINDS = (int, float, str, dict, tuple, list)


def _members(cls):
    """Public methods and properties that hmm_core defines on cls or its bases."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(cls, name)
        func = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
        if (inspect.isfunction(func) or isinstance(member, property)) and \
                getattr(func, "__module__", "").startswith("hmm_core"):
            yield name, func


def _interface(cls, name):
    """Qualified name of the outermost hmm_core base class that defines name."""
    found = None
    for klass in cls.__mro__[1:]:
        if name in vars(klass) and klass.__module__.startswith("hmm_core"):
            found = f"{klass.__module__}.{klass.__qualname__}.{name}"
    return found


def _public_names():
    seen = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        assert module.__doc__ and module.__doc__.strip(), f"{module_name} has no module docstring"
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.ismodule(obj) or isinstance(obj, SKIP_KINDS):
                continue
            where = f"{module_name}.{attr}"
            seen.setdefault(id(obj), (where, where))
            if inspect.isclass(obj) and not issubclass(obj, Exception):
                for name, _ in _members(obj):
                    interface = _interface(obj, name)
                    seen.setdefault((id(obj), name),
                                    (f"{where}.{name}", interface or f"{where}.{name}"))
    return sorted(set(seen.values()))


PUBLIC = _public_names()


@pytest.mark.parametrize("where,checked", PUBLIC, ids=[where for where, _ in PUBLIC])
def test_public_name_passes_numpydoc_validation(where, checked):
    errors = numpydoc_validate.validate(checked)["errors"]
    problems = [f"{code} ({CHECKED[code]}): {message}" for code, message in errors
                if code in CHECKED]
    assert not problems, f"{where} (checked as {checked}):\n" + "\n".join(problems)


def test_the_walk_covers_the_main_api():
    names = {where for where, _ in PUBLIC}
    for expected in ("hmm_core.GaussianHMM", "hmm_core.load", "hmm_core.forward",
                     "hmm_core.plot.plot_trellis", "hmm_core.io.formats.read_observations",
                     "hmm_core.cli.main", "hmm_core.structure.topology.left_right",
                     "hmm_core.GaussianHMM.fit", "hmm_core.MarkovChain.stationary_distribution"):
        assert expected in names
