"""The GeoTIFF reader, reached as napari reaches it (npe2), and the sample scene."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.geotiffs import make_lonlat_tif, make_plain_tif, make_s2_tif, ramp, write_tif
from napari_clipcap._napari.geo_reader import get_geotiff_reader, read_geotiff_layers, scene_layers
from napari_clipcap.core.errors import FileFormatError
from napari_clipcap.core.io.geotiff import read_geotiff


def _npe2_read(path):
    from npe2 import PluginManager, io_utils

    PluginManager.instance().discover()
    return io_utils.read([str(path)], plugin_name="napari-clipcap", stack=False)


def test_npe2_reads_a_sentinel2_scene_as_composite_and_bands(tmp_path):
    layers = _npe2_read(make_s2_tif(tmp_path))
    assert [kw["name"] for _, kw, _ in layers] == [
        "s2 bands",
        "s2 [Sentinel-2 true colour (B04, B03, B02)]",  # on top, so it is the active layer
    ]
    (bands, bkw, btype), (comp, ckw, ctype) = layers
    assert ctype == btype == "image"
    # overviews -> multiscale, lazily read
    assert ckw["multiscale"] and bkw["multiscale"]
    assert [lvl.shape for lvl in comp] == [(96, 128, 3), (48, 64, 3), (24, 32, 3)]
    assert [lvl.shape for lvl in bands] == [(13, 96, 128), (13, 48, 64), (13, 24, 32)]
    assert type(comp[0]).__module__.startswith("dask")
    assert ckw["rgb"] and ckw["contrast_limits"] == (0.0, 1.0)
    assert not bkw["visible"] and bkw["axis_labels"] == ("band", "y", "x")
    assert ckw["metadata"]["composite"]["bands"] == ["B04", "B03", "B02"]
    for kw in (ckw, bkw):
        meta = kw["metadata"]
        assert meta["epsg"] == 32633 and meta["transform"][2] == 500_000.0
        assert meta["band_names"][8] == "B8A"
    block = comp[0][40:50, 40:50].compute()
    assert block.dtype == np.float32 and 0 <= block.min() and block.max() <= 1
    assert (comp[0][0].compute() == 0).all()  # nodata row is black


def test_geographic_three_float_bands_without_names_give_a_band_stack(tmp_path):
    layers = read_geotiff_layers(str(make_lonlat_tif(tmp_path)))
    assert len(layers) == 1
    data, kw, _ = layers[0]
    assert data.shape == (3, 20, 30) and not kw["multiscale"] and kw["visible"]
    assert kw["metadata"]["epsg"] == 4326
    lo, hi = kw["contrast_limits"]
    assert lo < hi


def test_single_band_is_two_dimensional(tmp_path):
    path = write_tif(tmp_path / "dem.tif", ramp(1, 12, 10, "float32"), nodata=-9999.0)
    (data, kw, _), = read_geotiff_layers([str(path)])  # fmt: skip
    assert data.shape == (12, 10) and kw["axis_labels"] == ("y", "x")


def test_uint8_rgb_geotiff_is_one_rgb_layer(tmp_path):
    path = write_tif(tmp_path / "ortho.tif", ramp(3, 16, 16, "uint8"), photometric="RGB")
    (data, kw, _), = read_geotiff_layers(str(path))  # fmt: skip
    assert kw["rgb"] and data.shape == (16, 16, 3) and data.dtype == np.uint8
    assert kw["contrast_limits"] == (0, 255)
    # with nodata the values turn float (NaN at nodata) but keep the 0-255 scale
    path = write_tif(tmp_path / "o2.tif", ramp(3, 16, 16, "uint8"), photometric="RGB", nodata=1)
    (data, kw, _), = read_geotiff_layers(str(path))  # fmt: skip
    assert data.dtype == np.float32 and kw["contrast_limits"] == (0, 255)
    assert np.isnan(np.asarray(data)[0, 0, 0])  # band 1 is 1 (nodata) at pixel (0, 0)


def test_composite_choice(tmp_path):
    scene = read_geotiff(make_s2_tif(tmp_path))
    layers = scene_layers(scene, composite="s2-swir")
    assert layers[1][1]["metadata"]["composite"]["bands"] == ["B12", "B8A", "B04"]
    assert len(scene_layers(scene, composite=None)) == 1


def test_reader_claims_only_geospatial_tiffs(tmp_path):
    assert get_geotiff_reader(str(make_s2_tif(tmp_path))) is read_geotiff_layers
    assert get_geotiff_reader([str(make_s2_tif(tmp_path))]) is read_geotiff_layers
    assert get_geotiff_reader(str(make_plain_tif(tmp_path))) is None
    assert get_geotiff_reader([]) is None
    assert get_geotiff_reader(str(tmp_path / "image.png")) is None


def test_broken_file_gives_one_clear_error(tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00" + b"\x00" * 20)
    with pytest.raises(FileFormatError, match=r"broken\.tif"):
        read_geotiff_layers(str(bad))


def test_sample_scene_is_written_once_and_read(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_CLIPCAP_CACHE", str(tmp_path))
    from napari_clipcap._napari import sample_geo as _sample_geo

    path = _sample_geo.sample_geotiff_path(size=64)
    assert path.is_file() and path.parent == tmp_path / "samples"
    mtime = path.stat().st_mtime_ns
    layers = _sample_geo.sentinel2_sample()
    assert path.stat().st_mtime_ns == mtime  # cached, not rewritten
    bands_kw, comp_kw = layers[0][1], layers[1][1]
    assert comp_kw["rgb"] and comp_kw["metadata"]["epsg"] == 32633
    assert bands_kw["metadata"]["band_names"][0] == "B01"
    assert bands_kw["metadata"]["source_dtype"] == "uint16"
    assert layers[0][0][0].shape == (13, 64, 64)
