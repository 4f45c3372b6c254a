"""core.worldcoords: RA/Dec text for the status bar and the formatter registry."""

from __future__ import annotations

import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from fixtures.fits_files import sky_header
from napari_clipcap.core.coords import worldcoords as wc


def test_ra_dec_of_pixels_match_astropy():
    wcs = WCS(sky_header(64, 64, ra=153.0547, dec=12.0511))
    for row, col in [(0, 0), (31.5, 31.5), (10, 50), (63, 2.25)]:
        text = wc.format_world({"wcs": wcs}, row, col)
        sky = wcs.pixel_to_world(col, row)
        ra = sky.ra.to_string(unit=u.hour, sep="hms", precision=2, pad=True)
        dec = sky.dec.to_string(unit=u.deg, sep=("°", "'", '"'), precision=1, alwayssign=True)
        assert text == f"RA {ra} Dec {dec}"


def test_centre_pixel_is_the_reference_position():
    wcs = WCS(sky_header(64, 64, ra=150.0, dec=2.0))
    assert wc.format_world({"wcs": wcs}, 31.5, 31.5) == "RA 10h00m00.00s Dec +02°00'00.0\""


def test_sexagesimal_rounding_carries_and_signs():
    assert wc.format_ra(359.9999999) == "00h00m00.00s"
    assert wc.format_ra(15 * (1 + 59 / 60 + 59.999 / 3600)) == "02h00m00.00s"
    assert wc.format_dec(-0.5) == "-00°30'00.0\""
    assert wc.format_dec(12.0511389) == "+12°03'04.1\""
    assert wc.format_dec(-89.99999999) == "-90°00'00.0\""
    assert wc.format_ra(153.0547, decimals=0) == "10h12m13s"


def test_cube_uses_its_celestial_plane():
    h = sky_header(16, 20)
    h["CTYPE3"], h["CRVAL3"], h["CDELT3"], h["CRPIX3"] = "FREQ", 1.4e9, 1e6, 1
    h["NAXIS"] = 3
    cube = WCS(h)
    plane = WCS(sky_header(16, 20))
    assert wc.format_world({"wcs": cube}, 3, 4) == wc.format_world({"wcs": plane}, 3, 4)


def test_galactic_wcs():
    h = sky_header()
    h["CTYPE1"], h["CTYPE2"] = "GLON-CAR", "GLAT-CAR"
    h["CRVAL1"], h["CRVAL2"] = 10.0, -1.0
    text = wc.format_world({"wcs": WCS(h)}, 31.5, 31.5)
    sky = SkyCoord(10 * u.deg, -1 * u.deg, frame="galactic")
    assert text == f"l {sky.l.deg:.5f}° b {sky.b.deg:+.5f}°"


def test_no_world_position_gives_none():
    assert wc.format_world({}, 1, 1) is None
    assert wc.format_world(None, 1, 1) is None
    assert wc.format_world({"wcs": None}, 1, 1) is None
    linear = WCS(naxis=2)
    linear.wcs.ctype = ["X", "Y"]
    assert wc.format_world({"wcs": linear}, 1, 1) is None
    h = sky_header()
    h["CTYPE1"], h["CTYPE2"] = "RA---SIN", "DEC--SIN"  # the sky ends 90° from the centre
    assert wc.format_world({"wcs": WCS(h)}, 1e6, 1e6) is None


def test_registered_formatter_is_used_and_a_broken_one_is_skipped(monkeypatch):
    monkeypatch.setattr(wc, "_FORMATTERS", dict(wc._FORMATTERS))
    monkeypatch.setattr(wc, "_KEYS", dict(wc._KEYS))

    @wc.register_formatter("explodes")
    def explodes(metadata, row, col):
        raise RuntimeError("bad formatter")

    @wc.register_formatter("toy", keys=("toy_crs",))
    def lonlat(metadata, row, col):
        if "toy_crs" not in metadata:
            return None
        return f"lon {col * 0.1:.1f}° lat {row * 0.1:.1f}°"

    assert list(wc.formatters())[-2:] == ["explodes", "toy"]
    assert wc.format_world({"toy_crs": "EPSG:4326"}, 20, 10) == "lon 1.0° lat 2.0°"
    # the celestial formatter still answers first for WCS layers
    assert wc.format_world({"wcs": WCS(sky_header())}, 0, 0).startswith("RA ")


@pytest.mark.parametrize("bad", ["not a wcs", 42, {"wcs": 1}])
def test_odd_wcs_values_never_raise(bad):
    assert wc.format_world({"wcs": bad}, 0, 0) is None


def test_sip_distortion_is_applied():
    h = sky_header()
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
    h["A_ORDER"], h["B_ORDER"], h["A_2_0"], h["B_0_2"] = 2, 2, 1e-3, 1e-3
    wcs = WCS(h)
    sky = wcs.pixel_to_world(60, 5)  # far from the reference pixel: SIP matters
    ra = sky.ra.to_string(unit=u.hour, sep="hms", precision=2, pad=True)
    assert wc.format_world({"wcs": wcs}, 5, 60).startswith(f"RA {ra} ")


def test_world_metadata_keeps_what_formatters_read():
    from astropy.wcs import WCS

    from napari_clipcap.core.coords.worldcoords import format_world, world_metadata

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [1.0, 1.0]
    wcs.wcs.cdelt = [-1e-4, 1e-4]
    fits_meta = {"wcs": wcs, "header": {"NAXIS": 2}, "napari_clipcap": {"x": 1}}
    kept = world_metadata(fits_meta)
    assert set(kept) == {"wcs"}
    assert format_world(kept, 3, 4) == format_world(fits_meta, 3, 4) is not None

    geo_meta = {
        "crs": "EPSG:32633",
        "epsg": 32633,
        "transform": (10.0, 0, 500000.0, 0, -10.0, 5.2e6),
        "shape": (100, 100),
        "band_names": ["B04"],
    }
    kept = world_metadata(geo_meta)
    assert set(kept) == {"crs", "epsg", "transform", "shape"}
    assert "lon" in format_world(kept, 10, 10)
    assert world_metadata(None) == {} and world_metadata({"header": {}}) == {}
