"""BLIP, ViT-GPT2, GIT and CoCa (tiny random models saved locally) through one protocol."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.captioning.protocol import (
    Captioner,
    load_captioner,
    loaded_captioners,
    unload_captioners,
)
from napari_clipcap.core.clip import model as clip_mod
from napari_clipcap.core.errors import InvalidInputError, ModelNotFoundError

IMAGES = [np.random.default_rng(i).random((40, 56, 3), dtype=np.float32) for i in range(3)]


@pytest.fixture(autouse=True)
def _clean_cache():
    unload_captioners()
    yield
    unload_captioners()


@pytest.mark.parametrize(
    "kind,fixture", [("blip", "blip_dir"), ("vit-gpt2", "vit_gpt2_dir"), ("git", "git_dir")]
)
def test_transformers_captioners(kind, fixture, request):
    folder = str(request.getfixturevalue(fixture))
    cap = load_captioner(kind, folder, device="cpu")
    assert isinstance(cap, Captioner) and cap.kind == kind
    assert load_captioner(kind, folder, device="cpu") is cap
    greedy = cap.caption(IMAGES, max_tokens=6)
    assert len(greedy) == 3 and all(len(c) == 1 and isinstance(c[0], str) for c in greedy)
    assert cap.caption(IMAGES, max_tokens=6, batch_size=2) == greedy  # batching changes nothing
    beams = cap.caption(IMAGES[:2], beam_size=3, num_captions=2, max_tokens=5)
    assert [len(c) for c in beams] == [2, 2]
    kw = {"top_p": 0.9, "seed": 4, "max_tokens": 5, "num_captions": 2}
    assert cap.caption(IMAGES[:1], **kw) == cap.caption(IMAGES[:1], **kw)


def test_coca(coca_files):
    config, weights = coca_files
    cap = load_captioner("coca", str(weights), clip_model=str(config), device="cpu")
    assert isinstance(cap, Captioner) and cap.kind == "coca"
    out = cap.caption(IMAGES[:2], max_tokens=5)
    assert len(out) == 2 and all(isinstance(c[0], str) for c in out)
    assert [
        len(c) for c in cap.caption(IMAGES[:2], beam_size=2, num_captions=2, max_tokens=4)
    ] == [2, 2]
    # max_tokens is capped by CoCa's text context instead of failing
    assert len(cap.caption(IMAGES[:1], max_tokens=500)) == 1


def test_coca_needs_a_coca_model(tiny_clip_files):
    clip_mod.unload_all()
    with pytest.raises(InvalidInputError, match="not a CoCa model"):
        load_captioner(
            "coca",
            str(tiny_clip_files.safetensors),
            clip_model=str(tiny_clip_files.config),
            device="cpu",
        )
    assert clip_mod.loaded_models() == [] and loaded_captioners() == []


def test_missing_transformers_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="blip captioner"):
        load_captioner("blip", str(tmp_path / "nothing-here"), device="cpu")
    assert loaded_captioners() == []


def test_corrupt_transformers_captioner_folder(vit_gpt2_dir, tmp_path):
    import shutil

    from napari_clipcap.core.errors import CheckpointFormatError

    bad = tmp_path / "vit-gpt2-truncated"
    shutil.copytree(vit_gpt2_dir, bad)
    weights = bad / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(CheckpointFormatError, match="vit-gpt2-truncated"):
        load_captioner("vit-gpt2", str(bad), device="cpu")


def test_presets_of_other_captioners_resolve(monkeypatch):
    from napari_clipcap.core.captioning import protocol

    seen = []

    def record(args, defaults, device, precision):
        clip_model = args["clip_model"] or defaults.get("clip_model")
        seen.append((args["kind"], args["weights"], clip_model))
        return object()

    monkeypatch.setattr(protocol, "build_hf_captioner", record)
    monkeypatch.setattr(protocol, "build_coca", record)
    load_captioner("blip-base", device="cpu")
    load_captioner("git", device="cpu")
    coca = load_captioner("coca-ViT-L-14", device="cpu")
    # a kind stands for its first preset: the same model, loaded once
    assert load_captioner("coca", device="cpu") is coca
    unload_captioners()
    assert seen == [
        ("blip", "Salesforce/blip-image-captioning-base", None),
        ("git", "microsoft/git-base-coco", None),
        ("coca", "mscoco_finetuned_laion2B-s13B-b90k", "coca_ViT-L-14"),
    ]
