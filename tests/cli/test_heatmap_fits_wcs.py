"""``heatmap --out x.fits`` keeps the input's sky: SIP and TPV distortions and the frame
keywords (pixel-to-world equal to the input's within 1e-6 deg over the whole frame), a
cube plane recorded, and a cube whose sky is not x/y refused."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from napari_clipcap.cli import main
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.io.images import read_image

SIZE = 96


def sip_header() -> fits.Header:
    """A TAN-SIP header like a Spitzer IRAC frame's: 1.2"/px, second and third order
    terms that move the corners by about a pixel, ICRS, with its date of observation."""
    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
    h["CRPIX1"], h["CRPIX2"] = 48.5, 48.5
    h["CRVAL1"], h["CRVAL2"] = 150.1, 2.2
    h["CD1_1"], h["CD1_2"], h["CD2_1"], h["CD2_2"] = -3.3e-4, 1.0e-5, 1.0e-5, 3.3e-4
    h["A_ORDER"], h["B_ORDER"] = 3, 3
    h["A_2_0"], h["A_0_2"], h["A_1_1"], h["A_3_0"] = -4.4e-4, 3.0e-4, 4.0e-4, -6.0e-6
    h["B_2_0"], h["B_0_2"], h["B_1_1"], h["B_0_3"] = 2.0e-4, -4.8e-4, 2.4e-4, 5.0e-6
    h["RADESYS"], h["EQUINOX"] = "ICRS", 2000.0
    h["DATE-OBS"], h["MJD-OBS"] = "2005-03-04T05:06:07", 53433.2126
    return h


def tpv_header() -> fits.Header:
    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---TPV", "DEC--TPV"
    h["CRPIX1"], h["CRPIX2"] = 48.5, 48.5
    h["CRVAL1"], h["CRVAL2"] = 33.3, -4.4
    h["CD1_1"], h["CD1_2"], h["CD2_1"], h["CD2_2"] = -7.3e-5, 0.0, 0.0, 7.3e-5
    h["PV1_1"], h["PV1_4"], h["PV1_7"] = 1.0002, 3.1e-3, -2.0e-2
    h["PV2_1"], h["PV2_6"], h["PV2_9"] = 0.9998, 2.2e-3, 1.8e-2
    h["RADESYS"], h["EQUINOX"] = "FK5", 2000.0
    return h


def all_pixels_to_world(wcs: WCS) -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    return np.column_stack(wcs.all_pix2world(x.ravel(), y.ravel(), 0))


@pytest.mark.parametrize("make_header", [sip_header, tpv_header])
def test_the_heatmap_fits_keeps_the_inputs_sky(tmp_path, clip_args, capsys, make_header):
    header = make_header()
    src = tmp_path / "frame.fits"
    data = np.random.default_rng(0).normal(100, 5, (SIZE, SIZE)).astype(">f4")
    fits.PrimaryHDU(data, header).writeto(src)
    out = tmp_path / "map.fits"
    code = main(["heatmap", str(src), "--query", "a star", "--window", "48", "--stride", "48",
                 "--out", str(out), *clip_args])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    with fits.open(src) as a, fits.open(out) as b:
        want, got = WCS(a[0].header, a), WCS(b[0].header, b)
        for key in ("RADESYS", "EQUINOX", "DATE-OBS", "MJD-OBS"):
            if key == "EQUINOX" and header["RADESYS"] == "ICRS":
                continue  # no equinox in ICRS: wcslib reads it as undefined
            if key in header:
                assert b[0].header[key] == header[key], key
    diff = np.abs(all_pixels_to_world(want) - all_pixels_to_world(got))
    diff[:, 0] = (diff[:, 0] + 180) % 360 - 180
    assert np.abs(diff).max() < 1e-6
    if "A_ORDER" in header:  # the distortion matters here: without it, pixels move
        plain = WCS(header, relax=True)
        plain.sip = None
        shift = np.abs(all_pixels_to_world(want) - all_pixels_to_world(plain)).max() * 3600
        assert shift > 0.5  # arcsec


def cube(tmp_path, ctypes, name="cube.fits"):
    w = WCS(naxis=3)
    w.wcs.ctype = ctypes
    w.wcs.crval = [150.0, 2.0, 1000.0] if ctypes[2] == "VRAD" else [150.0, 1000.0, 2.0]
    w.wcs.cdelt = [-1e-3, 1e-3, 500.0] if ctypes[2] == "VRAD" else [-1e-3, 500.0, 1e-3]
    w.wcs.crpix = [1, 1, 1]
    w.wcs.cunit = ["deg", "deg", "m/s"] if ctypes[2] == "VRAD" else ["deg", "m/s", "deg"]
    data = np.random.default_rng(1).normal(100, 5, (5, 40, 48)).astype(">f4")
    path = tmp_path / name
    fits.PrimaryHDU(data, w.to_header()).writeto(path)
    return path


def test_a_cube_whose_sky_is_not_x_and_y_is_refused(tmp_path, capsys):
    path = cube(tmp_path, ["RA---CAR", "VRAD", "DEC--CAR"])
    with pytest.raises(InvalidInputError, match="sky axes are FITS axes 1 and 3"):
        read_image(path)
    code = main(["heatmap", str(path), "--query", "a", "--out", str(tmp_path / "m.fits")])
    err = capsys.readouterr().err
    assert code == 2 and "RA x VRAD" in err and "Traceback" not in err


def test_a_heatmap_of_a_cube_plane_says_which_plane(tmp_path, clip_args):
    path = cube(tmp_path, ["RA---CAR", "DEC--CAR", "VRAD"])
    out = tmp_path / "plane.fits"
    code = main(["heatmap", str(path), "--query", "a", "--window", "32", "--stride", "16",
                 "--out", str(out), *clip_args])  # fmt: skip
    assert code == 0
    h = fits.getheader(out)
    assert h["PLANE3"] == 1 and h["PLNTYP3"] == "VRAD" and h["PLNVAL3"] == pytest.approx(1000.0)
    assert WCS(h).has_celestial
