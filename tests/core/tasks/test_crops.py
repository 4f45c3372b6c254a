"""The one crops function: outlines, no-data rules, low-data warnings, gaps put back."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from napari_clipcap.core.coords.region_shapes import shape_region
from napari_clipcap.core.coords.regions import parse_region, polygon_mask, region_text
from napari_clipcap.core.errors import InvalidInputError, LowDataWarning
from napari_clipcap.core.tasks.crops import NO_DATA_IMAGE, cut_regions


def _rotated_corners_yx(cx, cy, w, h, deg):
    a = np.deg2rad(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    xy = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [w / 2, h / 2] @ rot.T + [cx, cy]
    return xy[:, ::-1]  # napari (row, col)


def test_an_ellipse_is_cut_as_its_outline_not_its_corners_box():
    corners = _rotated_corners_yx(150, 120, 180, 60, 35)
    region = shape_region("ellipse", corners)
    assert isinstance(region, np.ndarray) and region.shape == (64, 2)
    image = np.ones((300, 300, 3), np.float32)
    (part,) = cut_regions(image, [region]).parts
    inside = np.count_nonzero(part[..., 0])
    assert inside == pytest.approx(np.pi * 90 * 30, rel=0.02)  # the ellipse's area
    span = np.ptp(corners, axis=0)
    assert span[0] * span[1] > 3.2 * inside  # the box of its corners is 3.3x larger


def test_a_rotated_rectangle_is_its_outline_an_axis_aligned_one_its_box():
    rotated = shape_region("rectangle", _rotated_corners_yx(50, 50, 40, 20, 30))
    assert isinstance(rotated, np.ndarray) and rotated.shape == (4, 2)
    upright = shape_region("rectangle", np.array([[10, 20], [10, 60], [40, 60], [40, 20.0]]))
    assert upright == (20, 10, 60, 40)


def test_region_text_reads_back_exactly():
    poly = shape_region("ellipse", _rotated_corners_yx(33.3, 20.1, 17, 9, 12))
    back = parse_region(region_text(poly))
    np.testing.assert_array_equal(back, poly)
    assert parse_region(region_text((1, 2, 30, 40))) == (1, 2, 30, 40)
    with pytest.raises(InvalidInputError, match="polygon vertices"):
        parse_region("1,2,3,4,5")


def test_a_region_without_data_is_left_out_and_its_gap_put_back():
    image = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    image[:, 40:] = np.nan
    with pytest.warns(LowDataWarning, match="region 2 holds data in only 0%"):
        cut = cut_regions(image, [(0, 0, 40, 40), (44, 0, 64, 20)])
    assert cut.empty.tolist() == [False, True] and len(cut.kept) == 1
    assert cut.fill(["a"], gap=None) == ["a", None]
    with pytest.raises(InvalidInputError, match="more results"):
        cut.fill(["a", "b"])


def test_only_pixels_inside_a_polygon_count_as_its_data():
    image = np.full((100, 100), np.nan, np.float32)
    tri = np.array([[10, 10], [90, 10], [10, 90.0]])
    from napari_clipcap.core.coords.regions import as_region

    inside = polygon_mask(as_region(tri, image.shape))
    image[10:90, 10:90][inside] = 1.0  # data exactly under the triangle
    with warnings.catch_warnings():
        warnings.simplefilter("error", LowDataWarning)
        cut = cut_regions(image, [tri])  # half its box is NaN, yet no warning
    assert not cut.empty[0]


def test_valid_mask_rules_and_an_image_without_data_is_refused():
    image = np.zeros((32, 32, 3), np.float32)
    valid = np.zeros((32, 32), bool)
    with pytest.raises(InvalidInputError, match="entirely NaN"):
        cut_regions(image, None, valid=valid)
    assert NO_DATA_IMAGE.startswith("the image is entirely")
    valid[:, :16] = True
    with pytest.warns(LowDataWarning):
        cut = cut_regions(image, [(0, 0, 16, 32), (16, 0, 32, 32)], valid=valid)
    assert cut.empty.tolist() == [False, True]
    assert cut.boxes == [(0, 0, 16, 32), (16, 0, 32, 32)]


def test_bad_regions_name_their_index():
    with pytest.raises(InvalidInputError, match=r"region 2: .*outside"):
        cut_regions(np.ones((10, 10)), [(0, 0, 5, 5), (20, 20, 30, 30)])
