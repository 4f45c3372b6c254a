"""Georeferenced export: heatmaps as GeoTIFF, regions in map coordinates and GeoJSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from fixtures.geotiffs import make_lonlat_tif, make_plain_tif, make_s2_tif
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.io.geoexport import (
    geo_metadata_of,
    region_to_map,
    window_transform,
    write_geotiff,
)
from napari_clipcap.core.io.geotiff import read_geotiff
from napari_clipcap.core.io.regionfile.geojson import label_properties, regions_to_geojson


def test_heatmap_geotiff_keeps_crs_and_transform(tmp_path):
    src = make_s2_tif(tmp_path)
    meta = read_geotiff(src).metadata()
    heat = np.random.default_rng(0).random((2, 96, 128)).astype(np.float32)
    out = write_geotiff(
        tmp_path / "heat.tif", heat, meta, band_names=["river", "town"], tags={"window": 224}
    )
    with rasterio.open(src) as a, rasterio.open(out) as b:
        assert b.crs == a.crs and b.transform == a.transform
        assert b.count == 2 and b.dtypes[0] == "float32"
        assert b.descriptions == ("river", "town")
        assert b.tags()["window"] == "224"
        np.testing.assert_array_equal(b.read(), heat)
    # and it reads back as a scene of our own
    assert read_geotiff(out).band_names == ["river", "town"]


def test_smaller_heatmap_covers_the_source_extent(tmp_path):
    meta = read_geotiff(make_s2_tif(tmp_path)).metadata()  # 96 x 128, 10 m
    out = write_geotiff(tmp_path / "half.tif", np.zeros((48, 64)), meta)
    with rasterio.open(out) as b:
        assert tuple(b.transform)[:6] == (20.0, 0.0, 500_000.0, 0.0, -20.0, 5_200_000.0)
        assert b.bounds == pytest.approx((500_000, 5_199_040, 501_280, 5_200_000))


def test_heatmap_of_a_crop_uses_the_window(tmp_path):
    meta = read_geotiff(make_s2_tif(tmp_path)).metadata()
    out = write_geotiff(tmp_path / "crop.tif", np.ones((10, 20)), meta, window=(30, 40, 50, 50))
    with rasterio.open(out) as b:
        assert tuple(b.transform)[:6] == (10.0, 0.0, 500_300.0, 0.0, -10.0, 5_199_600.0)


def test_window_transform_with_rotation():
    t = (2.0, 1.0, 100.0, 0.5, -2.0, 50.0)
    a, b, c, d, e, f = window_transform(t, (5, 5), window=(10, 20, 20, 30))
    assert (a, b, d, e) == (4.0, 2.0, 1.0, -4.0)
    assert (c, f) == (2 * 10 + 20 + 100, 0.5 * 10 - 2 * 20 + 50)
    with pytest.raises(InvalidInputError, match="empty window"):
        window_transform(t, (5, 5), window=(10, 20, 10, 30))


def test_export_refuses_plain_images_and_bad_shapes(tmp_path):
    with pytest.raises(InvalidInputError, match="not georeferenced"):
        write_geotiff(tmp_path / "x.tif", np.zeros((4, 4)), {"source_path": "a.png"})
    meta = read_geotiff(make_s2_tif(tmp_path)).metadata()
    with pytest.raises(InvalidInputError, match="Q x H x W"):
        write_geotiff(tmp_path / "x.tif", np.zeros(4), meta)
    with pytest.raises(InvalidInputError, match="1 band names for 2"):
        write_geotiff(tmp_path / "x.tif", np.zeros((2, 4, 4)), meta, band_names=["a"])


def test_geo_metadata_of(tmp_path):
    meta = geo_metadata_of(make_s2_tif(tmp_path))
    assert meta["epsg"] == 32633 and meta["shape"] == [96, 128]
    assert meta["transform"] == [10.0, 0.0, 500_000.0, 0.0, -10.0, 5_200_000.0]
    assert geo_metadata_of(make_plain_tif(tmp_path)) is None
    assert geo_metadata_of(tmp_path / "nothing.png") is None


def test_box_and_polygon_to_map_coordinates(tmp_path):
    meta = read_geotiff(make_s2_tif(tmp_path)).metadata()
    geo = region_to_map((10, 20, 30, 40), meta)
    assert geo["crs"] == "EPSG:32633"
    assert geo["map_bounds"] == [500_100.0, 5_199_600.0, 500_300.0, 5_199_800.0]
    assert geo["map_polygon"][0] == geo["map_polygon"][-1] == [500_100.0, 5_199_800.0]
    lon, lat = geo["lonlat_centre"]
    assert lon == pytest.approx(15.0026, abs=1e-4) and lat == pytest.approx(46.951, abs=1e-3)
    tri = region_to_map([(0, 0), (10, 0), (0, 10)], meta)
    assert len(tri["map_polygon"]) == 4
    with pytest.raises(InvalidInputError, match="a region is a box"):
        region_to_map([(0, 0), (1, 1)], meta)


def test_geographic_source_gives_degrees_directly(tmp_path):
    meta = read_geotiff(make_lonlat_tif(tmp_path)).metadata()
    geo = region_to_map((0, 0, 10, 10), meta)
    assert geo["lonlat_polygon"][:3] == [[10.0, 50.0], [10.1, 50.0], [10.1, 49.9]]


def test_regions_to_geojson_with_label_probabilities(tmp_path):
    meta = read_geotiff(make_s2_tif(tmp_path)).metadata()
    scores = np.array([[0.7, 0.3], [0.1, 0.9]])
    props = label_properties(scores, ["river", "forest"])
    fc = regions_to_geojson([(0, 0, 10, 10), (50, 50, 60, 70)], meta, props)
    json.dumps(fc)  # serialisable
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
    f1 = fc["features"][1]
    assert f1["geometry"]["type"] == "Polygon"
    ring = f1["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and all(14.9 < x < 15.1 and 46.9 < y < 47.0 for x, y in ring)
    assert f1["properties"]["label"] == "forest"
    assert f1["properties"]["probabilities"] == {"river": 0.1, "forest": 0.9}
    assert f1["properties"]["pixel_region"] == [50, 50, 60, 70]
    with pytest.raises(InvalidInputError, match="1 property sets for 2 regions"):
        regions_to_geojson([(0, 0, 1, 1)] * 2, meta, props[:1])
    with pytest.raises(InvalidInputError, match="needs a CRS"):
        regions_to_geojson([(0, 0, 1, 1)], {"transform": [2, 0, 0, 0, -2, 0]})
    with pytest.raises(InvalidInputError, match="do not fit"):
        label_properties(scores, ["a"])
