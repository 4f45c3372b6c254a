"""``labels --regions FILE`` and ``--out-regions FILE``: DS9 files in and out of the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from napari_clipcap.cli import main
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.io.region_files import read_region_file
from napari_clipcap.core.tasks.labels import score_regions

LABELS = "river,forest,city"


@pytest.fixture
def sky_fits(tmp_path):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [32, 24]
    w.wcs.cdelt = [-0.5 / 3600, 0.5 / 3600]
    data = np.random.default_rng(1).normal(100, 5, (48, 64)).astype(">f4")
    path = tmp_path / "sky.fits"
    fits.HDUList([fits.PrimaryHDU(data, w.to_header())]).writeto(path)
    return path


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_labels_score_every_region_of_a_file_in_order(sky_fits, tmp_path, clip_args, capsys):
    reg = tmp_path / "in.reg"
    reg.write_text(
        "# Region file format: DS9 version 4.1\nimage\n"
        "box(10.5,10.5,20,20,0) # text={first}\n"
        "polygon(30,5,50,5,40,25) # text={second}\n"
        "circle(50,35,6)\n"
    )
    code, out, _ = _run(
        capsys,
        "labels",
        str(sky_fits),
        "--labels",
        LABELS,
        "--regions",
        str(reg),
        *clip_args,
        "--json",
    )
    assert code == 0
    regions = json.loads(out)["regions"]
    assert [r["shape"] for r in regions] == ["rectangle", "polygon", "ellipse"]
    assert [r.get("text") for r in regions] == ["first", "second", None]
    assert regions[0]["box"] == [0, 0, 20, 20]  # DS9 pixels 1..20 (1-based) = 0..19
    # the same numbers as the API on the same regions
    from napari_clipcap.core.clip.model import load_clip

    img = read_image(sky_fits)
    clip = load_clip(clip_args[1], clip_args[3], "cpu")
    placed = [s.to_region() for s in read_region_file(reg, img.wcs).regions]
    want = score_regions(img.data, placed, LABELS, clip)
    got = np.array([[r["scores"][k] for k in LABELS.split(",")] for r in regions])
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_out_regions_in_sky_coordinates_with_results(sky_fits, tmp_path, clip_args, capsys):
    out_reg = tmp_path / "out.reg"
    code, out, _ = _run(
        capsys,
        "labels",
        str(sky_fits),
        "--labels",
        LABELS,
        "--region",
        "0,0,32,24",
        "--region",
        "32,24,64,48",
        "--out-regions",
        str(out_reg),
        *clip_args,
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    text = out_reg.read_text()
    assert "fk5" in text or "icrs" in text  # the FITS has a celestial WCS
    assert "# napari-clipcap labels" in text
    back = read_region_file(out_reg, read_image(sky_fits).wcs).regions
    assert len(back) == 2
    for shape, r in zip(back, data["regions"]):
        best, p = r["ranked"][0]
        assert shape.text.startswith(f"{best} {p:.3f}")
        assert tuple(round(v) for v in shape.to_region()) == tuple(r["box"])


def test_region_file_errors_are_clear(sky_fits, tmp_path, clip_args, capsys):
    png = tmp_path / "plain.png"
    from PIL import Image

    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(png)
    sky_reg = tmp_path / "sky.reg"
    sky_reg.write_text('fk5\ncircle(10:00:00,+2:00:00,3")\n')
    code, _, err = _run(
        capsys, "labels", str(png), "--labels", LABELS, "--regions", str(sky_reg), *clip_args
    )
    assert code == 2 and "no celestial WCS" in err and "Traceback" not in err
    code, _, err = _run(
        capsys,
        "labels",
        str(png),
        "--labels",
        LABELS,
        "--regions",
        str(sky_reg),
        "--region",
        "0,0,5,5",
        *clip_args,
    )
    assert code == 2 and "not both" in err
    code, _, err = _run(
        capsys,
        "labels",
        str(png),
        "--labels",
        LABELS,
        "--out-regions",
        str(tmp_path / "x.txt"),
        *clip_args,
    )
    assert code == 2 and "unknown region file type" in err


def test_low_data_regions_warn_on_stderr_and_in_json(tmp_path, clip_args, capsys):
    data = np.full((64, 64), np.nan, ">f4")
    data[:, :16] = np.random.default_rng(0).normal(100, 5, (64, 16))
    path = tmp_path / "edge.fits"
    fits.PrimaryHDU(data).writeto(path)
    code, out, err = _run(
        capsys,
        "labels",
        str(path),
        "--labels",
        LABELS,
        "--region",
        "0,0,64,64",
        "--region",
        "0,0,8,8",
        *clip_args,
        "--json",
    )
    assert code == 0
    warnings = json.loads(out)["warnings"]
    assert any("region 1 holds data in only 25%" in w for w in warnings)
    assert any("region 2 is 8 x 8 pixels" in w for w in warnings)
    assert "warning: region 1 holds data in only 25%" in err
