"""Intervals: astropy's classes, on finite values, with float limits."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import visualization as av

from napari_clipcap.core.scaling import model_input as sc


def _finite(a):
    return a[np.isfinite(a)]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (sc.MinMaxInterval(), av.MinMaxInterval()),
        (sc.PercentileInterval(99.0), av.PercentileInterval(99.0)),
        (
            sc.PercentileInterval(lower_percentile=5, upper_percentile=98),
            av.AsymmetricPercentileInterval(5, 98),
        ),
        (sc.ZScaleInterval(), av.ZScaleInterval()),
        (sc.ZScaleInterval(contrast=0.1, n_samples=500), av.ZScaleInterval(500, 0.1)),
        (sc.ManualInterval(90, None), av.ManualInterval(90, None)),
    ],
)
def test_interval_limits_match_astropy(sky, ours, theirs):
    np.testing.assert_allclose(ours.get_limits(sky), theirs.get_limits(sky), rtol=1e-10)


def test_intervals_ignore_nan_and_inf(sky):
    bad = sky.copy()
    bad[:5] = np.nan
    bad[5, :] = np.inf
    bad[6, :] = -np.inf
    for cls in (sc.MinMaxInterval, sc.ZScaleInterval, sc.PercentileInterval):
        lo, hi = cls().get_limits(bad)
        assert np.isfinite([lo, hi]).all()
        np.testing.assert_allclose((lo, hi), cls().get_limits(_finite(bad)))


def test_interval_of_all_nan_is_zero_width():
    assert sc.ZScaleInterval().get_limits(np.full((4, 4), np.nan)) == (0.0, 0.0)


def test_dtype_interval():
    assert sc.DtypeInterval().get_limits(np.zeros(3, np.uint8)) == (0.0, 255.0)
    assert sc.DtypeInterval().get_limits(np.zeros(3, np.uint16)) == (0.0, 65535.0)
    assert sc.DtypeInterval().get_limits(np.zeros(3, np.float32)) == (0.0, 1.0)
    assert sc.DtypeInterval().get_limits(np.array([-3, 7], np.int16)) == (-3.0, 7.0)


def _star_field(n=2048, seed=1):
    """A ~4.2-megapixel sky: a gradient, noise, 3000 stars of power-law flux, NaN edges."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n].astype(np.float32)
    img = 100 + 40 * x / n + 20 * y / n + rng.normal(0, 5, (n, n)).astype(np.float32)
    ys, xs = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    flux = rng.pareto(1.5, 3000) * 200
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            img[(ys + dy) % n, (xs + dx) % n] += flux * np.exp(-(dy * dy + dx * dx) / 2.0)
    img[:, :60] = img[:40] = img[-25:] = img[:, -33:] = np.nan
    return img


def _old_strided_limits(img, n_samples=1000):
    """The former sampling: a stride to about a million values, then astropy's stride."""
    flat = img.ravel()[:: img.size // 1_000_000].astype(np.float64)
    finite = flat[np.isfinite(flat)]
    samples = finite[:: int(max(1.0, finite.size / n_samples))][:n_samples]
    return av.ZScaleInterval(n_samples).get_limits(samples)


def test_zscale_of_a_large_star_field_is_astropys_on_all_pixels():
    img = _star_field()
    assert img.size > 4_000_000
    theirs = np.array(av.ZScaleInterval().get_limits(img), dtype=np.float64)
    ours = np.array(sc.ZScaleInterval().get_limits(img))
    tolerance = 0.01 * (theirs[1] - theirs[0])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=tolerance)
    # the image tells the samplings apart: the old pre-stride missed by more than 2 %
    old = np.array(_old_strided_limits(img))
    assert np.abs(old - theirs).max() > 2 * tolerance
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)  # in fact the same samples


def test_intervals_are_astropys_classes():
    pairs = [
        (sc.MinMaxInterval, av.MinMaxInterval),
        (sc.PercentileInterval, av.PercentileInterval),
        (sc.ZScaleInterval, av.ZScaleInterval),
        (sc.ManualInterval, av.ManualInterval),
    ]
    for ours, theirs in pairs:
        assert issubclass(ours, theirs) and issubclass(ours, av.BaseInterval)
    assert issubclass(sc.DtypeInterval, av.BaseInterval)


def test_masked_values_are_ignored_as_astropy_does(sky):
    masked = np.ma.masked_array(sky, mask=sky > 105)
    for ours, theirs in (
        (sc.ZScaleInterval(), av.ZScaleInterval()),
        (sc.MinMaxInterval(), av.MinMaxInterval()),
    ):
        np.testing.assert_allclose(ours.get_limits(masked), theirs.get_limits(masked), rtol=1e-10)
    assert sc.MinMaxInterval().get_limits(masked)[1] <= 105


def test_percentile_samples_are_a_reproducible_stride_of_at_most_n_samples():
    values = np.random.default_rng(3).normal(size=15_000)
    interval = sc.PercentileInterval(90.0, n_samples=10_000)
    expected = np.percentile(values[::2], [5.0, 95.0])  # astropy would draw at random
    np.testing.assert_allclose(interval.get_limits(values), expected, rtol=1e-12)
    assert interval.get_limits(values) == interval.get_limits(values)


def test_zscale_without_rejection_rounds_is_the_range_of_its_samples(sky):
    lo, hi = sc.ZScaleInterval(max_iterations=0).get_limits(sky)  # astropy fails here
    samples = sky.ravel()[:: sky.size // 1000]
    assert (lo, hi) == (samples.min(), samples.max())


def test_interval_writes_into_out_and_types_limits_as_floats(sky):
    out = np.empty(sky.shape, np.float32)
    assert sc.ZScaleInterval()(sky, out=out) is out
    np.testing.assert_allclose(out, av.ZScaleInterval()(sky), atol=1e-6)
    limits = sc.ZScaleInterval().get_limits(sky.astype(np.float32))
    assert all(type(v) is float for v in limits)
