"""Helpers shared by the subcommands: the parser, common flags, output, regions, progress."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from ..core.errors import InvalidInputError

Box = tuple[int, int, int, int]

#: A token that argparse should read as a value even though it starts with ``-``.
_NEGATIVE_VALUE = re.compile(r"-\.?\d")


class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reads ``-5,0,10,10`` as a value, not as an option.

    argparse takes a token that starts with ``-`` for an option unless it looks like a
    negative number, and before Python 3.14 only ``-5`` and ``-2.5`` did: ``--region
    -5,0,10,10`` (a box partly left of the image) failed with "expected at least one
    argument". Python 3.14 counts every token that starts with ``-`` and a digit (or
    ``-.`` and a digit) as a negative number; this parser does the same on every Python
    the package supports. Subparsers created from it inherit the class.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse's own hook for "looks like a negative number" (3.10 .. 3.14)
        self._negative_number_matcher = _NEGATIVE_VALUE

    def error(self, message: str):  # type: ignore[override]
        """A usage error as one line on stderr (not the whole usage block); exit status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_region_argument(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--region x0,y0,x1,y1`` of ``caption`` and ``labels``."""
    parser.add_argument(
        "--region",
        action="extend",
        nargs="+",
        default=None,
        metavar="x0,y0,x1,y1",
        help="box in pixel coordinates (x = column, end exclusive); repeatable; a box "
        "reaching past the image edge is clipped to it (a warning, and clipped_to in JSON)",
    )


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
    """Print ``data`` as JSON when ``--json`` was given, else the human-readable ``text``.

    A JSON object gets a ``provenance`` object: versions, models and weight hashes,
    device, parameters and the ``napari-clipcap ...`` command that recomputes it.
    """
    if getattr(args, "json", False):
        if isinstance(data, dict) and "provenance" not in data:
            from ._provenance import provenance_of

            data = {**data, "provenance": provenance_of(args)}
            if getattr(args, "asked_models", None):  # what a received file asked to load
                data["asked_for"] = list(args.asked_models)
            if getattr(args, "low_data", None):
                data["warnings"] = list(args.low_data)
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def warn(args: argparse.Namespace, message: str) -> None:
    """Print ``napari-clipcap COMMAND: warning: message`` on stderr (stdout stays clean)."""
    print(f"napari-clipcap {getattr(args, 'command', None)}: warning: {message}", file=sys.stderr)


def parse_box(text: str):
    """Parse ``--region``: ``x0,y0,x1,y1`` (a box, pixel data coordinates, end exclusive)
    or ``x,y,x,y,x,y[,...]`` (a polygon's vertices on pixel edges); see
    :func:`~napari_clipcap.core.coords.regions.parse_region`.

    Raises
    ------
    InvalidInputError
        Unless the text is four finite numbers (or three or more x,y pairs) within
        2**53 of zero (``inf``, ``nan`` and ``1e400`` are refused with the region in the
        message).
    """
    from ..core.coords.regions import parse_region

    return parse_region(text)


def box_text(box: Sequence[int]) -> str:
    """``x0,y0,x1,y1`` as the command line writes a box."""
    return ",".join(str(int(v)) for v in box)


def fit_boxes(
    args: argparse.Namespace, boxes: Sequence[Box], shape: Sequence[int], image: str
) -> list[Box]:
    """The boxes as the engine crops them from an image of ``shape`` (H, W, ...).

    A box that reaches past the image edge is clipped to the image (as
    :func:`napari_clipcap.core.coords.regions.as_region` does), with a warning on stderr; the
    command's output reports the clipped box next to the requested one (see
    :func:`clipped_to`).

    Raises
    ------
    InvalidInputError
        For a box that is empty or lies wholly outside the image; the message names
        ``image``.
    """
    from ..core.coords.regions import as_region

    h, w = int(shape[0]), int(shape[1])
    out = []
    for box in boxes:
        try:
            fitted = as_region(box, shape).box
        except InvalidInputError as exc:
            raise InvalidInputError(f"{image}: {exc}") from None
        if fitted != tuple(box):
            warn(
                args,
                f"{image}: region {box_text(box)} reaches past the {w} x {h} (width x height) "
                f"image; clipped to {box_text(fitted)}",
            )
        out.append(fitted)
    return out


def clipped_to(requested: Sequence[int], used: Sequence[int]) -> list[int] | None:
    """The ``clipped_to`` field of a region in JSON output: the box used, or None if whole."""
    return None if tuple(used) == tuple(requested) else [int(v) for v in used]


class ProgressBar:
    """A ``progress(done, total)`` callback that shows a tqdm bar on stderr.

    Silent when stderr is not a terminal or when ``quiet`` is true, so JSON output and
    logs stay clean; stdout is never written. A call with a new ``total``, or with
    ``done`` going back, starts the bar over (a job with several phases).
    """

    def __init__(self, label: str, quiet: bool = False):
        self.label = label
        self.enabled = not quiet and sys.stderr.isatty()
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        from tqdm import tqdm

        if self.bar is not None and (self.bar.total != total or done < self.bar.n):
            self.close()
        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.label, file=sys.stderr, dynamic_ncols=True)
        self.bar.update(min(done, total) - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        """End the current bar (its last state stays on screen)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def emit_result(args: argparse.Namespace, result: Any) -> None:
    """Print a request's result: ``result.to_json()`` with ``--json`` (its provenance
    ``command`` is ``request.to_argv()``), else its text lines."""
    if getattr(args, "json", False):
        data = result.to_json()
        extra = [w for w in getattr(args, "low_data", None) or () if w not in result.warnings]
        if extra:  # warnings met outside the run (reading a region file, ...)
            data["warnings"] = [*data.get("warnings", []), *extra]
        if getattr(args, "asked_models", None):  # what a received file asked to load
            data["asked_for"] = list(args.asked_models)
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(result.text)


def note_clipped(args: argparse.Namespace, rows: Sequence[dict], image: str, shape) -> None:
    """Warn on stderr for each region that reached past the image and was clipped."""
    h, w = int(shape[0]), int(shape[1])
    for row in rows:
        if row.get("clipped_to"):
            warn(
                args,
                f"{image}: region {box_text(row['box'])} reaches past the {w} x {h} (width x "
                f"height) image; clipped to {box_text(row['clipped_to'])}",
            )
