"""The ``hmm-core`` command line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    from hmm_core import __version__

    parser = argparse.ArgumentParser(
        prog="hmm-core", description="Hidden Markov models with compiled kernels.")
    parser.add_argument("--version", action="version", version=f"hmm-core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="fit a categorical HMM to Seattle's daily weather")
    demo.add_argument("--states", type=int, default=3, help="number of hidden regimes")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the initialisation")
    sub.add_parser("info", help="show how hmm_core was built (OpenMP, threads, versions)")
    return parser


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "demo":
            from hmm_core.demo import run_demo

            if args.states < 1:
                raise ValueError("--states must be at least 1")
            run_demo(n_components=args.states, random_state=args.seed)
        elif args.command == "info":
            from hmm_core._config import show_config

            show_config()
    except ValueError as exc:
        print(f"hmm-core: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
