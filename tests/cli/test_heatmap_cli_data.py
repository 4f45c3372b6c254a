"""``napari-clipcap heatmap`` over missing data, and the note on coarse maps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_clipcap.cli import main


def heatmap(path, out, clip_args, *extra):
    return main(["heatmap", str(path), "--query", "river", "--out", str(out), "--json",
                 *extra, *clip_args])  # fmt: skip


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_fits_nan_and_blank_pixels_are_nan_in_the_map(tmp_path, clip_args, capsys, mode):
    from astropy.io import fits

    data = np.random.default_rng(1).normal(100, 5, (2, 40, 50)).astype(np.float32)
    data[0, 5:9] = np.nan  # NaN rows on the plane read (the first)
    data[0, :, 45:] = np.nan
    path = tmp_path / "cube.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, name="SCI")]).writeto(path)
    out = tmp_path / "m.npy"
    assert heatmap(path, out, clip_args, "--window", "16", "--stride", "8", "--mode", mode) == 0
    stdout = capsys.readouterr().out
    info = json.loads(stdout)
    got = np.load(out)
    hole = np.isnan(data[0])
    assert np.isnan(got[hole]).all() and np.isfinite(got[~hole]).all()
    assert "NaN" not in stdout and info["valid_fraction"] == pytest.approx(1 - hole.mean())
    assert np.isfinite([info["min"], info["max"], info["mean"]]).all()


def test_geotiff_nodata_is_nan_in_the_map(tmp_path, clip_args, capsys):
    from napari_clipcap.core.samples.sentinel2 import write_sample_scene

    path = write_sample_scene(tmp_path / "s2.tif", size=96)
    out = tmp_path / "m.tif"
    assert heatmap(path, out, clip_args, "--window", "32", "--stride", "16") == 0
    import rasterio

    with rasterio.open(out) as src:
        got = src.read(1)
    y, x = np.mgrid[0:96, 0:96]
    wedge = x + 2 * y < 96 // 3
    assert np.isnan(got[wedge]).all() and np.isfinite(got[~wedge]).all()


def test_coarse_map_gets_a_note_and_the_effective_grid(tmp_path, clip_args, capsys):
    from PIL import Image

    path = tmp_path / "small.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(path)
    assert heatmap(path, tmp_path / "m.npy", clip_args) == 0  # defaults 224 / 112
    cap = capsys.readouterr()
    info = json.loads(cap.out)
    assert (info["window"], info["stride"]) == (224, 112)  # the contract's defaults
    assert info["window_effective"] == [224, 224] and info["cells"] == [3, 3]
    assert info["windows"] == 4
    assert "3 x 3 cells" in cap.err and "--window 72 --stride 36" in cap.err
    assert heatmap(path, tmp_path / "m.npy", clip_args, "--window", "72", "--stride", "36") == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["cells"] == [10, 10] and "cells" not in cap.err
