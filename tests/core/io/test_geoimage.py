"""GeoTIFF scenes as model input: composites, windows, overview levels."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.geotiffs import make_lonlat_tif, make_s2_tif, ramp, write_tif
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.io.geoimage import scene_bands, scene_image
from napari_clipcap.core.io.geotiff import read_geotiff
from napari_clipcap.core.scaling.composites import band_limits, composite


def test_whole_scene_is_the_true_colour_composite(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path))
    img = scene_image(scene)
    assert img.shape == (96, 128, 3) and img.dtype == np.float32
    lim = band_limits(scene.levels[-1], [3, 2, 1])
    np.testing.assert_array_equal(img, composite(scene, "s2-true", limits=lim))


def test_window_uses_scene_wide_limits(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path))
    whole = scene_image(scene, "s2-false")
    crop = scene_image(scene, "s2-false", window=(10, 20, 50, 40))
    assert crop.shape == (20, 40, 3)
    np.testing.assert_array_equal(crop, whole[20:40, 10:50])


def test_max_side_reads_an_overview(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path))  # 96 x 128 with overviews 2x, 4x
    assert scene_image(scene, max_side=30).shape == (24, 32, 3)
    assert scene_image(scene, max_side=60).shape == (48, 64, 3)
    assert scene_image(scene, max_side=1000).shape == (96, 128, 3)
    assert scene_image(scene, window=(0, 0, 64, 64), max_side=30).shape == (32, 32, 3)


def test_auto_bands_for_other_scenes(tmp_path):
    three = read_geotiff(make_lonlat_tif(tmp_path))
    assert scene_bands(three) == [0, 1, 2]
    one = read_geotiff(write_tif(tmp_path / "dem.tif", ramp(1, 8, 8, "float32")))
    assert scene_bands(one) == [0]
    grey = scene_image(one)
    assert np.array_equal(grey[..., 0], grey[..., 2])
    ortho = write_tif(tmp_path / "o.tif", ramp(3, 8, 8, "uint8"), photometric="RGB")
    img = scene_image(ortho)
    np.testing.assert_allclose(img[..., 0], ramp(3, 8, 8, "uint8")[0] / 255, rtol=1e-6)


def test_window_outside_scene(tmp_path):
    with pytest.raises(InvalidInputError, match="outside"):
        scene_image(make_s2_tif(tmp_path), window=(0, 0, 500, 10))


def test_collections_and_batch_read_geotiffs_as_composites(tmp_path):
    from napari_clipcap.core.io.sources import load_unit

    path = make_s2_tif(tmp_path)
    np.testing.assert_array_equal(load_unit(path, max_side=None), scene_image(path))
    small = load_unit(path, max_side=40)  # read from the 2x overview, then shrunk
    assert small.shape == (30, 40, 3)


def test_public_api_names():
    import napari_clipcap

    assert napari_clipcap.read_geotiff is read_geotiff
    assert napari_clipcap.composite is composite
    assert napari_clipcap.scene_image is scene_image
