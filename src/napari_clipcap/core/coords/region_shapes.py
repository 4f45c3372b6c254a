"""Region-file shapes (astropy ``regions`` pixel regions) <-> napari shapes <-> scored regions.

Three conventions meet here:

- astropy ``regions`` pixel coordinates are 0-based with the centre of the first pixel at
  ``(0, 0)``; DS9 and CRTF image coordinates are 1-based (``regions`` converts on reading
  and writing);
- napari data coordinates are 0-based with pixel centres at integers, as ``(row, col)``:
  a region's napari vertices are its ``regions`` vertices with the axes swapped;
- the project's regions (:mod:`~napari_clipcap.core.coords.regions`) are boxes
  ``(x0, y0, x1, y1)`` and polygons on pixel *edges*: pixel ``i`` spans ``[i, i + 1)``.
  A shape's outline therefore moves by half a pixel into them, so that a DS9
  ``box(5.5, 5.5, 10, 10)`` (pixels 1 to 10, 1-based) scores pixels 0 to 9.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInputError

#: napari shape types this module writes; points go to a Points layer.
SHAPE_TYPES = ("rectangle", "ellipse", "polygon", "point")


@dataclass
class FileRegion:
    """One region of a region file, in napari terms.

    Attributes
    ----------
    shape_type : {"rectangle", "ellipse", "polygon", "point"}
    vertices : ndarray
        ``(N, 2)`` napari ``(row, col)`` data coordinates: 4 corners for rectangles and
        ellipses (their bounding box, rotated with the shape), the outline for polygons,
        one vertex for points.
    text : str
        The region's text (DS9 ``text={...}``, CRTF ``label=...``), or "".
    color : str or None
        The region's colour, when the file gives one.
    meta : dict
        Other properties the file gave (``regions`` meta).
    exclude : bool
        An exclude region (DS9 ``-circle(...)``, CRTF ``-circle[...]``): not scored,
        written back as an exclude.
    frame : str or None
        The sky frame the file gave it in (``fk5``, ``galactic``, ...), None for image
        coordinates or shapes drawn in napari.
    number : int or None
        Its place in the file, counting every region from 1 (also the skipped ones).
    symbol : str or None
        A point's marker (DS9 ``point=x``, CRTF ``symbol``).
    """

    shape_type: str
    vertices: np.ndarray
    text: str = ""
    color: str | None = None
    meta: dict = field(default_factory=dict)
    exclude: bool = False
    frame: str | None = None
    number: int | None = None
    symbol: str | None = None

    def with_text(self, text: str) -> FileRegion:
        """A copy carrying ``text`` instead of its own (for writing results back)."""
        from dataclasses import replace

        return replace(self, text=text)

    def to_region(self) -> Any:
        """The region to score or caption (see :func:`shape_region`)."""
        return shape_region(self.shape_type, self.vertices)


#: Decimals kept of a polygon's (or an ellipse outline's) vertices: every door (dock,
#: region file, command line) rounds the same way, so the same shape is the same region
#: and ``--region`` can write it exactly.
VERTEX_DECIMALS = 3


def shape_region(shape_type: str, vertices_yx: Any) -> Any:
    """A napari shape as the region to score or caption, in pixel-edge coordinates.

    Parameters
    ----------
    shape_type : str
        napari's shape type: ``"rectangle"``, ``"ellipse"``, ``"polygon"``, ``"path"``,
        ``"line"`` or ``"point"``.
    vertices_yx : array-like
        ``(N, 2)`` napari ``(row, col)`` data coordinates (pixel centres on integers):
        the 4 corners of a rectangle or ellipse (rotated with the shape), the outline of
        a polygon.

    Returns
    -------
    tuple of int or ndarray
        An axis-aligned rectangle, a point, a line or a path of fewer than 3 vertices:
        the box ``(x0, y0, x1, y1)`` of the pixels whose centres it covers (at least one
        pixel per axis). An ellipse: the polygon tracing its outline (not its corners'
        box). A rotated rectangle and a polygon: their outline. Polygons are ``(N, 2)``
        ``(x, y)`` arrays on pixel edges, rounded to :data:`VERTEX_DECIMALS` decimals.
    """
    yx = np.atleast_2d(np.asarray(vertices_yx, dtype=float))[:, -2:]
    if not np.all(np.isfinite(yx)):
        raise InvalidInputError(f"the {shape_type} has non-finite vertices")
    xy = yx[:, ::-1] + 0.5
    if shape_type == "ellipse" and len(xy) == 4:
        return np.round(ellipse_outline(xy), VERTEX_DECIMALS)
    closed = shape_type in ("polygon", "rectangle", "ellipse")
    if closed and len(xy) >= 3 and not (shape_type == "rectangle" and _axis_aligned(xy)):
        return np.round(xy, VERTEX_DECIMALS)
    # pixel i spans [i - 0.5, i + 0.5) in napari; rounding first absorbs the noise of a
    # trip through sky coordinates (31.4999999 is 31.5)
    (x_min, y_min), (x_max, y_max) = (
        np.floor(np.round(xy.min(axis=0), 6)).astype(int),
        np.floor(np.round(xy.max(axis=0), 6)).astype(int),
    )
    x0, y0 = int(x_min), int(y_min)
    return (x0, y0, max(int(x_max), x0 + 1), max(int(y_max), y0 + 1))


def _axis_aligned(xy: np.ndarray) -> bool:
    return (
        len(np.unique(np.round(xy[:, 0], 6))) <= 2 and len(np.unique(np.round(xy[:, 1], 6))) <= 2
    )


def ellipse_outline(corners_xy: np.ndarray, n: int = 64) -> np.ndarray:
    """An ``(n, 2)`` polygon tracing the ellipse inscribed in a (rotated) rectangle."""
    c = corners_xy.mean(axis=0)
    u = (corners_xy[1] - corners_xy[0]) / 2  # half of one side
    v = (corners_xy[3] - corners_xy[0]) / 2  # half of the other
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
    return c + np.cos(t) * u + np.sin(t) * v


def _corners(center, width: float, height: float, angle_deg: float) -> np.ndarray:
    """Corners ``(x, y)`` of a rectangle rotated counter-clockwise by ``angle_deg``."""
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [width / 2, height / 2]
    return half @ rot.T + [center.x, center.y]


def _text_and_color(region: Any) -> tuple[str, str | None]:
    meta, visual = getattr(region, "meta", {}) or {}, getattr(region, "visual", {}) or {}
    text = str(meta.get("text", meta.get("label", "")) or "")
    color = visual.get("edgecolor") or visual.get("color")
    return text, (str(color) if color else None)


def from_pixel_region(region: Any) -> FileRegion | None:
    """A ``regions`` pixel region -> :class:`FileRegion` (napari vertices), or None for
    shapes napari cannot draw as one shape (annuli, lines, text, compound regions)."""
    from regions import (
        CirclePixelRegion,
        EllipsePixelRegion,
        PointPixelRegion,
        PolygonPixelRegion,
        RectanglePixelRegion,
    )

    text, color = _text_and_color(region)
    if isinstance(region, CirclePixelRegion):
        xy, kind = _corners(region.center, 2 * region.radius, 2 * region.radius, 0), "ellipse"
    elif isinstance(region, EllipsePixelRegion | RectanglePixelRegion):
        angle = float(region.angle.to_value("deg"))
        xy = _corners(region.center, region.width, region.height, angle)
        kind = "ellipse" if isinstance(region, EllipsePixelRegion) else "rectangle"
    elif isinstance(region, PolygonPixelRegion):
        xy, kind = np.column_stack([region.vertices.x, region.vertices.y]), "polygon"
    elif isinstance(region, PointPixelRegion):
        xy, kind = np.array([[region.center.x, region.center.y]]), "point"
    else:
        return None
    return FileRegion(kind, np.asarray(xy, float)[:, ::-1], text, color, dict(region.meta))


def to_pixel_region(shape: FileRegion) -> Any:
    """:class:`FileRegion` -> a ``regions`` pixel region with its text and colour."""
    from astropy import units as u
    from regions import (
        CirclePixelRegion,
        EllipsePixelRegion,
        PixCoord,
        PointPixelRegion,
        PolygonPixelRegion,
        RectanglePixelRegion,
        RegionMeta,
        RegionVisual,
    )

    xy = np.asarray(shape.vertices, float)[:, ::-1]
    meta = RegionMeta({"text": shape.text, "label": shape.text} if shape.text else {})
    visual = RegionVisual({"color": shape.color} if shape.color else {})
    if shape.shape_type == "point":
        return PointPixelRegion(PixCoord(*xy[0]), meta=meta, visual=visual)
    if shape.shape_type in ("rectangle", "ellipse") and len(xy) == 4:
        center = PixCoord(*xy.mean(axis=0))
        side_w, side_h = xy[1] - xy[0], xy[3] - xy[0]
        angle = np.rad2deg(np.arctan2(side_w[1], side_w[0]))
        width, height = float(np.hypot(*side_w)), float(np.hypot(*side_h))
        if shape.shape_type == "ellipse" and np.isclose(width, height, rtol=1e-9):
            return CirclePixelRegion(center, width / 2, meta=meta, visual=visual)
        cls = RectanglePixelRegion if shape.shape_type == "rectangle" else EllipsePixelRegion
        return cls(
            center,
            width,
            height,
            angle=float(angle) * u.deg,
            meta=meta,
            visual=visual,
        )
    if shape.shape_type in ("polygon", "path") and len(xy) >= 3:
        return PolygonPixelRegion(PixCoord(xy[:, 0], xy[:, 1]), meta=meta, visual=visual)
    raise InvalidInputError(
        f"a {shape.shape_type} with {len(xy)} vertices cannot be written to a region file"
    )


def box_shape(box: Any, text: str = "") -> FileRegion:
    """A rectangle over the pixels of a box ``(x0, y0, x1, y1)`` (end exclusive)."""
    x0, y0, x1, y1 = (float(v) - 0.5 for v in box)
    verts = np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]])
    return FileRegion("rectangle", verts, text)


def from_napari_shapes(
    data: list[np.ndarray], shape_types: list[str], texts: list[str] | None = None
) -> list[FileRegion]:
    """A Shapes layer's data (2D ``(row, col)`` vertices of the last two axes) and types."""
    texts = list(texts) if texts is not None else [""] * len(data)
    out = []
    for verts, kind, text in zip(data, shape_types, texts):
        verts = np.asarray(verts, float)[:, -2:]
        kind = "polygon" if kind in ("path", "polygon", "line") and len(verts) >= 3 else kind
        out.append(FileRegion(kind, verts, str(text or "")))
    return out
