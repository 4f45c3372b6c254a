"""Heatmap speed and memory, real ViT-B/32 size with random weights (speed does not
depend on weight values). Prints one JSON object.

Figures:

``sliding_vs_naive``
    The batched sliding-window map against one forward pass per window in a Python
    loop (:func:`napari_clipcap.core.heatmap.naive_sliding_heatmap`): same map within
    1e-4, and the speed-up.
``dense_vs_sliding``
    Dense one-pass-per-tile maps against sliding windows at the same output grid
    spacing (stride = patch size, 32 px).
``huge_image``
    An 8192 x 8192 float32 scene in a fresh process: peak resident memory beyond what
    the process held with the model loaded and the image in memory.

Usage: ``python benchmarks/bench_heatmap.py [--quick] [--device cpu] [--threads N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

_HUGE = r"""
import json, resource, sys, time
import numpy as np
from napari_clipcap.core.clip import load_clip
from napari_clipcap.core.heatmap import text_heatmap

size, window, stride, batch, device = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                       int(sys.argv[4]), sys.argv[5])
clip = load_clip("ViT-B-32", None, device)
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
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller images (a smoke run)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    ap.add_argument("--huge-size", type=int, default=8192)
    args = ap.parse_args()

    import torch

    from napari_clipcap.core.clip import load_clip
    from napari_clipcap.core.heatmap import naive_sliding_heatmap, text_heatmap, window_starts

    if args.threads:
        torch.set_num_threads(args.threads)
    clip = load_clip("ViT-B-32", None, args.device)
    rng = np.random.default_rng(0)
    result: dict = {
        "model": "ViT-B-32 (open_clip, random weights)",
        "device": clip.device,
        "dtype": str(clip.dtype),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    # warm-up
    text_heatmap(rng.random((224, 224, 3), dtype=np.float32), "x", clip)

    # 1. sliding (batched) vs naive loop
    size, window, stride = (336, 224, 56) if args.quick else (448, 224, 56)
    img = rng.random((size, size, 3), dtype=np.float32)
    q = ["a river", "a forest"]
    t_fast, fast = _time(lambda: text_heatmap(img, q, clip, window=window, stride=stride))
    t_naive, naive = _time(
        lambda: naive_sliding_heatmap(img, q, clip, window=window, stride=stride)
    )
    n_win = len(window_starts(size, window, stride)) ** 2
    result["sliding_vs_naive"] = {
        "image": [size, size],
        "window": window,
        "stride": stride,
        "windows": n_win,
        "queries": len(q),
        "batched_s": round(t_fast, 3),
        "naive_loop_s": round(t_naive, 3),
        "speedup": round(t_naive / t_fast, 2),
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
    result["gpu"] = "not measured: no GPU on this machine" if args.device == "cpu" else None
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
