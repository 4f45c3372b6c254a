"""GeoTIFF reading: bands, names, nodata, overviews, georeferencing, bad files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import rasterio

from fixtures.geotiffs import (
    S2_NAMES,
    make_lonlat_tif,
    make_plain_tif,
    make_s2_tif,
    ramp,
    write_tif,
)
from napari_clipcap.core.coords.georef import format_geo, map_to_pixel, pixel_to_map
from napari_clipcap.core.errors import FileFormatError
from napari_clipcap.core.io.geotiff import is_geospatial_tiff, read_geotiff


def test_bands_names_nodata_and_georeferencing(tmp_path):
    path = make_s2_tif(tmp_path)
    scene = read_geotiff(path)
    assert scene.shape == (13, 96, 128)
    assert scene.band_names == S2_NAMES
    assert scene.epsg == 32633
    assert scene.transform == (10.0, 0.0, 500_000.0, 0.0, -10.0, 5_200_000.0)
    assert scene.source_dtype == "uint16"
    # nodata (0, first row) becomes NaN in a float array; the rest is the file's values
    band = scene.data[3].compute()
    assert band.dtype == np.float32
    assert np.isnan(band[0]).all()
    with rasterio.open(path) as src:
        expected = src.read(4).astype(np.float32)
    np.testing.assert_array_equal(band[1:], expected[1:])
    meta = scene.metadata()
    assert meta["band_names"] == S2_NAMES and meta["shape"] == [96, 128]
    assert "32633" in meta["crs"] and meta["nodata"] == [0.0] * 13


def test_overviews_are_lazy_levels(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path))
    assert [lvl.shape for lvl in scene.levels] == [(13, 96, 128), (13, 48, 64), (13, 24, 32)]
    with rasterio.open(scene.path, overview_level=1) as ov:
        expected = ov.read(2).astype(np.float32)
    got = scene.levels[2][1].compute()
    expected[expected == 0] = np.nan
    np.testing.assert_array_equal(got, expected)


def test_window_reads_match_numpy_slicing(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path), chunk=32)
    full = scene.data.compute()
    for key in [
        (slice(2, 5), slice(10, 70), slice(30, 100)),
        (1, slice(90, 10, -3), slice(None, None, 2)),
        (slice(None), 5, 7),
    ]:
        np.testing.assert_array_equal(scene.data[key].compute(), full[key])


def test_reader_pickles_for_distributed_workers(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path))
    copy = pickle.loads(pickle.dumps(scene.levels[1]))
    np.testing.assert_array_equal(copy[0, :4, :4].compute(), scene.levels[1][0, :4, :4])


def test_no_nodata_keeps_source_dtype_and_unnamed_bands(tmp_path):
    data = ramp(5, 10, 12, "int16")
    scene = read_geotiff(write_tif(tmp_path / "i16.tif", data))
    assert scene.data.dtype == np.int16
    assert scene.band_names == [f"band {i}" for i in range(1, 6)]
    np.testing.assert_array_equal(scene.data.compute(), data)
    assert len(scene.levels) == 1


def test_names_from_tags_and_duplicates(tmp_path):
    tags = [{"BANDNAME": "red"}, {"name": "nir"}, {"BANDNAME": "red"}]
    scene = read_geotiff(write_tif(tmp_path / "t.tif", ramp(3, 8, 8, "uint8"), tags=tags))
    assert scene.band_names == ["red", "nir", "red (3)"]


def test_uint8_rgb_names_from_colour_interpretation(tmp_path):
    path = write_tif(tmp_path / "rgb.tif", ramp(3, 8, 8, "uint8"), photometric="RGB")
    scene = read_geotiff(path)
    assert scene.band_names == ["red", "green", "blue"]
    assert scene.colorinterp == ["red", "green", "blue"]


def test_float_nan_nodata_and_geographic_crs(tmp_path):
    data = ramp(2, 6, 6, "float32")
    data[:, 2, 3] = np.nan
    scene = read_geotiff(write_tif(tmp_path / "f.tif", data, nodata=float("nan")))
    assert scene.data.dtype == np.float32
    assert np.isnan(scene.data[:, 2, 3].compute()).all()
    geo = read_geotiff(make_lonlat_tif(tmp_path))
    assert geo.epsg == 4326


def test_ground_control_points_give_a_transform(tmp_path):
    from rasterio.control import GroundControlPoint as G

    gcps = [G(0, 0, 10.0, 50.0), G(0, 20, 10.2, 50.0), G(20, 0, 10.0, 49.8), G(20, 20, 10.2, 49.8)]
    path = write_tif(tmp_path / "g.tif", ramp(1, 20, 20), crs=None, transform=None, gcps=gcps)
    assert is_geospatial_tiff(path)
    scene = read_geotiff(path)
    assert scene.transform_from_gcps and scene.epsg == 4326
    x, y = pixel_to_map(scene.transform, 20, 20)
    assert (float(x), float(y)) == pytest.approx((10.2, 49.8))


def test_is_geospatial_tiff(tmp_path):
    assert is_geospatial_tiff(make_s2_tif(tmp_path))
    assert not is_geospatial_tiff(make_plain_tif(tmp_path))
    many = write_tif(tmp_path / "many.tif", ramp(5, 4, 4), crs=None, transform=None)
    assert is_geospatial_tiff(many)  # more than four bands, no georeferencing
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff at all")
    assert not is_geospatial_tiff(bad)
    assert not is_geospatial_tiff(tmp_path / "missing.tif")
    assert not is_geospatial_tiff(tmp_path / "scene.fits")


def test_bad_files_raise_one_file_format_error(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(FileFormatError, match=r"bad\.tif: cannot read as GeoTIFF"):
        read_geotiff(bad)
    with pytest.raises(FileFormatError, match="no such file"):
        read_geotiff(tmp_path / "missing.tif")
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "x.png")
    with pytest.raises(FileFormatError, match="not a GeoTIFF"):
        read_geotiff(tmp_path / "x.png")
    cplx = write_tif(tmp_path / "c.tif", np.ones((1, 4, 4), np.complex64))
    with pytest.raises(FileFormatError, match="complex"):
        read_geotiff(cplx)


def test_pixels_gone_after_opening_fail_with_file_name(tmp_path):
    path = make_s2_tif(tmp_path)
    scene = read_geotiff(path)
    path.write_bytes(b"II*\x00garbage")
    with pytest.raises(FileFormatError, match=r"s2\.tif: cannot read pixels"):
        scene.data.compute()


def test_pixel_map_round_trip_and_status_text(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path))
    meta = scene.metadata()
    x, y = pixel_to_map(scene.transform, [0, 128], [0, 96])
    np.testing.assert_allclose(x, [500_000, 501_280])
    np.testing.assert_allclose(y, [5_200_000, 5_199_040])
    cols, rows = map_to_pixel(scene.transform, x, y)
    np.testing.assert_allclose(cols, [0, 128])
    np.testing.assert_allclose(rows, [0, 96])
    # napari's cursor at pixel (0, 0) is the pixel centre: 5 m in from the corner;
    # x 500,000 in UTM 33N is the central meridian, 15 E
    text = format_geo(meta, 0, 0)
    assert text.startswith("lon 15.00007°E, lat 46.95348°N | ")
    assert "x 500005.0, y 5199995.0 (EPSG:32633)" in text


def test_status_text_geographic_and_unknown(tmp_path):
    meta = read_geotiff(make_lonlat_tif(tmp_path)).metadata()
    assert format_geo(meta, 9.5, 19.5) == "lon 10.20000°E, lat 49.90000°N"
    assert format_geo({"transform": [2, 0, 100, 0, -2, 50], "crs": None}, 0, 0) == (
        "x 101.0, y 49.0 (no CRS)"
    )
    assert format_geo({"transform": [1, 0, 0, 0, 1, 0]}, 3, 3) is None
    assert format_geo({}, 0, 0) is None
    assert format_geo(None, 0, 0) is None


def test_status_bar_registry_formats_geotiff_metadata(tmp_path):
    from napari_clipcap.core.coords.worldcoords import format_world, formatters

    assert "crs" in formatters()  # registered when core.geotiff is imported
    meta = read_geotiff(make_s2_tif(tmp_path)).metadata()
    assert format_world(meta, 0, 0) == format_geo(meta, 0, 0)


def test_geo_subset_keeps_only_georeferencing(tmp_path):
    from napari_clipcap.core.coords.georef import geo_subset

    meta = read_geotiff(make_s2_tif(tmp_path)).metadata()
    sub = geo_subset(meta)
    assert set(sub) == {"crs", "epsg", "transform", "shape"}
    assert format_geo(sub, 3, 4) == format_geo(meta, 3, 4)
    assert geo_subset({"band_names": ["a"]}) == {} and geo_subset(None) == {}


def test_internal_mask_becomes_nan(tmp_path):
    valid = np.ones((16, 16), bool)
    valid[:4] = False
    path = write_tif(tmp_path / "m.tif", ramp(3, 16, 16), mask=valid)
    scene = read_geotiff(path)
    assert scene.masked and scene.data.dtype == np.float32
    got = scene.data.compute()
    assert np.isnan(got[:, :4]).all() and not np.isnan(got[:, 4:]).any()
    np.testing.assert_array_equal(got[:, 4:], ramp(3, 16, 16)[:, 4:])
    # a strided read keeps the mask aligned with the pixels
    np.testing.assert_array_equal(scene.data[1, ::3, 1::2].compute(), got[1, ::3, 1::2])
    assert not read_geotiff(make_s2_tif(tmp_path)).masked
