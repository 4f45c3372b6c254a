"""Embed a collection's images on a Dask cluster; the client stays the single writer.

``index_paths(..., workers=N)`` starts a local cluster of N single-threaded worker
processes, ``scheduler=ADDRESS`` joins a running ``dask.distributed`` cluster (its
workers must see the image paths). The client plans the run as a local run does
(what is new, changed or failed before), sends groups of files to the workers, and
writes each group's results to SQLite in one transaction as it arrives: the
collection's lock, incremental runs, retried failures and kill safety are exactly a
local run's. Workers read the images with the same loader, embed them with the model
loaded once per worker process (the one model cache) and make the thumbnails, so
only vectors and small PNGs travel back. Every result names the model that made it, and
the client refuses results from another model than the collection's.

The cluster and the submit loop are the one Dask driver's
(:mod:`napari_clipcap.core.distributed`), shared with the batch runner.
"""

from __future__ import annotations

import numpy as np

from ..distributed import bounded_map, open_cluster, run_isolated, worker_device
from ..errors import Cancelled, error_line
from ..io.sources import failure_text, list_units, load_unit, thumbnail_png
from ..jobs import report
from .records import FileRecord, ModelMismatchError, NewItem

__all__ = ["embed_files", "index_remote", "open_cluster", "run_remote"]


def embed_files(paths: list[str], spec_dict: dict, thumb_size: int) -> dict:
    """On a worker: read and embed some files; returns ``{"model", "files"}``.

    ``files`` holds per path ``{"path", "error", "units": [(hdu, width, height, vector,
    png)]}``. A file that cannot be read gets its error; if the model fails on the
    group, each file is retried alone.
    """
    from ..clip.model import load_clip

    device = worker_device(spec_dict.get("device", "auto"))
    clip = load_clip(spec_dict["clip_model"], spec_dict["clip_weights"], device=device)
    loaded, out = [], {}
    for path in paths:
        try:
            loaded.append((path, [(hdu, load_unit(path, hdu)) for hdu in list_units(path)]))
        except Cancelled:
            raise
        except Exception as exc:  # one bad file never stops the run
            out[path] = {"path": path, "error": failure_text(path, exc), "units": []}
    batch_size = spec_dict["batch_size"]
    out.update(
        run_isolated(
            loaded,
            lambda group: _encode(clip, group, batch_size, thumb_size),
            lambda item, exc: {item[0]: {"path": item[0], "error": error_line(exc), "units": []}},
        )
    )
    return {"model": clip.name, "files": [out[p] for p in paths]}


def _encode(clip, loaded, batch_size: int, thumb_size: int) -> dict:
    images = [img for _, units in loaded for _, img in units]
    vecs = np.zeros((0, 0), dtype=np.float32)
    if images:
        vecs = np.asarray(clip.encode_images(images, batch_size=batch_size), np.float32)
    out, k = {}, 0
    for path, units in loaded:
        rows = []
        for hdu, img in units:
            h, w = img.shape[:2]
            rows.append((hdu, w, h, vecs[k], thumbnail_png(img, thumb_size)))
            k += 1
        out[path] = {"path": path, "error": None, "units": rows}
    return out


def index_remote(
    col, todo: list, rep, client, *, spec: dict, model_id: str, files_per_task: int,
    thumb_size: int, progress=None, cancel=None,
) -> None:  # fmt: skip
    """Embed the planned files (``_Todo`` records) on the cluster and write the results.

    Files that failed while planning are written at once; the rest go to the workers in
    groups of ``files_per_task`` and each returning group is one transaction.
    """
    by_path = {t.path: t for t in todo}
    done = 0

    def write(results: list[dict]) -> None:
        nonlocal done
        records = []
        for r in results:
            t = by_path[r["path"]]
            error = r["error"]
            if error is None:
                rep.updated += t.indexed
                rep.added += not t.indexed
            else:
                rep.failed.append({"path": t.path, "error": error, "unchanged": t.repeat})
            rec = FileRecord(t.path, t.st.st_size, t.st.st_mtime_ns, t.digest, error)
            new = [NewItem(h, w, ht, v, png) for h, w, ht, v, png in r["units"]]
            rep.embedded += len(new)
            records.append((rec, new))
        col.write_files(records)
        done += len(results)
        report(progress, done, len(todo))

    write([{"path": t.path, "error": t.error, "units": []} for t in todo if t.error])
    paths = [t.path for t in todo if not t.error]
    groups = [paths[i : i + files_per_task] for i in range(0, len(paths), files_per_task)]
    for _, result in bounded_map(embed_files, groups, spec, thumb_size, client=client,
                                 cancel=cancel):  # fmt: skip
        if result["model"] != model_id:
            raise ModelMismatchError(
                f"a worker embedded with model {result['model']!r}, but collection "
                f"{col.folder} is built with {model_id!r}; nothing of it was written"
            )
        write(result["files"])


def run_remote(col, todo, rep, model_id, model, weights, device, batch_size, thumb_size,
                workers, scheduler, client, progress, cancel) -> None:  # fmt: skip
    """Run :func:`index_remote` on ``client`` or on a cluster opened for the run."""
    spec = {"task": "embed", "clip_model": model, "clip_weights": weights,
            "batch_size": batch_size, "device": device}  # fmt: skip
    kw = dict(spec=spec, model_id=model_id, files_per_task=batch_size, thumb_size=thumb_size,
              progress=progress, cancel=cancel)  # fmt: skip
    if not todo:
        return
    if client is not None:
        index_remote(col, todo, rep, client, **kw)
        return
    with open_cluster(workers, scheduler) as own:
        index_remote(col, todo, rep, own, **kw)
