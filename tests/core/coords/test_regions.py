"""Boxes and polygons in pixel coordinates, crops, masks and bad regions."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.coords.regions import (
    as_region,
    crop,
    crops,
    from_napari,
    is_all_nan,
    polygon_mask,
)
from napari_clipcap.core.errors import InvalidInputError


@pytest.fixture
def image():
    # value = 100 * row + column, so a crop tells where it came from
    rows, cols = np.mgrid[0:20, 0:30]
    return (100 * rows + cols).astype(np.float32)


def test_box_is_x_column_y_row_end_exclusive(image):
    c = crop(image, (5, 2, 8, 6))
    assert c.shape == (4, 3)
    assert c[0, 0] == 205 and c[-1, -1] == 507


def test_box_partly_outside_is_clipped(image):
    c = crop(image, (-5, 15, 4, 40))
    assert c.shape == (5, 4)
    assert c[0, 0] == 1500
    assert as_region((25, -3, 99, 2), image.shape).box == (25, 0, 30, 2)


@pytest.mark.parametrize(
    "box, match",
    [
        ((5, 5, 5, 9), "empty"),
        ((8, 5, 2, 9), "empty"),
        ((30, 0, 40, 5), "outside"),
        ((0, -9, 5, 0), "outside"),
        ((0, 0, np.nan, 3), "non-finite"),
    ],
)
def test_bad_boxes(image, box, match):
    with pytest.raises(InvalidInputError, match=match):
        crop(image, box)


def test_malformed_region(image):
    with pytest.raises(InvalidInputError, match=r"box .* or polygon"):
        crop(image, [(1, 2), (3, 4)])


def test_polygon_mask_and_context(image):
    tri = np.array([[0, 0], [10, 0], [0, 10]], float)  # (x, y)
    reg = as_region(tri, image.shape)
    assert reg.box == (0, 0, 10, 10)
    mask = polygon_mask(reg)
    assert mask[0, 0] and not mask[9, 9] and mask.sum() == 45  # centres under x + y < 10
    masked = crop(image, tri, fill=-1)
    assert masked[9, 9] == -1 and masked[0, 0] == 0
    context = crop(image, tri, polygon_mode="context")
    assert context[9, 9] == 909
    with pytest.raises(InvalidInputError, match="polygon_mode"):
        crop(image, tri, polygon_mode="blur")


def test_polygon_rgb_fill_and_clipping():
    img = np.ones((10, 10, 3), np.float32)
    square = np.array([[-5, -5], [5, -5], [5, 5], [-5, 5]], float)
    c = crop(img, square, fill=(0.1, 0.2, 0.3))
    assert c.shape == (5, 5, 3) and np.all(c == 1)  # all pixel centres inside
    diamond = np.array([[5, 0], [10, 5], [5, 10], [0, 5]], float)
    d = crop(img, diamond, fill=(0.1, 0.2, 0.3))
    np.testing.assert_allclose(d[0, 0], (0.1, 0.2, 0.3))


def test_from_napari_swaps_row_col():
    np.testing.assert_array_equal(from_napari([[1, 2], [3, 4]]), [[2, 1], [4, 3]])
    np.testing.assert_array_equal(from_napari([[0, 1, 2]]), [[2, 1]])
    with pytest.raises(InvalidInputError):
        from_napari([1, 2])


def test_crops_whole_image_single_box_and_index_in_errors(image):
    assert crops(image, None)[0].shape == image.shape
    assert crops(image, [])[0].shape == image.shape
    assert crops(image, (0, 0, 3, 3))[0].shape == (3, 3)
    assert [c.shape for c in crops(image, np.array([[0, 0, 2, 2], [1, 1, 4, 5]]))] == [
        (2, 2),
        (4, 3),
    ]
    with pytest.raises(InvalidInputError, match="region 2"):
        crops(image, [(0, 0, 2, 2), (3, 3, 3, 3)])


def test_is_all_nan():
    a = np.full((600, 4), np.nan, np.float32)
    assert is_all_nan(a)
    a[599, 3] = 1
    assert not is_all_nan(a)
    assert not is_all_nan(np.zeros((3, 3), np.uint8))
