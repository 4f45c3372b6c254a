"""One GPU check: the CUDA paths of the test suite, then the GPU figures, in one JSON file.

Run through ``benchmarks/gpu_check.sh`` on a CUDA machine (under 8 minutes on one H100):

1. ``tests``: the test files that exercise devices and precisions (device choice,
   fp16/bf16 against fp32, unloading frees GPU memory), with their CUDA cases enabled;
2. ``decoding``: captions per second for 64 regions, fp16, greedy and beam 5
   (``bench_decoding.accelerator_figures``);
3. ``heatmap``: ViT-B/32 and ViT-B/16 fp16 images per second and an 8192 x 8192 scene in
   sliding and dense mode (``bench_heatmap.accelerator_figures``);
4. ``florence2``: captions per second when the ``florence2`` captioner kind exists.
5. ``ask``: time to the first token and tokens/s of an answer about one region, SmolVLM2-256M
   against plain ``generate()`` and Qwen2.5-VL-3B in bf16 (``bench_ask.accelerator_figures``).

``--device cpu --small`` runs the same code at small sizes (a test does, so the script
cannot rot between GPU loans). Usage:
``python benchmarks/gpu_check.py [--device cuda] [--small] [--out gpu_check.json]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Test files whose device cases the check runs.
DEVICE_TESTS = ("tests/core/clip/test_model_devices.py", "tests/core/test_registry_devices.py")


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine(device: str) -> dict:
    """Versions and the device this run used."""
    import torch

    out = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(device)
        out.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1))
    return out


def run_tests(timeout: int = 300) -> dict:
    """Run the device tests in a subprocess; counts of passed, failed and skipped."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *DEVICE_TESTS]
    t = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|error)", tail)}
    return {
        "exit_code": proc.returncode,
        "seconds": round(time.perf_counter() - t, 1),
        "summary": tail,
        **{k: counts.get(k, 0) for k in ("passed", "failed", "skipped", "error")},
    }


def florence2_figures(device: str, small: bool) -> dict | str:
    """Captions per second of Florence-2 (base architecture, random weights), if present."""
    from napari_clipcap.core.registry import CAPTIONER_KINDS

    if "florence2" not in CAPTIONER_KINDS:
        return "not measured: the florence2 captioner kind does not exist in this version"
    bench = _bench("bench_florence2")
    return bench.accelerator_figures(device, small=small)


def main(argv: list[str] | None = None) -> dict:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--small", action="store_true", help="tiny sizes: check the code path")
    ap.add_argument("--out", default="gpu_check.json")
    ap.add_argument("--skip-tests", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("no CUDA device here: run with --device cpu --small to check the script")
    started = time.perf_counter()
    result: dict = {"benchmark": "gpu_check", "machine": machine(args.device)}
    result["tests"] = "skipped (--skip-tests)" if args.skip_tests else run_tests()
    dtype = torch.float32 if args.device == "cpu" else torch.float16
    decoding_sizes = {"regions": 2, "tokens": 3, "repeats": 1} if args.small else {}
    result["decoding"] = _bench("bench_decoding").accelerator_figures(
        args.device, dtype, **decoding_sizes
    )
    heat_sizes = (
        {"archs": ("ViT-B-32",), "scene": 224, "batch": 2, "batches": 1}
        if args.small
        else {"archs": ("ViT-B-32", "ViT-B-16"), "scene": 8192, "batch": 64, "batches": 8}
    )
    precision = "fp32" if args.device == "cpu" else "fp16"
    result["heatmap"] = _bench("bench_heatmap").accelerator_figures(
        args.device, precision=precision, **heat_sizes
    )
    result["florence2"] = florence2_figures(args.device, args.small)
    result["ask"] = _bench("bench_ask").accelerator_figures(args.device, small=args.small)
    result["segment"] = _bench("bench_segment").accelerator_figures(args.device, small=args.small)
    result["seconds"] = round(time.perf_counter() - started, 1)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
