"""The napari FITS reader lets only clean messages out, and opens what DS9 opens."""

from __future__ import annotations

import npe2
import numpy as np
import pytest
from astropy.io import fits

from fixtures.bad_images import (
    dss_test_file,
    write_corrupt_tiles,
    write_junk_cards,
    write_orphan_continue,
    write_raw_fits,
)
from napari_clipcap._napari import fits_reader as _reader
from napari_clipcap.core.errors import FileFormatError
from napari_clipcap.core.io.fits import data as _fitsdata
from napari_clipcap.core.io.fits.reader import FitsWarning


@pytest.fixture(scope="module", autouse=True)
def _plugins():
    npe2.PluginManager.instance().discover()


def read(path):
    return npe2.read([str(path)], plugin_name="napari-clipcap", stack=False)


def test_astropy_dss_file_opens_through_npe2_with_its_header():
    dss = dss_test_file()
    if dss is None:
        pytest.skip("this astropy ships no DSS test file")
    with pytest.warns(FitsWarning, match="SKEW"):
        ((data, kwargs, kind),) = read(dss)
    meta = kwargs["metadata"]
    assert kind == "image" and data.shape == (100, 100)
    assert "SKEW" in meta["header"] and meta["header"]["NAXIS"] == 2
    lo, hi = kwargs["contrast_limits"]
    assert data.min() <= lo < hi <= data.max()


@pytest.mark.parametrize("write", [write_orphan_continue, write_junk_cards])
def test_unparsable_cards_open_with_a_warning(tmp_path, write):
    path = write(tmp_path / "odd.fits")
    with pytest.warns(FitsWarning, match="repaired"):
        ((data, kwargs, _),) = read(path)
    assert data.shape == (16, 16) and isinstance(kwargs["metadata"]["header"], dict)


def _assert_clean(err, path):
    text = str(err.value)
    assert str(path) in text and "\n" not in text
    for raw in ("VerifyError", "index 16 is out of bounds", "operand type"):
        assert raw not in text


def test_corrupt_tiles_are_one_clean_error_eager_and_lazy(tmp_path, monkeypatch):
    path = write_corrupt_tiles(tmp_path / "tiles.fits")
    with pytest.raises(FileFormatError, match="tile-compressed HDU is corrupt") as err:
        read(path)
    _assert_clean(err, path)
    monkeypatch.setattr(_fitsdata, "lazy_threshold", lambda: 0)  # the lazy (large) path
    with pytest.raises(FileFormatError, match="tile-compressed HDU is corrupt") as err:
        read(path)
    _assert_clean(err, path)


def test_a_late_lazy_read_failure_is_a_clean_error(tmp_path, monkeypatch):
    """Whatever slips past the checks and fails when the first plane is sampled."""
    path = tmp_path / "a.fits"
    fits.PrimaryHDU(np.ones((8, 8), np.float32)).writeto(path)
    monkeypatch.setattr(_fitsdata, "lazy_threshold", lambda: 0)

    def broken(self, block):
        raise IndexError("index 16 is out of bounds for axis 0 with size 16")

    monkeypatch.setattr(_fitsdata.Scaling, "apply", broken)
    with pytest.raises(FileFormatError, match="HDU 0 'PRIMARY'") as err:
        read(path)
    assert str(path) in str(err.value)


def test_wrongly_typed_bitpix_is_named(tmp_path):
    path = write_raw_fits(tmp_path / "t.fits", [], bitpix="'x'")
    with pytest.raises(FileFormatError, match="BITPIX = 'x' is not an integer") as err:
        read(path)
    _assert_clean(err, path)


@pytest.mark.parametrize(
    "values",
    [
        [2**63 - 5, 2**63 + 5, 2**63, 2**63 + 1],
        [2**63] * 4,
        [2**64 - 1] * 4,
    ],
)
def test_uint64_near_2_63_gets_limits_napari_accepts(tmp_path, values):
    from napari.layers import Image

    path = tmp_path / "u64.fits"
    data = np.array(values, dtype=np.uint64).reshape(2, 2)
    fits.PrimaryHDU(data).writeto(path)
    ((layer_data, kwargs, _),) = read(path)
    assert layer_data.dtype == np.uint64
    lo, hi = kwargs["contrast_limits"]
    rlo, rhi = kwargs["metadata"]["contrast_range"]
    assert lo < hi and rlo < rhi
    layer = Image(layer_data, contrast_limits=kwargs["contrast_limits"])
    assert layer.contrast_limits[0] < layer.contrast_limits[1]


def test_reader_function_is_the_same_path(tmp_path):
    path = write_orphan_continue(tmp_path / "orphan.fits")
    assert _reader.get_fits_reader(str(path)) is _reader.read_fits_layers
    with pytest.warns(FitsWarning):
        assert len(_reader.read_fits_layers(str(path))) == 1


def test_reader_reads_through_open_image(tmp_path, monkeypatch):
    from napari_clipcap.core.io import reading

    seen = []
    real = reading.open_image
    monkeypatch.setattr(_reader, "open_image", lambda p, **k: seen.append(p) or real(p, **k))
    fits.PrimaryHDU(np.ones((4, 4), np.float32)).writeto(tmp_path / "a.fits")
    assert len(read(tmp_path / "a.fits")) == 1 and seen == [tmp_path / "a.fits"]
