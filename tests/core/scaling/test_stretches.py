"""Stretches: astropy's classes, in float32, never modifying their input."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import visualization as av

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.scaling import model_input as sc


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (sc.LinearStretch(), av.LinearStretch()),
        (sc.LinearStretch(slope=0.5, intercept=0.2), av.LinearStretch(0.5, 0.2)),
        (sc.SqrtStretch(), av.SqrtStretch()),
        (sc.PowerStretch(3.0), av.PowerStretch(3.0)),
        (sc.LogStretch(), av.LogStretch()),
        (sc.LogStretch(a=50), av.LogStretch(a=50)),
        (sc.AsinhStretch(), av.AsinhStretch()),
        (sc.AsinhStretch(a=0.02), av.AsinhStretch(a=0.02)),
    ],
)
def test_stretch_matches_astropy(ours, theirs):
    x = np.linspace(-0.2, 1.2, 301)
    np.testing.assert_allclose(ours(x), theirs(x.copy()), atol=2e-6)
    assert ours(x).dtype == np.float32


def test_histeq_matches_astropy_with_reference_data(sky):
    x = np.linspace(0, 1, 101)
    ours = sc.HistEqStretch(sky, n_samples=None)(x)
    np.testing.assert_allclose(ours, av.HistEqStretch(sky)(x.copy()), atol=1e-6)


def test_histeq_without_reference_flattens_the_histogram(sky):
    unit = sc.MinMaxInterval()(sky)
    eq = sc.HistEqStretch()(unit)
    counts, _ = np.histogram(eq, bins=4, range=(0, 1))
    assert counts.min() > 0.2 * eq.size  # each quarter of the range gets about a quarter


def test_composition_applies_right_operand_first(sky):
    ours = (sc.AsinhStretch() + sc.ZScaleInterval())(sky)
    theirs = (av.AsinhStretch() + av.ZScaleInterval())(sky)
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    assert "AsinhStretch" in repr(sc.AsinhStretch() + sc.ZScaleInterval())


def test_stretches_do_not_modify_their_input():
    x = np.linspace(0, 1, 11)
    before = x.copy()
    for cls in sc.STRETCHES.values():
        cls()(x)
    np.testing.assert_array_equal(x, before)


def test_stretches_are_astropys_classes_with_their_inverses():
    x = np.linspace(0, 1, 51)
    for name, cls in sc.STRETCHES.items():
        assert issubclass(cls, getattr(av, cls.__name__)), name
    for stretch in (sc.AsinhStretch(), sc.LogStretch(), sc.SqrtStretch(), sc.PowerStretch(3)):
        np.testing.assert_allclose(stretch.inverse(stretch(x)), x, atol=1e-5)


def test_stretch_of_a_scalar_and_the_astropy_keywords():
    expected = np.arcsinh(5.0) / np.arcsinh(10.0)  # astropy itself fails on a scalar
    assert sc.AsinhStretch()(0.5, clip=False) == pytest.approx(expected)
    assert sc.HistEqStretch()(np.float64(0.3)) == pytest.approx(0.3)
    x = np.array([-1.0, 0.25])
    np.testing.assert_allclose(sc.SqrtStretch()(x, clip=False, invalid=-1.0), [-1.0, 0.5])


def test_stretch_writes_into_out(sky):
    x = np.linspace(-0.5, 1.5, 41).astype(np.float32)
    out = x.copy()
    assert sc.LogStretch()(out, out=out) is out
    np.testing.assert_allclose(out, av.LogStretch()(x.astype(np.float64)), atol=2e-6)
    # astropy's composition may hold ours, and ours astropy's
    mixed = (av.AsinhStretch() + sc.ZScaleInterval())(sky)
    np.testing.assert_allclose(mixed, (sc.AsinhStretch() + av.ZScaleInterval())(sky), atol=2e-6)


def test_bad_stretch_parameters_raise_clear_errors():
    for make in (
        lambda: sc.PowerStretch(0),
        lambda: sc.LogStretch(-1),
        lambda: sc.AsinhStretch(2),
    ):
        with pytest.raises(InvalidInputError, match="needs"):
            make()


def test_histeq_of_a_constant_reference_is_zero_not_nan():
    out = sc.HistEqStretch(np.full((4, 4), 7.0))(np.linspace(0, 1, 5))
    assert np.isfinite(out).all()


def test_float64_out_keeps_float64_precision_and_parameters_stay_put():
    x = np.linspace(0, 1, 101)
    for ours, theirs in (
        (sc.AsinhStretch(), av.AsinhStretch()),
        (sc.LogStretch(), av.LogStretch()),
    ):
        out = np.empty_like(x)
        np.testing.assert_allclose(ours(x, out=out), theirs(x), rtol=1e-14)
        ours(x.astype(np.float32))  # float32 work uses a float32 parameter on a copy
        assert type(ours.a) is float
