"""core.fits: every reader case of issue 2 on FITS files the tests write."""

from __future__ import annotations

import bz2
import gzip
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from fixtures.fits_files import (
    BROKEN_KINDS,
    sky_header,
    sky_image,
    write_broken,
    write_compressed,
    write_cube,
    write_header_only,
    write_hst_like,
    write_scaled_int16,
    write_tables_only,
)
from napari_clipcap.core.errors import FileFormatError
from napari_clipcap.core.io.fits import data as _fitsdata
from napari_clipcap.core.io.fits.reader import FitsWarning, has_fits_suffix, is_fits, read_fits


def test_simple_image_is_native_float_with_values(tmp_path):
    img = sky_image()
    path = tmp_path / "a.fits"
    fits.PrimaryHDU(img).writeto(path)
    (image,) = read_fits(path)
    assert image.name == "PRIMARY" and image.index == 0
    assert image.data.dtype == np.float32 and image.data.dtype.isnative
    np.testing.assert_array_equal(image.data, img)
    assert not image.lazy and image.axis_labels == ("axis2", "axis1")


def test_empty_primary_skipped_extensions_named_tables_ignored(tmp_path):
    result = read_fits(write_hst_like(tmp_path / "hst.fits"))
    assert [i.name for i in result] == ["SCI", "ERR", "DQ"]
    assert [i.index for i in result] == [1, 2, 3]
    assert any("PRIMARY" in s and "no data" in s for s in result.skipped)
    assert any("CAT" in s and "table" in s for s in result.skipped)
    sci = result[0]
    assert np.isnan(sci.data[:, :3]).all() and np.isposinf(sci.data[0, 10])  # kept
    assert sci.wcs is not None and sci.wcs.has_celestial
    assert sci.axis_labels == ("DEC", "RA")
    assert sci.header["EXTNAME"] == "SCI"
    assert result[2].wcs is None  # no WCS keywords -> no WCS


def test_bscale_bzero_blank_applied(tmp_path):
    path, physical = write_scaled_int16(tmp_path / "scaled.fits")
    (image,) = read_fits(path)
    assert image.data.dtype == np.float32
    np.testing.assert_array_equal(image.data, physical)  # NaN where BLANK, equal_nan


@pytest.mark.parametrize("lazy", [False, True])
def test_pseudo_unsigned_uint16_stays_uint16(tmp_path, lazy):
    img = np.array([[0, 1, 40000, 65535]], np.uint16).repeat(3, axis=0)
    path = tmp_path / "u16.fits"
    fits.PrimaryHDU(img).writeto(path)  # astropy stores BITPIX=16, BZERO=32768
    assert fits.getheader(path)["BZERO"] == 32768
    (image,) = read_fits(path, lazy=lazy)
    assert image.data.dtype == np.uint16
    np.testing.assert_array_equal(np.asarray(image.data), img)


@pytest.mark.parametrize("dtype", [">i4", ">f8", "u1", ">i2"])
def test_big_endian_becomes_native(tmp_path, dtype):
    img = (np.arange(12).reshape(3, 4) * 7).astype(dtype)
    path = tmp_path / "be.fits"
    fits.PrimaryHDU(img).writeto(path)
    (image,) = read_fits(path)
    assert image.data.dtype.isnative
    np.testing.assert_array_equal(image.data, img.astype(img.dtype.newbyteorder("=")))


@pytest.mark.parametrize("shape", [(3, 16, 20), (2, 3, 16, 20)])
def test_cubes_keep_their_axes_with_ctype_labels(tmp_path, shape):
    path, data = write_cube(tmp_path / "cube.fits", shape)
    (image,) = read_fits(path)
    assert image.shape == shape
    expected = ("FREQ", "DEC", "RA") if len(shape) == 3 else ("STOKES", "FREQ", "DEC", "RA")
    assert image.axis_labels == expected
    np.testing.assert_array_equal(image.data, data)
    assert image.wcs.naxis == len(shape) and image.wcs.has_celestial


def test_tile_compressed_hdus_eager_and_lazy(tmp_path):
    path, ints, floats = write_compressed(tmp_path / "c.fits.fz")
    for lazy in (False, True):
        counts, sky = read_fits(path, lazy=lazy)
        assert (counts.name, sky.name) == ("COUNTS", "SKY")
        assert counts.lazy is lazy
        np.testing.assert_array_equal(np.asarray(counts.data), ints)
        # float compression quantises: compare with astropy's own decompression
        np.testing.assert_array_equal(np.asarray(sky.data), fits.getdata(path, "SKY"))
        assert np.isnan(sky.data[0, 0]) and np.nanmax(np.abs(sky.data - floats)) < 0.5
        assert sky.wcs.has_celestial


def test_gzip_bzip2_and_any_name_with_the_signature(tmp_path):
    path = tmp_path / "hst.fits"
    write_hst_like(path)
    gz = tmp_path / "hst.fits.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    bz = tmp_path / "hst.fits.bz2"
    bz.write_bytes(bz2.compress(path.read_bytes()))
    odd = tmp_path / "exposure_0042.dat"
    shutil.copy(path, odd)
    for p in (gz, bz, odd):
        assert is_fits(p)
        assert [i.name for i in read_fits(p)] == ["SCI", "ERR", "DQ"]
    assert has_fits_suffix(gz) and has_fits_suffix("X.FTS") and not has_fits_suffix(odd)


def test_is_fits_is_false_for_other_files(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert not is_fits(png)
    assert not is_fits(tmp_path)  # a directory
    assert not is_fits(tmp_path / "missing.fits")
    fake = tmp_path / "fake.fits"
    fake.write_bytes(b"SIMPLE  =                    F" + b" " * 50)  # non-conforming
    assert not is_fits(fake)


def test_no_image_gives_an_empty_result_not_an_error(tmp_path):
    tables = read_fits(write_tables_only(tmp_path / "t.fits"))
    assert list(tables) == [] and any("EVENTS" in s for s in tables.skipped)
    header = read_fits(write_header_only(tmp_path / "h.fits"))
    assert list(header) == [] and header.skipped == ["HDU 0 'PRIMARY': header only, no data"]


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("truncated_data", "truncated"),
        ("missing_end", "END card"),
        ("header_only_with_naxis", "truncated"),
        ("truncated_header", "cut short"),
        ("random_bytes", "not a FITS file"),
        ("empty", "not a FITS file"),
        ("truncated_gzip", "cut short"),
    ],
)
def test_broken_files_raise_one_clear_error_naming_the_file(tmp_path, kind, says):
    assert kind in BROKEN_KINDS
    name = "bad.fits.gz" if kind == "truncated_gzip" else "bad.fits"
    path = write_broken(tmp_path / name, kind)
    with pytest.raises(FileFormatError) as err:
        read_fits(path)
    message = str(err.value)
    assert message.startswith(str(path)) and says in message
    assert "\n" not in message and "Traceback" not in message


def test_a_truncated_extension_warns_and_the_others_still_open(tmp_path):
    path = tmp_path / "partial.fits"
    hdus = [fits.PrimaryHDU(sky_image()), fits.ImageHDU(sky_image(), name="LAST")]
    fits.HDUList(hdus).writeto(path)
    path.write_bytes(path.read_bytes()[:-5000])
    with pytest.warns(FitsWarning, match="LAST"):
        result = read_fits(path)
    assert [i.name for i in result] == ["PRIMARY"] and "truncated" in result.problems[0]


def test_broken_wcs_does_not_stop_the_image(tmp_path):
    h = sky_header()
    h["CTYPE1"], h["CTYPE2"] = "RA---XYZ", "DEC--XYZ"  # unknown projection
    path = tmp_path / "badwcs.fits"
    fits.PrimaryHDU(sky_image(), header=h).writeto(path)
    (image,) = read_fits(path)
    assert image.wcs is None and image.shape == (64, 64)


def test_lazy_cube_reads_one_plane_per_chunk(tmp_path, monkeypatch):
    path, data = write_cube(tmp_path / "cube.fits", (5, 16, 20))
    (image,) = read_fits(path, lazy=True)
    assert image.lazy and image.data.chunksize == (1, 16, 20)
    calls = []
    apply = _fitsdata.Scaling.apply
    monkeypatch.setattr(
        _fitsdata.Scaling, "apply", lambda self, b: calls.append(b.shape) or apply(self, b)
    )
    np.testing.assert_array_equal(image.data[3].compute(), data[3])
    assert calls == [(1, 16, 20)]


def test_a_4_gib_cube_opens_lazily_and_shows_a_plane_quickly(tmp_path):
    """A sparse 4 GiB file: reading it whole would take many seconds and 4 GiB of RAM."""
    h = fits.Header()
    h["SIMPLE"], h["BITPIX"], h["NAXIS"] = True, -32, 3
    h["NAXIS1"], h["NAXIS2"], h["NAXIS3"] = 4096, 4096, 64
    path = tmp_path / "big.fits"
    with open(path, "wb") as fh:
        fh.write(h.tostring().encode())
        fh.truncate(2880 + 4 * 4096 * 4096 * 64)
    start = time.perf_counter()
    (image,) = read_fits(path)
    plane = image.data[0, ::16, ::16].compute()
    assert time.perf_counter() - start < 10
    assert image.lazy and image.shape == (64, 4096, 4096)
    assert plane.shape == (256, 256) and not plane.any()


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_fits(tmp_path / "nope.fits")


def test_hst_lookup_table_distortion_wcs_is_read_and_tables_skipped():
    import astropy

    path = Path(astropy.__file__).parent / "wcs/tests/data/dist_lookup.fits.gz"
    if not path.is_file():
        pytest.skip("astropy's test data are not installed")
    result = read_fits(path)
    assert [i.name for i in result] == ["SCI"]
    assert sum("lookup table" in s for s in result.skipped) == 3
    assert result[0].wcs is not None and result[0].wcs.cpdis1 is not None
