"""DS9 and CASA CRTF region files, read onto an image and written from results.

Parsing and writing are the astropy ``regions`` package's; this module puts a file's
regions on an image (sky regions through the image's celestial WCS, image regions as
they are: 1-based in the file, 0-based here) and writes shapes back, in sky coordinates
when the image has a celestial WCS and in image coordinates otherwise, with each result
as the region's text and how it was made in the file's header comments.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..coords.region_shapes import FileRegion, from_pixel_region, to_pixel_region
from ..coords.worldcoords import celestial_part
from ..errors import FileFormatError, InvalidInputError
from .atomic import write_text

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
    """

    regions: list[FileRegion]
    skipped: list[str] = field(default_factory=list)
    sky: bool = False


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

    Raises
    ------
    FileFormatError
        The file cannot be read or parsed, or holds no region at all.
    InvalidInputError
        Sky regions and an image without a celestial WCS, or a frame the WCS cannot
        convert.
    """
    from regions import Regions, SkyRegion

    path = Path(path)
    fmt = region_format(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read the region file ({exc.strerror})") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = Regions.parse(text, format=fmt)
        except Exception as exc:
            raise FileFormatError(
                f"{path}: not a valid {fmt.upper()} region file: {exc}"
            ) from None
    skipped = [str(w.message) for w in caught]  # the lines ``regions`` skipped, and why
    sky_wcs = celestial_part(wcs)
    out, is_sky = [], False
    for i, region in enumerate(parsed, 1):
        if isinstance(region, SkyRegion):
            is_sky = True
            if sky_wcs is None:
                raise InvalidInputError(
                    f"{path}: region {i} is in sky coordinates but the image has no "
                    "celestial WCS; open the FITS file it belongs to, or use a region file "
                    "in image coordinates"
                )
            try:
                region = region.to_pixel(sky_wcs)
            except Exception as exc:
                raise InvalidInputError(
                    f"{path}: region {i} ({type(region).__name__}) cannot be placed through "
                    f"the image's WCS: {exc}"
                ) from None
        shape = from_pixel_region(region)
        if shape is None:
            skipped.append(f"region {i}: {type(region).__name__} is not supported")
            continue
        out.append(shape)
    if not out:
        reasons = "; ".join(skipped) or "no regions found"
        raise FileFormatError(f"{path}: no region could be read ({reasons})")
    return RegionFile(out, skipped, is_sky)


def serialize_regions(
    shapes: Sequence[FileRegion],
    fmt: str = "ds9",
    *,
    wcs: Any = None,
    header: Sequence[str] = (),
) -> str:
    """The text of a region file holding ``shapes`` (sky coordinates through a celestial
    ``wcs``, image coordinates otherwise), with ``header`` lines as comments."""
    from regions import Regions

    sky_wcs = celestial_part(wcs)
    if fmt == "crtf" and sky_wcs is None:
        raise InvalidInputError(
            "CRTF files are written in sky coordinates and this image has no celestial WCS; "
            "save the regions as a DS9 .reg file instead"
        )
    objs = []
    for shape in shapes:
        region = to_pixel_region(shape)
        objs.append(region.to_sky(sky_wcs) if sky_wcs is not None else region)
    # 10 decimals of a degree: 0.4 micro-arcsecond, far below any region's precision
    options = {"fmt": ".10f"} if fmt == "crtf" else {"precision": 10}
    text = Regions(objs).serialize(format=fmt, **options)
    first, _, rest = text.partition("\n")
    comments = "".join(f"# {line}\n" for h in header for line in str(h).splitlines())
    return f"{first}\n{comments}{rest}"


def write_region_file(
    path: str | os.PathLike,
    shapes: Sequence[FileRegion],
    *,
    wcs: Any = None,
    header: Sequence[str] = (),
) -> Path:
    """Write ``shapes`` as a DS9 or CRTF file (chosen by the suffix), whole or not at all.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    text = serialize_regions(shapes, region_format(path), wcs=wcs, header=header)
    return write_text(path, text)
