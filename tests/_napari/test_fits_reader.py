"""The FITS reader as napari reaches it: through the npe2 manifest."""

from __future__ import annotations

import gzip
import shutil
import time

import npe2
import numpy as np
import pytest

from fixtures.fits_files import (
    write_broken,
    write_cube,
    write_hst_like,
    write_tables_only,
)
from napari_clipcap._napari import fits_reader as _reader
from napari_clipcap._napari.fits_reader import RANGE_PLANES
from napari_clipcap._napari.plane_contrast import FOLLOW_KEY
from napari_clipcap.core.errors import FileFormatError
from napari_clipcap.core.io.fits import data as _fitsdata


@pytest.fixture(scope="module", autouse=True)
def _plugins():
    npe2.PluginManager.instance().discover()


def read(path):
    return npe2.read([str(path)], plugin_name="napari-clipcap", stack=False)


def test_other_files_are_refused_fast(tmp_path):
    big = tmp_path / "scene.dat"
    big.write_bytes(b"\0" * (50 * 2**20))  # reading this whole would take a while
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    start = time.perf_counter()
    for p in (big, png, tmp_path, [str(png), str(big)], []):
        assert _reader.get_fits_reader(p if isinstance(p, list) else str(p)) is None
    assert time.perf_counter() - start < 0.1


def test_fits_names_and_fits_content_are_claimed(tmp_path):
    hst = write_hst_like(tmp_path / "hst.fits")
    odd = tmp_path / "exposure.img"
    shutil.copy(hst, odd)
    junk = write_broken(tmp_path / "junk.FITS", "random_bytes")
    for p in (hst, odd, junk, tmp_path / "x.fits.gz"):
        assert _reader.get_fits_reader(str(p)) is _reader.read_fits_layers


def test_one_layer_per_image_hdu_with_header_wcs_and_limits(tmp_path):
    layers = read(write_hst_like(tmp_path / "hst.fits"))
    assert [ld[1]["name"] for ld in layers] == ["hst [SCI]", "hst [ERR]", "hst [DQ]"]
    assert all(ld[2] == "image" for ld in layers)
    data, kwargs, _ = layers[0]
    meta = kwargs["metadata"]
    assert meta["header"]["EXTNAME"] == "SCI" and meta["fits_header"]["NAXIS"] == 2
    assert meta["wcs"].has_celestial and meta["domain"] == "astronomy"
    assert meta["fits_hdu"] == 1 and meta["fits_path"].endswith("hst.fits")
    assert kwargs["axis_labels"] == ("DEC", "RA") and kwargs["rgb"] is False
    lo, hi = kwargs["contrast_limits"]
    finite = data[np.isfinite(data)]
    assert np.isfinite([lo, hi]).all() and finite.min() <= lo < hi <= finite.max()
    assert np.isnan(data).any() and np.isinf(data).any()  # kept for display
    assert meta["contrast_range"] == (finite.min(), finite.max())  # for the slider


def test_gzip_file_opens_with_its_plain_name(tmp_path):
    path = write_hst_like(tmp_path / "hst.fits")
    gz = tmp_path / "hst.fits.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert [ld[1]["name"] for ld in read(gz)] == ["hst [SCI]", "hst [ERR]", "hst [DQ]"]


def test_lazy_cube_limits_read_one_plane(tmp_path, monkeypatch):
    path, data = write_cube(tmp_path / "cube.fits", (6, 16, 20))
    monkeypatch.setattr(_fitsdata, "lazy_threshold", lambda: 0)  # treat it as big
    calls = []
    apply = _fitsdata.Scaling.apply
    monkeypatch.setattr(
        _fitsdata.Scaling, "apply", lambda self, b: calls.append(b.shape) or apply(self, b)
    )
    ((layer, kwargs, _),) = read(path)
    assert not isinstance(layer, np.ndarray) and layer.chunksize == (1, 16, 20)
    # the middle plane for the limits, a few planes spread over the cube for the range
    assert all(c == (1, 16, 20) for c in calls) and len(calls) <= 1 + RANGE_PLANES
    assert kwargs["metadata"]["contrast_range"] == (float(data.min()), float(data.max()))
    assert kwargs["metadata"][FOLLOW_KEY] is True
    assert kwargs["axis_labels"] == ("FREQ", "DEC", "RA")
    lo, hi = kwargs["contrast_limits"]
    assert data[3].min() <= lo < hi <= data[3].max()


def test_lazy_2d_image_limits_read_only_the_middle_band(tmp_path, monkeypatch):
    from astropy.io import fits

    path = tmp_path / "wide.fits"
    img = np.tile(np.arange(40, dtype=np.float32)[:, None], (1, 30))  # rows 0..39
    fits.PrimaryHDU(img).writeto(path)
    monkeypatch.setattr(_fitsdata, "lazy_threshold", lambda: 0)
    monkeypatch.setattr(_fitsdata, "CHUNK_BYTES", 10 * 30 * 4)  # bands of 10 rows
    calls = []
    apply = _fitsdata.Scaling.apply
    monkeypatch.setattr(
        _fitsdata.Scaling, "apply", lambda self, b: calls.append(b.shape) or apply(self, b)
    )
    ((layer, kwargs, _),) = read(path)
    assert layer.chunks[0] == (10, 10, 10, 10)
    assert calls == [(10, 30)]
    lo, hi = kwargs["contrast_limits"]
    assert 20 <= lo < hi <= 29  # from rows 20-29


def test_constant_image_gets_usable_limits(tmp_path):
    from astropy.io import fits

    path = tmp_path / "flat.fits"
    fits.PrimaryHDU(np.full((8, 8), 7.0, np.float32)).writeto(path)
    ((_, kwargs, _),) = read(path)
    assert kwargs["contrast_limits"] == (7.0, 8.0)


@pytest.mark.parametrize("kind", ["truncated_data", "missing_end", "random_bytes"])
def test_broken_file_raises_one_clear_error_headless(tmp_path, kind):
    path = write_broken(tmp_path / "bad.fits", kind)
    with pytest.raises(FileFormatError) as err:
        read(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_file_without_image_opens_nothing_and_says_why(tmp_path):
    path = write_tables_only(tmp_path / "events.fits")
    with pytest.warns(UserWarning, match="holds no image.*EVENTS"):
        assert read(path) == [(None,)]


def test_an_lzw_file_says_which_package_it_needs(tmp_path, monkeypatch):
    """astropy's lzw.fits.Z: the reason, not napari's bare 'reader refused the file'."""
    import importlib.util

    path = tmp_path / "lzw.fits.Z"
    path.write_bytes(b"\x1f\x9d\x90" + bytes(64))  # the Unix-compress magic
    assert _reader.get_fits_reader(str(path)) is not None
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "uncompresspy" else real(n, *a)
    )
    with pytest.raises(FileFormatError, match="uncompresspy"):
        _reader.read_fits_layers(str(path))
