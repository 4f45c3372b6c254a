"""Model-input scaling: to_model_input (intervals and stretches have their own tests)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import visualization as av

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.scaling import model_input as sc


def _finite(a):
    return a[np.isfinite(a)]


def test_uint8_rgb_is_value_over_255():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    out = sc.to_model_input(img)
    assert out.shape == (8, 9, 3) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out, img / 255.0, atol=1e-7)


def test_uint16_rgba_drops_alpha_and_divides_by_65535():
    img = np.full((4, 5, 4), 65535, np.uint16)
    img[..., 0] = 0
    out = sc.to_model_input(img, domain="photo")
    np.testing.assert_allclose(out[..., 0], 0)
    np.testing.assert_allclose(out[..., 1:], 1)


def test_float_photo_is_clipped():
    img = np.array([[-0.5, 0.25], [0.75, 2.0]])
    out = sc.to_model_input(img)
    np.testing.assert_allclose(out[..., 0], [[0, 0.25], [0.75, 1]])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])  # grey -> three equal channels


def test_astronomy_default_is_zscale_asinh_and_nan_inf_map_to_zero(sky):
    bad = sky.copy()
    bad[0, 0], bad[0, 1], bad[0, 2] = np.nan, np.inf, -np.inf
    out = sc.to_model_input(bad, domain="astronomy")
    expected = (av.AsinhStretch() + av.ZScaleInterval())(_finite(bad))
    np.testing.assert_allclose(out[..., 0][np.isfinite(bad)], expected, atol=2e-6)
    np.testing.assert_array_equal(out[0, :3], 0)
    assert 0.2 < np.median(out) < 0.8  # the sky background is visible, not black


def test_explicit_interval_and_stretch_by_name(sky):
    out = sc.to_model_input(sky, interval="percentile", stretch="log")
    expected = (av.LogStretch() + av.PercentileInterval(99.5))(sky)
    np.testing.assert_allclose(out[..., 1], expected, atol=2e-6)


def test_interval_without_stretch_is_linear(sky):
    out = sc.to_model_input(sky, interval=sc.MinMaxInterval(), domain="astronomy")
    np.testing.assert_allclose(out[..., 0], av.MinMaxInterval()(sky), atol=1e-6)


def test_stack_plane_is_chosen_and_extra_entries_ignored():
    stack = np.stack([np.full((5, 6), v, np.float32) for v in (0.1, 0.5, 0.9)])
    assert sc.to_model_input(stack)[0, 0, 0] == pytest.approx(0.1)
    assert sc.to_model_input(stack, plane=2)[0, 0, 0] == pytest.approx(0.9)
    # napari's dims.current_step has an entry for every axis
    assert sc.to_model_input(stack, plane=(1, 0, 0))[0, 0, 0] == pytest.approx(0.5)
    with pytest.raises(InvalidInputError, match="outside"):
        sc.to_model_input(stack, plane=5)


def test_stack_of_rgb_frames():
    frames = np.zeros((2, 3, 4, 3), np.uint8)
    frames[1] = 255
    assert sc.to_model_input(frames, plane=1).min() == 1.0


def test_multichannel_picks_three_channels_bands_first():
    bands = np.stack([np.full((5, 6), i, np.uint16) for i in range(13)])
    out = sc.to_model_input(bands, channels=(3, 2, 1), interval=sc.ManualInterval(0, 10))
    np.testing.assert_allclose(out[0, 0], [0.3, 0.2, 0.1], atol=1e-6)
    grey = sc.to_model_input(bands, channels=7, interval=sc.ManualInterval(0, 10))
    np.testing.assert_allclose(grey[0, 0], [0.7, 0.7, 0.7], atol=1e-6)
    last = np.moveaxis(bands, 0, -1)
    out_last = sc.to_model_input(
        last, channels=(3, 2, 1), channel_axis=-1, interval=sc.ManualInterval(0, 10)
    )
    np.testing.assert_array_equal(out, out_last)


def test_per_channel_interval_balances_bands():
    img = np.zeros((4, 4, 3), np.float32)
    img[..., 0] = np.linspace(0, 10, 16).reshape(4, 4)
    img[..., 1] = np.linspace(0, 1000, 16).reshape(4, 4)
    joint = sc.to_model_input(img, interval="minmax")
    each = sc.to_model_input(img, interval="minmax", per_channel=True)
    assert joint[..., 0].max() == pytest.approx(0.01)
    assert each[..., 0].max() == pytest.approx(1.0)
    assert each[..., 1].max() == pytest.approx(1.0)
    assert each[..., 2].max() == 0.0  # a constant band stays 0


def test_dask_stack_reads_only_the_chosen_plane():
    da = pytest.importorskip("dask.array")
    calls = []

    def plane(block, block_info=None):
        calls.append(block_info[None]["chunk-location"][0])
        return np.full(block.shape, block_info[None]["chunk-location"][0], np.float32)

    stack = da.zeros((4, 6, 6), chunks=(1, 6, 6), dtype=np.float32).map_blocks(
        plane, dtype=np.float32
    )
    out = sc.to_model_input(stack, plane=3, interval=sc.ManualInterval(0, 3))
    assert out[0, 0, 0] == 1.0
    assert set(calls) <= {3}


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(InvalidInputError, match="domain"):
        sc.to_model_input(np.zeros((2, 2)), domain="microscopy-x")
    with pytest.raises(InvalidInputError, match="stretch"):
        sc.to_model_input(np.zeros((2, 2)), stretch="cubic")
    with pytest.raises(InvalidInputError, match="shape"):
        sc.to_model_input(np.zeros(5))
    with pytest.raises(InvalidInputError, match="channels"):
        sc.to_model_input(np.zeros((4, 2, 2)), channels=(0, 1))
    with pytest.raises(InvalidInputError, match="empty"):
        sc.to_model_input(np.zeros((0, 3)))
    with pytest.raises(InvalidInputError, match="type"):
        sc.to_model_input(np.array([["a", "b"]]))


def test_bool_mask_becomes_black_and_white():
    out = sc.to_model_input(np.array([[True, False]]))
    np.testing.assert_array_equal(out[0, :, 0], [1.0, 0.0])


def test_satellite_8bit_is_unchanged_but_deeper_data_get_a_per_band_percentile():
    rng = np.random.default_rng(0)
    rgb8 = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        sc.to_model_input(rgb8, domain="satellite"), rgb8.astype(np.float32) / 255, atol=1e-6
    )
    # uint16 reflectance: bands in very different small ranges of 0..65535
    bands = np.stack(
        [rng.integers(lo, lo + 1000, (20, 30)) for lo in (300, 1200, 4000)], axis=-1
    ).astype(np.uint16)
    out = sc.to_model_input(bands, domain="satellite", rgb=True)
    for c in range(3):
        lo, hi = np.percentile(bands[..., c], [2, 98])
        expected = np.clip((bands[..., c] - lo) / (hi - lo), 0, 1)
        np.testing.assert_allclose(out[..., c], expected, atol=1e-5)
    # a single uint16 band (the displayed plane of a band stack) is stretched, not black
    grey = sc.to_model_input(bands[..., 0], domain="satellite")
    assert grey.max() == 1.0 and grey.min() == 0.0
    # an explicit interval wins over the default and, as always, spans all bands at once
    explicit = sc.to_model_input(bands, domain="satellite", rgb=True, interval="minmax")
    assert explicit.max() == 1.0 and explicit[..., 0].max() < 0.5


def test_astropy_stretch_objects_are_accepted_and_the_input_is_left_alone(sky):
    data = sky.astype(np.float32)
    before = data.copy()
    out = sc.to_model_input(data, interval="zscale", stretch=av.AsinhStretch())
    np.testing.assert_array_equal(data, before)
    np.testing.assert_allclose(out, sc.to_model_input(data, domain="astronomy"), atol=1e-6)
