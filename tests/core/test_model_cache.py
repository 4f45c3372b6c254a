"""The one model cache: one naming for every kind, and unload_all frees them all."""

from __future__ import annotations

import pytest

from napari_clipcap.core import model_cache
from napari_clipcap.core.captioning.protocol import load_captioner, loaded_captioners
from napari_clipcap.core.clip import model as clip_mod


def test_get_or_load_builds_once_and_a_failed_build_leaves_nothing():
    calls = []
    first = model_cache.get_or_load("test", ("a",), lambda: calls.append(1) or object(), "cpu")
    assert model_cache.get_or_load("test", ("a",), lambda: 1 / 0, "cpu") is first
    assert calls == [1] and model_cache.loaded("test") == [("a",)]
    with pytest.raises(ZeroDivisionError):
        model_cache.get_or_load("test", ("b",), lambda: 1 / 0, "cpu")
    assert model_cache.loaded("test") == [("a",)]
    assert model_cache.unload_model(first) and not model_cache.unload("test", ("a",))
    assert model_cache.loaded("test") == []


def test_unload_all_frees_every_kind(clipcap_for_tiny_clip, tiny_clip_files):
    model_cache.unload_all()
    cap = load_captioner(
        "clipcap",
        str(clipcap_for_tiny_clip),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    model_cache.get_or_load("batch-test", ("x",), object, "cpu")
    kinds = {kind for kind, _ in model_cache.loaded()}
    assert kinds == {"clip", "captioner", "batch-test"} and cap.clip is not None
    # the CLIP module's unload_all is the same function: it unloads captioners too
    assert clip_mod.unload_all is model_cache.unload_all
    assert clip_mod.unload_all() == 3
    assert model_cache.loaded() == [] and loaded_captioners() == []
    assert clip_mod.loaded_models() == []
