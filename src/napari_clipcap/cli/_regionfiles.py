"""``--regions FILE``, ``--out-regions FILE`` and ``--out-frame`` for the commands that
take regions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ._common import warn

#: Output frames ``--out-frame`` accepts.
OUT_FRAMES = ("image", "icrs", "fk5", "fk4", "galactic", "ecliptic")
#: Messages of one kind printed in full before the rest are counted.
SHOWN_MESSAGES = 5


class FileRegions(list):
    """The regions of ``--regions`` to score, in file order, with the ones set aside:
    ``excluded`` (exclude regions: not scored, written back as excludes) and
    ``outside`` (regions with no pixel on the image: reported and skipped)."""

    def __init__(self, scored=(), excluded=(), outside=()):
        super().__init__(scored)
        self.excluded = list(excluded)
        self.outside = list(outside)


def add_region_file_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--regions`` (DS9/CRTF in), ``--out-regions`` (results as a region file) and
    ``--out-frame``."""
    parser.add_argument(
        "--regions",
        metavar="FILE",
        default=None,
        help="DS9 (.reg) or CRTF (.crtf) region file: one result per region, in file order "
        "(sky regions go through the image's WCS; exclude regions are not scored)",
    )
    parser.add_argument(
        "--out-regions",
        metavar="FILE",
        default=None,
        help="write the regions with their results as text to a .reg or .crtf file (in "
        "the --regions file's frame, else the image's sky frame), or to a .geojson file "
        "over a georeferenced image",
    )
    parser.add_argument(
        "--out-frame",
        choices=OUT_FRAMES,
        default=None,
        help="frame of the --out-regions file (default: the frame the regions came in)",
    )


def check_region_file_arguments(args: argparse.Namespace) -> None:
    """Refuse ``--region`` with ``--regions`` and unknown output suffixes before any work."""
    from ..core.errors import InvalidInputError

    if args.regions and args.region:
        raise InvalidInputError("give regions with --region or --regions FILE, not both")
    if args.out_regions:
        check_out_regions(args.out_regions, getattr(args, "out_frame", None))


def check_out_regions(path: str, out_frame: str | None = None) -> None:
    """An ``--out-regions`` path the project can write (``.reg``, ``.crtf``,
    ``.geojson``), checked before any work."""
    from pathlib import Path

    from ..core.errors import InvalidInputError
    from ..core.io.region_files import region_format

    if Path(path).suffix.lower() == ".geojson":
        if out_frame is not None:
            raise InvalidInputError(
                "--out-frame applies to .reg and .crtf files; GeoJSON is always WGS84 "
                "longitude/latitude"
            )
        return
    region_format(path)


def report(args: argparse.Namespace, message: str) -> None:
    """A warning on stderr that ``--json`` also lists under ``warnings``."""
    warn(args, message)
    collected = getattr(args, "low_data", None)
    if isinstance(collected, list):
        collected.append(message)


def summarise(args: argparse.Namespace, messages: Sequence[str], what: str) -> None:
    """Warn with the first few ``messages`` and a count of the rest."""
    for message in messages[:SHOWN_MESSAGES]:
        report(args, f"{what}: {message}")
    if len(messages) > SHOWN_MESSAGES:
        report(args, f"{what}: ... and {len(messages) - SHOWN_MESSAGES} more like these")


def file_regions(args: argparse.Namespace, image: Any) -> FileRegions | None:
    """The regions of ``--regions`` placed on ``image`` (an ``ImageFile``), or None.

    Shapes the file holds but that cannot be scored (unsupported shapes, exclude
    regions, regions outside the image) are reported on stderr, numbered in file order
    from 1, repeated messages summarised.
    """
    if not args.regions:
        return None
    from ..core.coords.regions import as_region
    from ..core.errors import InvalidInputError
    from ..core.io.region_files import read_region_file

    placed = read_region_file(args.regions, image.wcs)
    summarise(args, placed.skipped, f"{args.regions}: skipped")
    scored, excluded, outside = [], [], []
    for shape in placed.regions:
        if shape.exclude:
            excluded.append(shape)
            continue
        try:
            as_region(shape.to_region(), image.data.shape)
        except InvalidInputError as exc:
            outside.append((shape, str(exc)))
            continue
        scored.append(shape)
    if excluded:
        numbers = ", ".join(str(s.number) for s in excluded[:10])
        more = f" and {len(excluded) - 10} more" if len(excluded) > 10 else ""
        report(
            args,
            f"{args.regions}: {len(excluded)} exclude region(s) not scored "
            f"(region {numbers}{more}); written back as excludes",
        )
    summarise(
        args,
        [f"region {s.number}: {why}: skipped" for s, why in outside],
        f"{args.regions}",
    )
    if not scored:
        raise InvalidInputError(
            f"{args.regions}: no region to score on {image.path.name} "
            f"({len(excluded)} exclude, {len(outside)} outside the image)"
        )
    return FileRegions(scored, excluded, [s for s, _ in outside])


def region_entry(shape: Any) -> dict:
    """What ``--json`` says of a file region besides its result."""
    entry: dict = {"shape": shape.shape_type}
    if shape.number is not None:
        entry["number"] = shape.number
    if shape.text:
        entry["text"] = shape.text
    return entry


def result_text(name: str, result: str) -> str:
    """A region's own text with its result: ``first: galaxy 0.894, star 0.106``."""
    name, result = str(name or "").strip(), str(result or "").strip()
    if name and result:
        return f"{name}: {result}"
    return name or result


def write_out_regions(
    args: argparse.Namespace,
    image: Any,
    shapes: Sequence[Any] | None,
    boxes: Sequence[Any],
    texts: Sequence[str],
    header: Sequence[str],
) -> str | None:
    """Write ``--out-regions``: the file's shapes (or the boxes) with ``texts`` beside
    their own text, exclude regions back as excludes, in ``--out-frame`` (default the
    frame the regions came in); ``.geojson`` over a georeferenced image."""
    if not args.out_regions:
        return None
    from ..core.coords.region_shapes import box_shape

    if shapes is None:
        shapes = [box_shape(b) for b in boxes]
    results = [s.with_text(result_text(s.text, t)) for s, t in zip(shapes, texts)]
    results += list(getattr(shapes, "excluded", ()))
    results.sort(key=lambda s: s.number if s.number is not None else 0)
    from pathlib import Path

    if Path(args.out_regions).suffix.lower() == ".geojson":
        return _write_geojson(args.out_regions, image, results, header)
    from ..core.io.region_files import write_region_file

    frame = getattr(args, "out_frame", None)
    written = write_region_file(
        args.out_regions, results, wcs=image.wcs, header=header, frame=frame
    )
    return str(written)


def _write_geojson(path: str, image: Any, shapes: Sequence[Any], header: Sequence[str]) -> str:
    """GeoJSON of shapes over a georeferenced image, the dock's writer."""
    from ..core.errors import InvalidInputError
    from ..core.io.geoexport import geo_metadata_of
    from ..core.io.regionfile.geojson import write_shapes_geojson

    geo = geo_metadata_of(image.path) if getattr(image, "kind", "") == "geotiff" else None
    if geo is None:
        raise InvalidInputError(
            f"--out-regions {path}: GeoJSON needs a georeferenced image (a GeoTIFF); "
            "write a .reg file instead"
        )
    return str(write_shapes_geojson(path, shapes, geo, description=list(header)))


def region_files(args: argparse.Namespace) -> Any:
    """How a request run by this command reads ``--regions`` and writes ``--out-regions``
    (:class:`~napari_clipcap.core.tasks.requests.base.RegionFiles`): with the reports on
    stderr, excludes written back, ``--out-frame`` and GeoJSON."""
    from ..core.tasks.requests.base import RegionFiles

    def read(path, image):
        return file_regions(args, image.file)

    def write(path, image, shapes, boxes, texts, header):
        return write_out_regions(args, image.file, shapes, boxes, texts, header)

    return RegionFiles(read=read, write=write)
