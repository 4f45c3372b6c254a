"""Caption, label, map or embed a whole archive: locally, or on a Dask cluster.

An output folder holds::

    OUT/batch.json              the task settings (a resume must use the same)
    OUT/parts/part-*.parquet    rows of each finished chunk of files
    OUT/heatmaps/*.npy          heatmap task: one float32 map per image
    OUT/results.parquet, .csv   the merged table, written at the end

Every file is written whole or not at all (see :mod:`napari_clipcap.core.io.atomic`),
and a chunk's part file only after the chunk is done (its heatmaps first), so stopping a
run at any moment loses at most the chunks in flight: running the same command again
removes what the stopped one left half-written, skips every file that has rows and
carries on. Files that cannot be read, or that make
the model fail, get a row with the ``error`` column set; the run goes on.

``workers=N`` starts a local Dask cluster of N single-threaded worker processes;
``scheduler=ADDRESS`` uses an existing ``dask.distributed`` cluster (its workers must
see the input paths). Every worker loads the model once and keeps it. Chunks are the
same whatever runs them, so the table is the same as a local run's.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InvalidInputError
from ..io.atomic import atomic_file, atomic_path, remove_temporaries, write_json
from ..io.sources import find_images
from ..jobs import CancelFlag, ProgressCallback, check_cancel, report
from .chunks import BatchSpec, heatmap_name, run_chunk


@dataclass
class BatchReport:
    """Counts of a batch run, and where its table is."""

    files: int
    skipped: int
    processed: int
    rows: int
    errors: int
    parquet: str
    csv: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _load_spec(out: Path, spec: BatchSpec) -> None:
    """Record the settings of a new run, or check that a resumed run has the same."""
    path = out / "batch.json"
    has_parts = any((out / "parts").glob("part-*.parquet"))
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except ValueError as exc:
            if not path.stat().st_size and not has_parts:
                # emptied by a kill under an older version, nothing done since: record anew
                write_json(path, spec.to_dict())
                return
            raise FileFormatError(
                f"{path} is not readable JSON ({exc}); use another --out folder or delete it"
            ) from None
        mine = spec.to_dict()
        for key in ("device", "batch_size"):  # may change between runs
            saved.pop(key, None)
            mine.pop(key, None)
        if saved != mine:
            diff = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
            raise InvalidInputError(
                f"{out} holds results of another batch run (differs in: {', '.join(diff)}); "
                "use another --out folder or the same settings to resume"
            )
    else:
        write_json(path, spec.to_dict())


def read_parts(out: str | os.PathLike):
    """All rows written so far, as a DataFrame; a file's latest part replaces older ones."""
    import pandas as pd

    parts = sorted((Path(out) / "parts").glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    df = pd.concat(
        [pd.read_parquet(p).assign(_part=i) for i, p in enumerate(parts)], ignore_index=True
    )
    latest = df.groupby("path")["_part"].transform("max")
    return df[df["_part"] == latest].drop(columns="_part").reset_index(drop=True)


def _write_part(out: Path, seq: int, rows: list[dict]) -> None:
    import pandas as pd

    for row in rows:
        arr = row.pop("heatmap_array", None)
        if arr is not None:
            name = heatmap_name(row["path"], row["hdu"])
            with atomic_file(out / "heatmaps" / name) as f:
                np.save(f, arr)
            row["heatmap"] = f"heatmaps/{name}"
    df = pd.DataFrame(rows)
    if "hdu" in df.columns:
        df["hdu"] = df["hdu"].astype("Int64")
    for col in ("width", "height", "reduced_by"):
        if col in df.columns:
            df[col] = df[col].astype("Int64")
    if "embedding" in df.columns:
        df["embedding"] = [
            np.asarray(v, dtype=np.float32) if isinstance(v, np.ndarray) else None
            for v in df["embedding"]
        ]
    final = out / "parts" / f"part-{seq:07d}-{uuid.uuid4().hex[:8]}.parquet"
    with atomic_path(final) as tmp:  # last: its arrival marks the chunk as done
        df.to_parquet(tmp, index=False)


def _vector_text(v) -> str:
    """A float32 vector as JSON text that reads back exactly (9 significant digits)."""
    if v is None or np.ndim(v) == 0:  # no vector: an error row (NaN when its part had none)
        return ""
    return "[" + ",".join(f"{x:.9g}" for x in v) + "]"


def _merge(out: Path, order: dict[str, int]) -> tuple[int, int]:
    df = read_parts(out)
    if df.empty:
        df = __import__("pandas").DataFrame(columns=["path", "hdu", "error"])
    df = df.assign(_o=df["path"].map(order).fillna(len(order)))
    sort = ["_o", "path"] + [c for c in ("hdu",) if c in df.columns]
    df = df.sort_values(sort, kind="stable").drop(columns="_o").reset_index(drop=True)
    with atomic_path(out / "results.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    csv = df.copy()
    if "embedding" in csv.columns:
        csv["embedding"] = [_vector_text(v) for v in csv["embedding"]]
    with atomic_path(out / "results.csv") as tmp:
        csv.to_csv(tmp, index=False)
    return len(df), int(df["error"].notna().sum()) if "error" in df.columns else 0


def run_batch(
    inputs: Iterable[str | os.PathLike],
    spec: BatchSpec,
    out: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    chunk_size: int = 8,
    retry_errors: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> BatchReport:
    """Run ``spec.task`` over every image under ``inputs``; write the table to ``out``.

    Parameters
    ----------
    inputs : iterable of path
        Image files and folders (searched recursively).
    spec : BatchSpec
        The task and its model settings.
    out : path
        Output folder; an earlier run's folder is resumed.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler.
    workers : int, optional
        Start a local Dask cluster with this many worker processes.
    chunk_size : int
        Files per chunk (the unit of work, of resuming and of a part file).
    retry_errors : bool
        Process again the files whose earlier rows hold an error.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`; progress counts files.

    Returns
    -------
    BatchReport
    """
    if scheduler and workers:
        raise InvalidInputError("give either a scheduler address or a number of workers")
    if int(chunk_size) < 1:
        raise InvalidInputError(f"chunk size must be at least 1, got {chunk_size}")
    if workers is not None and int(workers) < 0:
        raise InvalidInputError(f"number of workers must not be negative, got {workers}")
    files = find_images(inputs)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} is a file; give a folder for the results")
    try:
        (out / "parts").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot create the output folder {out}: {exc.strerror or exc}"
        ) from exc
    (out / "heatmaps").mkdir(exist_ok=True)
    for folder in (out, out / "parts", out / "heatmaps"):
        remove_temporaries(folder)  # left by a run that was killed mid-write
    _load_spec(out, spec)
    done_df = read_parts(out)
    done: set[str] = set()
    if not done_df.empty:
        ok = done_df if not retry_errors else done_df[done_df["error"].isna()]
        done = set(ok["path"])
    todo = [f for f in files if f not in done]
    chunks = [todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)]
    seq = len(list((out / "parts").glob("part-*.parquet")))
    results = _results(spec.to_dict(), chunks, scheduler, workers, cancel)
    finished = 0
    for seq_i, rows in enumerate(results, seq):
        _write_part(out, seq_i, rows)
        finished += len({r["path"] for r in rows})
        report(progress, finished, len(todo))
    n_rows, n_err = _merge(out, {p: i for i, p in enumerate(files)})
    return BatchReport(
        len(files),
        len(files) - len(todo),
        len(todo),
        n_rows,
        n_err,
        str(out / "results.parquet"),
        str(out / "results.csv"),
    )


def _results(spec_dict: dict, chunks: list[list[str]], scheduler, workers, cancel):
    """Yield each chunk's rows as chunks finish (any order)."""
    if not scheduler and not workers:
        for chunk in chunks:
            check_cancel(cancel)
            yield run_chunk(spec_dict, chunk)
        return
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if workers:
        cluster = LocalCluster(
            n_workers=int(workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        pending = iter(chunks)
        first = [
            client.submit(run_chunk, spec_dict, c, pure=False)
            for c, _ in zip(pending, range(4 * n_workers))
        ]
        queue = as_completed(first)
        for fut in queue:
            check_cancel(cancel)
            rows = fut.result()
            nxt = next(pending, None)
            if nxt is not None:
                queue.add(client.submit(run_chunk, spec_dict, nxt, pure=False))
            yield rows
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
