"""A GeoTIFF opened in napari: composite layer on top, lon/lat in the status bar."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.geotiffs import make_lonlat_tif, make_plain_tif, make_s2_tif, write_tif


def _status_at(viewer, position) -> str:
    viewer.mouse_over_canvas = True
    viewer.cursor.position = position
    status, _ = viewer._calc_status_from_cursor()
    return status["coordinates"]


def test_open_scene_shows_composite_and_map_coordinates(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    viewer.open(str(make_s2_tif(tmp_path)), plugin="napari-clipcap")
    names = [layer.name for layer in viewer.layers]
    assert names == ["s2 bands", "s2 [Sentinel-2 true colour (B04, B03, B02)]"]
    bands, comp = viewer.layers
    assert comp.rgb and comp.multiscale and comp.visible and not bands.visible
    assert len(comp.data) == 3 and comp.data[0].shape == (96, 128, 3)
    assert viewer.layers.selection.active is comp
    # pixel (row 10, col 20): centre at x = 500,000 + 205 m, y = 5,200,000 - 105 m
    text = _status_at(viewer, (0, 10, 20))
    assert "x 500205.0, y 5199895.0 (EPSG:32633)" in text
    assert "lon 15.0026" in text and "lat 46.952" in text
    # the band stack gives the same place, whatever band is shown
    viewer.layers.selection.active = bands
    bands.visible = True
    assert "x 500205.0, y 5199895.0" in _status_at(viewer, (5, 10, 20))


def test_geographic_scene_status_is_lon_lat(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    viewer.open(str(make_lonlat_tif(tmp_path)), plugin="napari-clipcap")
    (layer,) = viewer.layers
    assert layer.data.shape == (3, 20, 30)
    # the status names pixel (row 10, col 20), whose centre is 10.205 E, 49.895 N
    assert _status_at(viewer, (0, 9.8, 20.2)).endswith("lon 10.20500°E, lat 49.89500°N")


def test_sample_data_opens_with_coordinates(make_napari_viewer, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_CLIPCAP_CACHE", str(tmp_path))
    viewer = make_napari_viewer()
    viewer.open_sample("napari-clipcap", "sentinel2")
    comp = viewer.layers[-1]
    assert comp.rgb and comp.metadata["composite"]["preset"] == "s2-true"
    assert comp.metadata["band_names"][8] == "B8A"
    assert "(EPSG:32633)" in _status_at(viewer, (0, 300, 300))
    # the composite is what the models see: float RGB in [0, 1]
    block = np.asarray(comp.data[0][200:232, 200:232])
    assert block.dtype == np.float32 and 0 <= block.min() and block.max() <= 1


def test_broken_geotiff_in_napari_is_one_error_notification(
    make_napari_viewer, tmp_path, monkeypatch
):
    import napari.utils.notifications as notifications

    shown: list[str] = []
    monkeypatch.setattr(notifications, "show_error", shown.append)
    # georeferenced, so claimed, but complex-valued: unsupported
    path = write_tif(tmp_path / "radar.tif", np.ones((1, 8, 8), np.complex64))
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin="napari-clipcap")
    assert len(viewer.layers) == 0
    assert shown == [f"{path}: complex-valued bands are not supported"]


def test_plain_tiff_is_left_to_napari(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    with pytest.raises(ValueError, match="napari-clipcap"):
        viewer.open(str(make_plain_tif(tmp_path)), plugin="napari-clipcap")
    viewer.open(str(make_plain_tif(tmp_path)))  # napari's own reader takes it
    assert viewer.layers[0].data.shape[:2] == (16, 16)


def test_save_composite_layer_as_geotiff_from_napari(make_napari_viewer, tmp_path):
    import rasterio

    viewer = make_napari_viewer()
    src = make_s2_tif(tmp_path)
    viewer.open(str(src), plugin="napari-clipcap")
    out = tmp_path / "saved.tif"
    viewer.layers.selection = {viewer.layers[-1]}
    viewer.layers.save(str(out), selected=True, plugin="napari-clipcap")
    with rasterio.open(src) as a, rasterio.open(out) as b:
        assert b.crs == a.crs and b.transform == a.transform and b.count == 3
