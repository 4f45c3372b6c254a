"""Decoding speed: batched KV-cache greedy decoding against the original algorithm.

Real sizes, random weights (speed does not depend on weight values): a ViT-B/32 image
encoder (open_clip), a ClipCap MLP mapping (512 -> 10 x 768) and GPT-2 small (124M).

CPU figures: 8 regions, exactly 20 tokens each (no stop token), greedy:

* ``fast``: :func:`napari_clipcap.core.decoding.generate`, the 8 prefixes as one batch
  with a KV cache;
* ``reference``: :func:`~napari_clipcap.core.decoding.greedy_reference`, the original
  release's loop (GPT-2 re-run over prefix + sequence at every step, one region at a
  time);

checks the tokens are identical, and puts the per-token latency beside the floor set by
reading the decoder's weights once per token at this machine's memory bandwidth
(measured here with a large numpy copy). With CUDA present it also reports captions per
second for 64 regions in fp16, greedy and beam 5.

Run: ``python benchmarks/bench_decoding.py [--threads N]`` (prints JSON).

Both paths are bound by reading GPT-2's ~500 MB of fp32 weights: the fast path reads
them once per step (20 forward passes), the reference once per step per region (160),
and does ~15x the arithmetic (771 vs 52 GFLOP: prefix + sequence recomputed, logits at
every position). The speed-up therefore lies near 8x where both are bandwidth-bound and
near 15x where the reference is compute-bound; per-call overheads and CPU contention
move it further.
"""

from __future__ import annotations

import json
import os
import platform
import time

import numpy as np
import torch

REGIONS, TOKENS, PREFIX = 8, 20, 10


def memory_bandwidth(nbytes: int = 1 << 29, repeats: int = 5) -> float:
    """Bytes per second moved by a large numpy copy (read + write), best of ``repeats``."""
    src = np.ones(nbytes // 8, dtype=np.float64)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * src.nbytes / best


def build(device="cpu", dtype=torch.float32):
    from transformers import GPT2Config, GPT2LMHeadModel

    from napari_clipcap.core.clipcap_mapping import MappingConfig, build_mapping

    torch.manual_seed(0)
    gpt = GPT2LMHeadModel(GPT2Config()).eval().to(device, dtype)  # 124M, vocab 50257
    mapping = build_mapping(MappingConfig("mlp", 512, 768, PREFIX)).eval().to(device, dtype)
    return gpt, mapping


def clip_embeddings(n: int, device: str) -> tuple[torch.Tensor, float]:
    """ViT-B/32 (random weights) embeddings of ``n`` random 224 x 224 crops, and the time."""
    from napari_clipcap.core.clip import load_clip

    clip = load_clip("ViT-B-32", None, device)
    crops = [np.random.default_rng(i).random((224, 224, 3), dtype=np.float32) for i in range(n)]
    clip.encode_images(crops[:1], normalize=False)  # warm-up
    t = time.perf_counter()
    emb = clip.encode_images(crops, normalize=False)
    return torch.from_numpy(emb).to(device), time.perf_counter() - t


def timed(fn, repeats: int = 1):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def cpu_figures() -> dict:
    from napari_clipcap.core.decoding import generate, greedy_reference

    gpt, mapping = build()
    emb, clip_s = clip_embeddings(REGIONS, "cpu")
    with torch.inference_mode():
        prefix = mapping(emb).view(REGIONS, PREFIX, -1)
    generate(gpt, prefix[:2], max_tokens=2)  # warm-up
    fast, fast_s = timed(lambda: generate(gpt, prefix, max_tokens=TOKENS), repeats=3)
    ref, ref_s = timed(lambda: greedy_reference(gpt, prefix, max_tokens=TOKENS))
    fast_ids = [caps[0] for caps in fast]
    weight_bytes = sum(p.numel() * p.element_size() for p in gpt.parameters())
    bandwidth = memory_bandwidth()
    step_s = fast_s / TOKENS  # one decoding step = one token for all 8 regions
    floor_s = weight_bytes / bandwidth
    return {
        "regions": REGIONS,
        "tokens_per_region": TOKENS,
        "prefix_length": PREFIX,
        "clip_encode_8_regions_s": round(clip_s, 4),
        "fast_s": round(fast_s, 4),
        "reference_s": round(ref_s, 4),
        "speedup": round(ref_s / fast_s, 2),
        # GPT-2 forward passes = full reads of the decoder weights
        "forward_passes": {"fast": TOKENS, "reference": REGIONS * TOKENS},
        "identical_tokens": fast_ids == ref,
        "all_lengths_20": all(len(s) == TOKENS for s in fast_ids),
        "per_token_latency_ms": round(1e3 * step_s, 2),
        "per_token_per_region_ms": round(1e3 * step_s / REGIONS, 3),
        "decoder_weight_bytes": weight_bytes,
        "memory_bandwidth_gb_s": round(bandwidth / 1e9, 2),
        "weight_read_floor_ms": round(1e3 * floor_s, 2),
        "latency_over_floor": round(step_s / floor_s, 2),
    }


def gpu_figures() -> dict | None:
    if not torch.cuda.is_available():
        return None
    from napari_clipcap.core.decoding import generate

    gpt, mapping = build("cuda", torch.float16)
    emb, _ = clip_embeddings(64, "cuda")
    with torch.inference_mode():
        prefix = mapping(emb.half()).view(64, PREFIX, -1)
    out = {"regions": 64, "dtype": "fp16", "max_tokens": TOKENS}
    for name, beam in (("greedy", 1), ("beam5", 5)):
        generate(gpt, prefix, max_tokens=TOKENS, beam_size=beam)
        torch.cuda.synchronize()
        _, s = timed(lambda b=beam: generate(gpt, prefix, max_tokens=TOKENS, beam_size=b), 3)
        out[f"{name}_captions_per_s"] = round(64 / s, 1)
    return out


def main(argv=None) -> dict:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = {
        "benchmark": "decoding",
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "platform": platform.platform(),
            "torch": torch.__version__,
        },
        "cpu": cpu_figures(),
        "gpu": gpu_figures() or "no CUDA device here: GPU figures skipped",
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
