"""Reading images for models (PNG, TIFF, FITS) and writing float maps."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.errors import FileFormatError, InvalidInputError
from napari_clipcap.core.io.images import read_image, write_map


def test_png_rgb_is_value_over_255(tmp_path):
    from PIL import Image

    arr = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.kind == "raster" and img.wcs is None
    np.testing.assert_allclose(img.data, arr / 255.0, atol=1e-6)
    assert img.data.dtype == np.float32


def test_tiff_16bit_grey_and_planar(tmp_path):
    import tifffile

    grey = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    tifffile.imwrite(tmp_path / "g.tif", grey)
    img = read_image(tmp_path / "g.tif")
    assert img.data.shape == (3, 4, 3)
    np.testing.assert_allclose(img.data[..., 0], grey / 65535.0, atol=1e-6)
    planar = np.random.default_rng(1).integers(0, 255, (3, 6, 8), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "p.tif", planar, photometric="minisblack", planarconfig="separate")
    np.testing.assert_allclose(
        read_image(tmp_path / "p.tif").data, np.moveaxis(planar, 0, -1) / 255, atol=1e-6
    )


def test_fits_extension_hdu_choice_and_wcs(tmp_path):
    from astropy.io import fits
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [10, 20]
    sci = np.random.default_rng(2).normal(0, 1, (6, 9)).astype(np.float32)
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(sci, w.to_header(), name="SCI"),
            fits.ImageHDU(np.ones((4, 4), np.float32), name="ERR"),
        ]
    ).writeto(tmp_path / "s.fits")
    img = read_image(tmp_path / "s.fits")
    assert img.kind == "fits" and img.hdu == "SCI" and img.data.shape == (6, 9, 3)
    assert img.wcs is not None and list(img.wcs.wcs.crval) == [10, 20]
    assert read_image(tmp_path / "s.fits", hdu="err").data.shape == (4, 4, 3)
    assert read_image(tmp_path / "s.fits", hdu=2).hdu == "ERR"
    with pytest.raises(InvalidInputError, match="no image HDU 'DQ'"):
        read_image(tmp_path / "s.fits", hdu="DQ")


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_image(tmp_path / "none.png")
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(FileFormatError, match="Pillow"):
        read_image(tmp_path / "bad.jpg")


def test_write_map_formats(tmp_path):
    import tifffile
    from astropy.io import fits

    m = np.random.default_rng(3).random((2, 5, 6)).astype(np.float32)
    np.testing.assert_array_equal(np.load(write_map(tmp_path / "m.npy", m)), m)
    np.testing.assert_array_equal(tifffile.imread(write_map(tmp_path / "m.tif", m)), m)
    with fits.open(write_map(tmp_path / "m.fits", m[0], meta={"query": "x"})) as h:
        np.testing.assert_array_equal(h[0].data, m[0])
    with pytest.raises(InvalidInputError, match="must end in"):
        write_map(tmp_path / "m.png", m)


def test_a_folder_is_named_as_a_folder(tmp_path):
    import pytest

    from napari_clipcap.core.errors import FileFormatError
    from napari_clipcap.core.io.images import read_image

    with pytest.raises(FileFormatError, match="is a folder"):
        read_image(tmp_path)
    with pytest.raises(FileFormatError, match="no such file"):
        read_image(tmp_path / "missing.png")
