"""Region files written and read back by someone else's reader (the ``regions`` package):
CRTF frames and points, exclude regions, region texts that hold delimiters, DS9's
commented shapes, and frames kept on the way out."""

from __future__ import annotations

import warnings

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from regions import Regions

from napari_clipcap.core.coords.region_shapes import FileRegion
from napari_clipcap.core.io.region_files import read_region_file, write_region_file

from .test_region_frames import DATA, angle_difference, m51_wcs


def galactic_wcs() -> object:
    """A TAN WCS in galactic coordinates at M51, 1"/px."""
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["GLON-TAN", "GLAT-TAN"]
    w.wcs.crval = [104.845, 68.553]
    w.wcs.crpix = [60, 60]
    w.wcs.cdelt = [-1 / 3600, 1 / 3600]
    w.wcs.set()
    return w


def parse_with_regions(path, fmt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(Regions.read(str(path), format=fmt))


def test_crtf_written_in_the_files_frame_with_points_as_symbols(tmp_path):
    wcs = galactic_wcs()
    placed = read_region_file(DATA / "m51_galactic.reg", wcs)
    point = FileRegion("point", np.array([[40.0, 50.0]]), "star", symbol="x")
    out = write_region_file(tmp_path / "out.crtf", [*placed.regions, point], wcs=wcs)
    text = out.read_text()
    assert "coord=GALACTIC" in text and "J2000" not in text
    assert "symbol[[" in text and "point[[" not in text
    back = parse_with_regions(out, "crtf")
    assert [type(r).__name__ for r in back] == [
        "CircleSkyRegion",
        "EllipseSkyRegion",
        "RectangleSkyRegion",
        "PolygonSkyRegion",
        "PointSkyRegion",
    ]
    assert back[-1].meta.get("symbol", back[-1].visual.get("symbol")) == "x"
    # the ellipse keeps its galactic position angle: DS9 wrote 158.38935 deg
    ellipse = back[1]
    assert ellipse.center.frame.name == "galactic"
    assert angle_difference(float(ellipse.angle.to_value(u.deg)), 158.38935) < 0.05
    want = SkyCoord(104.8402, 68.54851, unit="deg", frame="galactic")
    assert ellipse.center.separation(want).arcsec < 0.2
    assert [r.meta["include"] for r in back[:4]] == [True, False, False, True]
    again = read_region_file(out, wcs)
    assert again.frame == "galactic" and [r.exclude for r in again.regions][:3] == [
        False,
        True,
        True,
    ]
    assert again.regions[-1].shape_type == "point" and again.regions[-1].symbol == "x"


def test_results_go_back_in_the_files_frame_unless_asked(tmp_path):
    wcs = m51_wcs()  # an fk5 image
    placed = read_region_file(DATA / "m51_galactic.reg", wcs)
    out = write_region_file(tmp_path / "back.reg", placed.regions, wcs=wcs)
    back = parse_with_regions(out, "ds9")
    assert back[0].center.frame.name == "galactic"
    for mine, theirs in zip(back[:3], parse_with_regions(DATA / "m51_galactic.reg", "ds9")):
        assert mine.center.separation(theirs.center).arcsec < 0.01
        if hasattr(theirs, "angle"):
            mine_deg, theirs_deg = mine.angle.to_value("deg"), theirs.angle.to_value("deg")
            assert angle_difference(mine_deg, theirs_deg) < 0.01
    assert [r.meta.get("include") for r in back] == [1, 0, 0, 1]  # excludes kept (8 of 8)
    icrs = write_region_file(tmp_path / "icrs.reg", placed.regions, wcs=wcs, frame="icrs")
    assert parse_with_regions(icrs, "ds9")[0].center.frame.name == "icrs"


def test_a_text_holding_a_brace_cannot_inject_a_region(tmp_path):
    evil = "x} # circle(5,5,3) # text={injected"
    shapes = [
        FileRegion("rectangle", np.array([[0, 0], [0, 4], [4, 4], [4, 0]], float), evil),
        FileRegion("ellipse", np.array([[9, 9], [9, 13], [13, 13], [13, 9]], float), "a'b\"c{d}"),
    ]
    out = write_region_file(tmp_path / "t.reg", shapes)
    back = read_region_file(out)
    assert len(back.regions) == 2 and back.regions[0].text == evil
    assert back.regions[1].text == "a'b\"cd"  # all three delimiters: the braces go
    theirs = parse_with_regions(out, "ds9")
    assert len(theirs) == 2 and theirs[0].meta["text"] == evil


def test_ds9_commented_shapes_are_reported_with_one_numbering(tmp_path):
    reg = tmp_path / "mixed.reg"
    reg.write_text(
        "image\n"
        "circle(10,10,3) # text={first}\n"
        "# text(40,40) text={label only}\n"
        "# vector(20,20,10,45) vector=1\n"
        "# composite(30,30,0) || composite=1\n"
        "circle(30,30,5) ||\n"
        "box(30,30,4,4,0)\n"
        "-ellipse(50,50,6,3,30) # text={ex}\n"
    )
    placed = read_region_file(reg)
    assert [(r.number, r.text, r.exclude) for r in placed.regions] == [
        (1, "first", False),
        (5, "ex", True),
    ]
    assert placed.skipped == [
        "region 2: a text label, not a region: not scored",
        "region 3: a DS9 vector, not a region: skipped",
        "region 4: a DS9 composite of 2 shapes, which DS9 treats as one region: skipped "
        "(list its shapes as separate regions to score them)",
    ]
