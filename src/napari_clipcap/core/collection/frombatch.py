"""Import the embeddings of a ``batch --task embed`` run into a collection.

The run's vectors go into SQLite as they are, nothing is embedded again. The run's
model (``batch.json``) must be the collection's: a new collection takes it, another
model is refused before anything is written. Files are recorded with their size and
modification time at import, so a later ``index`` run over the same folders skips them;
a file modified after its part file was written (so after it was embedded), or gone, is
recorded as failed, and the next ``index`` run embeds it. Rows with an error are
recorded as failures too, and retried by the next ``index`` run. Imported items have
no thumbnail (the Search dock shows their name until an ``index`` run re-embeds them).

Files are written in transactions of a few hundred; a kill keeps the committed ones
and running the import again finishes it (files already imported with the same stamp
are counted unchanged).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InvalidInputError
from ..jobs import CancelFlag, ProgressCallback, check_cancel, report
from .indexing import IndexReport
from .lock import collection_lock
from .records import FileRecord, NewItem, clip_name
from .store import Collection

__all__ = ["import_batch", "read_run"]

GROUP = 500


def read_run(run_dir: str | os.PathLike) -> tuple[dict, dict[str, tuple[list[dict], int]]]:
    """``(settings, rows)`` of a batch run: rows per path, with the written time (ns) of
    the part file that holds them (a later part replaces a file's earlier rows).

    Raises
    ------
    InvalidInputError
        If the folder is not a batch run, or not one of the embed task.
    """
    import pandas as pd

    run = Path(run_dir)
    try:
        spec = json.loads((run / "batch.json").read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            f"{run} is not a batch run (no readable batch.json: {exc}); give the --out "
            "folder of `napari-clipcap batch --task embed`"
        ) from None
    if spec.get("task") != "embed":
        raise InvalidInputError(
            f"{run} is a batch run of task {spec.get('task')!r}; only --task embed runs "
            "hold embeddings to import"
        )
    rows: dict[str, tuple[list[dict], int]] = {}
    for part in sorted((run / "parts").glob("part-*.parquet")):
        try:
            df = pd.read_parquet(part)
            stamp = part.stat().st_mtime_ns
        except (OSError, ValueError) as exc:
            raise FileFormatError(f"{part}: unreadable batch part: {exc}") from exc
        for path, group in df.groupby("path", sort=False):
            rows[str(path)] = (group.to_dict("records"), stamp)
    return spec, rows


def _unit(row: dict) -> NewItem:
    import pandas as pd

    hdu = row.get("hdu")
    hdu = None if hdu is None or pd.isna(hdu) else int(hdu)
    vec = np.asarray(row["embedding"], dtype=np.float32)
    return NewItem(hdu, int(row["width"]), int(row["height"]), vec, b"")


def _record(path: str, rows: list[dict], written_ns: int) -> tuple[FileRecord, list[NewItem]]:
    """The record and items of one file, or a failure to retry with ``index``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return FileRecord(path, 0, 0, "", f"{path}: cannot read file: {exc.strerror}"), []
    errors = [r["error"] for r in rows if isinstance(r.get("error"), str) and r["error"]]
    if not errors and st.st_mtime_ns > written_ns:
        errors = [f"{path}: changed after the batch run embedded it; run index to embed it"]
    if errors:
        return FileRecord(path, st.st_size, st.st_mtime_ns, "", errors[0]), []
    return FileRecord(path, st.st_size, st.st_mtime_ns, "", None), [_unit(r) for r in rows]


def import_batch(
    folder: str | os.PathLike,
    run_dir: str | os.PathLike,
    *,
    memory_budget: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    wait: float | None = 0.0,
) -> IndexReport:
    """Import a ``batch --task embed`` run's vectors into the collection at ``folder``.

    Parameters
    ----------
    folder : path
        Collection folder; created when missing.
    run_dir : path
        The batch run's ``--out`` folder.
    memory_budget : int, optional
        Bytes the search index may hold in memory (default: a quarter of the RAM).
    progress, cancel, wait
        As for :func:`~napari_clipcap.core.collection.indexing.index_paths`.

    Returns
    -------
    IndexReport
        ``embedded`` counts the imported vectors.

    Raises
    ------
    ModelMismatchError
        If the run's model is not the collection's.
    """
    spec, rows = read_run(run_dir)
    model, weights = spec.get("clip_model"), spec.get("clip_weights")
    rep = IndexReport(files=len(rows))
    with (
        Collection(folder, create=True, memory_budget=memory_budget) as col,
        collection_lock(col.folder, wait=wait),
    ):
        col.bind_model(clip_name(model, weights), model, weights)
        known, batch = col.file_records(), []
        for done, (path, (file_rows, written)) in enumerate(rows.items(), 1):
            check_cancel(cancel)
            rec, items = _record(path, file_rows, written)
            old = known.get(path)
            if old and old.error is None and (old.size, old.mtime_ns) == (rec.size, rec.mtime_ns):
                rep.unchanged += 1
                continue
            if rec.error:
                repeat = bool(old and old.error)
                rep.failed.append({"path": path, "error": rec.error, "unchanged": repeat})
            else:
                rep.updated += bool(old and old.error is None)
                rep.added += not (old and old.error is None)
                rep.embedded += len(items)
            batch.append((rec, items))
            if len(batch) >= GROUP:
                col.write_files(batch)
                batch = []
            report(progress, done, len(rows))
        col.write_files(batch)
        index = col.vector_index()
        rep.items, rep.index_kind = len(col), index.kind
    return rep
