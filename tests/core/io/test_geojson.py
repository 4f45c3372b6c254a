"""GeoJSON of regions and shapes, checked with shapely and rasterio (not with the
project's own code): ellipse areas, RFC 7946 winding, validity, and exact corners over a
rotated, a south-up and an EPSG:4326 grid."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from napari_clipcap.core.coords.region_shapes import FileRegion
from napari_clipcap.core.io.geoexport import write_geotiff
from napari_clipcap.core.io.regionfile.geojson import regions_to_geojson, shapes_to_geojson

shapely = pytest.importorskip("shapely")
from shapely.geometry import shape  # noqa: E402

LONLAT = {"transform": [0.01, 0.0, 10.0, 0.0, -0.01, 50.0], "crs": "EPSG:4326"}


def tilted_ellipse(centre_rc, half_rows: float, half_cols: float, angle_deg: float) -> FileRegion:
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    corners = np.array([[-1, -1], [-1, 1], [1, 1], [1, -1]], float) * [half_rows, half_cols]
    return FileRegion("ellipse", corners @ rot.T + centre_rc, "an ellipse")


def test_an_ellipse_is_its_outline_within_a_thousandth_of_its_area():
    ellipse = tilted_ellipse((40.0, 60.0), 12.0, 30.0, 25.0)
    (feature,) = shapes_to_geojson([ellipse], LONLAT)["features"]
    poly = shape(feature["geometry"])
    exact = np.pi * 12.0 * 30.0 * 0.01**2  # the ellipse's area in square degrees
    assert abs(poly.area / exact - 1) < 1e-3
    box_area = 4 * 12.0 * 30.0 * 0.01**2
    assert poly.area < 0.8 * box_area  # not the bounding rectangle (+27 %)
    assert poly.is_valid and poly.exterior.is_ccw


@pytest.mark.parametrize(
    "transform",
    [
        (0.01, 0.0, 10.0, 0.0, -0.01, 50.0),  # north-up
        (0.01, 0.0, 10.0, 0.0, 0.01, 49.0),  # south-up: rows go north
        (0.007, 0.004, 10.0, 0.004, -0.007, 50.0),  # rotated (and mirrored) affine
    ],
)
def test_every_ring_is_counter_clockwise_valid_and_exact(transform):
    georef = {"transform": list(transform), "crs": "EPSG:4326"}
    boxes = [(2, 3, 12, 9), np.array([[20, 20], [30, 22], [26, 31]], float)]
    fc = regions_to_geojson(boxes, georef)
    affine = rasterio.Affine(*transform)
    for region, feature in zip(boxes, fc["features"]):
        poly = shape(feature["geometry"])
        assert poly.is_valid and poly.exterior.is_ccw
        corners = np.asarray(region, float)
        if corners.ndim == 1:
            x0, y0, x1, y1 = corners
            corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        want = np.array([affine * tuple(c) for c in corners])
        got = np.asarray(poly.exterior.coords)[:-1]
        # the same corners (in whichever order the winding needs), to 1e-12 degrees
        dist = np.abs(got[:, None] - want[None]).max(axis=2).min(axis=1)
        assert dist.max() < 1e-12


def test_a_self_crossing_polygon_is_mended():
    bow_tie = np.array([[0, 0], [10, 10], [10, 0], [0, 10]], float)
    (feature,) = regions_to_geojson([bow_tie], LONLAT)["features"]
    assert shape(feature["geometry"]).is_valid


@pytest.mark.parametrize(
    "transform",
    [(10.0, 0.0, 500000.0, 0.0, 10.0, 4000000.0), (7.0, 4.0, 500000.0, 4.0, -7.0, 4000000.0)],
)
def test_heatmap_geotiff_keeps_a_south_up_or_rotated_grid_exactly(tmp_path, transform):
    georef = {"transform": list(transform), "crs": "EPSG:32633", "shape": [20, 30]}
    out = write_geotiff(tmp_path / "h.tif", np.zeros((20, 30), np.float32), georef)
    with rasterio.open(out) as src:
        assert tuple(src.transform)[:6] == pytest.approx(transform, abs=0.0)
        assert src.crs.to_epsg() == 32633
