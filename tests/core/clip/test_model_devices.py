"""CLIP on every device this machine has: device choice, reduced precision, unloading.

Each test runs on the CPU everywhere and on CUDA where a GPU exists (``benchmarks/
gpu_check.sh`` runs this file on a GPU machine); the CUDA cases skip elsewhere.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

from napari_clipcap.core import devices
from napari_clipcap.core.clip.model import load_clip, unload_clip

CUDA = pytest.param(
    "cuda",
    marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here"),
)


def _images(n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random((40 + 8 * i, 48, 3), dtype=np.float32) for i in range(n)]


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_auto_picks_the_first_device_and_loads_there(tiny_clip_files, device):
    names = [d.name for d in devices.available_devices()]
    assert devices.resolve_device("auto") == names[0]
    clip = load_clip(str(tiny_clip_files.config), str(tiny_clip_files.safetensors), device)
    try:
        assert clip.device.startswith(device)
        assert next(clip.model.parameters()).device.type == device
    finally:
        unload_clip(str(tiny_clip_files.config), str(tiny_clip_files.safetensors), device)


@pytest.mark.parametrize(
    "device, precision, tol",
    [("cpu", "bf16", 0.05), (CUDA.values[0], "fp16", 0.01), (CUDA.values[0], "bf16", 0.05)],
    ids=["cpu-bf16", "cuda-fp16", "cuda-bf16"],
)
def test_reduced_precision_matches_fp32(tiny_clip_files, device, precision, tol):
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    model, weights = str(tiny_clip_files.config), str(tiny_clip_files.safetensors)
    ref = load_clip(model, weights, "cpu", precision="fp32")
    low = load_clip(model, weights, device, precision=precision)
    try:
        a, b = ref.encode_images(_images()), low.encode_images(_images())
        assert b.dtype == np.float32 and np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-3)
        assert float(np.abs(a - b).max()) < tol
        ta, tb = ref.encode_texts(["a star", "a river"]), low.encode_texts(["a star", "a river"])
        assert float(np.abs(ta - tb).max()) < tol
    finally:
        unload_clip(model, weights, "cpu", precision="fp32")
        unload_clip(model, weights, device, precision=precision)


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_unload_frees_the_model(tiny_clip_files, device):
    model, weights = str(tiny_clip_files.config), str(tiny_clip_files.safetensors)
    if device == "cuda":
        torch.cuda.empty_cache()
        before = torch.cuda.memory_allocated()
    clip = load_clip(model, weights, device)
    clip.encode_images(_images(1))
    alive = weakref.ref(clip.model)
    del clip
    assert unload_clip(model, weights, device)
    gc.collect()
    assert alive() is None, "the unloaded model is still referenced"
    if device == "cuda":
        torch.cuda.empty_cache()
        assert torch.cuda.memory_allocated() <= before
