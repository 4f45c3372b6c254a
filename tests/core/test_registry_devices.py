from __future__ import annotations

import pytest

from napari_clipcap.core import devices, registry
from napari_clipcap.core.errors import InvalidInputError


def test_presets_are_unique_and_typed():
    names = [p.name for p in registry.presets()]
    assert len(names) == len(set(names))
    assert registry.presets("clip") and registry.presets("captioner")
    assert all(p.kind == "clip" for p in registry.presets("clip"))
    assert all(p.kind != "clip" for p in registry.presets("captioner"))


def test_unknown_preset_lists_known_ones():
    with pytest.raises(InvalidInputError, match="ViT-B-32/openai"):
        registry.get_preset("no-such-model")


def test_auto_device_and_cpu_always_exist():
    names = [d.name for d in devices.available_devices()]
    assert names[-1] == "cpu"
    assert devices.resolve_device("auto") == names[0]
    assert devices.resolve_device("cpu") == "cpu"


def test_missing_device_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="not available"):
        devices.resolve_device("cuda:7")


def test_cpu_precision():
    import torch

    assert devices.resolve_dtype("cpu") == torch.float32
    assert devices.resolve_dtype("cpu", "bf16") == torch.bfloat16
    with pytest.raises(InvalidInputError):
        devices.resolve_dtype("cpu", "fp16")
    with pytest.raises(InvalidInputError):
        devices.resolve_dtype("cpu", "fp8")


def test_open_clip_presets_name_the_hub_repo_open_clip_downloads_from():
    import open_clip

    checked = 0
    for p in registry.presets():
        if p.source == "open_clip" and not (p.weights or "").startswith("hf-hub:"):
            cfg = open_clip.get_pretrained_cfg(p.model, p.weights)
            assert p.extra.get("hf_hub") == cfg.get("hf_hub"), p.name
            checked += 1
    assert checked >= 4
