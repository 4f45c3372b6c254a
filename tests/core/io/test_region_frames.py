"""Region files in galactic, ecliptic and fk4 land where DS9 puts them.

The four files in ``data/`` hold the same shapes as DS9 wrote them in fk5, galactic,
ecliptic and fk4 (see data/README.md). The expected pixel shapes are computed here with
astropy alone from the fk5 file: a centre is ``wcs.world_to_pixel`` of its position, an
angle the pixel direction of a point one arcsecond along the shape's width axis (at
position angle ``angle - 90`` in fk5). The project's reading of each file must match
them: centres within 0.05 px, angles within 0.05 degrees.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from napari_clipcap.core.io.region_files import read_region_file

DATA = Path(__file__).parent / "data"
#: The epoch of observation the DS9-written ecliptic numbers imply (data/README.md).
MJD_OBS = 51181.819


def m51_wcs(rotation_deg: float = 0.0, scale_arcsec: float = 1.0) -> WCS:
    """A TAN WCS over the files' shapes, 1"/px, optionally rotated."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [202.48, 47.203]
    w.wcs.crpix = [60, 60]
    a = np.deg2rad(rotation_deg)
    s = scale_arcsec / 3600
    w.wcs.cd = s * np.array([[-np.cos(a), np.sin(a)], [np.sin(a), np.cos(a)]])
    w.wcs.radesys = "FK5"
    w.wcs.equinox = 2000.0
    w.wcs.mjdobs = MJD_OBS
    w.wcs.set()
    return w


def expected_from_fk5(wcs: WCS) -> list[dict]:
    """Pixel centres and width-axis angles of the fk5 file's shapes, by astropy alone."""
    out = []
    for line in (DATA / "m51_fk5.reg").read_text().splitlines():
        m = re.match(r"-?(\w+)\(([^)]*)\)", line)
        if not m or m.group(1) == "fk5":
            continue
        args = m.group(2).split(",")
        if m.group(1) == "polygon":
            v = np.array(args, float).reshape(-1, 2)
            sky = SkyCoord(v[:, 0], v[:, 1], unit="deg", frame="fk5")
            out.append({"vertices": np.column_stack(wcs.world_to_pixel(sky))})
            continue
        centre = SkyCoord(float(args[0]), float(args[1]), unit="deg", frame="fk5")
        entry = {"centre": np.array(wcs.world_to_pixel(centre), float)}
        if len(args) == 5:
            tip = centre.directional_offset_by((float(args[4]) - 90) * u.deg, 1 * u.arcsec)
            d = np.array(wcs.world_to_pixel(tip), float) - entry["centre"]
            entry["angle"] = np.rad2deg(np.arctan2(d[1], d[0]))
        out.append(entry)
    return out


def angle_difference(a: float, b: float) -> float:
    """Smallest difference of two axis directions (modulo 180 degrees)."""
    return abs((a - b + 90) % 180 - 90)


@pytest.mark.parametrize("frame", ["fk5", "galactic", "ecliptic", "fk4"])
@pytest.mark.parametrize("rotation", [0.0, 35.0])
def test_each_frame_lands_on_the_fk5_pixels(frame, rotation):
    wcs = m51_wcs(rotation)
    placed = read_region_file(DATA / f"m51_{frame}.reg", wcs)
    assert placed.frame == frame and placed.sky
    assert [r.shape_type for r in placed.regions] == ["ellipse", "ellipse", "rectangle", "polygon"]
    assert [r.text for r in placed.regions] == ["Circle", "Ellipse", "Box", "Polygon"]
    for shape, want in zip(placed.regions, expected_from_fk5(wcs)):
        xy = shape.vertices[:, ::-1]
        if "vertices" in want:
            assert np.abs(xy - want["vertices"]).max() < 0.05
            continue
        assert np.abs(xy.mean(axis=0) - want["centre"]).max() < 0.05
        if "angle" in want:
            side = xy[1] - xy[0]
            got = np.rad2deg(np.arctan2(side[1], side[0]))
            assert angle_difference(got, want["angle"]) < 0.05, (frame, got, want["angle"])


def test_the_rotation_is_the_angle_between_the_two_norths():
    """Without the fix a galactic ellipse is off by the angle between the norths (about
    24 degrees at M51): check the fix is that large here, so the test above means it."""
    centre = SkyCoord(104.8402, 68.54851, unit="deg", frame="galactic")
    north_gal = centre.directional_offset_by(0 * u.deg, 1 * u.arcsec).transform_to("fk5")
    between = centre.transform_to("fk5").position_angle(north_gal).deg
    assert 20 < angle_difference(between, 0.0) < 30


def test_exclude_regions_are_kept_as_excludes():
    placed = read_region_file(DATA / "m51_galactic.reg", m51_wcs())
    assert [r.exclude for r in placed.regions] == [False, True, True, False]
