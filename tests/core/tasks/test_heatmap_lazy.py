"""Heatmaps from the lazy input (issue 21 item 15): windows and tiles cut from bands of
rows read and scaled on demand give the eager path's map exactly, and no full-size
scaled plane (nor a full-size valid mask of an image without holes) comes back."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from napari_clipcap.core.io.filerows import FileRows, FiniteRows
from napari_clipcap.core.io.fits.data import ScaledRows
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.tasks.heatmap import text_heatmap
from napari_clipcap.core.tasks.validity import file_valid_mask


@pytest.fixture(scope="module")
def holed_fits(tmp_path_factory):
    from astropy.io import fits

    sky = np.random.default_rng(5).normal(100.0, 5.0, (70, 90)).astype(np.float32)
    sky[:6] = np.nan  # a no-data edge
    sky[30:33, 40:50] = np.inf
    path = tmp_path_factory.mktemp("lazyfits") / "sky.fits"
    fits.PrimaryHDU(sky).writeto(path)
    return path


def _maps(path, clip, mode, lazy):
    img = read_image(path, lazy=lazy)
    valid = img.valid if lazy else file_valid_mask(img)
    return text_heatmap(
        img.data, ["a star", "a galaxy"], clip, mode=mode, window=32, stride=16, valid=valid
    ), img


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_lazy_fits_map_equals_the_eager_one(tiny_clip, holed_fits, mode):
    lazy, img = _maps(holed_fits, tiny_clip, mode, lazy=True)
    assert isinstance(img.data.plane, ScaledRows)  # read where sliced, never whole
    assert isinstance(img.valid, FiniteRows)  # the mask too: computed where sliced
    eager, _ = _maps(holed_fits, tiny_clip, mode, lazy=False)
    np.testing.assert_array_equal(lazy, eager)
    assert np.isnan(lazy[:, :6]).all() and np.isnan(lazy[:, 30:33, 40:50]).all()


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_lazy_raster_map_equals_the_eager_one(tiny_clip, tmp_path, suffix, mode):
    import tifffile
    from PIL import Image

    rng = np.random.default_rng(6)
    path = tmp_path / f"scene{suffix}"
    if suffix == ".png":
        Image.fromarray(rng.integers(0, 255, (60, 75, 3), dtype=np.uint8)).save(path)
    else:
        tifffile.imwrite(path, rng.integers(0, 4000, (60, 75), dtype=np.uint16))
    lazy, _ = _maps(path, tiny_clip, mode, lazy=True)
    eager, _ = _maps(path, tiny_clip, mode, lazy=False)
    np.testing.assert_array_equal(lazy, eager)


@pytest.mark.parametrize("holes", [False, True])
def test_no_full_size_plane_or_mask_is_held(tiny_clip, holed_fits, tmp_path, monkeypatch, holes):
    from astropy.io import fits

    side = 1024  # float32: 4 MB raw; its model input would be 12 MB, a mask 1 MB
    sky = np.random.default_rng(7).normal(100.0, 5.0, (side, side)).astype(np.float32)
    if holes:
        sky[:40] = np.nan
    fits.PrimaryHDU(sky).writeto(tmp_path / "sky.fits")
    del sky
    _maps(holed_fits, tiny_clip, "sliding", lazy=True)  # imports done before measuring
    monkeypatch.setattr(FileRows, "BAND_BYTES", 256 * 2**10)  # bands of 64 rows here

    def whole_mask(*args, **kwargs):
        raise AssertionError("the valid mask was made whole")

    monkeypatch.setattr(FiniteRows, "__array__", whole_mask)
    tracemalloc.start()
    try:
        img = read_image(tmp_path / "sky.fits", lazy=True)
        # no hole: no mask at all; holes: a mask computed where sliced
        assert isinstance(img.valid, FiniteRows) if holes else img.valid is None
        got = text_heatmap(img.data, "a star", tiny_clip, window=64, stride=64, valid=img.valid)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    # the output map (4 MB) and bands of rows (with holes, the 512 rows of the pass that
    # clears them: 2 MB read, 2 MB scaled); the plane read whole would add 4 MB, its
    # float32 model input 12 MB
    assert peak < (10 if holes else 7.5), f"{peak:.1f} MB"
    assert np.isnan(got[:40]).all() == holes and np.isfinite(got[40:]).all()
