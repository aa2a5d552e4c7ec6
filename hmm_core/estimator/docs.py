"""Class docstrings whose ``Parameters`` section is assembled from shared entries.

Parameters that several classes share (the chain settings of every HMM, the
state settings of the Markov chains) are documented once, as numpydoc
entries in a mapping. A class documents only its own parameters (or a shared
one it describes differently); :func:`document_parameters` builds the full
section in constructor order.
"""

from __future__ import annotations

import inspect
import textwrap

from hmm_core.io.codec import init_names

__all__ = ["document_parameters"]


def _sections(lines):
    """Index of every numpydoc section header (a line underlined with dashes)."""
    return [i for i in range(len(lines) - 1)
            if lines[i].strip() and set(lines[i + 1].strip()) == {"-"}
            and len(lines[i + 1].strip()) == len(lines[i].strip())]


def _entries(lines):
    """Split a Parameters section body into {first name: entry lines} and all names."""
    entries, names = {}, {}
    current = None
    for line in lines:
        if line and not line[0].isspace():
            listed = [n.strip() for n in line.split(" : ")[0].split(",")]
            current = listed[0]
            entries[current] = [line]
            names.update(dict.fromkeys(listed, current))
        elif current is not None:
            entries[current].append(line)
    return entries, names


def _entry_lines(entry):
    """Lines of a shared entry: the header, then its description indented by four."""
    header, _, description = entry.strip().partition("\n")
    return [header] + textwrap.indent(textwrap.dedent(description), "    ").splitlines()


def document_parameters(klass, shared):
    """Rewrite ``klass.__doc__`` so its Parameters section covers every constructor argument.

    Parameters
    ----------
    klass : type
        A class with its own docstring; its ``Parameters`` section (which may
        be absent) holds the entries specific to it.
    shared : dict of str to str
        Numpydoc entries (``"name : type\\n    description"``) of shared
        parameters, by name; a class's own entry for a name wins.

    Returns
    -------
    str
        The new docstring (also assigned to ``klass.__doc__``).

    Raises
    ------
    TypeError
        If a constructor argument is documented nowhere.
    """
    lines = inspect.cleandoc(klass.__dict__["__doc__"]).splitlines()
    heads = _sections(lines)
    start = next((i for i in heads if lines[i].strip() == "Parameters"), None)
    if start is None:  # a section after the summary paragraphs
        start = heads[0] if heads else len(lines)
        lines[start:start] = ["Parameters", "----------", ""]
        heads = _sections(lines)
    end = next((i for i in heads if i > start), len(lines))
    body = lines[start + 2:end]
    while body and not body[-1].strip():
        body.pop()
    own, covered = _entries(body)
    out = []
    for name in init_names(klass):
        if name in covered:
            out += own.pop(covered[name], [])
        elif name in shared:
            out += _entry_lines(shared[name])
        else:
            raise TypeError(f"{klass.__name__}: parameter {name!r} is not documented")
    for extra in own.values():  # entries for names that are not arguments
        out += extra
    lines[start + 2:end] = out + [""]
    klass.__doc__ = "\n".join(lines)
    return klass.__doc__
