"""``--regions FILE`` and ``--out-regions FILE`` for the commands that take regions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ._common import warn


def add_region_file_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--regions`` (DS9/CRTF in) and ``--out-regions`` (results as a region file)."""
    parser.add_argument(
        "--regions",
        metavar="FILE",
        default=None,
        help="DS9 (.reg) or CRTF (.crtf) region file: one result per region, in file order "
        "(sky regions go through the image's WCS)",
    )
    parser.add_argument(
        "--out-regions",
        metavar="FILE",
        default=None,
        help="write the regions with their results as text to a .reg or .crtf file "
        "(sky coordinates when the image has a celestial WCS)",
    )


def check_region_file_arguments(args: argparse.Namespace) -> None:
    """Refuse ``--region`` with ``--regions`` and unknown output suffixes before any work."""
    from ..core.errors import InvalidInputError
    from ..core.io.region_files import region_format

    if args.regions and args.region:
        raise InvalidInputError("give regions with --region or --regions FILE, not both")
    if args.out_regions:
        region_format(args.out_regions)


def file_regions(args: argparse.Namespace, image: Any) -> list | None:
    """The regions of ``--regions`` placed on ``image`` (an ``ImageFile``), or None.

    Shapes the file holds but napari cannot draw are reported on stderr.
    """
    if not args.regions:
        return None
    from ..core.io.region_files import read_region_file

    placed = read_region_file(args.regions, image.wcs)
    for reason in placed.skipped:
        warn(args, f"{args.regions}: skipped: {reason}")
    return placed.regions


def region_entry(shape: Any) -> dict:
    """What ``--json`` says of a file region besides its result."""
    entry: dict = {"shape": shape.shape_type}
    if shape.text:
        entry["text"] = shape.text
    return entry


def write_out_regions(
    args: argparse.Namespace,
    image: Any,
    shapes: Sequence[Any] | None,
    boxes: Sequence[Any],
    texts: Sequence[str],
    header: Sequence[str],
) -> str | None:
    """Write ``--out-regions``: the file's shapes (or the boxes) with ``texts``."""
    if not args.out_regions:
        return None
    from ..core.coords.region_shapes import FileRegion, box_shape
    from ..core.io.region_files import write_region_file

    if shapes is None:
        shapes = [box_shape(b) for b in boxes]
    results = [
        FileRegion(s.shape_type, s.vertices, text, s.color) for s, text in zip(shapes, texts)
    ]
    return str(write_region_file(args.out_regions, results, wcs=image.wcs, header=header))
