"""The ``hmm-core`` command line (also ``python -m hmm_core``).

Subcommands: ``fit`` a model to a data file and save it, ``score`` the
sequences of a file (streaming FASTA/FASTQ in chunks of bounded memory),
``decode`` state paths and posteriors, ``sample`` sequences, ``info`` about
the build or a model file, and the ``demo``. Data files: ``.npy``/``.npz``,
CSV/TSV, FASTA/FASTQ (see :mod:`hmm_core.io.formats`), several per command.
Outputs: CSV/TSV, ``.npz``/``.npy``, FASTA, BED segments and bedGraph
posteriors (:mod:`~hmm_core.cli._tracks`), named by ``--output-format`` or by
a known extension (:func:`~hmm_core.cli._outputs.output_format`), gzip-compressed
when the name ends in ``.gz``. A user mistake (missing
file, malformed input, wrong model file, mismatched dimensions) prints one
``hmm-core: error: ...`` line and exits with status 1 (2 for bad arguments,
such as an output that is an input or another output). An unexpected
exception (a bug) is reported on one line too, with status 3;
``HMM_CORE_TRACEBACK=1`` in the environment shows its traceback instead.
Every output is checked before the work and written under a temporary name,
renamed into place only when the command succeeds (see
:mod:`~hmm_core.cli._outputs`), so a failed run leaves no partial file.

The parser is in :mod:`~hmm_core.cli._parser`, the commands in
:mod:`~hmm_core.cli._fit` (``fit``), :mod:`~hmm_core.cli._inference` (``score``,
``decode``) and :mod:`~hmm_core.cli._model_commands` (``sample``, ``info``,
``demo``), their shared helpers in :mod:`~hmm_core.cli._common`.
"""

from __future__ import annotations

import os
import sys

from hmm_core.cli._common import OutOfMemory
from hmm_core.cli._fit import cmd_fit
from hmm_core.cli._inference import cmd_decode, cmd_score
from hmm_core.cli._model_commands import cmd_demo, cmd_info, cmd_sample
from hmm_core.cli._parser import UsageError, build_parser

__all__ = ["main"]

_COMMANDS = {"fit": cmd_fit, "score": cmd_score, "decode": cmd_decode,
             "sample": cmd_sample, "info": cmd_info, "demo": cmd_demo}


def _error(message):
    print(f"hmm-core: error: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 for an error in the data or files, 2 for
        bad arguments, 3 for an internal error (a bug; set the environment
        variable ``HMM_CORE_TRACEBACK=1`` to see its traceback), 130 when
        interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        _error(exc)
        return 2
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        _error(f"{exc.filename}: {exc.strerror}" if exc.filename else exc)
        return 1
    except (ValueError, OSError, ImportError) as exc:
        _error(exc)
        return 1
    except OutOfMemory as exc:  # the command said where, and what would help
        _error(f"out of memory {exc}")
        return 1
    except MemoryError as exc:
        _error(f"out of memory ({exc})" if str(exc) else "out of memory")
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user mistake: still one line by default
        if os.environ.get("HMM_CORE_TRACEBACK"):
            raise
        _error(f"internal error ({type(exc).__name__}: {exc}); please report it, with the "
               "traceback shown when HMM_CORE_TRACEBACK=1 is set")
        return 3


if __name__ == "__main__":
    sys.exit(main())
