"""The ``hmm-core`` command line: fit, score, decode, sample, info and demo.

- :mod:`~hmm_core.cli.commands`: argument parsing and the commands;
- :mod:`~hmm_core.cli._batch`: chunked, streamed processing of large inputs;
- :mod:`~hmm_core.cli.demo`: the Seattle weather demonstration.
"""

from hmm_core.cli.commands import main

__all__ = ["main"]
