"""``napari-clipcap ground``: detection and grounding with Florence-2 from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image

from napari_clipcap.cli import main
from napari_clipcap.core.captioning.florence2.captioner import Florence2Captioner
from napari_clipcap.core.io.region_files import read_region_file

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "scene.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (96, 160, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def scripted(monkeypatch):
    """Every tile answers one box over its top-left quarter, for each prompt."""

    def locate(self, images, tasks, **options):
        return [[("a ship", np.array([[0, 0, 499, 499]]))] for _ in images]

    monkeypatch.setattr(Florence2Captioner, "locate", locate)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_phrases_give_labelled_pixel_boxes_and_a_region_file(
    png, florence2_dir, scripted, tmp_path, capsys
):
    reg = tmp_path / "out.reg"
    code, out, err = _run(
        capsys,
        "ground",
        png,
        "--phrases",
        "ships, storage tanks",
        "--weights",
        florence2_dir,
        "--device",
        "cpu",
        "--out-regions",
        reg,
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["mode"] == "detection" and data["phrases"] == ["ships", "storage tanks"]
    assert data["tiles"] == 1 and [d["label"] for d in data["detections"]] == [
        "ships",
        "storage tanks",
    ]
    assert data["detections"][0]["box"] == [0.08, 0.05, 79.92, 47.95]
    assert data["detections"][0]["text"] == "a ship"
    assert [g["phrase"] for g in data["grounded"]] == ["ships", "storage tanks"]
    assert data["provenance"]["command"].startswith("napari-clipcap ground ")
    assert data["provenance"]["models"][0]["name"] == "florence2"
    assert data["out_regions"] == str(reg)
    regions = read_region_file(reg).regions
    assert [r.text for r in regions] == ["ships", "storage tanks"]
    assert np.allclose(regions[0].vertices.min(axis=0), [0.048 - 0.5, 0.08 - 0.5], atol=1e-6)


def test_tiles_are_merged_and_sky_regions_written_for_a_fits_image(
    florence2_dir, scripted, tmp_path, capsys
):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval, w.wcs.crpix, w.wcs.cdelt = [150.0, 2.0], [40, 40], [-1 / 3600, 1 / 3600]
    path = tmp_path / "sky.fits"
    data = np.random.default_rng(1).normal(100, 5, (80, 80)).astype(">f4")
    fits.HDUList([fits.PrimaryHDU(data, w.to_header())]).writeto(path)
    reg = tmp_path / "sky.reg"
    code, out, err = _run(
        capsys,
        "ground",
        path,
        "--caption",
        "a ship",
        "--tile",
        48,
        "--overlap",
        16,
        "--weights",
        florence2_dir,
        "--device",
        "cpu",
        "--out-regions",
        reg,
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["mode"] == "grounding" and result["tiles"] == 4
    # four tiles each give their top-left quarter: four distinct boxes, no duplicates
    boxes = [d["box"] for d in result["detections"]]
    assert len(boxes) == 4 and {tuple(d["tile"]) for d in result["detections"]} == {
        (0, 0, 48, 48),
        (32, 0, 80, 48),
        (0, 32, 48, 80),
        (32, 32, 80, 80),
    }
    text = reg.read_text()
    assert "fk5" in text or "icrs" in text
    assert len(read_region_file(reg, w).regions) == 4


def test_the_tiny_model_runs_end_to_end(png, florence2_dir, capsys):
    code, out, err = _run(
        capsys,
        "ground",
        png,
        "--phrases",
        "ships",
        "--weights",
        florence2_dir,
        "--device",
        "cpu",
        "--beam",
        1,
        "--max-tokens",
        9,
        "--tile",
        64,
        "--overlap",
        8,
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["tiles"] == 6
    assert all(d["label"] == "ships" and len(d["box"]) == 4 for d in data["detections"])
    code, out, err = _run(
        capsys,
        "ground",
        png,
        "--caption",
        "a ship",
        "--weights",
        florence2_dir,
        "--device",
        "cpu",
        "--beam",
        1,
        "--max-tokens",
        6,
    )
    assert code == 0 and out.startswith("scene.png  (florence2:")


def test_bad_input_gives_one_clear_message(png, florence2_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["ground", str(png), "--phrases", "a", "--caption", "b"])
    capsys.readouterr()
    code, _, err = _run(
        capsys,
        "ground",
        png,
        "--phrases",
        "ships",
        "--weights",
        tmp_path / "missing",
        "--device",
        "cpu",
    )
    assert code == 2 and "Florence-2" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "ground", png, "--phrases", " , ", "--weights", florence2_dir)
    assert code == 2 and "no phrases" in err
    code, _, err = _run(
        capsys,
        "ground",
        png,
        "--phrases",
        "x",
        "--tile",
        64,
        "--overlap",
        64,
        "--weights",
        florence2_dir,
    )
    assert code == 2 and "overlap" in err
    code, _, err = _run(
        capsys,
        "ground",
        png,
        "--phrases",
        "x",
        "--out-regions",
        tmp_path / "out.txt",
        "--weights",
        florence2_dir,
    )
    assert code == 2 and "region file type" in err
