"""Collection search and batch throughput: approximate against exact, batched against naive.

Measures, in one run, and prints JSON:

- ``search``: for synthetic collections of 100k and 1M L2-normalised D=512 vectors (a
  mixture of 2,000 clusters, like image embeddings), single-query latency p50/p99 of
  exact search (FAISS flat inner product, what small collections use) and of the tuned
  IVF index that collections switch to from 100k vectors; its recall@10 against exact
  on 600 fresh queries (half near images, half far, like text prompts); build time.
- ``index_build``: images/s of ``index_paths`` (read PNG, encode, thumbnail, commit)
  with a real-size ViT-B/32 (random weights) on the CPU, batch 16 against batch 1.
- ``batch``: images/s of ``batch --task embed`` in-process and on a local Dask cluster
  of 1 and 2 worker processes, once models are loaded (cluster start-up and model
  loading reported apart). Dask gives each worker process one thread
  (OMP_NUM_THREADS=1); the in-process run uses every core.

One 1M x 512 float32 array (2 GB) plus the IVF index (another 2 GB) is the peak memory.
Usage: ``python benchmarks/bench_search.py [--sizes 100000 1000000] [--images 32]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

D = 512


def centres(clusters: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((clusters, D)).astype(np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def synthetic(n: int, noise: float = 0.8, seed: int = 1) -> np.ndarray:
    """Clustered unit vectors: a random centre plus isotropic noise, made in chunks."""
    c = centres()
    rng = np.random.default_rng(seed)
    out = np.empty((n, D), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = c[rng.integers(0, len(c), m)]
        x += (noise / np.sqrt(D)) * rng.standard_normal((m, D)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def queries(n: int = 600) -> np.ndarray:
    """Fresh queries (other random draws): half near images (noise 1.0), half far (2.5)."""
    return np.concatenate([synthetic(n // 2, 1.0, seed=11), synthetic(n - n // 2, 2.5, seed=12)])


def latency_ms(search, q: np.ndarray) -> dict:
    times = []
    for row in q:
        t0 = time.perf_counter()
        search(row[None])
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
    }


def bench_search(sizes: list[int], n_latency: int) -> list[dict]:
    import faiss

    from napari_clipcap.core.collection.vectorindex import build_ivf, recall_at_k

    q = queries()
    full = synthetic(max(sizes))
    results = []
    for n in sizes:
        x = full[:n]
        ids = np.arange(n, dtype=np.int64)
        t0 = time.perf_counter()
        ivf = build_ivf(x, ids)
        build_s = time.perf_counter() - t0

        def exact(qq, x=x):
            return faiss.knn(qq, x, 10, metric=faiss.METRIC_INNER_PRODUCT)

        _, exact_ids = exact(q)
        _, ivf_ids = ivf.search(q, 10)
        lat_exact = latency_ms(exact, q[:n_latency])
        lat_ivf = latency_ms(lambda qq, ivf=ivf: ivf.search(qq, 10), q[:n_latency])
        results.append(
            {
                "vectors": n,
                "dim": D,
                "exact": lat_exact,
                "ivf": {
                    **lat_ivf,
                    "nlist": int(ivf.index.nlist),
                    "nprobe": ivf.nprobe,
                    "build_s": round(build_s, 1),
                    "tuning_recall": round(ivf.recall, 4),
                },
                "recall_at_10": round(recall_at_k(ivf_ids, exact_ids), 4),
                "recall_at_10_near_queries": round(recall_at_k(ivf_ids[:300], exact_ids[:300]), 4),
                "recall_at_10_far_queries": round(recall_at_k(ivf_ids[300:], exact_ids[300:]), 4),
                "speedup_p50": round(lat_exact["p50_ms"] / lat_ivf["p50_ms"], 1),
            }
        )
        del ivf
    del full
    return results


def make_images(folder: Path, n: int, size: int = 256) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = (rng.random((size, size, 3)) * 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"img_{i:04d}.png")
    return folder


def bench_index(folder: Path, tmp: Path) -> dict:
    from napari_clipcap.core.clip.model import load_clip
    from napari_clipcap.core.collection.indexing import index_paths

    clip = load_clip("ViT-B-32", "none", "cpu")
    clip.encode_images([np.zeros((224, 224, 3), np.float32)])  # warm-up
    n = len(list(folder.glob("*.png")))
    out = {"images": n, "model": "ViT-B-32 (random weights), CPU fp32"}
    for name, bs in (("batched_16", 16), ("naive_batch_1", 1)):
        t0 = time.perf_counter()
        index_paths(
            tmp / f"col_{bs}", [folder], clip, model="ViT-B-32", weights="none", batch_size=bs
        )
        out[name] = {"images_per_s": round(n / (time.perf_counter() - t0), 2)}
    out["ratio"] = round(
        out["batched_16"]["images_per_s"] / out["naive_batch_1"]["images_per_s"], 2
    )
    return out


def _time_batch(folder: Path, out: Path, chunk_size: int = 4, **kw) -> float:
    from napari_clipcap.core.batch.chunks import BatchSpec
    from napari_clipcap.core.batch.runner import run_batch

    spec = BatchSpec("embed", clip_model="ViT-B-32", clip_weights="none", device="cpu")
    t0 = time.perf_counter()
    run_batch([folder], spec, out, chunk_size=chunk_size, **kw)
    return time.perf_counter() - t0


def _warm_worker() -> bool:
    """Load the batch model in this worker process (its per-process cache) and run it once,
    so that the timed run measures throughput, not model loading."""
    from napari_clipcap.core.batch.chunks import BatchSpec, get_model

    spec = BatchSpec("embed", clip_model="ViT-B-32", clip_weights="none", device="cpu")
    get_model(spec).encode_images([np.zeros((224, 224, 3), np.float32)])
    return True


def bench_batch(folder: Path, warm: Path, tmp: Path) -> dict:
    """Throughput once models are loaded; cluster start-up and model loading apart."""
    from distributed import Client, LocalCluster

    n = len(list(folder.glob("*.png")))
    out: dict = {"images": n, "task": "embed", "model": "ViT-B-32 (random weights), CPU"}
    load = _time_batch(warm, tmp / "warm_local", chunk_size=1)
    run = _time_batch(folder, tmp / "local")
    out["local"] = {"images_per_s": round(n / run, 2), "model_load_s": round(load, 1)}
    for k in (1, 2):
        t0 = time.perf_counter()
        cluster = LocalCluster(
            n_workers=k,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        client = Client(cluster)
        start = time.perf_counter() - t0
        address = cluster.scheduler_address
        t0 = time.perf_counter()
        client.run(_warm_worker)  # every worker loads its model and runs one forward pass
        load = time.perf_counter() - t0
        run = _time_batch(folder, tmp / f"dask_{k}", scheduler=address)
        threads = sorted(set(client.run(lambda: __import__("torch").get_num_threads()).values()))
        out[f"dask_{k}_worker{'s' if k > 1 else ''}"] = {
            "images_per_s": round(n / run, 2),
            "cluster_start_s": round(start, 1),
            "model_load_s": round(load, 1),
            "torch_threads_per_worker": threads,
        }
        client.close()
        cluster.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--latency-queries", type=int, default=100)
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--skip", nargs="*", default=[], choices=["search", "index", "batch"])
    args = ap.parse_args()
    import faiss
    import torch

    report: dict = {
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "faiss_threads": faiss.omp_get_max_threads(),
        "gpu": "none on this machine",
    }

    def done(key: str, value) -> None:  # partial results survive a later failure
        report[key] = value
        print(json.dumps({key: value}), file=sys.stderr, flush=True)

    if "search" not in args.skip:
        done("search", bench_search(args.sizes, args.latency_queries))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = make_images(tmp / "images", args.images)
        warm = make_images(tmp / "warm", 4)
        if "index" not in args.skip:
            done("index_build", bench_index(folder, tmp))
        if "batch" not in args.skip:
            done("batch", bench_batch(folder, warm, tmp))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
