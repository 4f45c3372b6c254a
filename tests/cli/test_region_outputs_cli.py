"""``--regions`` and ``--out-regions`` on the command line: exclude regions, regions
outside the image, names kept beside results, GeoJSON and ``--out-frame``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from fixtures.geotiffs import make_lonlat_tif
from napari_clipcap.cli import main
from napari_clipcap.core.io.region_files import read_region_file

shapely = pytest.importorskip("shapely")
from shapely.geometry import shape  # noqa: E402

REGIONS = (
    "image\n"
    "ellipse(15,10,6,4,30) # text={first}\n"
    "-box(8,8,4,4,0) # text={mask}\n"
    "circle(500,500,3) # text={far away}\n"
)


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_labels_over_a_geotiff_write_geojson_outlines(tmp_path, clip_args, capsys):
    image = make_lonlat_tif(tmp_path)
    reg = tmp_path / "in.reg"
    reg.write_text(REGIONS)
    out = tmp_path / "out.geojson"
    code, stdout, err = _run(
        capsys, "labels", str(image), "--labels", "river,forest", "--regions", str(reg),
        "--out-regions", str(out), *clip_args, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "region 3: circle" not in err and "region 3" in err and "outside" in err
    assert "1 exclude region(s) not scored (region 2)" in err
    data = json.loads(stdout)
    assert [(r["number"], r["text"]) for r in data["regions"]] == [(1, "first")]
    assert any("exclude region(s) not scored" in w for w in data["warnings"])
    assert any("region 3:" in w and "outside" in w for w in data["warnings"])
    doc = json.loads(out.read_text())
    first, mask = doc["features"]
    assert first["properties"]["text"].startswith("first: ")
    assert {k: mask["properties"][k] for k in ("text", "shape", "exclude")} == {
        "text": "mask",
        "shape": "rectangle",
        "exclude": True,
    }
    for feature in doc["features"]:
        poly = shape(feature["geometry"])
        assert poly.is_valid and poly.exterior.is_ccw
    assert len(first["geometry"]["coordinates"][0]) > 100  # an outline, not 4 corners


@pytest.fixture
def galactic_fits(tmp_path):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [202.48, 47.203]
    w.wcs.crpix = [32, 32]
    w.wcs.cdelt = [-1 / 3600, 1 / 3600]
    data = np.random.default_rng(1).normal(100, 5, (64, 64)).astype(">f4")
    path = tmp_path / "m51.fits"
    fits.PrimaryHDU(data, w.to_header()).writeto(path)
    return path


def test_results_come_back_in_the_files_frame_or_the_one_asked(
    galactic_fits, tmp_path, clip_args, capsys
):
    reg = tmp_path / "g.reg"
    reg.write_text('galactic\nellipse(104.8402,68.54851,7.9",3.9",158.38935) # text={gal}\n')
    for frame, want in ((None, "galactic"), ("fk5", "fk5")):
        out = tmp_path / f"{want}.reg"
        extra = ["--out-frame", frame] if frame else []
        code, _, err = _run(
            capsys, "labels", str(galactic_fits), "--labels", "a,b", "--regions", str(reg),
            "--out-regions", str(out), *extra, *clip_args,
        )  # fmt: skip
        assert code == 0, err
        assert out.read_text().splitlines()[-2] == want
        assert read_region_file(out, WCS(fits.getheader(galactic_fits))).frame == want


def test_out_frame_with_geojson_is_refused_before_any_work(tmp_path, capsys):
    image = make_lonlat_tif(tmp_path)
    code, _, err = _run(
        capsys, "labels", str(image), "--labels", "a,b", "--out-regions",
        str(tmp_path / "x.geojson"), "--out-frame", "fk5",
    )  # fmt: skip
    assert code == 2 and "--out-frame applies to .reg and .crtf" in err and "Traceback" not in err


def test_repeated_skips_are_summarised(tmp_path, clip_args, capsys):
    image = make_lonlat_tif(tmp_path)
    reg = tmp_path / "many.reg"
    lines = ["image", "circle(10,10,4) # text={kept}"]
    lines += [f"# text({i % 30 + 1},5) text={{t{i}}}" for i in range(2000)]
    lines += [f"circle({900 + i},900,2)" for i in range(300)]  # outside the image
    reg.write_text("\n".join(lines) + "\n")
    code, _, err = _run(
        capsys, "labels", str(image), "--labels", "a,b", "--regions", str(reg), *clip_args
    )
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning:" in line]
    assert len(warnings) <= 14, warnings  # 6 + 6 and the low-data note of the 8 px circle
    assert "... and 1995 more like these" in err and "... and 295 more like these" in err
    assert "region 2: a text label" in err and "region 2002:" in err
