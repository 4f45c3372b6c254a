"""Band composites: band lookup, sensor presets, per-band percentile stretch."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.geotiffs import S2_NAMES, make_s2_tif
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.io.geotiff import read_geotiff
from napari_clipcap.core.scaling.composites import (
    COMPOSITES,
    band_code,
    band_limits,
    composite,
    default_composite,
    lazy_composite,
    resolve_band,
    resolve_rgb,
)
from napari_clipcap.core.scaling.intervals import MinMaxInterval

GENERIC13 = [f"band {i}" for i in range(1, 14)]


@pytest.mark.parametrize(
    ("name", "code"),
    [("B04", "B4"), ("B4", "B4"), ("SR_B4", "B4"), ("b8a", "B8A"), ("B08", "B8"),
     ("B12", "B12"), ("band 4", None), ("", None), ("elevation", None)],
)  # fmt: skip
def test_band_code(name, code):
    assert band_code(name) == code


def test_resolve_band_by_index_name_code_and_alias():
    names = ["Blue", "Green", "Red", "NIR"]
    assert resolve_band(2, names) == 2
    assert resolve_band(-1, names) == 3
    assert resolve_band("red", names) == 2
    assert resolve_band("B04", S2_NAMES) == 3
    assert resolve_band("B4", names, COMPOSITES["s2-true"].aliases) == 2
    with pytest.raises(InvalidInputError, match="outside"):
        resolve_band(4, names)
    with pytest.raises(InvalidInputError, match="no band 'B11'"):
        resolve_band("B11", names)


@pytest.mark.parametrize(
    ("preset", "names", "expected"),
    [
        ("s2-true", S2_NAMES, (3, 2, 1)),
        ("s2-false", S2_NAMES, (7, 3, 2)),
        ("s2-swir", S2_NAMES, (12, 8, 3)),
        ("s2-swir", GENERIC13, (12, 8, 3)),  # EuroSAT-style 13 unnamed bands
        ("s2-swir", [f"band {i}" for i in range(1, 13)], (11, 8, 3)),  # L2A, no B10
        ("landsat-true", [f"SR_B{i}" for i in range(1, 8)], (3, 2, 1)),
        ("landsat-false", [f"band {i}" for i in range(1, 12)], (4, 3, 2)),
        ("s2-true", ["blue", "green", "red", "nir"], (2, 1, 0)),
        ("s2-false", ["blue", "green", "red", "nir"], (3, 2, 1)),
    ],
)
def test_presets(preset, names, expected):
    assert resolve_rgb(preset, names) == expected


def test_preset_and_band_errors():
    with pytest.raises(InvalidInputError, match="unknown composite 'nope'"):
        resolve_rgb("nope", S2_NAMES)
    with pytest.raises(InvalidInputError, match="SWIR"):
        resolve_rgb("s2-swir", ["blue", "green", "red", "nir"])
    with pytest.raises(InvalidInputError, match="three bands"):
        resolve_rgb([0, 1], S2_NAMES)
    assert resolve_rgb(["B8", 3, "B03"], S2_NAMES) == (7, 3, 2)


def test_default_composite():
    assert default_composite(S2_NAMES) == "s2-true"
    assert default_composite([f"band {i}" for i in range(1, 8)]) == "landsat-true"
    assert default_composite(["red", "green", "blue"]) == "s2-true"
    assert default_composite(["band 1", "band 2", "band 3", "band 4", "band 5"]) is None
    assert default_composite(["elevation"]) is None


def test_per_band_percentile_stretch_and_nodata():
    rng = np.random.default_rng(0)
    data = np.stack([rng.uniform(0, 100, (50, 60)), rng.uniform(1000, 3000, (50, 60)),
                     rng.uniform(5, 6, (50, 60))]).astype(np.float32)  # fmt: skip
    data[:, 0, 0] = np.nan
    out = composite(data, [0, 1, 2])
    assert out.shape == (50, 60, 3) and out.dtype == np.float32
    assert out.min() == 0 and out.max() == 1
    assert out[0, 0].tolist() == [0, 0, 0]
    for c in range(3):  # each band spread over [0, 1] on its own: ~2 % clipped each end
        assert 0.01 < np.mean(out[..., c] == 0) < 0.04
        assert 0.01 < np.mean(out[..., c] == 1) < 0.04
    # one interval for all three would leave bands 0 and 2 black next to band 1
    minmax = composite(data, [0, 1, 2], interval=MinMaxInterval())
    assert 0.4 < minmax[..., 0].mean() < 0.6 and 0.4 < minmax[..., 2].mean() < 0.6


def test_fixed_limits_and_stretch():
    data = np.stack([np.full((4, 4), v, np.uint16) for v in (100, 200, 300)])
    out = composite(data, [2, 1, 0], limits=[(0, 600), (0, 400), (0, 200)])
    np.testing.assert_allclose(out[0, 0], [0.5, 0.5, 0.5])
    out = composite(data, [2, 1, 0], limits=[(0, 600)] * 3, stretch="sqrt")
    np.testing.assert_allclose(out[0, 0], np.sqrt([0.5, 1 / 3, 1 / 6]), rtol=1e-5)
    with pytest.raises(InvalidInputError, match="three"):
        composite(data, [0, 1, 2], limits=[(0, 1)])


def test_composite_of_a_scene_reads_three_bands(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path))
    out = composite(scene, "s2-false")
    assert out.shape == (96, 128, 3)
    assert (out[0] == 0).all()  # nodata row
    lim = band_limits(scene.levels[-1], [7, 3, 2])
    assert len(lim) == 3 and all(lo < hi for lo, hi in lim)
    fixed = composite(scene, "s2-false", limits=lim)
    lazy = lazy_composite(scene.data, [7, 3, 2], lim)
    assert lazy.shape == (96, 128, 3) and lazy.dtype == np.float32
    np.testing.assert_allclose(lazy.compute(), fixed)


def test_composite_input_errors():
    with pytest.raises(InvalidInputError, match="bands x rows x cols"):
        composite(np.zeros((4, 4)), [0, 0, 0])
    with pytest.raises(InvalidInputError, match="2 band names for 3 bands"):
        composite(np.zeros((3, 4, 4)), [0, 1, 2], band_names=["a", "b"])
