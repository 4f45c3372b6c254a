"""Region-file rows between text and napari shapes.

A :class:`RegionRecord` is one region as a file states it: its shape, its frame's
numbers (longitude/latitude in degrees and sizes in arcseconds in a sky frame, 0-based
pixels in the image frame), whether it is an exclude region, its text. The DS9 reader
(:mod:`.ds9`) and the ``regions`` package (CRTF) produce them; :func:`place_records`
puts them on an image (vectorised, through :mod:`~napari_clipcap.core.coords.skyframes`,
so a rotated shape keeps its orientation in any frame) and :func:`records_of_shapes`
turns napari shapes back into rows in the frame asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...coords import skyframes
from ...coords.region_shapes import FileRegion
from ...errors import InvalidInputError

#: Why a row is not placed -> what the message says.
REASONS = {
    "text": "a text label, not a region: not scored",
    "vector": "a DS9 vector, not a region: skipped",
    "ruler": "a DS9 ruler, not a region: skipped",
    "compass": "a DS9 compass, not a region: skipped",
    "projection": "a DS9 projection, not a region: skipped",
    "segment": "a DS9 segment is not supported: skipped",
}


@dataclass
class RegionRecord:
    """One region of a file, as the file states it (see the module notes)."""

    number: int
    shape: str
    frame: str
    xy: np.ndarray
    width: float = 0.0
    height: float = 0.0
    angle: float = 0.0
    text: str = ""
    color: str | None = None
    exclude: bool = False
    symbol: str | None = None
    reason: str | None = None
    members: int = 0
    meta: dict = field(default_factory=dict)

    def why_skipped(self) -> str:
        """The message for a row that is not placed."""
        head = f"region {self.number}"
        if self.reason == "composite":
            return (
                f"{head}: a DS9 composite of {self.members} shapes, which DS9 treats as one "
                "region: skipped (list its shapes as separate regions to score them)"
            )
        if self.reason in REASONS:
            return f"{head}: {REASONS[self.reason]}"
        if self.reason and self.reason.startswith("frame "):
            return (
                f"{head}: {self.reason[6:]} coordinates are not supported "
                "(use image or a sky frame: fk5, icrs, fk4, galactic, ecliptic)"
            )
        return f"{head}: {self.reason or self.shape} is not supported"


_CLASS_SHAPES = {
    "Circle": "circle",
    "Ellipse": "ellipse",
    "Rectangle": "box",
    "Polygon": "polygon",
    "Point": "point",
    "Text": "text",
}


def records_from_regions(parsed: Sequence[Any], start: int = 1) -> list[RegionRecord]:
    """Rows of ``regions`` objects (CRTF files, and DS9 forms read by ``regions``)."""
    from regions import SkyRegion

    rows = []
    for number, region in enumerate(parsed, start):
        name = type(region).__name__.replace("SkyRegion", "").replace("PixelRegion", "")
        shape = _CLASS_SHAPES.get(name, name.lower())
        sky = isinstance(region, SkyRegion)
        meta, visual = dict(region.meta or {}), dict(region.visual or {})
        text = str(meta.get("text", meta.get("label", "")) or "")
        if shape == "text":
            text = str(getattr(region, "text", "") or text)
        include = meta.get("include", True)
        symbol = meta.get("symbol", visual.get("symbol", visual.get("marker")))
        row = RegionRecord(
            number,
            shape,
            "image",
            np.zeros((0, 2)),
            text=text,
            color=visual.get("edgecolor") or visual.get("color"),
            exclude=include in (0, False, "-", "0"),
            symbol=str(symbol) if symbol else None,
            meta=meta,
        )
        where = getattr(region, "vertices", None)
        if where is None:
            where = getattr(region, "center", None)
        if shape not in _CLASS_SHAPES.values() or where is None:
            row.reason = name.lower()
            rows.append(row)
            continue
        if sky:
            row.frame = skyframes.ALIASES.get(where.frame.name, where.frame.name)
            sph = where.spherical
            row.xy = np.column_stack([np.atleast_1d(sph.lon.deg), np.atleast_1d(sph.lat.deg)])
        else:
            row.xy = np.column_stack([np.atleast_1d(where.x), np.atleast_1d(where.y)])
        _set_size(row, region, sky)
        rows.append(row)
    return rows


def _set_size(row: RegionRecord, region: Any, sky: bool) -> None:
    def length(q) -> float:
        return float(q.to_value("arcsec")) if sky else float(q)

    if row.shape == "circle":
        row.width = row.height = 2 * length(region.radius)
    elif row.shape in ("ellipse", "box"):
        row.width, row.height = length(region.width), length(region.height)
        row.angle = float(region.angle.to_value("deg"))
    if row.shape == "text":
        row.reason = "text"


# ----------------------------------------------------------------------------- placing


def place_records(
    rows: Sequence[RegionRecord], wcs: Any, fmt: str = "ds9", path: Any = ""
) -> tuple[list[FileRegion], list[str]]:
    """Put rows on an image: napari shapes in file order, and messages for those skipped.

    Raises
    ------
    InvalidInputError
        Sky rows and no celestial ``wcs``.
    """
    from ...coords.worldcoords import celestial_part

    sky_wcs = celestial_part(wcs)
    placed: dict[int, FileRegion] = {}
    skipped: list[str] = []
    groups: dict[str, list[RegionRecord]] = {}
    for row in rows:
        if row.reason:
            skipped.append(row.why_skipped())
        elif row.frame == "image":
            placed[row.number] = _image_shape(row)
        else:
            groups.setdefault(row.frame, []).append(row)
    if groups and sky_wcs is None:
        first = min(r.number for g in groups.values() for r in g)
        raise InvalidInputError(
            f"{path}: region {first} is in sky coordinates but the image has no celestial "
            "WCS; open the FITS file it belongs to, or use a region file in image coordinates"
        )
    epoch = skyframes.observation_epoch(sky_wcs) if groups else None
    for frame, group in groups.items():
        for row, shape in zip(group, _sky_shapes(group, sky_wcs, frame, epoch, fmt)):
            placed[row.number] = shape
    return [placed[n] for n in sorted(placed)], skipped


def _file_region(row: RegionRecord, kind: str, xy: np.ndarray) -> FileRegion:
    return FileRegion(
        kind,
        np.asarray(xy, float)[:, ::-1],
        row.text,
        row.color,
        dict(row.meta),
        exclude=row.exclude,
        frame=None if row.frame == "image" else row.frame,
        number=row.number,
        symbol=row.symbol,
    )


_KINDS = {"circle": "ellipse", "ellipse": "ellipse", "box": "rectangle"}


def _corners(centre: np.ndarray, half_w: np.ndarray, half_h: np.ndarray) -> np.ndarray:
    """``(..., 4, 2)`` corners in the order napari and :func:`ellipse_outline` expect."""
    return np.stack(
        [
            centre - half_w - half_h,
            centre + half_w - half_h,
            centre + half_w + half_h,
            centre - half_w + half_h,
        ],
        axis=-2,
    )


def _image_shape(row: RegionRecord) -> FileRegion:
    if row.shape in ("polygon", "point"):
        return _file_region(row, row.shape, row.xy)
    a = np.deg2rad(row.angle)
    half_w = np.array([np.cos(a), np.sin(a)]) * row.width / 2
    half_h = np.array([-np.sin(a), np.cos(a)]) * row.height / 2
    return _file_region(row, _KINDS[row.shape], _corners(row.xy[0], half_w, half_h))


def _sky_shapes(group, wcs, frame: str, epoch, fmt: str) -> list[FileRegion]:
    """Shapes of rows in one sky frame, with one batch of WCS calls for all of them."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    try:
        sky = skyframes.sky_frame(frame, epoch, fmt)
    except InvalidInputError as exc:
        raise InvalidInputError(f"region {group[0].number}: {exc}") from None
    centred = [r for r in group if r.shape != "polygon"]
    out: dict[int, FileRegion] = {}
    if centred:
        lonlat = np.array([r.xy[0] for r in centred])
        coords = SkyCoord(lonlat[:, 0] * u.deg, lonlat[:, 1] * u.deg, frame=sky)
        centres, jac = skyframes.local_jacobian(coords, wcs)
        widths = np.array([r.width for r in centred])
        heights = np.array([r.height for r in centred])
        angles = np.array([r.angle for r in centred])
        half_w, half_h = skyframes.sky_axes_to_pixel(jac, widths, heights, angles)
        circle = np.array([r.shape == "circle" for r in centred])
        if circle.any():  # a circle stays a circle, square to the pixels
            radius = widths[circle] / 2 * np.linalg.svd(jac[circle], compute_uv=False).mean(1)
            half_w[circle] = np.column_stack([radius, np.zeros_like(radius)])
            half_h[circle] = np.column_stack([np.zeros_like(radius), radius])
        corners = _corners(centres, half_w, half_h)
        for i, row in enumerate(centred):
            if row.shape == "point":
                out[row.number] = _file_region(row, "point", centres[i : i + 1])
            else:
                out[row.number] = _file_region(row, _KINDS[row.shape], corners[i])
    polygons = [r for r in group if r.shape == "polygon"]
    if polygons:
        allv = np.concatenate([r.xy for r in polygons])
        coords = SkyCoord(allv[:, 0] * u.deg, allv[:, 1] * u.deg, frame=sky)
        pix = skyframes.world_to_pixel_from(coords, wcs)
        ends = np.cumsum([len(r.xy) for r in polygons])[:-1]
        for row, xy in zip(polygons, np.split(pix, ends)):
            out[row.number] = _file_region(row, "polygon", xy)
    bad = [n for n, s in out.items() if not np.isfinite(s.vertices).all()]
    if bad:
        raise InvalidInputError(
            f"region {bad[0]} cannot be placed through the image's WCS (outside its projection)"
        )
    return [out[r.number] for r in group]


# ----------------------------------------------------------------------------- writing


def _shape_parts(shape: FileRegion) -> tuple[str, np.ndarray]:
    """``(row shape, (x, y) vertices)`` of a napari shape."""
    xy = np.asarray(shape.vertices, float)[:, ::-1]
    kind = shape.shape_type
    if kind == "point":
        return "point", xy[:1]
    if kind in ("rectangle", "ellipse") and len(xy) == 4:
        w, h = np.hypot(*(xy[1] - xy[0])), np.hypot(*(xy[3] - xy[0]))
        if kind == "ellipse":
            return ("circle" if np.isclose(w, h, rtol=1e-9) else "ellipse"), xy
        return "box", xy
    if kind in ("polygon", "path") and len(xy) >= 3:
        return "polygon", xy
    raise InvalidInputError(f"a {kind} with {len(xy)} vertices cannot be written to a region file")


def _row_of(shape: FileRegion, kind: str, frame: str, xy: np.ndarray) -> RegionRecord:
    return RegionRecord(
        shape.number or 0,
        kind,
        frame,
        xy,
        text=shape.text,
        color=shape.color,
        exclude=shape.exclude,
        symbol=shape.symbol,
    )


def records_of_shapes(
    shapes: Sequence[FileRegion], wcs: Any = None, frame: str = "image", fmt: str = "ds9"
) -> list[RegionRecord]:
    """Rows of napari shapes in ``frame`` (``image``, or a sky frame through ``wcs``)."""
    parts = [_shape_parts(s) for s in shapes]
    rows: list[RegionRecord] = []
    if frame == "image":
        for shape, (kind, xy) in zip(shapes, parts):
            rows.append(_image_row(shape, kind, xy))
        return rows
    sky = skyframes.sky_frame(frame, skyframes.observation_epoch(wcs), fmt)
    centres = np.array([xy.mean(axis=0) for _, xy in parts]) if parts else np.zeros((0, 2))
    coords = skyframes.pixel_to_world_in(centres, wcs, sky) if len(centres) else None
    _, jac = skyframes.local_jacobian(coords, wcs) if coords is not None else (None, None)
    for i, (shape, (kind, xy)) in enumerate(zip(shapes, parts)):
        if kind in ("polygon", "point"):
            pts = skyframes.pixel_to_world_in(xy, wcs, sky)
            lonlat = np.column_stack([pts.spherical.lon.deg, pts.spherical.lat.deg])
            rows.append(_row_of(shape, kind, frame, lonlat))
            continue
        half_w, half_h = (xy[1] - xy[0])[None] / 2, (xy[3] - xy[0])[None] / 2
        width, height, angle = skyframes.pixel_axes_to_sky(jac[i : i + 1], half_w, half_h)
        c = coords[i]
        row = _row_of(shape, kind, frame, np.array([[c.spherical.lon.deg, c.spherical.lat.deg]]))
        row.width, row.height, row.angle = float(width[0]), float(height[0]), float(angle[0])
        if kind == "circle":
            row.width = row.height = (row.width + row.height) / 2
        rows.append(row)
    return rows


def _image_row(shape: FileRegion, kind: str, xy: np.ndarray) -> RegionRecord:
    if kind in ("polygon", "point"):
        return _row_of(shape, kind, "image", xy)
    side_w, side_h = xy[1] - xy[0], xy[3] - xy[0]
    row = _row_of(shape, kind, "image", xy.mean(axis=0)[None])
    row.width, row.height = float(np.hypot(*side_w)), float(np.hypot(*side_h))
    row.angle = float(np.rad2deg(np.arctan2(side_w[1], side_w[0])))
    return row
