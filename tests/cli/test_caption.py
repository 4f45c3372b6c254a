"""``napari-clipcap caption`` in-process with tiny models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_clipcap.cli import COMMANDS, main
from napari_clipcap.core.captioning.protocol import (
    load_captioner,
    unload_captioners,
)
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.tasks.captions import caption_regions


@pytest.fixture
def pngs(tmp_path):
    from PIL import Image

    paths = []
    for i, shape in enumerate([(48, 64, 3), (40, 40, 3)]):
        path = tmp_path / f"scene{i}.png"
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


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
    ]
    unload_captioners()


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def _captioner(clipcap_args):
    """The captioner the CLI flags ``clipcap_args`` select, loaded through the Python API."""
    return load_captioner(
        "clipcap",
        clipcap_args[1],
        clip_model=clipcap_args[3],
        clip_weights=clipcap_args[5],
        device="cpu",
    )


def test_caption_images_and_regions_json(pngs, clipcap_args, capsys):
    assert "caption" in COMMANDS
    rc = main(
        [
            "caption",
            *map(str, pngs),
            "--region",
            "0,0,20,20",
            "5,5,40,30",
            "--max-tokens",
            "8",
            "--json",
            *clipcap_args,
        ]
    )
    assert rc == 0
    data = _json(capsys)
    assert data["captioner"].startswith("clipcap:")
    assert [im["image"] for im in data["images"]] == [str(p) for p in pngs]
    cap = _captioner(clipcap_args)
    for path, entry in zip(pngs, data["images"]):
        assert [r["box"] for r in entry["regions"]] == [[0, 0, 20, 20], [5, 5, 40, 30]]
        expected = caption_regions(
            cap, read_image(path).data, [(0, 0, 20, 20), (5, 5, 40, 30)], max_tokens=8
        )
        assert [r["captions"] for r in entry["regions"]] == expected


def test_caption_text_output_beam_and_num(pngs, clipcap_args, capsys):
    rc = main(
        ["caption", str(pngs[0]), "--beam", "3", "--num", "2", "--max-tokens", "5", *clipcap_args]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and out[0].startswith("captioner: clipcap:")
    assert out[1].startswith("scene0.png: ") and out[1].count(" | ") == 1


def test_caption_with_a_transformers_captioner(pngs, git_dir, capsys):
    rc = main(
        [
            "caption",
            str(pngs[1]),
            "--captioner",
            "git",
            "--weights",
            str(git_dir),
            "--max-tokens",
            "4",
            "--json",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    assert _json(capsys)["images"][0]["regions"][0]["box"] == [0, 0, 40, 40]
    unload_captioners()


def test_caption_errors(pngs, clipcap_args, capsys):
    assert main(["caption", str(pngs[0]), "--region", "100,100,120,120", *clipcap_args]) == 2
    assert "outside" in capsys.readouterr().err
    assert main(["caption", str(pngs[0]), "--captioner", "nope"]) == 2
    assert "unknown captioner 'nope'" in capsys.readouterr().err
    assert main(["caption", str(pngs[0]), "--region", "1,2,3", *clipcap_args]) == 2
    assert "four numbers" in capsys.readouterr().err
    assert main(["caption", "missing.png", *clipcap_args]) == 2


def test_caption_region_partly_outside_is_clipped_and_reported(pngs, clipcap_args, capsys):
    # a negative first coordinate is a value, not an option; 64 x 48 and 40 x 40 images
    argv = ["caption", *map(str, pngs), "--region", "-5,0,10,10", "30,20,50,45"]
    assert main([*argv, "--max-tokens", "6", "--json", *clipcap_args]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    big, small = data["images"]
    assert [r["box"] for r in big["regions"]] == [[-5, 0, 10, 10], [30, 20, 50, 45]]
    assert [r["clipped_to"] for r in big["regions"]] == [[0, 0, 10, 10], None]
    assert [r["clipped_to"] for r in small["regions"]] == [[0, 0, 10, 10], [30, 20, 40, 40]]
    err = captured.err
    assert "warning: scene0.png: region -5,0,10,10 reaches past the 64 x 48" in err
    assert "clipped to 0,0,10,10" in err and "clipped to 30,20,40,40" in err
    assert "scene0.png: region 30,20,50,45" not in err  # it fits the first image
    cap = _captioner(clipcap_args)
    want = caption_regions(
        cap, read_image(pngs[1]).data, [(0, 0, 10, 10), (30, 20, 40, 40)], max_tokens=6
    )
    assert [r["captions"] for r in small["regions"]] == want


def test_caption_region_wholly_outside_is_one_clear_error(pngs, clipcap_args, capsys):
    argv = ["caption", *map(str, pngs), "--region", "-20,-20,-5,-5", *clipcap_args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0] == (
        "napari-clipcap caption: error: scene0.png: box (-20, -20, -5, -5) lies outside "
        "the 64 x 48 (width x height) image"
    )


def test_caption_whole_images_report_no_clipping(pngs, clipcap_args, capsys):
    assert main(["caption", str(pngs[1]), "--max-tokens", "3", "--json", *clipcap_args]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["images"][0]["regions"][0]["clipped_to"] is None
    assert "warning" not in captured.err


def test_caption_without_weights_uses_the_coco_preset(
    pngs, gpt2_dir, tiny_clip_files, clipcap_mlp_pt, tmp_path, monkeypatch, capsys
):
    from huggingface_hub import constants

    from fixtures.text_models import fake_hub_file

    repo = "akhaliq/CLIP-prefix-captioning-COCO-weights"

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    assert main(["caption", str(pngs[0]), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "clipcap-coco-mlp" in err and str(tmp_path / "empty") in err and "--weights" in err
    assert "Traceback" not in err

    fake_hub_file(tmp_path / "hub", repo, "coco_weights.pt", clipcap_mlp_pt)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    clip = ["--clip", str(tiny_clip_files.config), "--clip-weights"]
    clip.append(str(tiny_clip_files.safetensors))
    try:
        args = ["caption", str(pngs[0]), "--decoder", str(gpt2_dir), *clip, "--device", "cpu"]
        assert main([*args, "--max-tokens", "5", "--json"]) == 0
        data = _json(capsys)
        assert data["captioner"] == "clipcap:coco_weights.pt"
        assert len(data["images"][0]["regions"][0]["captions"]) == 1
    finally:
        unload_captioners()


def test_normalize_prefix_flag(pngs, clipcap_args, capsys):
    from napari_clipcap.core.captioning.protocol import loaded_captioners

    assert (
        main(["caption", str(pngs[0]), "--max-tokens", "4", "--normalize-prefix", *clipcap_args])
        == 0
    )
    (cap,) = [
        load_captioner(
            "clipcap",
            clipcap_args[1],
            clip_model=clipcap_args[3],
            clip_weights=clipcap_args[5],
            normalize_prefix=True,
            device="cpu",
        )
    ]
    assert cap.model.normalize_prefix and len(loaded_captioners()) == 1  # the CLI's one
    assert not _captioner(clipcap_args).model.normalize_prefix  # the folder saved False


def test_a_file_given_for_a_transformers_captioner(pngs, tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(bytes(range(256)) * 4)
    rc = main(["caption", str(pngs[0]), "--captioner", "blip", "--weights", str(evil)])
    err = capsys.readouterr().err
    assert rc == 2 and "is a file" in err and "save_pretrained" in err
    assert "Traceback" not in err and "UnicodeDecodeError" not in err
