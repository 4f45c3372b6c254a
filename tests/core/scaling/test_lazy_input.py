"""The lazy model input: slices equal the whole array's, large crops read reduced."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.coords.regions import crop, crops, reduction_for
from napari_clipcap.core.scaling.model_input import model_input_view, to_model_input


def _cases():
    rng = np.random.default_rng(0)
    sky = rng.normal(100, 5, (120, 90)).astype(np.float32)
    sky.flat[::17] = np.nan
    return [
        (sky, {"domain": "astronomy"}),
        ((rng.random((60, 70, 3)) * 255).astype(np.uint8), {}),
        ((rng.random((60, 70, 3)) * 6000).astype(np.uint16), {"domain": "satellite"}),
        (rng.random((50, 60)).astype(np.float32), {"stretch": "histeq", "interval": "minmax"}),
        (rng.random((50, 60)) > 0.5, {}),
    ]


@pytest.mark.parametrize(("data", "kwargs"), _cases())
def test_view_slices_equal_the_whole_arrays(data, kwargs):
    whole = to_model_input(data, **kwargs)
    view = model_input_view(data, **kwargs)
    assert view.shape == whole.shape and view.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(view), whole)
    np.testing.assert_array_equal(view[10:40, 5:37], whole[10:40, 5:37])
    np.testing.assert_array_equal(view[3], whole[3])
    np.testing.assert_array_equal(view[-1, 2:9], whole[-1, 2:9])
    np.testing.assert_array_equal(view[..., 1], whole[..., 1])


def test_view_reduced_is_the_block_mean():
    data = np.random.default_rng(1).random((53, 47)).astype(np.float32)
    view = model_input_view(data)
    whole = to_model_input(data)
    got = view.reduced(3, 50, 2, 45, 5)
    assert got.shape == (10, 9, 3)
    np.testing.assert_allclose(got[0, 0], whole[3:8, 2:7].mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(got[-1, -1], whole[48:50, 42:45].mean(axis=(0, 1)), rtol=1e-5)


def test_large_crops_of_a_view_are_reduced_small_ones_exact(monkeypatch):
    from napari_clipcap.core.coords import regions

    monkeypatch.setattr(regions, "LARGE_CROP_PIXELS", 40 * 40)
    monkeypatch.setattr(regions, "REDUCED_SHORT_SIDE", 20)
    data = np.random.default_rng(2).random((90, 80)).astype(np.float32)
    view, whole = model_input_view(data), to_model_input(data)
    np.testing.assert_array_equal(crop(view, (5, 5, 35, 35)), whole[5:35, 5:35])
    assert reduction_for(90, 80) == 4
    (full,) = crops(view, None)
    assert full.shape == (23, 20, 3)  # 90 x 80 read as 4 x 4 block means
    np.testing.assert_allclose(full[0, 0], whole[:4, :4].mean(axis=(0, 1)), rtol=1e-5)
    assert crops(whole, None)[0].shape == whole.shape  # arrays are never reduced
