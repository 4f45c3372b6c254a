"""Heatmaps over data with holes (NaN rows, nodata wedges), and the window rule."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.tasks.heatmap import text_heatmap
from napari_clipcap.core.tasks.validity import plane_valid_mask, valid_mask
from napari_clipcap.core.tasks.windows import WindowGrid, auto_window


@pytest.fixture
def holed():
    img = np.random.default_rng(3).random((64, 80, 3)).astype(np.float32)
    img[10:14] = np.nan  # NaN rows, as on a FITS cube plane
    y, x = np.mgrid[0:64, 0:80]
    img[x + 2 * y < 30] = np.nan  # a nodata wedge at a corner, as in a Sentinel-2 tile
    return img


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_map_is_nan_exactly_where_the_source_has_no_data(tiny_clip, holed, mode):
    got = text_heatmap(holed, ["river", "forest"], tiny_clip, mode=mode, window=32, stride=16)
    hole = np.isnan(holed).any(axis=-1)
    assert np.isnan(got[:, hole]).all()
    assert np.isfinite(got[:, ~hole]).all()


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_valid_mask_for_a_model_input_keeps_valid_values(tiny_clip, holed, mode):
    # a model input has the holes as 0; the mask says where they were
    model_input = np.nan_to_num(holed, nan=0.0)
    hole = np.isnan(holed).any(axis=-1)
    plain = text_heatmap(model_input, "river", tiny_clip, mode=mode, window=32, stride=16)
    masked = text_heatmap(
        model_input, "river", tiny_clip, mode=mode, window=32, stride=16, valid=~hole
    )
    assert np.isfinite(plain).all() and np.isnan(masked[hole]).all()
    np.testing.assert_allclose(masked[~hole], plain[~hole], atol=1e-6)
    # the same map whether the holes come as NaN or as a mask
    from_nan = text_heatmap(holed, "river", tiny_clip, mode=mode, window=32, stride=16)
    np.testing.assert_allclose(from_nan, masked, atol=1e-6)


def test_windows_without_data_are_not_encoded(tiny_clip, monkeypatch):
    img = np.random.default_rng(4).random((64, 64, 3)).astype(np.float32)
    img[:32] = np.nan  # the top row of 32 px windows is empty
    seen = []
    encode = tiny_clip.encode_pixels
    monkeypatch.setattr(tiny_clip, "encode_pixels", lambda p: seen.append(len(p)) or encode(p))
    got = text_heatmap(img, "river", tiny_clip, window=32, stride=32)
    assert sum(seen) == 2  # of 4 windows
    assert np.isnan(got[:32]).all() and np.isfinite(got[32:]).all()


def test_bad_masks(tiny_clip):
    img = np.ones((16, 16, 3), np.float32)
    with pytest.raises(InvalidInputError, match="shape"):
        text_heatmap(img, "x", tiny_clip, valid=np.ones((8, 8), bool))
    with pytest.raises(InvalidInputError, match="no data"):
        text_heatmap(img, "x", tiny_clip, valid=np.zeros((16, 16), bool))


def test_valid_masks_of_planes():
    cube = np.ones((3, 5, 6), np.float32)
    cube[1, 2] = np.nan
    assert plane_valid_mask(cube, (0,)).all()
    m = plane_valid_mask(cube, (1,))
    assert m.shape == (5, 6) and not m[2].any() and m[[0, 1, 3, 4]].all()
    rgb = np.ones((5, 6, 3), np.float32)
    rgb[0, 0, 2] = np.inf
    m = plane_valid_mask(rgb, (), rgb=True)
    assert m.shape == (5, 6) and not m[0, 0] and m.sum() == 29
    assert valid_mask(np.ones((4, 4), np.uint16)) is None


def test_auto_window_rule_and_grid_cells():
    assert auto_window(300, 300) == (72, 36)
    assert auto_window(4000, 3000) == (224, 112)
    assert auto_window(896, 2000) == (224, 112)
    assert auto_window(64, 64) == (32, 16)
    # the 300 px image: 224 / 112 gives a 3 x 3 block map, the rule at least 8 x 8
    assert WindowGrid.of(300, 300, 224, 112).cells == (3, 3)
    fine = WindowGrid.of(300, 300, *auto_window(300, 300))
    assert min(fine.cells) >= 8 and fine.count == 64
