"""Coordinates between layers: pure numpy on homogeneous affine matrices.

napari places every layer in a shared *world* space through a data-to-world affine
(scale, translate, rotate, shear and an extra affine). The widgets need three things
from that geometry, all computed here without napari:

- the vertices of a Shapes layer in the *pixel data coordinates* of an image layer,
  even when the two layers have different scales, translations or dimensionality;
- the image box seen in the canvas (the field of view);
- the index of the 2D plane displayed from a 3D, time or multichannel stack.

Boxes follow the package contract: ``(x0, y0, x1, y1)`` in data pixels, ``x`` the
column, ``y`` the row, the end exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInputError

Box = tuple[int, int, int, int]


def embed_affine(matrix: np.ndarray, ndim: int) -> np.ndarray:
    """Embed an affine over the trailing axes of a space with ``ndim`` axes.

    napari aligns layers of different dimensionality by their trailing axes; leading
    axes that a layer lacks are mapped by the identity.

    Parameters
    ----------
    matrix : ndarray, shape (d + 1, d + 1)
        Homogeneous affine of a ``d``-dimensional layer, ``d <= ndim``.
    ndim : int
        Dimensionality of the target space.

    Returns
    -------
    ndarray, shape (ndim + 1, ndim + 1)
    """
    matrix = np.asarray(matrix, dtype=float)
    d = matrix.shape[0] - 1
    if d > ndim:
        raise InvalidInputError(f"cannot embed a {d}D affine in {ndim}D")
    out = np.eye(ndim + 1)
    lead = ndim - d
    out[lead:, lead:] = matrix
    return out


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a homogeneous affine to points of shape ``(N, d)``."""
    points = np.atleast_2d(np.asarray(points, dtype=float))
    matrix = np.asarray(matrix, dtype=float)
    return points @ matrix[:-1, :-1].T + matrix[:-1, -1]


def map_points(
    points: np.ndarray, src_data_to_world: np.ndarray, dst_data_to_world: np.ndarray
) -> np.ndarray:
    """Map points from one layer's data coordinates into another layer's.

    Parameters
    ----------
    points : ndarray, shape (N, ds)
        Points in the data coordinates of the source layer (e.g. Shapes vertices).
    src_data_to_world, dst_data_to_world : ndarray
        Homogeneous data-to-world affines of the source and destination layers,
        ``(ds + 1, ds + 1)`` and ``(dd + 1, dd + 1)``.

    Returns
    -------
    ndarray, shape (N, dd)
        The points in the destination layer's data coordinates. When the source has
        fewer axes than the destination, the missing leading axes come out as the
        destination's data coordinate of world position 0.
    """
    src = np.asarray(src_data_to_world, dtype=float)
    dst = np.asarray(dst_data_to_world, dtype=float)
    ds, dd = src.shape[0] - 1, dst.shape[0] - 1
    n = max(ds, dd)
    pts = np.atleast_2d(np.asarray(points, dtype=float))
    if pts.shape[1] != ds:
        raise InvalidInputError(f"points have {pts.shape[1]} coordinates, the layer has {ds}")
    full = np.zeros((pts.shape[0], n))
    full[:, n - ds :] = pts
    world = apply_affine(full, embed_affine(src, n))
    data = apply_affine(world, np.linalg.inv(embed_affine(dst, n)))
    return data[:, n - dd :]


def bounding_box(points_yx: np.ndarray, height: int, width: int) -> Box:
    """Pixel box covering points given as ``(row, col)``, clipped to the image.

    In napari, pixel ``i`` spans data coordinates ``[i - 0.5, i + 0.5)``. The box holds
    the pixels whose centres lie in ``[min, max)`` of the points, at least one pixel
    per axis: a rectangle drawn from ``(0, 0)`` to ``(224, 224)`` gives a 224 px box.

    Raises
    ------
    InvalidInputError
        If the points lie wholly outside the image.
    """
    pts = np.atleast_2d(np.asarray(points_yx, dtype=float))[:, -2:]
    if not np.all(np.isfinite(pts)):
        raise InvalidInputError("region has non-finite coordinates")
    (y_min, x_min), (y_max, x_max) = pts.min(axis=0), pts.max(axis=0)
    x0, y0 = int(np.floor(x_min + 0.5)), int(np.floor(y_min + 0.5))
    x1 = max(int(np.floor(x_max + 0.5)), x0 + 1)
    y1 = max(int(np.floor(y_max + 0.5)), y0 + 1)
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise InvalidInputError(
            f"region ({x_min:.1f}, {y_min:.1f})-({x_max:.1f}, {y_max:.1f}) lies outside "
            f"the {width} x {height} image"
        )
    x0, x1 = max(x0, 0), min(x1, width)
    y0, y1 = max(y0, 0), min(y1, height)
    return x0, y0, x1, y1


def view_box(
    center_yx: Sequence[float],
    canvas_hw: Sequence[float],
    zoom: float,
    data_to_world_2d: np.ndarray,
    height: int,
    width: int,
) -> Box:
    """Box of the image seen in a 2D canvas.

    Parameters
    ----------
    center_yx : sequence of 2 floats
        Camera centre in world coordinates (the displayed axes).
    canvas_hw : sequence of 2 floats
        Canvas size in screen pixels, ``(height, width)``.
    zoom : float
        Screen pixels per world unit.
    data_to_world_2d : ndarray, shape (3, 3)
        The image's affine restricted to the displayed axes.
    height, width : int
        Image size in pixels.
    """
    cy, cx = (float(v) for v in center_yx[-2:])
    hh, hw = canvas_hw[0] / zoom / 2.0, canvas_hw[1] / zoom / 2.0
    corners = np.array(
        [[cy - hh, cx - hw], [cy - hh, cx + hw], [cy + hh, cx - hw], [cy + hh, cx + hw]]
    )
    data = apply_affine(corners, np.linalg.inv(np.asarray(data_to_world_2d, dtype=float)))
    return bounding_box(data, height, width)


def plane_index(point_data: Sequence[float], shape: Sequence[int]) -> tuple[int, ...]:
    """Index of the displayed 2D plane in a stack, from the current data position.

    Parameters
    ----------
    point_data : sequence of float
        The viewer's current position in the layer's data coordinates (``ndim`` values).
    shape : sequence of int
        The layer's spatial shape (``ndim`` values, RGB channels excluded).

    Returns
    -------
    tuple of int
        Index of the leading ``ndim - 2`` axes, rounded and clipped into the stack.
    """
    lead = len(shape) - 2
    if lead < 0:
        raise InvalidInputError(f"an image needs at least 2 dimensions, got {len(shape)}")
    pt = list(point_data)[-len(shape) :] if len(shape) else []
    return tuple(
        int(np.clip(np.round(pt[i]), 0, shape[i] - 1)) if i < len(pt) else 0 for i in range(lead)
    )


def plane_affine(data_to_world: np.ndarray) -> np.ndarray:
    """The ``3 x 3`` affine of the two trailing (displayed) axes of a layer's affine.

    Used to place a 2D result (a heatmap) exactly over the displayed plane of its
    source. Raises when the plane is coupled to the other axes (an oblique affine).
    """
    m = np.asarray(data_to_world, dtype=float)
    d = m.shape[0] - 1
    if d < 2:
        raise InvalidInputError("a layer needs at least 2 dimensions")
    keep = [d - 2, d - 1, d]
    sub = m[np.ix_(keep, keep)]
    lead = list(range(d - 2))
    if lead and (
        np.abs(m[np.ix_([d - 2, d - 1], lead)]).max() > 1e-9
        or np.abs(m[np.ix_(lead, [d - 2, d - 1])]).max() > 1e-9
    ):
        raise InvalidInputError("the image's affine mixes the displayed plane with other axes")
    return sub


def box_area(box: Box) -> int:
    """Number of pixels in a box."""
    x0, y0, x1, y1 = box
    return max(0, x1 - x0) * max(0, y1 - y0)


def threshold_regions(
    values: np.ndarray, threshold: float, *, min_pixels: int = 1
) -> tuple[np.ndarray, list[Box]]:
    """Connected regions of a 2D map at or above ``threshold``.

    Parameters
    ----------
    values : ndarray, shape (H, W)
        A score map (e.g. a text heatmap); NaN counts as below.
    threshold : float
        Pixels with ``values >= threshold`` belong to regions.
    min_pixels : int
        Smaller regions are dropped.

    Returns
    -------
    labels : ndarray of int32, shape (H, W)
        0 for background, 1..N for the regions kept.
    boxes : list of Box
        The pixel box of each region, in label order.
    """
    from scipy import ndimage

    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise InvalidInputError(f"expected a 2D map, got shape {values.shape}")
    mask = np.nan_to_num(values, nan=-np.inf) >= threshold
    labels, _ = ndimage.label(mask)
    out = np.zeros(values.shape, np.int32)
    boxes: list[Box] = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        region = labels[sl] == i
        if int(region.sum()) < min_pixels:
            continue
        out[sl][region] = len(boxes) + 1
        boxes.append((sl[1].start, sl[0].start, sl[1].stop, sl[0].stop))
    return out, boxes
