"""The captioning protocol with ClipCap on a tiny CLIP: loading, cache, regions, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures.text_models import make_clipcap
from napari_clipcap import load_captioner as public_load_captioner
from napari_clipcap.core.captioning.clipcap.model import load_clipcap_checkpoint, save_clipcap
from napari_clipcap.core.captioning.protocol import (
    Captioner,
    load_captioner,
    loaded_captioners,
    unload_captioner,
    unload_captioners,
)
from napari_clipcap.core.clip import model as clip_mod
from napari_clipcap.core.errors import CheckpointFormatError, InvalidInputError
from napari_clipcap.core.tasks.captions import caption_regions


@pytest.fixture()
def clipcap(clipcap_for_tiny_clip, tiny_clip_files):
    unload_captioners()
    cap = load_captioner(
        "clipcap",
        str(clipcap_for_tiny_clip),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    yield cap
    unload_captioners()


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    return rng.random((48, 64, 3), dtype=np.float32)


def test_clipcap_captioner_is_clip_then_mapping_then_decoding(
    clipcap, image, tiny_clip_files, clipcap_for_tiny_clip
):
    assert isinstance(clipcap, Captioner) and public_load_captioner is load_captioner
    crops = [image, image[:20, :30], image[10:, 20:]]
    got = clipcap.caption(crops, max_tokens=10)
    assert len(got) == 3 and all(len(c) == 1 and isinstance(c[0], str) for c in got)
    # the same pipeline by hand: raw (unnormalised) CLIP embedding -> ClipCap generate
    emb = clipcap.clip.encode_images(crops, normalize=False)
    model = load_clipcap_checkpoint(clipcap_for_tiny_clip)
    assert got == model.generate(torch.from_numpy(emb), max_tokens=10)
    beams = clipcap.caption(crops[:1], beam_size=3, num_captions=2, max_tokens=6)
    assert len(beams[0]) == 2
    sampled = clipcap.caption(crops[:1], top_p=0.9, num_captions=2, seed=3, max_tokens=6)
    assert sampled == clipcap.caption(crops[:1], top_p=0.9, num_captions=2, seed=3, max_tokens=6)


def test_progress_and_batches(clipcap, image):
    calls = []
    clipcap.caption(
        [image] * 5, max_tokens=3, batch_size=2, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_cache_and_unload(clipcap, clipcap_for_tiny_clip, tiny_clip_files):
    again = load_captioner(
        "clipcap",
        str(clipcap_for_tiny_clip),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    assert again is clipcap and len(loaded_captioners()) == 1
    assert unload_captioner(clipcap) and loaded_captioners() == []
    assert not unload_captioner(clipcap)


def test_preset_name_resolves_to_clipcap(clipcap_for_tiny_clip, tiny_clip_files):
    cap = load_captioner(
        "clipcap-coco-mlp",
        str(clipcap_for_tiny_clip),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    assert cap.kind == "clipcap"
    unload_captioners()


def test_regions_batched_equal_crops(clipcap, image):
    boxes = [(0, 0, 32, 24), (32, 24, 64, 48), (10, 5, 60, 40)]
    got = caption_regions(clipcap, image, boxes, max_tokens=8)
    assert got == [
        clipcap.caption([image[y0:y1, x0:x1]], max_tokens=8)[0] for x0, y0, x1, y1 in boxes
    ]
    assert caption_regions(clipcap, image, None, max_tokens=8) == clipcap.caption(
        [image], max_tokens=8
    )


def test_region_errors(clipcap, image):
    with pytest.raises(InvalidInputError, match="no regions"):
        caption_regions(clipcap, image, [])
    with pytest.raises(InvalidInputError, match="outside"):
        caption_regions(clipcap, image, [(100, 100, 120, 130)])
    with pytest.raises(InvalidInputError, match="H x W x 3"):
        clipcap.caption([np.zeros((4, 4))])
    with pytest.raises(InvalidInputError, match="no images"):
        clipcap.caption([])


def test_unknown_captioner_or_preset():
    with pytest.raises(InvalidInputError, match=r"unknown captioner 'clipcapp'.*clipcap-coco-mlp"):
        load_captioner("clipcapp", "x.pt")
    with pytest.raises(InvalidInputError, match="unknown captioner"):
        load_captioner("ViT-B-32/openai")  # a CLIP preset is no captioner
    with pytest.raises(InvalidInputError, match="clipcap-coco-transformer needs its checkpoint"):
        load_captioner("clipcap-coco-transformer")  # not on a hub: the user gives the file
    assert loaded_captioners() == []


def test_failed_loads_leave_nothing_cached(gpt2_dir, tiny_clip_files, tmp_path):
    clip_mod.unload_all()
    bad = tmp_path / "bad.pt"
    torch.save({"clip_project.nope": torch.zeros(2)}, bad)
    with pytest.raises(CheckpointFormatError, match="nope"):
        load_captioner(
            "clipcap",
            str(bad),
            decoder=str(gpt2_dir),
            device="cpu",
            clip_model=str(tiny_clip_files.config),
        )
    # a mapping for 16-d CLIP embeddings with the 32-d tiny CLIP: CLIP is unloaded again
    save_clipcap(make_clipcap(gpt2_dir, "mlp", 2, clip_dim=16), tmp_path / "m16")
    with pytest.raises(CheckpointFormatError, match="16-d CLIP embeddings"):
        load_captioner(
            "clipcap",
            str(tmp_path / "m16"),
            device="cpu",
            clip_model=str(tiny_clip_files.config),
            clip_weights=str(tiny_clip_files.safetensors),
        )
    assert loaded_captioners() == [] and clip_mod.loaded_models() == []


def test_clip_model_without_weights_takes_the_recorded_weights(
    gpt2_dir, tiny_clip_files, tmp_path
):
    model = make_clipcap(gpt2_dir, "mlp", 2, clip_dim=32)
    model.meta.update(
        clip_model=str(tiny_clip_files.config), clip_weights=str(tiny_clip_files.safetensors)
    )
    save_clipcap(model, tmp_path / "m")
    try:
        cap = load_captioner(
            "clipcap", str(tmp_path / "m"), clip_model=str(tiny_clip_files.config), device="cpu"
        )
        assert str(tiny_clip_files.safetensors) in cap.clip.name  # not random weights
    finally:
        unload_captioners()
