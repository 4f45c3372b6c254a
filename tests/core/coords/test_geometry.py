"""Layer-to-layer coordinates, field-of-view boxes and displayed planes."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.coords.geometry import (
    bounding_box,
    embed_affine,
    map_points,
    plane_affine,
    plane_index,
    view_box,
)
from napari_clipcap.core.errors import InvalidInputError


def affine(scale, translate):
    d = len(scale)
    m = np.eye(d + 1)
    m[:d, :d] = np.diag(scale)
    m[:d, d] = translate
    return m


def test_map_points_between_layers_with_different_scale_and_translate():
    shapes = affine((2.0, 2.0), (10.0, 0.0))  # one shapes unit = 2 world units
    image = affine((0.5, 0.5), (0.0, 4.0))
    pts = np.array([[0.0, 0.0], [5.0, 10.0]])
    out = map_points(pts, shapes, image)
    # world = 2 * p + (10, 0); image data = (world - (0, 4)) / 0.5
    np.testing.assert_allclose(out, [[20.0, -8.0], [40.0, 32.0]])


def test_map_points_from_2d_shapes_into_3d_stack():
    shapes = affine((1.0, 1.0), (0.0, 0.0))
    stack = affine((3.0, 2.0, 2.0), (0.0, 0.0, 0.0))
    out = map_points(np.array([[4.0, 6.0]]), shapes, stack)
    assert out.shape == (1, 3)
    np.testing.assert_allclose(out[0, 1:], [2.0, 3.0])


def test_embed_affine_keeps_leading_axes_identity():
    m = embed_affine(affine((2.0, 3.0), (1.0, 1.0)), 4)
    assert m.shape == (5, 5)
    np.testing.assert_allclose(np.diag(m)[:2], [1.0, 1.0])
    np.testing.assert_allclose(m[2:4, 4], [1.0, 1.0])


def test_bounding_box_is_half_open_in_pixels_and_clipped():
    assert bounding_box(np.array([[0.0, 0.0], [224.0, 224.0]]), 300, 300) == (0, 0, 224, 224)
    assert bounding_box(np.array([[-0.5, -0.5], [9.5, 19.5]]), 100, 100) == (0, 0, 20, 10)
    assert bounding_box(np.array([[-50.0, 90.0], [20.0, 500.0]]), 50, 100) == (90, 0, 100, 20)
    # a single click still covers one pixel
    assert bounding_box(np.array([[5.0, 7.0]]), 10, 10) == (7, 5, 8, 6)


def test_bounding_box_outside_image_raises():
    with pytest.raises(InvalidInputError, match="outside"):
        bounding_box(np.array([[200.0, 200.0], [300.0, 300.0]]), 100, 100)


def test_view_box_of_zoomed_camera():
    # 100 x 200 screen pixels at zoom 2 show 50 x 100 world units around (50, 60)
    box = view_box((50.0, 60.0), (100, 200), 2.0, affine((1.0, 1.0), (0.0, 0.0)), 500, 500)
    assert box == (10, 25, 110, 75)
    # with a scaled image, the same world window covers fewer pixels
    box = view_box((50.0, 60.0), (100, 200), 2.0, affine((2.0, 2.0), (0.0, 0.0)), 500, 500)
    assert box == (5, 13, 55, 38)


def test_plane_index_rounds_and_clips():
    assert plane_index([2.6, 10.0, 10.0], (5, 64, 64)) == (3,)
    assert plane_index([9.0, -3.0, 1.0, 1.0], (4, 3, 64, 64)) == (3, 0)
    assert plane_index([1.0, 1.0], (64, 64)) == ()


def test_plane_affine_takes_trailing_block_and_rejects_oblique():
    m = affine((3.0, 2.0, 5.0), (7.0, 1.0, 4.0))
    np.testing.assert_allclose(plane_affine(m), affine((2.0, 5.0), (1.0, 4.0)))
    m[1, 0] = 0.5
    with pytest.raises(InvalidInputError):
        plane_affine(m)


def test_threshold_regions_labels_and_boxes():
    from napari_clipcap.core.coords.geometry import threshold_regions

    m = np.zeros((20, 30), np.float32)
    m[2:5, 3:9] = 1.0  # 18 px
    m[10:12, 20:21] = 0.8  # 2 px, dropped by min_pixels
    m[15, 25] = np.nan
    labels, boxes = threshold_regions(m, 0.5, min_pixels=3)
    assert boxes == [(3, 2, 9, 5)]
    assert labels.dtype == np.int32 and set(np.unique(labels)) == {0, 1}
    assert int((labels == 1).sum()) == 18
