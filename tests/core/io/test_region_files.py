"""DS9 / CRTF region files: the pixel origin, sky round trips, a hand-written file, errors."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from napari_clipcap.core.coords.region_shapes import FileRegion
from napari_clipcap.core.errors import FileFormatError, InvalidInputError
from napari_clipcap.core.io.region_files import (
    read_region_file,
    serialize_regions,
    write_region_file,
)

#: Written by hand in DS9 syntax, as DS9 itself saves regions (fk5, sexagesimal).
HAND_DS9 = """# Region file format: DS9 version 4.1
global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman"
fk5
circle(10:00:00.000,+2:00:00.00,6.000") # text={bright star}
box(9:59:59.500,+2:00:10.00,10.000",6.000",30) # color=red text={galaxy}
polygon(9:59:59.000,+1:59:50.00,10:00:00.500,+1:59:50.00,10:00:00.000,+1:59:55.00)
point(10:00:00.800,+2:00:05.00) # point=x
"""


def rotated_tan_wcs(size: int = 100, angle_deg: float = 25.0) -> WCS:
    """A tangent-plane WCS at RA 150, Dec +2 with 0.5"/px, rotated by ``angle_deg``."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [size / 2, size / 2]
    scale = 0.5 / 3600
    a = np.deg2rad(angle_deg)
    w.wcs.cd = scale * np.array([[-np.cos(a), np.sin(a)], [np.sin(a), np.cos(a)]])
    return w


def test_image_regions_are_one_based_in_the_file_and_zero_based_in_napari(tmp_path):
    reg = tmp_path / "r.reg"
    reg.write_text("image\npoint(1,1)\nbox(5.5,5.5,10,10,0) # text={first ten}\n")
    rf = read_region_file(reg)
    point, box = rf.regions
    np.testing.assert_allclose(point.vertices, [[0, 0]])  # DS9 pixel (1, 1) -> napari (0, 0)
    assert point.to_region() == (0, 0, 1, 1)
    # a DS9 box over pixels 1..10 covers napari pixel centres 0..9 -> scored box 0..10
    np.testing.assert_allclose(box.vertices.min(axis=0), [-0.5, -0.5])
    np.testing.assert_allclose(box.vertices.max(axis=0), [9.5, 9.5])
    assert box.to_region() == (0.0, 0.0, 10.0, 10.0) and box.text == "first ten"
    assert not rf.sky


def test_hand_written_ds9_file_round_trips_in_sky_coordinates(tmp_path):
    wcs = rotated_tan_wcs()
    src = tmp_path / "hand.reg"
    src.write_text(HAND_DS9)
    rf = read_region_file(src, wcs)
    assert rf.sky and [r.shape_type for r in rf.regions] == [
        "ellipse",
        "rectangle",
        "polygon",
        "point",
    ]
    assert [r.text for r in rf.regions] == ["bright star", "galaxy", "", ""]
    assert rf.regions[1].color == "red"
    out = write_region_file(tmp_path / "out.reg", rf.regions, wcs=wcs, header=["a test"])
    text = out.read_text()
    assert "# a test" in text and ("fk5" in text or "icrs" in text)
    again = read_region_file(out, wcs)
    for a, b in zip(rf.regions, again.regions):
        assert a.shape_type == b.shape_type and a.text == b.text
        sky_a = wcs.pixel_to_world(a.vertices[:, 1], a.vertices[:, 0])
        sky_b = wcs.pixel_to_world(b.vertices[:, 1], b.vertices[:, 0])
        assert np.all(sky_a.separation(sky_b).deg < 1e-6)
    # the circle's centre is where the file puts it
    centre = rf.regions[0].vertices.mean(axis=0)
    sky = wcs.pixel_to_world(centre[1], centre[0])
    want = SkyCoord("10:00:00 +2:00:00", unit=("hourangle", "deg"), frame="fk5")
    assert sky.separation(want).deg < 1e-6


@pytest.mark.parametrize("suffix", [".reg", ".crtf"])
def test_layer_to_file_to_layer_in_sky_and_pixel_coordinates(tmp_path, suffix):
    wcs = rotated_tan_wcs()
    a = np.deg2rad(30)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    shapes = [
        FileRegion("rectangle", np.array([[10, 10], [10, 30], [20, 30], [20, 10]], float), "r1"),
        FileRegion(
            "ellipse",
            (np.array([[-5, -8], [-5, 8], [5, 8], [5, -8]], float) @ rot.T) + [50, 60],
            "tilted ellipse",
        ),
        FileRegion("polygon", np.array([[70, 70], [80, 75], [72, 90]], float), "tri"),
    ]
    for w in (wcs, None) if suffix == ".reg" else (wcs,):
        path = write_region_file(tmp_path / f"s{suffix}", shapes, wcs=w)
        back = read_region_file(path, wcs).regions
        assert [r.text for r in back] == ["r1", "tilted ellipse", "tri"]
        for s, b in zip(shapes, back):
            assert b.shape_type == s.shape_type
            # the same corners, maybe starting elsewhere: pair each with its nearest
            dist = np.linalg.norm(b.vertices[:, None] - s.vertices[None], axis=2)
            got = b.vertices[dist.argmin(axis=0)]
            if w is None:
                np.testing.assert_allclose(got, s.vertices, atol=1e-4)
            else:  # sizes and angles in arcsec and degrees: within 1e-6 deg on the sky
                sky_g = wcs.pixel_to_world(got[:, 1], got[:, 0])
                sky_w = wcs.pixel_to_world(s.vertices[:, 1], s.vertices[:, 0])
                assert np.all(sky_g.separation(sky_w).deg < 1e-6)


def test_crtf_is_written_in_sky_coordinates_only(tmp_path):
    box = FileRegion("rectangle", np.array([[0, 0], [0, 4], [4, 4], [4, 0]], float), "b")
    with pytest.raises(InvalidInputError, match=r"DS9 \.reg"):
        write_region_file(tmp_path / "x.crtf", [box])
    assert not (tmp_path / "x.crtf").exists()


def test_sky_regions_need_a_celestial_wcs(tmp_path):
    src = tmp_path / "sky.reg"
    src.write_text(HAND_DS9)
    with pytest.raises(InvalidInputError, match="no celestial WCS"):
        read_region_file(src, None)


def test_unsupported_shapes_are_reported_and_files_without_regions_refused(tmp_path):
    reg = tmp_path / "mixed.reg"
    reg.write_text("image\nannulus(3,3,1,2)\ncircle(5,5,2)\nphysical\ncircle(1,1,1)\n")
    rf = read_region_file(reg)
    assert len(rf.regions) == 1 and rf.regions[0].shape_type == "ellipse"
    assert any("annulus" in s.lower() for s in rf.skipped)
    assert any("physical" in s for s in rf.skipped)
    empty = tmp_path / "empty.reg"
    empty.write_text("physical\ncircle(1,1,1)\n")
    with pytest.raises(FileFormatError, match="no region could be read"):
        read_region_file(empty)
    with pytest.raises(InvalidInputError, match="unknown region file type"):
        read_region_file(tmp_path / "x.txt")


def test_header_comments_and_circles(tmp_path):
    circle = FileRegion("ellipse", np.array([[0, 0], [0, 4], [4, 4], [4, 0]], float), "c")
    text = serialize_regions([circle], header=["napari-clipcap 0.1.0", "cmd: x"])
    lines = text.splitlines()
    assert lines[0].startswith("# Region file format")
    assert lines[1:3] == ["# napari-clipcap 0.1.0", "# cmd: x"]
    assert any(line.startswith("circle(") for line in lines)


def test_control_characters_in_text_cannot_split_a_region_line(tmp_path):
    # a model's answer may hold a vertical tab or form feed: str.splitlines() breaks on
    # them, so written as is they would end the region's line early
    from napari_clipcap.core.coords.region_shapes import FileRegion
    from napari_clipcap.core.io.region_files import read_region_file, write_region_file

    square = np.array([[0.0, 0.0], [0.0, 9.0], [9.0, 9.0], [9.0, 0.0]])
    text = "three\x0btanks\x0c and\u2028a ship\x85."
    out = write_region_file(tmp_path / "a.reg", [FileRegion("rectangle", square, text, None)])
    assert len(out.read_text().splitlines()) == len(out.read_text().split("\n")) - 1
    [back] = read_region_file(out).regions
    assert back.text == "three tanks  and a ship ."
