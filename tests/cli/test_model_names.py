"""One rule for model names in every door (issue 20, "Done when" 1).

``--clip ViT-B-16`` alone loads its published ``openai`` weights in ``labels``,
``heatmap``, ``caption --captioner clipcap``, ``index``, ``search`` and ``batch``, and
``--clip-weights none`` gives random weights with a warning on stderr and in ``--json``.
No hub here: a spy on the open_clip builder records which pretrained tag each door asks
for, then builds the tiny local CLIP in its place so the command runs to the end.
"""

from __future__ import annotations

import json
import logging

import pytest

from fixtures.collection_data import make_image_folder
from napari_clipcap.cli import main
from napari_clipcap.core.clip import loaders
from napari_clipcap.core.model_cache import unload_all

ARCH = "ViT-B-16"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("names") / "images", per_colour=1)


@pytest.fixture
def asked(monkeypatch, tiny_clip_files):
    """The ``(architecture, pretrained tag)`` pairs the open_clip builder is asked for."""
    real, seen = loaders.build_open_clip, []

    def spy(model, weights, device, precision, progress):
        seen.append((model, weights))
        if model != ARCH:
            return real(model, weights, device, precision, progress)
        stand_in = str(tiny_clip_files.safetensors) if weights else None
        return real(str(tiny_clip_files.config), stand_in, device, precision, progress)

    unload_all()
    monkeypatch.setattr(loaders, "build_open_clip", spy)
    yield seen
    unload_all()


def _image(images):
    return str(next((images / "blue").glob("*.png")))


def _door(name, images, tmp_path, clipcap_folder):
    """The argv of one door (without the CLIP flags)."""
    img = _image(images)
    return {
        "labels": ["labels", img, "--labels", "sky,sea"],
        "heatmap": ["heatmap", img, "--query", "sky", "--out", str(tmp_path / "h.npy")],
        "caption": [
            "caption",
            img,
            "--captioner",
            "clipcap",
            "--weights",
            str(clipcap_folder),
            "--max-tokens",
            "3",
        ],
        "index": ["index", str(images), "--index", str(tmp_path / "col")],
        "batch": [
            "batch",
            str(images / "blue"),
            "--task",
            "labels",
            "--labels",
            "sky,sea",
            "--out",
            str(tmp_path / "run"),
        ],
    }[name]


DOORS = ("labels", "heatmap", "caption", "index", "batch")


@pytest.mark.parametrize("door", DOORS)
def test_an_architecture_alone_loads_its_openai_weights(
    door, asked, images, tmp_path, clipcap_for_tiny_clip, capsys
):
    argv = [*_door(door, images, tmp_path, clipcap_for_tiny_clip), "--clip", ARCH]
    assert main([*argv, "--device", "cpu", "--json"]) == 0, capsys.readouterr().err
    assert asked == [(ARCH, "openai")]
    out = json.loads(capsys.readouterr().out)
    assert not [w for w in out.get("warnings", ()) if "random" in w]
    clip = [m for m in out["provenance"]["models"] if m["role"] == "clip"]
    assert clip and clip[0]["weights"] == "openai" and clip[0]["random"] is False
    if door == "caption":  # a ClipCap folder says which CLIP it asks for, first
        (said,) = out["asked_for"]
        assert said["source"].startswith("ClipCap folder")
        assert said["resolved"]["clip"]["name"] == ARCH


@pytest.mark.parametrize("door", DOORS)
def test_weights_none_are_random_and_said_loudly(
    door, asked, images, tmp_path, clipcap_for_tiny_clip, capsys, caplog
):
    argv = [*_door(door, images, tmp_path, clipcap_for_tiny_clip), "--clip", ARCH]
    with caplog.at_level(logging.WARNING):
        code = main([*argv, "--clip-weights", "none", "--device", "cpu", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert asked == [(ARCH, None)]  # None: open_clip builds it without pretrained weights
    assert f"warning: CLIP {ARCH} runs with random weights" in captured.err
    assert captured.err.count("runs with random weights") == 1  # said once, not per load
    out = json.loads(captured.out)
    assert any("random weights" in w for w in out["warnings"])
    clip = [m for m in out["provenance"]["models"] if m["role"] == "clip"]
    assert clip[0]["random"] is True and clip[0]["source"] == "random"
    # open_clip's own root-logger line is no longer the only (or any) sign
    assert not [r for r in caplog.records if "No pretrained weights" in r.getMessage()]


@pytest.mark.parametrize("weights", [None, "none"])
def test_search_applies_the_rule_to_the_collections_model(
    weights, asked, images, tmp_path, capsys
):
    col = str(tmp_path / "col")
    flags = ["--clip", ARCH] + (["--clip-weights", weights] if weights else [])
    assert main(["index", str(images), "--index", col, *flags, "--device", "cpu"]) == 0
    capsys.readouterr()
    asked.clear()
    unload_all()
    assert main(["search", "--index", col, "--text", "sky", "--device", "cpu", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    tag = "openai" if weights is None else None
    assert asked == [(ARCH, tag)]
    # which model the (received) collection asks for is said before it loads
    assert f"collection {col} asks for clip {ARCH}" in captured.err
    (said,) = out["asked_for"]
    assert said["resolved"]["name"] == ARCH and said["random"] is (weights == "none")
    if weights == "none":
        assert any("random weights" in w for w in out["warnings"])
        assert "random weights" in captured.err
    else:
        assert not [w for w in out.get("warnings", ()) if "random" in w]


def test_help_states_the_rule(capsys):
    for command in ("labels", "heatmap", "index", "batch", "caption", "train-clipcap"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "published default weights" in text and "'none'" in text, command
