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
see the input paths); both through the one Dask driver
(:mod:`napari_clipcap.core.distributed`), which also runs the chunks of a local run.
Every worker loads the model once and keeps it. Chunks are the same whatever runs them,
so the table is the same as a local run's.

Every run proves its count before it reports: each chunk gives rows for exactly its
files, and the merged table holds every input file, one row per unit and region (one
row for a file that failed); otherwise :class:`~napari_clipcap.core.errors.
CountMismatchError` is raised instead of a report.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from ..distributed import bounded_map, check_scheduler_address, open_cluster
from ..errors import CountMismatchError, FileFormatError, InvalidInputError
from ..io.atomic import (
    atomic_file,
    atomic_path,
    check_output_folder,
    mark_output_folder,
    remove_temporaries,
    write_json,
)
from ..io.sources import find_images
from ..jobs import CancelFlag, ProgressCallback, report
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

    def prove(self) -> None:
        """Raise :class:`CountMismatchError` unless files = done earlier + processed."""
        if self.files != self.skipped + self.processed:
            raise CountMismatchError(
                f"batch: {self.files} files but {self.skipped} done earlier and "
                f"{self.processed} processed"
            )


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


def _merge(out: Path, order: dict[str, int], per_unit: int) -> tuple[int, int]:
    df = read_parts(out)
    if df.empty:
        df = __import__("pandas").DataFrame(columns=["path", "hdu", "error"])
    _prove_table(df, order, per_unit)
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


def _prove_table(df, files: Iterable[str], per_unit: int) -> None:
    """Every input file has rows: one if it failed, else ``per_unit`` per unit (HDU)."""
    missing = set(files) - set(df["path"])
    if missing:
        raise CountMismatchError(
            f"batch: {len(missing)} input files have no row in the table "
            f"(first: {sorted(missing)[0]})"
        )
    if df.empty:
        return
    ok = df[df["error"].isna()] if "error" in df.columns else df
    units = ok.groupby(["path", ok["hdu"].fillna(-1)] if "hdu" in ok.columns else ["path"])
    wrong = units.size()[lambda n: n != per_unit]
    failed = df[df["error"].notna()].groupby("path").size() if "error" in df.columns else []
    if len(wrong) or (len(failed) and (failed != 1).any()):
        raise CountMismatchError(
            f"batch: rows do not add up to files x regions ({per_unit} per unit): "
            f"{len(wrong)} units with another count"
        )


def _rows_per_unit(spec: BatchSpec) -> int:
    """Rows of one image unit: one per region for caption, labels and ask, else one."""
    return max(1, len(spec.regions)) if spec.task in ("caption", "labels", "ask") else 1


def is_batch_run(out: Path) -> bool:
    """True when ``out`` holds a batch run (from before output folders were marked)."""
    return (out / "batch.json").is_file()


def run_batch(
    inputs: Iterable[str | os.PathLike],
    spec: BatchSpec,
    out: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    chunk_size: int = 8,
    retry_errors: bool = False,
    overwrite: bool = False,
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
    overwrite : bool
        Accept an ``out`` that napari-clipcap did not create and that is not empty
        (otherwise refused); only the run's own files there are replaced.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`; progress counts files.

    Returns
    -------
    BatchReport
    """
    if scheduler and workers:
        raise InvalidInputError("give either a scheduler address or a number of workers")
    if scheduler:
        check_scheduler_address(scheduler)
    if int(chunk_size) < 1:
        raise InvalidInputError(f"chunk size must be at least 1, got {chunk_size}")
    if workers is not None and int(workers) < 0:
        raise InvalidInputError(f"number of workers must not be negative, got {workers}")
    files = find_images(inputs)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} is a file; give a folder for the results")
    check_output_folder(out, owned=is_batch_run, overwrite=overwrite)
    try:
        (out / "parts").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot create the output folder {out}: {exc.strerror or exc}"
        ) from exc
    (out / "heatmaps").mkdir(exist_ok=True)
    mark_output_folder(out, "batch")  # before anything else is written there
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
    cluster = open_cluster(workers, scheduler) if scheduler or workers else nullcontext()
    with cluster as client:
        _run_chunks(out, spec, chunks, client, progress, cancel)
    order = {p: i for i, p in enumerate(files)}
    n_rows, n_err = _merge(out, order, _rows_per_unit(spec))
    result = BatchReport(
        len(files),
        len(files) - len(todo),
        len(todo),
        n_rows,
        n_err,
        str(out / "results.parquet"),
        str(out / "results.csv"),
    )
    result.prove()
    return result


def _run_chunks(out: Path, spec: BatchSpec, chunks: list[list[str]], client, progress, cancel):
    """Run the chunks (here, or on ``client``'s cluster) and write each one's part file as
    it finishes; a chunk whose rows do not cover exactly its files is refused."""
    seq = len(list((out / "parts").glob("part-*.parquet")))
    finished, total = 0, sum(len(c) for c in chunks)
    results = bounded_map(partial(run_chunk, spec.to_dict()), chunks, client=client,
                          cancel=cancel)  # fmt: skip
    for seq_i, (i, rows) in enumerate(results, seq):
        if {r["path"] for r in rows} != set(chunks[i]):
            raise CountMismatchError(
                f"batch: a chunk of {len(chunks[i])} files gave rows for "
                f"{len({r['path'] for r in rows})}; its rows were not written"
            )
        _write_part(out, seq_i, rows)
        finished += len(chunks[i])
        report(progress, finished, total)
