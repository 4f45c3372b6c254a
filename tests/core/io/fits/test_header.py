"""FITS files astropy opens only with help: unparsable cards, wrong types, bad tiles."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.bad_images import (
    dss_test_file,
    image_16,
    write_corrupt_tiles,
    write_junk_cards,
    write_orphan_continue,
    write_raw_fits,
)
from napari_clipcap.core.errors import FileFormatError
from napari_clipcap.core.io.fits import data as _fitsdata
from napari_clipcap.core.io.fits.reader import FitsWarning, read_fits
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.io.sources import list_units


def test_orphan_continue_card_is_kept_as_a_comment_with_a_warning(tmp_path):
    path = write_orphan_continue(tmp_path / "orphan.fits")
    with pytest.warns(FitsWarning, match="EXPTIME: orphan CONTINUE"):
        (image,) = read_fits(path)
    np.testing.assert_array_equal(image.data, image_16())
    assert image.header["EXPTIME"] == 1.0
    assert any("orphan" in str(c) for c in image.header["COMMENT"])
    dict(image.header)  # every card parses now
    with pytest.warns(FitsWarning):
        assert list_units(path) == [0] and read_image(path).data.shape == (16, 16, 3)


def test_junk_cards_and_nan_crpix_are_fixed_not_fatal(tmp_path):
    path = write_junk_cards(tmp_path / "junk.fits")
    with pytest.warns(FitsWarning, match=r"JUNK.*CRPIX1|CRPIX1.*JUNK"):
        (image,) = read_fits(path)
    assert {k: str(v) for k, v in image.header.items() if k in ("JUNK", "CRPIX1")}
    dict(image.header)
    np.testing.assert_array_equal(image.data, image_16())


def test_astropy_dss_test_file_opens_with_its_skew_card_fixed():
    dss = dss_test_file()
    if dss is None:
        pytest.skip("this astropy ships no DSS test file")
    with pytest.warns(FitsWarning, match="SKEW"):
        (image,) = read_fits(dss)
    assert image.shape == (100, 100) and "SKEW" in image.header
    dict(image.header)


@pytest.mark.parametrize(
    "bitpix, cards, message",
    [
        ("'x'", [], "BITPIX = 'x' is not an integer"),
        ("-32", ["BSCALE  = 'abc'"], "BSCALE = 'abc' is not a number"),
    ],
)
def test_wrongly_typed_structural_keywords_are_named(tmp_path, bitpix, cards, message):
    path = write_raw_fits(tmp_path / "t.fits", cards, bitpix=bitpix)
    with pytest.raises(FileFormatError) as err:
        read_fits(path)
    text = str(err.value)
    assert message in text and str(path) in text
    assert "operand" not in text and "could not convert" not in text


def test_naxis_as_text_is_named_not_a_type_error(tmp_path):
    path = tmp_path / "t.fits"
    write_raw_fits(path, [])
    blob = bytearray(path.read_bytes())
    blob[240:320] = b"NAXIS1  = '16'".ljust(80)
    path.write_bytes(bytes(blob))
    with pytest.raises(FileFormatError, match="NAXIS1 = '16' is not an integer"):
        read_fits(path)


def test_tiles_that_do_not_match_znaxis_are_named_before_any_read(tmp_path, monkeypatch):
    path = write_corrupt_tiles(tmp_path / "tiles.fits")
    for lazy in (False, True):
        with pytest.raises(FileFormatError, match=r"16 tiles.*ZNAXIS") as err:
            read_fits(path, lazy=lazy)
        assert "index" not in str(err.value)
    monkeypatch.setattr(_fitsdata, "lazy_threshold", lambda: 0)
    with pytest.raises(FileFormatError, match="corrupt"):
        list_units(path)
