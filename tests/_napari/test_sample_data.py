"""Sample data: a sky image with a WCS and an overhead scene, made offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import napari_clipcap
from napari_clipcap._napari import sample_data as _sample_data
from napari_clipcap.core.coords.worldcoords import format_world
from napari_clipcap.core.samples import sky_overhead as samples
from napari_clipcap.core.scaling.model_input import to_model_input


def test_sample_names_are_manifest_keys_served_by_this_module():
    data = yaml.safe_load((Path(napari_clipcap.__file__).parent / "napari.yaml").read_text())
    commands = {c["id"]: c["python_name"] for c in data["contributions"]["commands"]}
    served = {s["key"]: commands[s["command"]] for s in data["contributions"]["sample_data"]}
    for name in _sample_data.SAMPLE_NAMES:
        assert served[name] == f"napari_clipcap._napari.sample_data:{name}_sample"


def _check_sky(layers):
    ((data, kwargs, kind),) = layers
    assert kind == "image" and data.ndim == 2
    meta = kwargs["metadata"]
    assert meta["wcs"].has_celestial and meta["domain"] == "astronomy"
    assert meta["sample"] == "sky" and "NAXIS" in meta["header"]
    lo, hi = kwargs["contrast_limits"]
    assert np.nanmin(data) <= lo < hi <= np.nanmax(data)
    row, col = (n // 2 for n in data.shape)
    assert format_world(meta, row, col).startswith("RA ")
    return data, kwargs


def test_sky_sample_is_astropys_m13_when_bundled():
    assert samples.bundled_sky() is not None  # astropy ships it
    data, kwargs = _check_sky(_sample_data.sky_sample())
    assert kwargs["name"].startswith("M13") and data.shape == (300, 300)
    # M13 is at RA 16h41m41s, Dec +36°27'37"
    centre = format_world(kwargs["metadata"], 149.5, 149.5)
    assert centre.startswith("RA 16h41m") and "Dec +36°27'" in centre


def test_sky_sample_falls_back_to_a_synthetic_field(monkeypatch):
    monkeypatch.setattr(_sample_data, "bundled_sky", lambda: None)
    data, kwargs = _check_sky(_sample_data.sky_sample())
    assert kwargs["name"].startswith("Synthetic") and kwargs["metadata"]["fits_path"] is None
    assert np.isnan(data[:, :6]).all() and np.isfinite(data[:, 6:]).all()
    # a wide dynamic range that a zscale + asinh stretch makes visible
    unit = to_model_input(data, domain="astronomy")
    assert 0.2 < np.median(unit) < 0.8 and unit.max() == 1.0


def test_a_broken_bundled_m13_is_said_not_swapped_for_the_synthetic_sky(monkeypatch, tmp_path):
    from napari_clipcap.core.errors import FileFormatError

    broken = tmp_path / "dss.fits"
    broken.write_bytes(b"SIMPLE  =                    T" + b" " * 50)  # cut short
    monkeypatch.setattr(_sample_data, "bundled_sky", lambda: broken)
    with pytest.raises(FileFormatError, match="M13 sample image shipped with astropy") as info:
        _sample_data.sky_sample()
    assert "reinstall astropy" in str(info.value) and "\n" not in str(info.value)


def test_synthetic_sky_is_deterministic_and_small_sizes_work():
    a, header = samples.synthetic_sky(size=96, seed=3)
    b, _ = samples.synthetic_sky(size=96, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and header["CTYPE1"] == "RA---TAN"


def test_overhead_sample_is_an_rgb_scene():
    ((data, kwargs, kind),) = _sample_data.overhead_sample()
    assert kind == "image" and kwargs["rgb"] is True
    assert data.shape == (512, 512, 3) and data.dtype == np.uint8
    assert kwargs["metadata"]["domain"] == "satellite"
    # river water (dark blue-green) and field greens are both present
    water = (data[..., 2] > data[..., 0] + 20) & (data[..., 2] < 110)
    green = (data[..., 1] > data[..., 0] + 15) & (data[..., 1] > data[..., 2] + 15)
    assert 0.01 < water.mean() < 0.2 and green.mean() > 0.2
    np.testing.assert_array_equal(
        samples.synthetic_overhead(64, seed=1), samples.synthetic_overhead(64, seed=1)
    )
