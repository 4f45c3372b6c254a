"""Archive scale: the memory-mapped IVF-PQ index, a whole collection, cluster embedding.

Prints JSON. Three cases, each run on its own (``--case``):

- ``vectors``: N synthetic clustered 512-d unit vectors (2,000 clusters, as
  ``bench_search.py`` makes them) streamed chunk by chunk from a seeded RNG straight into
  :func:`build_ivfpq` (float16 shards on disk, IVF-PQ with on-disk lists). Reports build
  time, peak RSS of the process, size on disk, single-query p50/p99 latency for k = 10,
  and recall@10 against exact search by brute force in chunks (the same stream made
  again, float32) on 300 fresh queries (half near stored vectors, half far, like text).
- ``collection``: N vectors written through the collection (SQLite rows in
  transactions of 10,000, as ``index`` commits them) under a memory budget, then
  ``Collection.vector_index()`` builds the index from SQLite, streaming; the same
  figures, plus ``Collection.search`` latency (ids mapped back to items).
- ``embed``: images/s of ``napari-clipcap index`` in-process against ``--workers 1``
  and ``--workers 2`` (a local Dask cluster), real-size ViT-B/32 with random weights on
  the CPU; cluster start-up and model loading counted apart.

Usage::

    python benchmarks/bench_archive.py --case vectors --n 10000000 --work /tmp/bench
    python benchmarks/bench_archive.py --case collection --n 1000000 --budget 256M
    python benchmarks/bench_archive.py --case embed --images 48
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

D = 512
CHUNK = 100_000


def centres(clusters: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((clusters, D)).astype(np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def stream(n: int, noise: float = 0.8, seed: int = 1, first_id: int = 0):
    """Yield ``(ids, vectors)`` chunks of clustered unit vectors; the same for a seed."""
    c = centres()
    rng = np.random.default_rng(seed)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        x = c[rng.integers(0, len(c), m)]
        x += (noise / np.sqrt(D)) * rng.standard_normal((m, D), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        yield np.arange(first_id + start, first_id + start + m, dtype=np.int64), x


def queries(n: int = 300) -> np.ndarray:
    near = np.concatenate([x for _, x in stream(n // 2, 1.0, seed=11)])
    far = np.concatenate([x for _, x in stream(n - n // 2, 2.5, seed=12)])
    return np.concatenate([near, far])


def peak_rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)


def disk_gb(folder: Path) -> dict:
    sizes: dict[str, int] = {}
    for p in folder.rglob("*"):
        if p.is_file():
            kind = (
                "float16_vectors" if p.name.endswith(".f16.npy")
                else "ivf_lists" if p.suffix == ".ivfdata"
                else "sqlite" if ".sqlite" in p.name
                else "other"
            )  # fmt: skip
            sizes[kind] = sizes.get(kind, 0) + p.stat().st_size
    out = {k: round(v / 2**30, 3) for k, v in sizes.items()}
    out["total"] = round(sum(sizes.values()) / 2**30, 3)
    return out


def latency(search, q: np.ndarray) -> dict:
    times = []
    for row in q:
        t0 = time.perf_counter()
        search(row[None])
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "p99_ms": round(float(np.percentile(times, 99)), 2),
    }


def recall(found: np.ndarray, exact: np.ndarray) -> dict:
    from napari_clipcap.core.collection.vectorindex import recall_at_k

    h = len(exact) // 2
    return {
        "recall_at_10": round(recall_at_k(found, exact), 4),
        "recall_at_10_near": round(recall_at_k(found[:h], exact[:h]), 4),
        "recall_at_10_far": round(recall_at_k(found[h:], exact[h:]), 4),
    }


def case_vectors(n: int, work: Path, budget: int) -> dict:
    from napari_clipcap.core.collection.ivfpq.build import build_ivfpq
    from napari_clipcap.core.collection.ivfpq.index import exact_topk

    folder = work / "vectors.ivfpq"
    t0 = time.perf_counter()
    vi = build_ivfpq(folder, stream(n), D, memory_budget=budget)
    build_s = time.perf_counter() - t0
    rss_build = peak_rss_gb()
    q = queries()
    t0 = time.perf_counter()
    _, exact = exact_topk(q, stream(n), 10)
    exact_s = time.perf_counter() - t0
    _, found = vi.search(q, 10)
    lat = latency(lambda x: vi.search(x, 10), q)
    m = vi.manifest
    return {
        "vectors": n, "dim": D, "memory_budget_gb": round(budget / 2**30, 2),
        "factory": m["factory"], "nprobe": vi.nprobe, "rerank": vi.rerank,
        "tuning_recall": round(vi.recall, 4), "build_s": round(build_s, 1),
        "peak_rss_gb_after_build": rss_build, "peak_rss_gb": peak_rss_gb(),
        "resident_index_mb": round(vi.resident_bytes() / 2**20, 1),
        "disk_gb": disk_gb(folder), "k": 10, "queries": len(q), **lat, **recall(found, exact),
        "exact_bruteforce_s_for_all_queries": round(exact_s, 1),
    }  # fmt: skip


def write_collection(col, chunks, first_file: int = 0) -> None:
    """Write vectors as items of synthetic files, 10,000 files per transaction."""
    from napari_clipcap.core.collection.store import FileRecord, NewItem

    k = first_file
    for ids, x in chunks:
        for a in range(0, len(ids), 10_000):
            rows = []
            for v in x[a : a + 10_000]:
                rec = FileRecord(f"/synthetic/{k:09d}.png", 1, 1, "", None)
                rows.append((rec, [NewItem(None, 224, 224, v, b"")]))
                k += 1
            col.write_files(rows)


def case_collection(n: int, work: Path, budget: int) -> dict:
    from napari_clipcap.core.collection.ivfpq.index import exact_topk
    from napari_clipcap.core.collection.store import Collection

    col_dir = work / "collection"
    t0 = time.perf_counter()
    with Collection(col_dir, create=True) as col:
        col.bind_model("synthetic", "synthetic")
        write_collection(col, stream(n))
    write_s = time.perf_counter() - t0
    with Collection(col_dir, memory_budget=budget) as col:
        t0 = time.perf_counter()
        vi = col.vector_index()
        build_s = time.perf_counter() - t0
        q = queries()
        _, exact = exact_topk(q, ((i + 1, x) for i, x in stream(n)), 10)  # SQLite ids from 1
        _, found = vi.search(q, 10)
        lat = latency(lambda x: col.search(x, 10), q)
        out = {
            "vectors": n, "dim": D, "memory_budget_gb": round(budget / 2**30, 3),
            "index_kind": vi.kind, "nprobe": vi.nprobe, "rerank": vi.rerank,
            "sqlite_write_s": round(write_s, 1), "index_build_s": round(build_s, 1),
            "peak_rss_gb": peak_rss_gb(),
            "resident_index_mb": round(vi.resident_bytes() / 2**20, 1),
            "disk_gb": disk_gb(col_dir), "k": 10, "queries": len(q),
            "collection_search": lat, **recall(found, exact),
        }  # fmt: skip
        # incremental growth: 1% more vectors, the index extended, not rebuilt
        with Collection(col_dir) as w:
            write_collection(w, stream(n // 100, seed=5), first_file=n)
        t0 = time.perf_counter()
        vi = col.vector_index()
        out["extend_1pct_s"] = round(time.perf_counter() - t0, 1)
        out["after_extend_vectors"] = vi.ntotal
    return out


def case_embed(images: int, work: Path) -> dict:
    from bench_search import make_images

    from napari_clipcap.core.clip.model import load_clip
    from napari_clipcap.core.collection.indexing import index_paths

    folder = make_images(work / "images", images)
    warm = make_images(work / "warm", 4)
    clip = load_clip("ViT-B-32", "none", "cpu")
    out: dict = {"images": images, "model": "ViT-B-32 (random weights), CPU fp32"}
    index_paths(work / "warm_local", [warm], clip, model="ViT-B-32", weights="none")
    t0 = time.perf_counter()
    index_paths(work / "local", [folder], clip, model="ViT-B-32", weights="none")
    out["in_process"] = {"images_per_s": round(images / (time.perf_counter() - t0), 2)}
    for k in (1, 2):
        from napari_clipcap.core.collection.distributed import open_cluster

        t0 = time.perf_counter()
        with open_cluster(workers=k) as client:
            start = time.perf_counter() - t0
            kw = {"model": "ViT-B-32", "weights": "none", "client": client, "device": "cpu"}
            t0 = time.perf_counter()
            index_paths(work / f"warm_{k}", [warm], None, **kw)  # each worker loads once
            load = time.perf_counter() - t0
            t0 = time.perf_counter()
            index_paths(work / f"dask_{k}", [folder], None, **kw)
            run = time.perf_counter() - t0
        out[f"dask_{k}_worker{'s' if k > 1 else ''}"] = {
            "images_per_s": round(images / run, 2),
            "cluster_start_s": round(start, 1),
            "warm_up_s": round(load, 1),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", choices=["vectors", "collection", "embed"], required=True)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--budget", default="4G", help="memory budget of the index (4G)")
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    import faiss

    from napari_clipcap.core.collection.ivfpq.index import parse_bytes

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_archive_"))
    work.mkdir(parents=True, exist_ok=True)
    budget = parse_bytes(args.budget)
    report = {"case": args.case, "cpu_cores": os.cpu_count(), "faiss": faiss.__version__,
              "faiss_threads": faiss.omp_get_max_threads()}  # fmt: skip
    try:
        if args.case == "vectors":
            report["result"] = case_vectors(args.n, work, budget)
        elif args.case == "collection":
            report["result"] = case_collection(args.n, work, budget)
        else:
            report["result"] = case_embed(args.images, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    main()
