"""Helpers shared by the subcommands: common flags, output, progress bars."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..core.errors import InvalidInputError


def add_common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--json`` and ``--device`` to a subcommand's parser."""
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON on stdout"
    )
    parser.add_argument(
        "--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps"
    )
    return parser


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print ``data`` as JSON when ``--json`` was given, else the human-readable ``text``."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def parse_box(text: str) -> tuple[int, int, int, int]:
    """Parse ``x0,y0,x1,y1`` (pixel data coordinates, end exclusive)."""
    try:
        x0, y0, x1, y1 = (round(float(v)) for v in text.split(","))
    except ValueError:
        raise InvalidInputError(f"region {text!r} is not four numbers x0,y0,x1,y1") from None
    return x0, y0, x1, y1


class ProgressBar:
    """A ``progress(done, total)`` callback that draws a bar on stderr.

    Silent when stderr is not a terminal or when ``quiet`` is true, so JSON output and
    logs stay clean.
    """

    def __init__(self, label: str, quiet: bool = False):
        self.label = label
        self.enabled = not quiet and sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
