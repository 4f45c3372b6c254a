"""GeoTIFF scenes on the command line: composites in, GeoTIFF maps and map coordinates out."""

from __future__ import annotations

import numpy as np
import rasterio

from fixtures.geotiffs import make_s2_tif
from napari_clipcap.cli import main
from napari_clipcap.core.io.geoimage import scene_image
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.tasks.heatmap import text_heatmap


def test_multispectral_scene_enters_models_as_its_composite(tmp_path):
    path = make_s2_tif(tmp_path)
    img = read_image(path)
    assert img.kind == "geotiff"
    np.testing.assert_array_equal(img.data, scene_image(path))


def test_heatmap_of_a_geotiff_is_a_geotiff_on_the_same_grid(tmp_path, tiny_clip_files, tiny_clip):
    src = make_s2_tif(tmp_path)
    out = tmp_path / "river.tif"
    rc = main(
        [
            "heatmap", str(src), "--query", "river", "--window", "32", "--stride", "32",
            "--out", str(out), "--clip", str(tiny_clip_files.config),
            "--clip-weights", str(tiny_clip_files.safetensors), "--device", "cpu",
        ]
    )  # fmt: skip
    assert rc == 0
    with rasterio.open(src) as a, rasterio.open(out) as b:
        assert b.crs == a.crs and b.transform == a.transform
        assert (b.height, b.width, b.count) == (96, 128, 1)
        assert b.tags()["query"] == "river"
        got = b.read(1)
    valid = np.ones((96, 128), bool)
    valid[0] = False  # the nodata row: NaN in the map
    want = text_heatmap(scene_image(src), "river", tiny_clip, window=32, stride=32, valid=valid)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.isnan(got[0]).all() and np.isfinite(got[1:]).all()


def test_labels_on_a_geotiff_give_map_coordinates(tmp_path, tiny_clip_files, capsys):
    import json

    src = make_s2_tif(tmp_path)
    rc = main(
        [
            "labels", str(src), "--labels", "river,forest", "--region", "10,20,30,40",
            "--json", "--clip", str(tiny_clip_files.config),
            "--clip-weights", str(tiny_clip_files.safetensors), "--device", "cpu",
        ]
    )  # fmt: skip
    assert rc == 0
    (region,) = json.loads(capsys.readouterr().out)["regions"]
    assert region["box"] == [10, 20, 30, 40]
    assert region["map"]["crs"] == "EPSG:32633"
    assert region["map"]["map_bounds"] == [500_100.0, 5_199_600.0, 500_300.0, 5_199_800.0]
    lon, lat = region["map"]["lonlat_centre"]
    assert 15.0 < lon < 15.01 and 46.9 < lat < 47.0


def test_map_coordinates_of_a_clipped_region_are_those_of_the_pixels_scored(
    tmp_path, tiny_clip_files, capsys
):
    import json

    src = make_s2_tif(tmp_path)
    rc = main(
        [
            "labels", str(src), "--labels", "river,forest", "--region", "-10,20,30,40",
            "--json", "--clip", str(tiny_clip_files.config),
            "--clip-weights", str(tiny_clip_files.safetensors), "--device", "cpu",
        ]
    )  # fmt: skip
    assert rc == 0
    (region,) = json.loads(capsys.readouterr().out)["regions"]
    assert region["box"] == [-10, 20, 30, 40] and region["clipped_to"] == [0, 20, 30, 40]
    assert region["map"]["map_bounds"] == [500_000.0, 5_199_600.0, 500_300.0, 5_199_800.0]
