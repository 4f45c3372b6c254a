"""The Segment request over GeoTIFF and FITS images: world areas against rasterio and
astropy, exports re-read equal to the masks' outlines, the recorded command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from fixtures.scripted_segmenter import BlobSegmenter
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.tasks.requests.base import ImageInput
from napari_clipcap.core.tasks.segment import SegmentRequest, segment
from napari_clipcap.core.tasks.segment.exports import write_outputs

SQUARES = ((10, 10, 30, 26), (60, 40, 100, 90))


def _scene(h=120, w=140) -> np.ndarray:
    data = np.zeros((3, h, w), np.uint8)
    for x0, y0, x1, y1 in SQUARES:
        data[:, y0:y1, x0:x1] = 255
    data[:, 100:, 120:] = 30  # some texture so stretches leave the squares bright
    return data


@pytest.fixture
def geotiff(tmp_path):
    from fixtures.geotiffs import write_tif

    return write_tif(tmp_path / "scene.tif", _scene())


@pytest.fixture
def sky_fits(tmp_path):
    from fixtures.fits_files import sky_header

    data = np.full((120, 140), 10.0, np.float32)
    for x0, y0, x1, y1 in SQUARES:
        data[y0:y1, x0:x1] = 1000.0
    path = tmp_path / "sky.fits"
    fits.PrimaryHDU(data, header=sky_header(120, 140)).writeto(path)
    return path


def _truth(h=120, w=140) -> np.ndarray:
    truth = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in SQUARES:
        truth[y0:y1, x0:x1] = True
    return truth


def test_geotiff_areas_in_m2_centroids_in_map_units_and_exports(geotiff, tmp_path):
    import rasterio
    from rasterio import features
    from shapely.geometry import shape

    req = SegmentRequest(
        ImageInput.of(geotiff, domain="photo", interval="minmax"),
        ("tank",),
        tile=64,
        overlap=16,
        out=str(tmp_path / "labels.tif"),
        out_regions=str(tmp_path / "tanks.geojson"),
        out_table=str(tmp_path / "tanks.csv"),
    )
    result = req.run(segmenter=BlobSegmenter(64))
    assert np.array_equal(result.labels > 0, _truth())
    with rasterio.open(geotiff) as src:
        pixel_area = abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d)
        transform, crs = src.transform, src.crs
    by_box = {tuple(r["box"]): r for r in result.rows}
    big = by_box[(60, 40, 100, 90)]
    assert big["area_px"] == 40 * 50 and big["area_unit"] == "m^2"
    assert big["area_world"] == pytest.approx(2000 * pixel_area)
    assert big["centroid_x"] == 80.0 and big["centroid_y"] == 65.0
    assert big["centroid_world"] == pytest.approx(list(transform * (80.0, 65.0)))

    written = write_outputs(result, {"command": "napari-clipcap segment ..."})
    with rasterio.open(written["out"]) as out:  # GeoTIFF in, GeoTIFF out on the same grid
        assert out.crs == crs and out.transform == transform and out.dtypes[0] == "int32"
        assert np.array_equal(out.read(1), result.labels)
    doc = json.loads(Path(written["out_regions"]).read_text())
    assert len(doc["features"]) == 2
    from rasterio.warp import transform as warp

    for feature in doc["features"]:
        ring = np.asarray(feature["geometry"]["coordinates"][0])
        from shapely.geometry import Polygon

        lonlat = Polygon(ring)
        assert lonlat.is_valid and lonlat.exterior.is_ccw  # RFC 7946 winding
        mx, my = warp("EPSG:4326", crs, ring[:, 0].tolist(), ring[:, 1].tolist())
        cols, rows = ~transform * (np.asarray(mx), np.asarray(my))
        ident = int(feature["properties"]["text"].split()[0])
        mask = result.labels == ident
        outline = [shape(g) for g, v in features.shapes(mask.astype(np.uint8), mask=mask)]
        assert Polygon(np.c_[cols, rows]).symmetric_difference(outline[0]).area < 1e-3
    rows = list(csv.DictReader(open(written["out_table"])))
    assert [int(r["area_px"]) for r in rows] == [r["area_px"] for r in result.rows]


def test_fits_areas_in_arcsec2_and_ds9_outlines_in_sky_coordinates(sky_fits, tmp_path):
    from astropy.wcs import WCS
    from astropy.wcs.utils import proj_plane_pixel_area
    from regions import Regions

    req = SegmentRequest(
        ImageInput.of(sky_fits, interval="minmax", stretch="linear"),
        ("galaxy",),
        tile=64,
        out=str(tmp_path / "labels.fits"),
        out_regions=str(tmp_path / "galaxies.reg"),
    )
    result = req.run(segmenter=BlobSegmenter(64))
    assert np.array_equal(result.labels > 0, _truth())
    wcs = WCS(fits.getheader(sky_fits))
    arcsec2 = proj_plane_pixel_area(wcs) * 3600**2
    for r in result.rows:
        assert r["area_unit"] == "arcsec^2"
        assert r["area_world"] == pytest.approx(r["area_px"] * arcsec2)
        ra, dec = wcs.all_pix2world([[r["centroid_x"] - 0.5, r["centroid_y"] - 0.5]], 0)[0]
        assert r["centroid_world"] == pytest.approx([ra, dec])
    written = write_outputs(result, {"command": "napari-clipcap segment ..."})
    with fits.open(written["out"]) as hdul:
        assert np.array_equal(hdul[0].data, result.labels)
        pts = [[0, 0], [139, 119], [70, 10]]
        back = WCS(hdul[0].header).all_pix2world(pts, 0)
        assert np.allclose(back, wcs.all_pix2world(pts, 0), atol=1e-10)
    text = Path(written["out_regions"]).read_text()
    assert "icrs" in text or "fk5" in text
    read = Regions.read(written["out_regions"], format="ds9")
    assert len(read) == 2
    for region in read:
        pix = region.to_pixel(wcs)
        ident = int(region.meta["text"].split()[0])
        mask = pix.to_mask(mode="center").to_image((120, 140)).astype(bool)
        assert np.array_equal(mask, result.labels == ident)


def test_bad_requests_are_one_line(tmp_path):
    with pytest.raises(InvalidInputError, match="--phrases"):
        SegmentRequest("x.png")
    with pytest.raises(InvalidInputError, match="--out"):
        SegmentRequest("x.png", ("a",), out=str(tmp_path / "labels.png"))
    with pytest.raises(InvalidInputError, match="--box"):
        SegmentRequest("x.png", ("a",), boxes=((0, 0, 4, 4),))


def test_to_argv_names_every_setting(tmp_path):
    req = SegmentRequest(
        "scene.tif",
        ("tank", "ship"),
        segmenter="/models/sam3",
        exemplars=((1, 2, 3, 4),),
        tile=512,
        threshold=0.4,
        out="labels.tif",
    )
    argv = req.to_argv()
    assert argv[:2] == ["napari-clipcap", "segment"]
    assert argv[argv.index("--phrases") + 1] == "tank,ship"
    assert argv[argv.index("--exemplar") + 1] == "1,2,3,4"
    assert argv[argv.index("--tile") + 1] == "512" and "--overlap" not in argv


def test_image_is_the_shared_image_input_with_its_reading_flags(tmp_path):
    image = ImageInput.of(tmp_path / "sky.fits", hdu="SCI", interval="zscale", stretch="asinh")
    req = SegmentRequest(image, ("galaxy",))
    assert req.image is image
    argv = req.to_argv()
    assert argv[2] == str(tmp_path / "sky.fits")
    for name, value in (("--hdu", "SCI"), ("--interval", "zscale"), ("--stretch", "asinh")):
        assert argv[argv.index(name) + 1] == value
    assert req.why_no_command() is None
    pixels_only = SegmentRequest(ImageInput(name="layer"), ("galaxy",))
    assert "not read from a file" in pixels_only.why_no_command()


def test_public_segment_takes_a_loaded_model(geotiff):
    result = segment(geotiff, "tank", BlobSegmenter(64), tile=64, domain="photo")
    assert result.labels.dtype == np.int32 and len(result.rows) == 2
