"""``caption`` with region files, blank data, and the Florence-2 kind."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from napari_clipcap.cli import main
from napari_clipcap.core.captioning.protocol import load_captioner, unload_captioners
from napari_clipcap.core.io.region_files import read_region_file
from napari_clipcap.core.registry import CAPTIONER_KINDS, presets


@pytest.fixture
def clipcap_args(clipcap_for_tiny_clip, tiny_clip_files):
    yield [
        "--weights",
        str(clipcap_for_tiny_clip),
        "--clip",
        str(tiny_clip_files.config),
        "--clip-weights",
        str(tiny_clip_files.safetensors),
        "--device",
        "cpu",
        "--max-tokens",
        "6",
    ]
    unload_captioners()


def _fits(path, data):
    fits.PrimaryHDU(np.asarray(data, ">f4")).writeto(path)
    return path


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_caption_every_region_of_a_file_and_write_them_back(tmp_path, clipcap_args, capsys):
    img = _fits(tmp_path / "sky.fits", np.random.default_rng(0).normal(100, 5, (64, 64)))
    reg = tmp_path / "in.reg"
    reg.write_text("image\nbox(16.5,16.5,32,32,0) # text={a}\ncircle(48,48,10) # text={b}\n")
    out_reg = tmp_path / "out.reg"
    code, out, _ = _run(
        capsys,
        [
            "caption",
            str(img),
            "--regions",
            str(reg),
            "--out-regions",
            str(out_reg),
            *clipcap_args,
            "--json",
        ],
    )
    assert code == 0
    (image,) = json.loads(out)["images"]
    assert [r["shape"] for r in image["regions"]] == ["rectangle", "ellipse"]
    assert [r["text"] for r in image["regions"]] == ["a", "b"]
    assert all(r["captions"] and r["captions"][0] for r in image["regions"])
    back = read_region_file(out_reg).regions

    # each region keeps its own name, with its result beside it (control characters a
    # tiny model may emit are written as spaces)
    def printable(text: str) -> str:
        return "".join(c if c.isprintable() else " " for c in text)

    assert [s.text for s in back] == [
        printable(f"{r['text']}: {r['captions'][0].strip()}") for r in image["regions"]
    ]


def test_blank_fits_is_refused_and_blank_regions_are_not_captioned(tmp_path, clipcap_args, capsys):
    blank = _fits(tmp_path / "blank.fits", np.full((64, 64), np.nan))
    code, _, err = _run(capsys, ["caption", str(blank), *clipcap_args])
    assert code == 2 and "entirely NaN" in err and "Traceback" not in err
    half = np.random.default_rng(1).normal(100, 5, (64, 64))
    half[:, 32:] = np.nan
    edge = _fits(tmp_path / "edge.fits", half)
    code, out, err = _run(
        capsys,
        [
            "caption",
            str(edge),
            "--region",
            "0,0,32,64",
            "--region",
            "32,0,64,64",
            "--region",
            "24,0,56,64",
            *clipcap_args,
            "--json",
        ],
    )
    assert code == 0
    data = json.loads(out)
    left, right, middle = data["images"][0]["regions"]
    assert left["captions"] and "no_data" not in left
    assert right["captions"] == [] and right["no_data"] is True
    assert middle["captions"] and any(
        "region 3 holds data in only 25%" in w for w in data["warnings"]
    )
    assert "warning: region 2 holds data in only 0%" in err


def test_florence2_is_a_captioner_kind(florence2_dir, capsys, tmp_path):
    from PIL import Image

    assert "florence2" in CAPTIONER_KINDS
    assert {p.name for p in presets("florence2")} == {"florence2-base", "florence2-large"}
    cap = load_captioner("florence2", str(florence2_dir), device="cpu")
    assert cap.kind == "florence2"
    png = tmp_path / "x.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), np.uint8)).save(png)
    code, out, _ = _run(
        capsys,
        [
            "caption",
            str(png),
            "--captioner",
            "florence2",
            "--weights",
            str(florence2_dir),
            "--device",
            "cpu",
            "--max-tokens",
            "4",
            "--json",
        ],
    )
    assert code == 0
    data = json.loads(out)
    assert data["captioner"].startswith("florence2")
    assert isinstance(data["images"][0]["regions"][0]["captions"][0], str)
    unload_captioners()
