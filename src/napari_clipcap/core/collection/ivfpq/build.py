"""Build and extend the memory-mapped IVF-PQ index of :mod:`.ivfpq`, streaming.

Vectors arrive as ``(ids, vectors)`` chunks (from SQLite, or a generator in the
benchmarks) and go straight to float16 shard files; nothing holds all of them at once.
A full build then trains the index on a sample, encodes shard by shard, merges the
shards' inverted lists into one on-disk file and tunes ``nprobe`` against exact search
(brute force over the float16 files, in chunks). Extending encodes only the new
vectors with the trained index, marks removed rows, and merges again: the trained
centroids are kept until the collection has doubled or halved.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ...errors import InvalidInputError
from ...io.atomic import atomic_dir, atomic_path, fsync_dir, write_json
from ...jobs import ProgressCallback, report
from ..faissfiles import check_plain_folder, probe_index, quiet_stdout, read_index
from ..vectorindex import TARGET_RECALL, calibration_queries, recall_at_k
from .index import IvfPqIndex, RowFile, exact_topk, read_shard_rows
from .manifest import MANIFEST, read_manifest

__all__ = ["build_ivfpq", "extend_ivfpq", "index_layout"]

#: Candidates re-ranked with exact float16 vectors per query (``k`` when larger).
RERANK = 128
#: The most candidates the build may choose to re-rank.
MAX_RERANK = 4096
Chunks = Iterable[tuple[np.ndarray, np.ndarray]]


def index_layout(n: int, dim: int, memory_budget: int) -> dict:
    """Lists, PQ sub-vectors, training sample and shard rows for ``n`` vectors.

    ``nlist`` is the power of two nearest ``sqrt(n)`` (at most ``n / 39``, what k-means
    needs); ``m`` sub-quantizers of 8 bits take 4 to 8 dimensions each (64 bytes per
    512-d vector); shards and the training sample each stay within a quarter of
    ``memory_budget``.
    """
    nlist = int(2 ** round(np.log2(max(np.sqrt(max(n, 1)), 1))))
    nlist = int(np.clip(nlist, 8, 65536))
    while nlist > 8 and n < 39 * nlist:
        nlist //= 2
    m = max(x for x in range(1, min(64, max(1, dim // 4)) + 1) if dim % x == 0)
    row_bytes = dim * 4
    cap = max(1000, memory_budget // (4 * row_bytes))
    sample = int(min(n, max(30 * nlist, 256 * 40), cap))
    shard = int(np.clip(memory_budget // (8 * row_bytes), 10_000, 1_000_000))
    return {"nlist": nlist, "m": m, "sample": sample, "shard_rows": shard}


def _write_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, arr)


def _write_shards(folder: Path, chunks: Chunks, first_row: int, shard_rows: int, dim: int,
                  first_shard: int, cancel=None) -> list[dict]:  # fmt: skip
    """Stream chunks into float16 + id shard files; returns their manifest entries."""
    from ...jobs import check_cancel

    shards: list[dict] = []
    buf_v: list[np.ndarray] = []
    buf_i: list[np.ndarray] = []
    held, row = 0, first_row

    def flush() -> None:
        nonlocal held, row
        if not held:
            return
        name = f"shard-{first_shard + len(shards):04d}-{secrets.token_hex(3)}"
        v = np.concatenate(buf_v).astype(np.float16)
        ids = np.concatenate(buf_i).astype(np.int64)
        _write_npy(folder / f"{name}.f16.npy", v)
        _write_npy(folder / f"{name}.ids.npy", ids)
        shards.append({"name": name, "f16": f"{name}.f16.npy", "ids": f"{name}.ids.npy",
                       "first_row": row, "rows": len(ids), "encoded": False})  # fmt: skip
        row += len(ids)
        buf_v.clear(), buf_i.clear()
        held = 0

    for ids, vecs in chunks:
        check_cancel(cancel)
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(ids), -1)
        if vecs.shape[1] != dim:
            raise InvalidInputError(f"vectors are {vecs.shape[1]}-d, the index {dim}-d")
        buf_v.append(vecs), buf_i.append(np.asarray(ids, dtype=np.int64))
        held += len(ids)
        if held >= shard_rows:
            flush()
    flush()
    return shards


def _encode_shard(folder: Path, trained: Path, shard: dict) -> None:
    import faiss

    index, _ = read_index(trained, ("ivfpq",))
    x16 = np.load(folder / shard["f16"], mmap_mode="r")
    start = shard["first_row"]
    for a in range(0, len(x16), 65536):
        block = np.ascontiguousarray(x16[a : a + 65536], dtype=np.float32)
        rows = np.arange(start + a, start + a + len(block), dtype=np.int64)
        index.add_with_ids(block, rows)
    with atomic_path(folder / f"{shard['name']}.faiss") as tmp:
        faiss.write_index(index, str(tmp))
    shard["encoded"] = True


def _merge(folder: Path, trained: Path, shards: list[dict]) -> str:
    """Merge every shard's lists into a new on-disk file; returns the index file name."""
    import faiss
    from faiss.contrib.ondisk import merge_ondisk

    token = secrets.token_hex(4)
    index, _ = read_index(trained, ("ivfpq",))
    data = folder / f"merged-{token}.ivfdata"
    for s in shards:  # merge_ondisk reads them itself: none may name another file
        probe_index(folder / f"{s['name']}.faiss", ("ivfpq",))
    with quiet_stdout():
        merge_ondisk(index, [str(folder / f"{s['name']}.faiss") for s in shards], str(data))
    with open(data, "rb+") as f:
        os.fsync(f.fileno())
    with atomic_path(folder / f"merged-{token}.faiss") as tmp:
        faiss.write_index(index, str(tmp))
    return f"merged-{token}.faiss"


def _shard_blocks(folder: Path, shards: list[dict], block: int = 262_144) -> Iterator:
    for s in shards:
        x16 = np.load(folder / s["f16"], mmap_mode="r")
        for a in range(0, len(x16), block):
            rows = np.arange(s["first_row"] + a, s["first_row"] + min(a + block, len(x16)))
            yield rows, np.asarray(x16[a : a + block], dtype=np.float32)


def _passes(ids: np.ndarray, exact: np.ndarray, groups: np.ndarray, target: float) -> bool:
    """Mean recall@10 at least ``target + 0.02`` and every query group's at least ``target``."""
    worst = min(recall_at_k(ids[groups == g], exact[groups == g]) for g in np.unique(groups))
    return recall_at_k(ids, exact) >= min(0.995, target + 0.02) and worst >= target


def _pick_rerank(index: IvfPqIndex, q, exact, groups, target: float, nlist: int) -> int:
    """Fewest candidates (128, 256, ... 4096) whose exact re-ranking reaches the target
    when a quarter of the lists are probed: one search, every prefix scored."""
    index.set_probe(max(1, nlist // 4))
    _, cand = index.index.search(q, min(MAX_RERANK, index.rows))
    scores = [index.vectors_of_rows(np.clip(c, 0, None)) @ qi for c, qi in zip(cand, q)]
    rerank = RERANK
    while True:
        found = np.full(exact.shape, -1, dtype=np.int64)
        for i, (c, s) in enumerate(zip(cand, scores)):
            s = np.where(c[:rerank] >= 0, s[:rerank], -np.inf)
            top = np.argsort(-s, kind="stable")[:10]
            found[i, : len(top)] = np.where(c[top] >= 0, c[top], -1)
        if _passes(found, exact, groups, target) or rerank >= MAX_RERANK:
            return rerank
        rerank *= 2


def _tune(index: IvfPqIndex, sample: np.ndarray, blocks: Chunks, target: float, seed: int):
    """Re-ranked candidates, then the smallest nprobe (steps of x1.5) reaching the recall
    target on queries near and far from stored vectors, as the IVF build does."""
    nlist = int(__import__("faiss").extract_index_ivf(index.index).nlist)
    queries, groups = calibration_queries(sample, n=300, seed=seed)
    _, exact_rows = exact_topk(queries, blocks, 10)
    index.rerank = _pick_rerank(index, queries, exact_rows, groups, target, nlist)
    rows = index.ids_of_rows(np.clip(exact_rows, 0, None).ravel()).reshape(exact_rows.shape)
    exact = np.where(exact_rows >= 0, rows, -1)
    nprobe = 1
    while True:
        ids = index.search(queries, 10, nprobe=nprobe)[1]
        if _passes(ids, exact, groups, target) or nprobe >= nlist:
            return nprobe, recall_at_k(ids, exact)
        nprobe = min(max(nprobe + 1, int(np.ceil(nprobe * 1.5))), nlist)


def build_ivfpq(
    folder: str | os.PathLike,
    chunks: Chunks,
    dim: int,
    *,
    memory_budget: int,
    stamp: dict | None = None,
    target_recall: float = TARGET_RECALL,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel=None,
) -> IvfPqIndex:
    """Build a new index in ``folder`` (replaced whole) from ``(ids, vectors)`` chunks.

    Parameters
    ----------
    folder : path
        The index folder (``DIR/vectors.ivfpq``).
    chunks : iterable of (ids, vectors)
        ``(n,) int64`` ids and ``(n, dim)`` L2-normalised vectors, streamed.
    dim : int
        Vector dimension.
    memory_budget : int
        Bytes: bounds the training sample and the shards held while building.
    stamp : dict, optional
        Kept in the manifest (the collection's generation).
    progress : callable, optional
        ``progress(done, total)`` over the steps (write, train, encode shards, tune).
    """
    import faiss

    with atomic_dir(folder) as tmp:
        shard_rows = index_layout(0, dim, memory_budget)["shard_rows"]
        shards = _write_shards(tmp, chunks, 0, shard_rows, dim, 0, cancel)
        n = sum(s["rows"] for s in shards)
        lay = index_layout(n, dim, memory_budget)
        if n < 39 * 8:
            raise InvalidInputError(f"an IVF-PQ index needs at least {39 * 8} vectors, got {n}")
        steps = len(shards) + 3
        report(progress, 1, steps)
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(n, size=lay["sample"], replace=False))
        starts = np.cumsum([0] + [s["rows"] for s in shards])
        row_files = [RowFile(tmp / s["f16"]) for s in shards]
        sample = read_shard_rows(row_files, starts, rows, dim)  # before the index exists
        nbits = 8 if lay["sample"] >= 256 * 39 else 6
        key = f"IVF{lay['nlist']}_HNSW32,PQ{lay['m']}x{nbits}"
        index = faiss.index_factory(dim, key, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.seed, ivf.cp.niter = seed, 12
        index.train(sample)
        trained = tmp / "trained.faiss"
        with atomic_path(trained) as t:
            faiss.write_index(index, str(t))
        del index
        report(progress, 2, steps)
        for i, s in enumerate(shards):
            _encode_shard(tmp, trained, s)
            report(progress, 3 + i, steps)
        manifest = {
            "format": 1, "factory": key, "nlist": lay["nlist"], "m": lay["m"], "dim": dim,
            "merged": _merge(tmp, trained, shards), "shards": shards, "removed": None,
            "nprobe": 1, "rerank": RERANK, "recall": None, "trained_on": n,
            "shard_rows": lay["shard_rows"], **(stamp or {}),
        }  # fmt: skip
        vi = IvfPqIndex(tmp, manifest)
        nprobe, recall = _tune(vi, sample, _shard_blocks(tmp, shards), target_recall, seed)
        manifest.update(nprobe=nprobe, recall=recall, rerank=vi.rerank)
        write_json(tmp / MANIFEST, manifest, indent=None)
        report(progress, steps, steps)
    return IvfPqIndex.open(folder)


def extend_ivfpq(
    folder: str | os.PathLike,
    new_chunks: Chunks,
    removed_ids: np.ndarray,
    *,
    stamp: dict | None = None,
    cancel=None,
) -> IvfPqIndex:
    """Add new vectors and drop removed ids, keeping the trained index and ``nprobe``.

    New vectors are encoded into new shards; every shard's lists are merged into a new
    on-disk file; the new manifest is written last and old merged files removed after.
    """
    folder = check_plain_folder(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise InvalidInputError(f"{folder} holds no index to extend")
    old = IvfPqIndex(folder, manifest)
    shards = list(manifest["shards"])
    new = _write_shards(folder, new_chunks, old.rows, int(manifest["shard_rows"]),
                        int(manifest["dim"]), len(shards), cancel)  # fmt: skip
    for s in new:
        _encode_shard(folder, folder / "trained.faiss", s)
    removed = old.removed
    if len(removed_ids):
        all_ids = old.row_ids()
        rows = np.flatnonzero(np.isin(all_ids, removed_ids))
        removed = np.union1d(removed, rows).astype(np.int64)
    updated = {**manifest, "shards": shards + new, **(stamp or {})}
    if new:
        updated["merged"] = _merge(folder, folder / "trained.faiss", shards + new)
    if len(removed) != len(old.removed):
        name = f"removed-{secrets.token_hex(4)}.npy"
        _write_npy(folder / name, removed)
        updated["removed"] = name
    write_json(folder / MANIFEST, updated, indent=None)
    fsync_dir(folder)
    _remove_orphans(folder, updated)
    return IvfPqIndex(folder, updated)


def _remove_orphans(folder: Path, manifest: dict) -> None:
    """Delete files no manifest refers to (left by an older version or a killed run)."""
    keep = {MANIFEST, "trained.faiss", manifest["merged"], manifest.get("removed")}
    keep |= {manifest["merged"].replace(".faiss", ".ivfdata")}
    for s in manifest["shards"]:
        keep |= {s["f16"], s["ids"], f"{s['name']}.faiss"}
    for entry in folder.iterdir():
        if entry.name not in keep and entry.is_file():
            try:
                entry.unlink(missing_ok=True)
            except OSError:
                pass  # still mapped by a reader (Windows): the next change removes it
