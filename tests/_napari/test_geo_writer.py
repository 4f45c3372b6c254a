"""The GeoTIFF writer contribution: georeferenced image layers -> GeoTIFF."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from fixtures.geotiffs import make_s2_tif
from napari_clipcap._napari.geo_reader import read_geotiff_layers
from napari_clipcap._napari.geo_writer import write_geotiff_layer
from napari_clipcap.core.errors import InvalidInputError


@pytest.fixture
def layers(tmp_path):
    src = make_s2_tif(tmp_path)
    return src, read_geotiff_layers(str(src))


def test_band_stack_layer_round_trips(layers, tmp_path):
    src, ((bands, kw, _), _) = layers
    out = tmp_path / "stack.tif"
    assert write_geotiff_layer(str(out), bands, kw) == [str(out)]
    with rasterio.open(src) as a, rasterio.open(out) as b:
        assert b.crs == a.crs and b.transform == a.transform
        assert b.count == 13 and b.descriptions == a.descriptions
        assert b.dtypes[0] == "float32" and np.isnan(b.nodata)
        got = b.read()
        want = a.read().astype(np.float32)
    want[want == 0] = np.nan
    np.testing.assert_array_equal(got, want)


def test_composite_layer_is_a_three_band_geotiff(layers, tmp_path):
    _, (_, (comp, kw, _)) = layers
    out = tmp_path / "rgb.tif"
    write_geotiff_layer(str(out), comp, kw)
    with rasterio.open(out) as b:
        assert b.count == 3 and b.descriptions == ("B04", "B03", "B02")
        np.testing.assert_array_equal(np.moveaxis(b.read(), 0, -1), np.asarray(comp[0]))
        assert b.tags()["napari_layer"] == kw["name"]


def test_heatmap_with_source_georeferencing(layers, tmp_path):
    _, ((_, kw, _), _) = layers
    heat = np.linspace(0, 1, 96 * 128, dtype=np.float32).reshape(96, 128)
    meta = {"name": "heatmap: river", "metadata": {**kw["metadata"]}, "rgb": False}
    out = tmp_path / "heat.tif"
    write_geotiff_layer(str(out), heat, meta)
    with rasterio.open(out) as b:
        assert b.count == 1 and b.descriptions == ("heatmap: river",)
        assert tuple(b.transform)[:6] == tuple(kw["metadata"]["transform"])
        np.testing.assert_array_equal(b.read(1), heat)


def test_layers_without_georeferencing_are_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="no CRS or transform"):
        write_geotiff_layer(str(tmp_path / "x.tif"), np.zeros((4, 4)), {"name": "x"})
    meta = {"name": "v", "metadata": {"transform": [1, 0, 0, 0, -1, 0], "crs": "EPSG:4326"}}
    with pytest.raises(InvalidInputError, match="2D images or band stacks"):
        write_geotiff_layer(str(tmp_path / "v.tif"), np.zeros((2, 3, 4, 4)), meta)
