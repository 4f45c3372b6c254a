"""Regions of an image: boxes and polygons in pixel data coordinates, and their crops.

Coordinates follow the project contract: ``x`` is the column, ``y`` the row.

Box
    ``(x0, y0, x1, y1)`` with the end exclusive: columns ``x0 .. x1-1``, rows
    ``y0 .. y1-1``. Four numbers in a flat sequence.
Polygon
    An ``(N, 2)`` array (N >= 3) of ``(x, y)`` vertices in the same pixel coordinates;
    a pixel belongs to it when its centre ``(col + 0.5, row + 0.5)`` lies inside.
    napari's Shapes layers store ``(row, col)``: convert with :func:`from_napari`.

A region that reaches beyond the image is clipped to it: only the pixels inside the
image are cropped, and :attr:`Region.box` is the clipped box, so a caller can tell (and
should say) that a region was clipped by comparing it with the box it asked for. A
region that is empty or lies wholly outside raises
:class:`~napari_clipcap.core.errors.InvalidInputError`.
A polygon's crop is its bounding box with the outside either masked with ``fill``
(``polygon_mode="mask"``, the default) or kept as context (``"context"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError

POLYGON_MODES = ("mask", "context")


@dataclass(frozen=True)
class Region:
    """A box or polygon, validated; ``box`` is the (clipped) bounding box."""

    box: tuple[int, int, int, int]
    polygon: np.ndarray | None = None

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def from_napari(vertices: Any) -> np.ndarray:
    """Turn napari ``(row, col)`` vertices (last two axes) into ``(x, y)`` vertices."""
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] < 2:
        raise InvalidInputError(f"napari shape vertices must be (N, D>=2), got {v.shape}")
    return v[:, [-1, -2]]


def as_region(region: Any, shape: tuple[int, ...]) -> Region:
    """Validate a box or polygon against an image of ``shape`` (H, W, ...).

    Parameters
    ----------
    region : sequence of 4 numbers, (N, 2) array-like, or Region
        A box ``(x0, y0, x1, y1)`` or polygon vertices ``(x, y)``.
    shape : tuple of int
        The image shape; only the first two entries (rows, columns) are used.

    Returns
    -------
    Region
        Its ``box`` is clipped to the image: a region that reaches past the edge keeps
        only its part inside (``box`` then differs from the box asked for; a polygon
        keeps its vertices, and only pixels inside both count).

    Raises
    ------
    InvalidInputError
        For malformed or empty regions, and for regions that lie wholly outside the
        image (no pixel inside).
    """
    h, w = int(shape[0]), int(shape[1])
    if isinstance(region, Region):
        region = region.polygon if region.polygon is not None else region.box
    arr = np.asarray(region, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 4:
        if not np.all(np.isfinite(arr)):
            raise InvalidInputError(f"box {tuple(region)} has non-finite coordinates")
        x0, y0, x1, y1 = (round(float(v)) for v in arr)
        if x1 <= x0 or y1 <= y0:
            raise InvalidInputError(
                f"box {(x0, y0, x1, y1)} is empty: it needs x1 > x0 and y1 > y0 "
                "(x0,y0,x1,y1 with the end exclusive)"
            )
        return Region(_clip_box((x0, y0, x1, y1), h, w, f"box {(x0, y0, x1, y1)}"))
    if arr.ndim == 2 and arr.shape[1] == 2 and arr.shape[0] >= 3:
        if not np.all(np.isfinite(arr)):
            raise InvalidInputError("polygon has non-finite vertices")
        x0, y0 = np.floor(arr.min(axis=0)).astype(int)
        x1, y1 = np.ceil(arr.max(axis=0)).astype(int)
        if x1 <= x0 or y1 <= y0:
            raise InvalidInputError("polygon has no area")
        box = _clip_box((x0, y0, x1, y1), h, w, f"polygon with bounding box {(x0, y0, x1, y1)}")
        return Region(box, arr)
    raise InvalidInputError(
        f"a region must be a box (x0, y0, x1, y1) or polygon vertices (N >= 3, 2); "
        f"got an array of shape {arr.shape}"
    )


def _clip_box(box, h: int, w: int, what: str) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 <= cx0 or cy1 <= cy0:
        raise InvalidInputError(f"{what} lies outside the {w} x {h} (width x height) image")
    return int(cx0), int(cy0), int(cx1), int(cy1)


def is_all_nan(image: np.ndarray, chunk_rows: int = 256) -> bool:
    """Whether a float image holds only NaN, read in row chunks (no full-size temporary)."""
    if np.asarray(image[:0]).dtype.kind not in "fc":
        return False
    for r in range(0, image.shape[0], chunk_rows):
        if not np.isnan(np.asarray(image[r : r + chunk_rows])).all():
            return False
    return True


def polygon_mask(region: Region) -> np.ndarray:
    """Boolean mask over the region's box: True where the pixel centre is inside.

    Even-odd rule (crossing number), vectorised over rows; a centre exactly on an edge
    counts as inside on left/top edges and outside on right/bottom ones.
    """
    x0, y0, x1, y1 = region.box
    if region.polygon is None:
        return np.ones((y1 - y0, x1 - x0), dtype=bool)
    px = (np.arange(x0, x1) + 0.5)[None, :]
    py = (np.arange(y0, y1) + 0.5)[:, None]
    inside = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    poly = region.polygon
    for (xi, yi), (xj, yj) in zip(poly, np.roll(poly, -1, axis=0)):
        if yi == yj:
            continue
        crosses = (yi > py) != (yj > py)
        x_at = xi + (py - yi) * (xj - xi) / (yj - yi)
        inside ^= crosses & (px < x_at)
    return inside


def crop(
    image: np.ndarray,
    region: Any,
    *,
    polygon_mode: str = "mask",
    fill: float | Sequence[float] = 0.0,
) -> np.ndarray:
    """Cut a region out of an ``H x W [x C]`` image.

    Parameters
    ----------
    image : ndarray
        The image (any dtype; not copied beyond the crop).
    region : box, polygon or Region
        See the module docstring.
    polygon_mode : {"mask", "context"}
        For polygons: paint pixels outside with ``fill`` or keep them as context.
    fill : float or sequence of float
        The value (or per-channel values) for masked pixels.

    Returns
    -------
    ndarray
        A new array of the box's size.
    """
    if polygon_mode not in POLYGON_MODES:
        raise InvalidInputError(
            f"polygon_mode must be one of {POLYGON_MODES}, not {polygon_mode!r}"
        )
    reg = as_region(region, image.shape)
    x0, y0, x1, y1 = reg.box
    step = reduction_for(y1 - y0, x1 - x0) if hasattr(image, "reduced") else 1
    if step > 1:  # a lazy model input: read the large box block-averaged, a band at a time
        out = image.reduced(y0, y1, x0, x1, step)
    elif hasattr(image, "reduced"):  # a lazy model input: its slice is already new
        out = image[y0:y1, x0:x1]
    else:
        out = np.array(image[y0:y1, x0:x1], copy=True)
    if reg.polygon is not None and polygon_mode == "mask":
        inside = polygon_mask(reg)
        out[~inside[step // 2 :: step, step // 2 :: step][: out.shape[0], : out.shape[1]]] = fill
    return out


#: A region of a lazy model input with more pixels than this is read reduced.
LARGE_CROP_PIXELS = 4096 * 4096
#: ... by the largest whole step that keeps its short side at least this long.
REDUCED_SHORT_SIDE = 1024


def reduction_for(height: int, width: int) -> int:
    """The block size a crop of ``height x width`` of a lazy model input is averaged by.

    Models shrink every crop to their input size (224 px for most CLIPs) with an
    antialiased resize, so a crop above :data:`LARGE_CROP_PIXELS` is read as the mean
    of ``k x k`` blocks, its short side still :data:`REDUCED_SHORT_SIDE` px or more.
    """
    if height * width <= LARGE_CROP_PIXELS:
        return 1
    return max(1, min(height, width) // REDUCED_SHORT_SIDE)


def crops(
    image: np.ndarray,
    regions: Sequence[Any] | None,
    *,
    polygon_mode: str = "mask",
    fill: float | Sequence[float] = 0.0,
) -> list[np.ndarray]:
    """Crops of several regions; ``None`` (or no regions) gives the whole image."""
    if regions is not None and len(regions) == 4 and all(np.isscalar(v) for v in regions):
        regions = [regions]  # one box given on its own
    regions = list(regions) if regions is not None else []
    if not regions:
        if hasattr(image, "reduced"):  # a lazy model input: as a region, maybe reduced
            return [crop(image, (0, 0, image.shape[1], image.shape[0]))]
        return [np.asarray(image)]
    out = []
    for i, r in enumerate(regions):
        try:
            out.append(crop(image, r, polygon_mode=polygon_mode, fill=fill))
        except InvalidInputError as exc:
            raise InvalidInputError(f"region {i + 1}: {exc}") from None
    return out


#: Largest coordinate a region may give: far past any image, still a safe integer.
MAX_COORD = 2**53


def region_text(region: Any) -> str:
    """A box as ``x0,y0,x1,y1`` (integers), a polygon as ``x,y,x,y,...`` (exact floats):
    what ``--region`` reads back into the same region (:func:`parse_region`)."""
    if isinstance(region, Region):
        region = region.polygon if region.polygon is not None else region.box
    arr = np.asarray(region, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 4:
        return ",".join(str(round(float(v))) for v in arr)
    return ",".join(repr(float(v)) for v in arr.reshape(-1))


def parse_region(text: str) -> tuple[int, int, int, int] | np.ndarray:
    """Read ``x0,y0,x1,y1`` (a box, pixel data coordinates, end exclusive) or
    ``x,y,x,y,x,y[,...]`` (the vertices of a polygon, at least three, on pixel edges).

    Raises
    ------
    InvalidInputError
        Unless the text is four numbers, or an even number of at least six, all finite
        and within :data:`MAX_COORD` of zero (the region is named in the message).
    """
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) != 4 and (len(values) < 6 or len(values) % 2):
        raise InvalidInputError(
            f"region {_short(text)!r} is not four numbers x0,y0,x1,y1 (a box) nor the "
            "x,y pairs of three or more polygon vertices"
        )
    if not all(np.isfinite(v) and abs(v) <= MAX_COORD for v in values):
        raise InvalidInputError(
            f"region {_short(text)!r} must be finite pixel coordinates (no inf or nan, "
            "none beyond 2**53 in size)"
        )
    if len(values) == 4:
        x0, y0, x1, y1 = (round(v) for v in values)
        return x0, y0, x1, y1
    return np.array(values, dtype=np.float64).reshape(-1, 2)


def _short(text: str, limit: int = 80) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
