"""DS9 and CASA CRTF region files, read onto an image and written from results.

DS9 files are read and written by :mod:`.regionfile.ds9` (fast, and its text quoting safe);
CRTF files by the astropy ``regions`` package. Either way the rows go through
:mod:`.regionfile.records`, which places sky regions through the image's celestial WCS in
the frame the file names, as DS9 and CASA mean it (see
:mod:`~napari_clipcap.core.coords.skyframes`), and image regions as they are (1-based
in the file, 0-based here). Shapes are written back in the frame asked for (by default
the one the regions came in), exclude regions as excludes, each result beside the
region's own text, and how it was made in the file's header comments.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..coords.region_shapes import FileRegion
from ..coords.worldcoords import celestial_part
from ..errors import FileFormatError, InvalidInputError
from .atomic import write_text
from .regionfile.records import (
    RegionRecord,
    place_records,
    records_from_regions,
    records_of_shapes,
)

#: File suffix -> ``regions`` format name.
FORMATS = {".reg": "ds9", ".crtf": "crtf", ".crt": "crtf"}


@dataclass
class RegionFile:
    """The regions of one file placed on an image.

    Attributes
    ----------
    regions : list of FileRegion
        In file order, napari ``(row, col)`` vertices.
    skipped : list of str
        Lines or shapes that could not be placed, with the reason (unsupported shapes and
        frames), in file order.
    sky : bool
        Whether the file's regions were in sky coordinates.
    frame : str or None
        The sky frame of the file's first sky region (``fk5``, ``galactic``, ...): the
        frame results are written back in by default.
    """

    regions: list[FileRegion]
    skipped: list[str] = field(default_factory=list)
    sky: bool = False
    frame: str | None = None


def region_format(path: str | os.PathLike) -> str:
    """``"ds9"`` or ``"crtf"`` from the file suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInputError(
            f"{path}: unknown region file type {suffix!r}; use .reg (DS9) or .crtf (CASA)"
        )
    return FORMATS[suffix]


def read_region_file(path: str | os.PathLike, wcs: Any = None) -> RegionFile:
    """Read a DS9 (``.reg``) or CRTF (``.crtf``) file onto an image.

    Parameters
    ----------
    path : path-like
    wcs : astropy.wcs.WCS, optional
        The image's WCS; needed for regions in sky coordinates (fk5, icrs, galactic, ...).

    Returns
    -------
    RegionFile
        Regions numbered in file order from 1 (skipped ones keep their numbers).

    Raises
    ------
    FileFormatError
        The file cannot be read or parsed, or holds no region at all.
    InvalidInputError
        Sky regions and an image without a celestial WCS, or a frame the WCS cannot
        convert.
    """
    path = Path(path)
    fmt = region_format(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read the region file ({exc.strerror})") from None
    rows, notes = parse_rows(text, fmt, path)
    shapes, skipped = place_records(rows, wcs, fmt, path)
    skipped = notes + skipped
    if not shapes:
        reasons = "; ".join(skipped[:5]) or "no regions found"
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        raise FileFormatError(f"{path}: no region could be read ({reasons}{more})")
    sky_frames = [r.frame for r in rows if r.frame != "image" and not r.reason]
    return RegionFile(shapes, skipped, bool(sky_frames), sky_frames[0] if sky_frames else None)


def parse_rows(text: str, fmt: str, path: Any = "") -> tuple[list[RegionRecord], list[str]]:
    """The rows of a region file's text and notes on what was skipped while parsing."""
    if fmt == "ds9":
        from .regionfile.ds9 import parse_ds9

        return parse_ds9(text)
    from regions import Regions

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = Regions.parse(text, format=fmt)
        except Exception as exc:
            raise FileFormatError(
                f"{path}: not a valid {fmt.upper()} region file: {exc}"
            ) from None
    return records_from_regions(parsed), [str(w.message) for w in caught]


def output_frame(wcs: Any, frame: str | None = None, fallback: str | None = None) -> str:
    """The frame a file is written in: ``frame`` when given, else ``fallback`` (the frame
    the regions came in), else the image's own sky frame; ``image`` without a WCS."""
    from ..coords.skyframes import canonical_frame, wcs_frame

    sky_wcs = celestial_part(wcs)
    if frame is not None and str(frame).lower() == "image":
        return "image"
    if sky_wcs is None:
        if frame is not None:
            raise InvalidInputError(
                f"cannot write regions in {frame}: the image has no celestial WCS"
            )
        return "image"
    if frame is not None:
        return canonical_frame(frame)
    if fallback is not None:
        return canonical_frame(fallback)
    return wcs_frame(sky_wcs)[1]


def serialize_regions(
    shapes: Sequence[FileRegion],
    fmt: str = "ds9",
    *,
    wcs: Any = None,
    header: Sequence[str] = (),
    frame: str | None = None,
) -> str:
    """The text of a region file holding ``shapes`` with ``header`` lines as comments.

    Parameters
    ----------
    shapes : sequence of FileRegion
    fmt : {"ds9", "crtf"}
    wcs : astropy.wcs.WCS, optional
        The image's WCS; without a celestial one DS9 files are in image coordinates.
    header : sequence of str
    frame : str, optional
        ``image`` or a sky frame (``fk5``, ``icrs``, ``fk4``, ``galactic``,
        ``ecliptic``); default: the frame the first shape came in from a file, else the
        image's own.
    """
    sky_wcs = celestial_part(wcs)
    came_in = next((s.frame for s in shapes if s.frame), None)
    out = output_frame(wcs, frame, came_in)
    if fmt == "crtf" and out == "image":
        raise InvalidInputError(
            "CRTF files are written in sky coordinates and this image has no celestial WCS; "
            "save the regions as a DS9 .reg file instead"
        )
    rows = records_of_shapes(shapes, sky_wcs, out, fmt)
    if fmt == "ds9":
        from .regionfile.ds9_write import format_ds9

        return format_ds9(rows, out, header)
    return _format_crtf(rows, out, header)


#: The frame ``regions`` writes each CRTF frame name from (numbers are not converted).
_CRTF_CONTAINERS = {
    "icrs": "icrs",
    "fk5": "fk5",
    "fk4": "fk4",
    "galactic": "galactic",
    "ecliptic": "geocentrictrueecliptic",
}
#: CASA symbols (a point without one is written as a ``+``).
CRTF_SYMBOLS = set(".,ov^<>1234spP*hH+xXDd|_")


def _crtf_label(text: str) -> str:
    return " ".join(str(text).replace("'", "").replace('"', "").split())


def _format_crtf(rows: Sequence[RegionRecord], frame: str, header: Sequence[str]) -> str:
    """CRTF text of sky rows, written by ``regions`` with the numbers as they are."""
    from astropy import units as u
    from astropy.coordinates import Angle, SkyCoord
    from regions import (
        CircleSkyRegion,
        EllipseSkyRegion,
        PointSkyRegion,
        PolygonSkyRegion,
        RectangleSkyRegion,
        RegionMeta,
        Regions,
        RegionVisual,
    )

    container = _CRTF_CONTAINERS[frame]
    objs = []
    for row in rows:
        meta = RegionMeta({"include": not row.exclude})
        if row.text:
            meta["label"] = _crtf_label(row.text)
        where = SkyCoord(row.xy[:, 0] * u.deg, row.xy[:, 1] * u.deg, frame=container)
        if row.shape == "point":  # CASA's point is a symbol; regions reads it from visual
            visual = RegionVisual({"symbol": row.symbol if row.symbol in CRTF_SYMBOLS else "+"})
            objs.append(PointSkyRegion(where[0], meta=meta, visual=visual))
        elif row.shape == "polygon":
            objs.append(PolygonSkyRegion(where, meta=meta))
        elif row.shape == "circle":
            objs.append(CircleSkyRegion(where[0], row.width / 2 * u.arcsec, meta=meta))
        else:
            cls = EllipseSkyRegion if row.shape == "ellipse" else RectangleSkyRegion
            objs.append(
                cls(
                    where[0],
                    row.width * u.arcsec,
                    row.height * u.arcsec,
                    angle=Angle(row.angle, u.deg),
                    meta=meta,
                )
            )
    # 10 decimals of a degree: 0.4 micro-arcsecond, far below any region's precision
    text = Regions(objs).serialize(format="crtf", coordsys=container, fmt=".10f")
    first, _, rest = text.partition("\n")
    comments = "".join(f"# {line}\n" for h in header for line in str(h).splitlines())
    return f"{first}\n{comments}{rest}"


def write_region_file(
    path: str | os.PathLike,
    shapes: Sequence[FileRegion],
    *,
    wcs: Any = None,
    header: Sequence[str] = (),
    frame: str | None = None,
) -> Path:
    """Write ``shapes`` as a DS9 or CRTF file (chosen by the suffix), whole or not at all,
    in ``frame`` (see :func:`serialize_regions`).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    text = serialize_regions(shapes, region_format(path), wcs=wcs, header=header, frame=frame)
    return write_text(path, text)
