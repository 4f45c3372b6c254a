"""ClipCap as released: the transformer mapping's normalised prefix, the hub presets."""

from __future__ import annotations

import pytest
import torch

from fixtures.text_models import fake_hub_file
from napari_clipcap.core.captioning.clipcap.model import load_clipcap_checkpoint
from napari_clipcap.core.captioning.protocol import load_captioner, unload_captioners
from napari_clipcap.core.errors import CheckpointFormatError, ModelNotFoundError
from napari_clipcap.core.registry import get_preset

COCO_REPO = "akhaliq/CLIP-prefix-captioning-COCO-weights"


def test_transformer_mapping_normalises_like_the_release(clipcap_transformer_pt, gpt2_dir):
    model = load_clipcap_checkpoint(clipcap_transformer_pt, decoder=gpt2_dir)
    assert model.normalize_prefix  # the release trained it on prefix / prefix.norm()
    emb = torch.randn(3, model.mapping_config.clip_dim) * 7
    # the original dataset's formula, applied to each embedding
    reference = torch.stack([row / row.norm(2, -1) for row in emb])
    want = model.clip_project(reference).view(3, model.prefix_length, -1)
    torch.testing.assert_close(model.prefix_embeddings(emb), want)
    raw = load_clipcap_checkpoint(clipcap_transformer_pt, decoder=gpt2_dir, normalize_prefix=False)
    assert not raw.normalize_prefix
    want = raw.clip_project(emb).view(3, raw.prefix_length, -1)
    torch.testing.assert_close(raw.prefix_embeddings(emb), want)


def test_mlp_mapping_is_not_normalised_by_default(clipcap_mlp_pt, gpt2_dir):
    assert not load_clipcap_checkpoint(clipcap_mlp_pt, decoder=gpt2_dir).normalize_prefix


def test_presets_name_the_release_models():
    tr = get_preset("clipcap-coco-transformer")
    assert tr.extra["clip_model"] == "RN50x4" and tr.extra["normalize_prefix"] is True
    coco = get_preset("clipcap-coco-mlp").load_args()
    assert coco["weights"] == f"hf-hub:{COCO_REPO}/coco_weights.pt"
    cc = get_preset("clipcap-conceptual-mlp").load_args()
    assert cc["weights"].endswith(
        "CLIP-prefix-captioning-conceptual-weights/conceptual_weights.pt"
    )


def test_offline_without_the_weights_says_what_and_where(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelNotFoundError) as err:
        load_captioner("clipcap", device="cpu")
    msg = str(err.value)
    for part in ("clipcap-coco-mlp", "coco_weights.pt", COCO_REPO, str(tmp_path / "hub")):
        assert part in msg
    assert "--weights" in msg and "HF_HUB_OFFLINE" in msg


def test_the_coco_preset_loads_from_the_hub_cache(
    monkeypatch, tmp_path, clipcap_mlp_pt, gpt2_dir, tiny_clip_files
):
    from huggingface_hub import constants

    fake_hub_file(tmp_path / "hub", COCO_REPO, "coco_weights.pt", clipcap_mlp_pt)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    try:
        cap = load_captioner(
            "clipcap",
            decoder=str(gpt2_dir),
            clip_model=str(tiny_clip_files.config),
            clip_weights=str(tiny_clip_files.safetensors),
            device="cpu",
        )
        assert cap.name == "clipcap:coco_weights.pt"
        assert str(tmp_path / "hub") in cap.model.meta["source"]
        assert not cap.model.normalize_prefix  # the MLP release was trained without it
    finally:
        unload_captioners()


def test_a_file_where_a_folder_is_expected(tmp_path):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(bytes(range(256)) * 4)  # not text: transformers failed on decoding it
    with pytest.raises(CheckpointFormatError, match=r"evil\.pt' is a file"):
        load_captioner("blip", str(evil), device="cpu")
