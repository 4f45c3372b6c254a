"""Heatmap speed and memory, real ViT-B/32 size with random weights (speed does not
depend on weight values). Prints one JSON object.

Figures:

``sliding_vs_naive``
    The batched sliding-window map against one forward pass per window in a Python
    loop (:func:`napari_clipcap.core.tasks.heatmap.naive_sliding_heatmap`): same map within
    1e-4, and the speed-up: the median over alternating rounds, each timed call after
    an untimed call of the same path, with every time printed.
``dense_vs_sliding``
    Dense one-pass-per-tile maps against sliding windows at the same output grid
    spacing (stride = patch size, 32 px).
``huge_image``
    An 8192 x 8192 float32 scene in a fresh process: peak resident memory beyond what
    the process held with the model loaded and the image in memory.

``gpu`` (with ``--device cuda``)
    Images per second for ViT-B/32 and ViT-B/16 in fp16 (encoder alone, and from host
    arrays), and the time for an 8192 x 8192 scene in sliding and dense mode
    (:func:`accelerator_figures`).

Usage: ``python benchmarks/bench_heatmap.py [--quick] [--device cpu|cuda] [--threads N]
[--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

_HUGE = r"""
import json, resource, sys, time
import numpy as np
from napari_clipcap.core.clip.model import load_clip
from napari_clipcap.core.tasks.heatmap import text_heatmap

size, window, stride, batch, device = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                       int(sys.argv[4]), sys.argv[5])
clip = load_clip("ViT-B-32", "none", device)
image = np.empty((size, size, 3), np.float32)
for r in range(0, size, 512):  # fill in bands: no full-size temporaries
    image[r:r + 512] = (np.arange(size, dtype=np.float32) / size)[None, :, None]
text_heatmap(image[:224, :224], "warm-up", clip, window=224, stride=224)

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

before = rss_mb()
try:  # reset the kernel's peak-RSS counter so that it measures the call alone
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
t = time.perf_counter()
out = text_heatmap(image, "a river", clip, window=window, stride=stride, batch_size=batch)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"image_mb": image.nbytes / 2**20, "output_mb": out.nbytes / 2**20,
                  "rss_before_mb": before, "peak_rss_mb": peak,
                  "peak_beyond_image_mb": peak - before, "peak_counter_reset": reset,
                  "seconds": seconds, "finite": bool(np.isfinite(out).all())}))
"""


def _time(fn, repeat: int = 1) -> tuple[float, object]:
    """The time of the last of ``repeat`` calls of ``fn``, and its result."""
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t
    return seconds, out


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def accelerator_figures(
    device: str = "cuda",
    archs: tuple[str, ...] = ("ViT-B-32", "ViT-B-16"),
    precision: str = "fp16",
    scene: int = 8192,
    batch: int = 64,
    batches: int = 8,
) -> dict:
    """Images per second per architecture and the time for a ``scene``-square heatmap.

    ``forward_images_per_s`` feeds preprocessed 224 x 224 batches already on the device
    (the encoder alone); ``pipeline_images_per_s`` starts from float32 arrays in host
    memory (transfer, resize and normalisation included). The scene is filled band by
    band, as a reader would, and mapped in sliding mode (window 224, stride 112) and in
    dense mode (window 224, stride 224). Run with ``device="cpu"`` to check the code path.
    """
    import torch

    from napari_clipcap.core.clip.model import load_clip, unload_clip
    from napari_clipcap.core.tasks.heatmap import text_heatmap

    rng = np.random.default_rng(0)
    crops = rng.random((batch, 224, 224, 3), dtype=np.float32)
    image = np.empty((scene, scene, 3), np.float32)
    for r in range(0, scene, 512):
        image[r : r + 512] = rng.random((1, scene, 3), dtype=np.float32)
    out: dict = {"device": device, "precision": precision, "batch": batch}
    for arch in archs:
        clip = load_clip(arch, "none", device, precision=precision)
        pixels = clip.preprocess(crops)
        with torch.inference_mode():
            clip.encode_pixels(pixels)  # warm-up
            _sync(device)
            t = time.perf_counter()
            for _ in range(batches):
                clip.encode_pixels(pixels)
            _sync(device)
            forward_s = time.perf_counter() - t
        clip.encode_images(crops, batch_size=batch)
        t = time.perf_counter()
        for _ in range(batches):
            clip.encode_images(crops, batch_size=batch)
        pipeline_s = time.perf_counter() - t
        figures = {
            "forward_images_per_s": round(batch * batches / forward_s, 1),
            "pipeline_images_per_s": round(batch * batches / pipeline_s, 1),
        }
        for mode, stride in (("sliding", 112), ("dense", 224)):
            t = time.perf_counter()
            heat = text_heatmap(
                image, "an airport runway", clip, mode=mode, stride=stride, batch_size=batch
            )
            figures[f"{scene}px_{mode}_s"] = round(time.perf_counter() - t, 2)
            figures[f"{scene}px_{mode}_finite"] = bool(np.isfinite(heat).all())
        out[arch] = figures
        unload_clip(arch, "none", device, precision=precision)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller images (a smoke run)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    ap.add_argument("--huge-size", type=int, default=8192)
    ap.add_argument("--rounds", type=int, default=3, help="alternating timing rounds")
    args = ap.parse_args()

    import torch

    from napari_clipcap.core.clip.model import load_clip
    from napari_clipcap.core.tasks.heatmap import (
        naive_sliding_heatmap,
        text_heatmap,
        window_starts,
    )

    if args.threads:
        torch.set_num_threads(args.threads)
    clip = load_clip("ViT-B-32", "none", args.device)
    rng = np.random.default_rng(0)
    result: dict = {
        "model": "ViT-B-32 (open_clip, random weights)",
        "device": clip.device,
        "dtype": str(clip.dtype),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    # 1. sliding (batched) vs naive loop, in alternating rounds so that a slow spell of
    # the (shared) machine hits both; each timed call follows an untimed call of the
    # same path, so both are timed in their steady state (buffers allocated, kernels
    # chosen for their batch shapes)
    size, window, stride = (336, 224, 56) if args.quick else (448, 224, 56)
    img = rng.random((size, size, 3), dtype=np.float32)
    q = ["a river", "a forest"]
    times: dict[str, list[float]] = {"batched": [], "naive_loop": []}
    for _ in range(args.rounds):
        t, fast = _time(lambda: text_heatmap(img, q, clip, window=window, stride=stride), 2)
        times["batched"].append(t)
        t, naive = _time(
            lambda: naive_sliding_heatmap(img, q, clip, window=window, stride=stride), 2
        )
        times["naive_loop"].append(t)
    ratios = [n / f for n, f in zip(times["naive_loop"], times["batched"])]
    n_win = len(window_starts(size, window, stride)) ** 2
    result["sliding_vs_naive"] = {
        "image": [size, size],
        "window": window,
        "stride": stride,
        "windows": n_win,
        "queries": len(q),
        "rounds": args.rounds,
        "batched_s": round(statistics.median(times["batched"]), 3),
        "naive_loop_s": round(statistics.median(times["naive_loop"]), 3),
        "speedup": round(statistics.median(ratios), 2),
        "speedup_per_round": [round(r, 2) for r in ratios],
        "times_s": {k: [round(v, 3) for v in vs] for k, vs in times.items()},
        "max_abs_diff": float(np.abs(fast - naive).max()),
    }

    # 2. dense vs sliding at the same output grid spacing (stride = patch size)
    size = 448 if args.quick else 896
    img = rng.random((size, size, 3), dtype=np.float32)
    patch = clip.patch_size
    t_slide, _ = _time(lambda: text_heatmap(img, "a river", clip, window=224, stride=patch))
    t_dense, dense = _time(
        lambda: text_heatmap(img, "a river", clip, mode="dense", window=224, stride=224), 3
    )
    result["dense_vs_sliding"] = {
        "image": [size, size],
        "grid_spacing_px": patch,
        "sliding_windows": len(window_starts(size, 224, patch)) ** 2,
        "dense_tiles": len(window_starts(size, 224, 224)) ** 2,
        "sliding_s": round(t_slide, 3),
        "dense_s": round(t_dense, 3),
        "speedup": round(t_slide / t_dense, 2),
        "dense_finite": bool(np.isfinite(dense).all()),
    }

    # 3. huge image peak memory, in a fresh process
    hs = 2048 if args.quick else args.huge_size
    cmd = [sys.executable, "-c", _HUGE, str(hs), "1024", "1024", "16", args.device]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        huge = json.loads(proc.stdout.strip().splitlines()[-1])
        huge.update({"image": [hs, hs], "window": 1024, "stride": 1024, "batch_size": 16})
        huge["under_2gb"] = huge["peak_beyond_image_mb"] < 2048
    else:
        huge = {"error": proc.stderr.strip().splitlines()[-1:]}
    result["huge_image"] = {
        k: (round(v, 1) if isinstance(v, float) else v) for k, v in huge.items()
    }
    if args.device.startswith("cuda"):
        result["gpu"] = accelerator_figures(args.device)
    else:
        result["gpu"] = "not measured: run with --device cuda on a machine with a GPU"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
