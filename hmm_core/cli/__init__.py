"""The ``hmm-core`` command line: fit, score, decode, sample, info and demo.

- :mod:`~hmm_core.cli.commands`: :func:`main` and its table of commands;
- :mod:`~hmm_core.cli._parser`: the argument parser;
- :mod:`~hmm_core.cli._fit`, :mod:`~hmm_core.cli._inference` (score, decode),
  :mod:`~hmm_core.cli._model_commands` (sample, info, demo): the commands, with
  their shared helpers in :mod:`~hmm_core.cli._common`;
- :mod:`~hmm_core.cli._outputs`: outputs checked before the work, written
  under temporary names and renamed into place only when a command succeeds;
- :mod:`~hmm_core.cli._batch`: chunked, streamed processing of large inputs;
- :mod:`~hmm_core.cli.demo`: the Seattle weather demonstration.
"""

from hmm_core.cli.commands import main

__all__ = ["main"]
