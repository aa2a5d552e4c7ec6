"""The outputs of one ``hmm-core`` run, written so that no run loses data.

Before any work, :class:`Outputs` refuses an output that is one of the
inputs or another output (the same file under any name: a path through
``..``, a hard link, a symbolic link), and creates every output under a
temporary name in its destination's directory, which proves the destination
writable. The command writes (and streams) into the temporary files; when it
succeeds they are renamed over their destinations, and when it fails they
are removed, so a failed run never leaves a partial file, nor replaces an
earlier result. ``-`` is standard output, written as the run goes; an
existing destination that is not a regular file (``/dev/null``, a pipe), and
a path through ``/proc`` (``/dev/stdout``, ``/dev/fd/3``), is written in
place, and appended to: renaming over it would replace the device, or the
file the shell opened, itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile

from hmm_core.cli._parser import UsageError

__all__ = ["Outputs", "numpy_name", "output_format"]

# Output formats by extension (after a ``.gz`` suffix, which compresses any of them).
_OUTPUT_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv",
                      ".npz": "npz", ".npy": "npy", ".bed": "bed", ".bedgraph": "bedgraph",
                      ".bdg": "bedgraph", ".bg": "bedgraph", ".fa": "fasta",
                      ".fasta": "fasta", ".fna": "fasta"}


def is_gzip(path):
    """Whether an output is gzip-compressed: its name ends with ``.gz``."""
    return path not in (None, "-") and path.lower().endswith(".gz")


def extension_of(path):
    """The extension of ``path`` that names its format (``.gz`` stripped), lower case."""
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return os.path.splitext(os.path.basename(name))[1]


def output_format(option, path, explicit, choices, default="csv", flag="--output-format"):
    """The format of an output: ``explicit``, else its extension's, else ``default``.

    The extension is a hint: an explicit format wins over it. Standard output
    and a destination that is not a regular file (``/dev/null``, a pipe)
    without a known extension get ``default``; any other path whose
    extension names no format of ``choices`` is refused, never written as
    CSV by default.

    Parameters
    ----------
    option : str
        The option, for messages (``"-o/--output"``).
    path : str or None
        The destination; None or ``-`` is standard output.
    explicit : str or None
        The format given on the command line.
    choices : sequence of str
        The formats this output can be written in.
    default : str
        The format of standard output.
    flag : str
        The option that sets the format, for messages.

    Returns
    -------
    str
    """
    if explicit is not None:
        return explicit
    if path in (None, "-"):
        return default
    ext = extension_of(path)
    fmt = _OUTPUT_EXTENSIONS.get(ext)
    if fmt is None and (_in_place(path) and os.path.exists(path)):
        return default
    if fmt is None:
        raise UsageError(f"{option} {path}: cannot tell the output format from the extension "
                         f"{ext or '(none)'!r}; name the file .{choices[0]} or pass {flag} "
                         f"({', '.join(choices)})")
    if fmt not in choices:
        raise UsageError(f"{option} {path}: this command does not write {fmt} (extension "
                         f"{ext!r}); choose one of {', '.join(choices)}, or pass {flag}")
    return fmt


def numpy_name(path, suffix):
    """The file NumPy writes for ``path``: it adds ``suffix`` unless already there."""
    if path is None or path.endswith(suffix):
        return path
    return path + suffix


def _same_file(a, b):
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _regular_or_new(path):
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:  # missing, or under a missing directory: checked later
        return True


def _through_proc(path):
    """Whether ``path`` reaches its file through ``/proc`` (``/dev/stdout``, ``/dev/fd/3``)."""
    path = os.path.abspath(path)
    for _ in range(40):  # as many symbolic links as the kernel follows
        directory = os.path.realpath(os.path.dirname(path))
        if directory == "/proc" or directory.startswith("/proc/"):
            return True
        if not os.path.islink(path):
            return False
        path = os.path.join(os.path.dirname(path), os.readlink(path))
    return False


def _in_place(path):
    """Whether ``path`` is written where it is: a device, a pipe, an open descriptor.

    ``/dev/stdout`` may resolve to a regular file that the shell opened, maybe
    for appending: renaming over it would drop what the shell wrote there.
    """
    return _through_proc(path) or not _regular_or_new(os.path.realpath(path))


class _Output:
    """One destination: its option, the user's path and where it is written."""

    def __init__(self, option, path):
        self.option, self.path = option, path
        self.stdout = path == "-"
        self.staged = not self.stdout and not _in_place(path)
        # Replace the file a symbolic link points to, not the link itself.
        self.target = os.path.realpath(path) if self.staged else path
        self.temp = None
        self.handle = None

    def check(self):
        """Fail (exit status 1) when the destination cannot be written."""
        if os.path.isdir(self.target):
            raise IsADirectoryError(21, "Is a directory", self.path)
        directory = os.path.dirname(os.path.abspath(self.target))
        if not os.path.isdir(directory):
            raise FileNotFoundError(2, "No such directory", self.path)
        if os.path.exists(self.target) and not os.access(self.target, os.W_OK):
            raise PermissionError(13, "Permission denied", self.path)

    def stage(self, mode_of_new):
        """Create the temporary file (this also proves the directory writable)."""
        if not self.staged:
            return
        directory, name = os.path.split(self.target)
        try:
            fd, self.temp = tempfile.mkstemp(prefix=f".{name[:200]}.", suffix=".tmp",
                                             dir=directory)
        except OSError as exc:
            raise type(exc)(exc.errno, exc.strerror, self.path) from None
        os.close(fd)
        try:
            self.mode = stat.S_IMODE(os.stat(self.target).st_mode)
        except FileNotFoundError:
            self.mode = mode_of_new

    def where(self):
        return self.temp if self.staged else self.target

    def close(self):
        handle, self.handle = self.handle, None
        if handle is None:
            return
        if handle is sys.stdout:
            handle.flush()
        else:
            handle.close()

    def commit(self):
        if self.staged:
            # The writer may have replaced the temporary file (model files do).
            os.chmod(self.temp, self.mode)
            os.replace(self.temp, self.target)
            self.temp = None

    def discard(self):
        if self.temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.temp)
            self.temp = None


class Outputs:
    """Context manager for the outputs of one command.

    Parameters
    ----------
    inputs : sequence of (str, str or None)
        What each input is (``"model file"``) and its path.
    outputs : sequence of (str, str or None)
        Each output's option (``"-o/--output"``) and its path; ``None`` is
        not written, ``"-"`` is standard output.

    Raises
    ------
    UsageError
        On entering, for an output that is an input or another output.
    OSError
        On entering, for an output that cannot be written.
    """

    def __init__(self, inputs, outputs):
        self._inputs = [(what, path) for what, path in inputs if path is not None]
        self._outputs = {option: _Output(option, path) for option, path in outputs
                         if path is not None}

    def __enter__(self):
        self._refuse_shared_files()
        for out in self._outputs.values():
            if not out.stdout:
                out.check()
        mask = os.umask(0o022)
        os.umask(mask)
        try:
            for out in self._outputs.values():
                out.stage(0o666 & ~mask)
        except BaseException:
            self._discard()
            raise
        return self

    def __exit__(self, kind, exc, traceback):
        if kind is not None:
            self._discard()
            return False
        try:
            for out in self._outputs.values():
                out.close()
            for out in self._outputs.values():
                out.commit()
        except BaseException:
            self._discard()
            raise
        return False

    def _discard(self):
        for out in self._outputs.values():
            with contextlib.suppress(OSError):
                out.close()
            out.discard()

    def _refuse_shared_files(self):
        seen = []
        for out in self._outputs.values():
            if not out.staged:
                continue  # standard output, /dev/null, a pipe: nothing to destroy
            for what, path in self._inputs:
                if _same_file(out.path, path):
                    raise UsageError(f"{out.option} {out.path} is the same file as the {what} "
                                     f"{path}: choose another output")
            for other in seen:
                if _same_file(out.path, other.path):
                    raise UsageError(f"{out.option} {out.path} is the same file as "
                                     f"{other.option} {other.path}: choose another output")
            seen.append(out)

    def open(self, option, mode="w"):
        """A handle on the output of ``option``, closed on leaving; ``-`` is stdout.

        Text handles are UTF-8 without newline translation. A destination
        named ``*.gz`` is written gzip-compressed.
        """
        out = self._outputs[option]
        if out.stdout:
            out.handle = sys.stdout
            return out.handle
        if not out.staged:  # never truncate what the shell may have written before
            mode = mode.replace("w", "a")
        if is_gzip(out.path):  # name.gz: compressed, whatever the format
            import gzip

            if "b" in mode:
                out.handle = gzip.open(out.where(), mode)
            else:
                text = ("a" if "a" in mode else "w") + "t"
                out.handle = gzip.open(out.where(), text, newline="", encoding="utf-8")
        elif "b" in mode:
            out.handle = open(out.where(), mode)  # noqa: SIM115
        else:
            out.handle = open(out.where(), mode, newline="", encoding="utf-8")  # noqa: SIM115
        return out.handle

    def save(self, option, write):
        """Write the output of ``option`` with ``write(path)``, a writer that needs a file name.

        A destination that is standard output or not a regular file gets a
        copy of what ``write`` wrote to a private temporary directory.
        """
        out = self._outputs[option]
        if out.staged:
            write(out.temp)
            return
        with tempfile.TemporaryDirectory(prefix="hmm_core-") as directory:
            path = os.path.join(directory, "output")
            write(path)
            with open(path, "rb") as source:
                if out.stdout:
                    sys.stdout.flush()
                    shutil.copyfileobj(source, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
                else:
                    with open(out.target, "ab") as destination:
                        shutil.copyfileobj(source, destination)
