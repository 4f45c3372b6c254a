"""Sampling: finite values, and astropy's zscale sample found without copying the image."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.scaling.sampling import finite_values, stride_sample


def _astropy_sample(values, n_samples):
    """What astropy's ZScaleInterval.get_limits samples (before sorting)."""
    data = np.ma.getdata(values)
    ok = np.isfinite(data) & ~np.ma.getmaskarray(values)
    finite = data[ok]
    return finite[:: int(max(1.0, finite.size / n_samples))][:n_samples]


@pytest.mark.parametrize("bad_fraction", [0.0, 0.001, 0.3, 0.7, 0.999, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, ">f8"])
def test_stride_sample_is_astropys_sample(bad_fraction, dtype):
    rng = np.random.default_rng(int(bad_fraction * 1000))
    for shape, n_samples in (((37, 211), 1000), ((5000,), 7), ((3, 40, 50), 999)):
        values = rng.normal(size=shape).astype(dtype)
        values[rng.random(shape) < bad_fraction] = np.nan
        values[rng.random(shape) < bad_fraction / 10] = -np.inf
        got = stride_sample(values, n_samples)
        np.testing.assert_array_equal(got, _astropy_sample(values, n_samples))
        assert got.dtype == values.dtype and got.size <= n_samples


def test_stride_sample_of_masked_integer_and_non_contiguous_data():
    rng = np.random.default_rng(0)
    masked = np.ma.masked_array(rng.normal(size=(90, 80)), mask=rng.random((90, 80)) < 0.4)
    np.testing.assert_array_equal(stride_sample(masked, 500), _astropy_sample(masked, 500))
    ints = rng.integers(-5, 5, (60, 70)).astype(np.int16)
    np.testing.assert_array_equal(stride_sample(ints, 100), _astropy_sample(ints, 100))
    view = rng.normal(size=(100, 100))[::3, ::-2]
    np.testing.assert_array_equal(stride_sample(view, 300), _astropy_sample(view, 300))


def test_finite_values_take_at_most_max_samples_at_a_stride():
    values = np.arange(15_000.0)
    values[::7] = np.nan
    out = finite_values(values, max_samples=10_000)
    assert out.dtype == np.float64 and out.size <= 10_000
    np.testing.assert_array_equal(out, values[::2][np.isfinite(values[::2])])
    np.testing.assert_array_equal(finite_values(values), values[np.isfinite(values)])


class _Rows:
    """A lazy array read a band of rows at a time, as a lazy FITS plane is."""

    def __init__(self, values):
        self.values, self.shape = values, values.shape

    def rows(self, start, stop):
        return self.values[start:stop].copy()


def test_banded_stride_sample_keeps_no_band_alive():
    import tracemalloc

    values = np.random.default_rng(0).normal(size=(4096, 512)).astype(np.float32)  # 8 MB
    rows = _Rows(values)
    tracemalloc.start()
    try:
        got = stride_sample(rows, 100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(got, _astropy_sample(values, 100))
    assert peak < values.nbytes / 2  # a few bands at a time, never the whole image
