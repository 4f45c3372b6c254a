"""The ``napari-clipcap`` command.

Each subcommand lives in its own module of this package, which defines

``register(subparsers) -> argparse.ArgumentParser``
    adds the subcommand's parser (use :func:`napari_clipcap.cli._common.add_common`
    for ``--json`` and ``--device``) and sets ``func`` to a ``run(args) -> int``.

Errors derived from :class:`~napari_clipcap.core.errors.ClipcapError` become one line on
stderr and exit status 2; nothing else is caught. Values may start with ``-`` and a
digit (``--region -5,0,10,10``): see :class:`~napari_clipcap.cli._common.CliParser`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from .. import __version__
from ..core.errors import ClipcapError, LowDataWarning, RandomWeightsWarning
from ._common import CliParser

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "info",
    "view",
    "caption",
    "index",
    "search",
    "batch",
    "labels",
    "heatmap",
    "ground",
    "ask",
    "segment",
    "train_clipcap",
    "finetune_clip",
    "evaluate",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand registered."""
    parser = CliParser(
        prog="napari-clipcap",
        description="Captions, region labels and text heatmaps for scientific images.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # for the provenance command line
    # LowDataWarning and RandomWeightsWarning texts: on stderr as they come (each once),
    # and in --json under "warnings"
    args.low_data = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", LowDataWarning)
            warnings.simplefilter("always", RandomWeightsWarning)
            shown = warnings.showwarning

            said: set[str] = set()

            def say(message) -> bool:
                """One line on stderr, once per text; whether it was new."""
                if str(message) in said:
                    return False
                said.add(str(message))
                print(f"napari-clipcap {args.command}: warning: {message}", file=sys.stderr)
                return True

            def show(message, category, *rest, **kw):
                if issubclass(category, LowDataWarning):
                    args.low_data.append(str(message))
                    print(f"napari-clipcap {args.command}: warning: {message}", file=sys.stderr)
                elif issubclass(category, RandomWeightsWarning):  # also in --json warnings
                    if say(message):
                        args.low_data.append(str(message))
                elif _ours(category):  # one line, once: no source line, no repeats
                    say(message)
                else:
                    shown(message, category, *rest, **kw)

            warnings.showwarning = show
            return int(args.func(args) or 0)
    except ClipcapError as exc:
        print(f"napari-clipcap {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`... --json | head -c 10`)
        _silence_stdout()
        return 141  # as a shell reports a pipe writer killed by SIGPIPE
    except KeyboardInterrupt:
        print(f"napari-clipcap {args.command}: interrupted", file=sys.stderr)
        return 130


def _ours(category: type) -> bool:
    """Whether a warning class is one of this package's (FITS repairs, random weights)."""
    return getattr(category, "__module__", "").startswith("napari_clipcap")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's exit flush raises nothing more."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (tests)
        pass
