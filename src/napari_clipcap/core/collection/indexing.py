"""Build and update a collection: embed every image unit of the given paths.

Re-running is incremental. A file whose size and modification time match the
collection's record is skipped without being read; one whose time changed but whose
content hash did not is only re-stamped; a changed file is re-embedded (its old items are
replaced in the same transaction). Under the paths given, files that no longer exist are
dropped; entries of files elsewhere are kept (their folder may be on a drive that is not
mounted) and only counted as ``missing``.

A file that failed for any reason (unreadable, corrupt, above the pixel budget and not
readable reduced, a loader's own exception) has a record with its error and no items;
the run goes on with the next file. The
next run tries it again even when it is unchanged on disk: failures are few and usually
fail fast, and a fixed permission or a newly installed codec changes nothing on disk. A
repeated failure is reported with ``"unchanged": True``; a file that now reads is
``added``.

Work is committed file group by file group (at least ``batch_size`` images, never
splitting a file), so an interruption keeps every committed group and the next run
continues with the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import Cancelled, CountMismatchError, InvalidInputError
from ..io.sources import (
    failure_text,
    file_hash,
    find_images,
    list_units,
    load_unit,
    thumbnail_png,
)
from ..jobs import CancelFlag, ProgressCallback, check_cancel, report
from .lock import collection_lock
from .records import model_id_of
from .store import Collection, FileRecord, NewItem

Loader = Callable[[str, "int | None"], np.ndarray]


@dataclass
class IndexReport:
    """What an indexing run did, counted in files except ``items`` and ``embedded``.

    Every file found under the paths is exactly one of ``added``, ``updated``,
    ``unchanged`` or ``failed``, so they sum to ``files``. ``failed`` lists
    ``{"path", "error", "unchanged"}``, ``unchanged`` being true for a file that failed in
    an earlier run and has not changed since. ``removed`` counts entries dropped because
    their file is gone from under the paths; ``missing`` the entries kept although their
    file, outside the paths, no longer exists.
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict] = field(default_factory=list)
    items: int = 0
    embedded: int = 0
    index_kind: str = ""
    files: int = 0
    missing: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def prove(self) -> None:
        """Raise :class:`CountMismatchError` unless every file is counted exactly once
        (files = added + updated + unchanged + failed)."""
        counted = self.added + self.updated + self.unchanged + len(self.failed)
        if counted != self.files or len({f["path"] for f in self.failed}) != len(self.failed):
            raise CountMismatchError(
                f"index: {self.files} files found but {counted} counted (added "
                f"{self.added}, updated {self.updated}, unchanged {self.unchanged}, failed "
                f"{len(self.failed)}); the collection holds what was written"
            )


@dataclass(frozen=True)
class _Todo:
    """A file to read: new, changed, or failed before."""

    path: str
    st: os.stat_result
    digest: str
    indexed: bool  # has items from an earlier run: success counts as "updated"
    repeat: bool  # failed in an earlier run, unchanged since
    error: str | None = None  # already failed while planning (cannot be read)


def _read_error(path: str, exc: OSError) -> str:
    return f"{path}: cannot read file: {exc.strerror or exc}"


def _plan(
    col: Collection, files: list[str], rep: IndexReport, cancel: CancelFlag | None
) -> list[_Todo]:
    """Return the files to read; count the unchanged ones and those that vanished."""
    todo, records = [], col.file_records()
    for path in files:
        check_cancel(cancel)  # hashing new files reads them: stay cancellable
        rec = records.get(path)
        try:
            st = os.stat(path)
        except OSError as exc:  # gone or unreadable since the folder was listed
            rep.failed.append({"path": path, "error": _read_error(path, exc), "unchanged": False})
            continue
        same_stamp = rec is not None and (rec.size, rec.mtime_ns) == (st.st_size, st.st_mtime_ns)
        if same_stamp and rec.error is None:
            rep.unchanged += 1
            continue
        failed_before = rec is not None and rec.error is not None
        indexed = rec is not None and rec.error is None
        try:
            digest = rec.hash if same_stamp and rec.hash else file_hash(path)
        except OSError as exc:
            error = _read_error(path, exc)
            todo.append(_Todo(path, st, "", indexed, failed_before and same_stamp, error))
            continue
        same_content = rec is not None and rec.hash == digest
        if same_content and not failed_before:
            col.touch_file(path, st.st_size, st.st_mtime_ns)
            rep.unchanged += 1
            continue
        todo.append(_Todo(path, st, digest, indexed, failed_before and same_content))
    return todo


def _drop_gone(col: Collection, paths: list[Path], found: set[str], rep: IndexReport) -> None:
    """Drop the entries of files gone from under ``paths``; count those gone elsewhere."""
    gone = []
    for p in col.file_paths():
        if p in found or os.path.exists(p):
            continue
        if any(Path(p).is_relative_to(root) for root in paths):
            gone.append(p)
        else:
            rep.missing += 1
    col.remove_files(gone)
    rep.removed = len(gone)


def index_paths(
    folder: str | os.PathLike,
    paths: Iterable[str | os.PathLike],
    clip,
    *,
    model: str | None = None,
    weights: str | None = None,
    batch_size: int = 16,
    thumb_size: int = 128,
    approximate: bool | str = "auto",
    loader: Loader = load_unit,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    wait: float | None = 0.0,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    device: str = "auto",
    memory_budget: int | None = None,
) -> IndexReport:
    """Embed the images under ``paths`` into the collection at ``folder``.

    Parameters
    ----------
    folder : str or os.PathLike
        Collection folder; created when missing.
    paths : iterable of path
        Image files and folders (searched recursively). Entries of files that are gone
        from under them are dropped; other entries are left alone.
    clip : object or None
        Encoder from :func:`napari_clipcap.load_clip` (``encode_images`` and ``name``);
        None when the images are embedded on a Dask cluster.
    model, weights : str, optional
        The ``load_clip`` arguments that made ``clip``; recorded so ``search`` can load
        the same model, and used as its id when ``clip`` has no ``name``.
    batch_size : int
        Images per encoder call and (at least) per committed transaction.
    approximate : {"auto", True, False}
        Index kind; ``"auto"`` builds an IVF index from 100,000 vectors.
    loader : callable
        ``loader(path, hdu) -> H x W x 3`` float32 image (default :func:`load_unit`).
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`; progress counts files to read. ``cancel``
        is also checked while new files are hashed.
    wait : float or None
        Seconds to wait while another run writes to the collection (0: refuse at once,
        None: as long as it takes); see :mod:`napari_clipcap.core.collection.lock`.
    workers, scheduler, client
        Embed on Dask (:mod:`.distributed`): a new local cluster of ``workers``
        processes, the cluster at ``scheduler``, or an open ``distributed.Client``.
        Each worker loads ``model``/``weights`` once (on ``device``); the default
        ``loader`` is used there.
    memory_budget : int, optional
        Bytes the search index may hold in memory (default: a quarter of the RAM).

    Returns
    -------
    IndexReport

    Raises
    ------
    ModelMismatchError
        If the collection was built with another model.
    CollectionBusyError
        If another indexing run still writes to the collection after ``wait`` seconds.
    Cancelled
        When ``cancel`` is set; everything committed so far is kept.
    """
    remote = bool(workers or scheduler or client is not None)
    if scheduler:
        from ..distributed import check_scheduler_address

        check_scheduler_address(scheduler)  # before the collection is touched
    if clip is None and not remote:
        raise InvalidInputError("give an encoder, or workers or a scheduler to embed on")
    paths = list(paths)
    files = find_images(paths)
    roots = [Path(p).expanduser().resolve() for p in paths]
    rep = IndexReport(files=len(files))
    model_id = model_id_of(clip, model, weights)
    with (
        Collection(folder, create=True, memory_budget=memory_budget) as col,
        collection_lock(col.folder, wait=wait),
    ):
        col.bind_model(model_id, model, weights)
        _drop_gone(col, roots, set(files), rep)
        todo = _plan(col, files, rep, cancel)
        if remote:
            from .distributed import run_remote

            run_remote(col, todo, rep, model_id, model, weights, device, batch_size,
                        thumb_size, workers, scheduler, client, progress, cancel)  # fmt: skip
        else:
            _run_local(col, todo, rep, clip, loader, batch_size, thumb_size, progress, cancel)
        index = col.vector_index(approximate=approximate)
        rep.items, rep.index_kind = len(col), index.kind
    rep.prove()
    return rep


def _run_local(col, todo, rep, clip, loader, batch_size, thumb_size, progress, cancel) -> None:
    group: list[tuple[FileRecord, list[tuple[int | None, np.ndarray]]]] = []
    n_images = 0
    for done, t in enumerate(todo, 1):
        check_cancel(cancel)
        units, error = [], t.error
        if error is None:
            try:
                units = [(hdu, loader(t.path, hdu)) for hdu in list_units(t.path)]
            except Cancelled:
                raise
            except Exception as exc:  # one bad file never stops the run
                error = failure_text(t.path, exc)
        if error is None:
            rep.updated += t.indexed
            rep.added += not t.indexed
        else:
            rep.failed.append({"path": t.path, "error": error, "unchanged": t.repeat})
        rec = FileRecord(t.path, t.st.st_size, t.st.st_mtime_ns, t.digest, error)
        group.append((rec, units))
        n_images += len(units)
        if n_images >= batch_size or done == len(todo):
            rep.embedded += _flush(col, clip, group, batch_size, thumb_size)
            group, n_images = [], 0
        report(progress, done, len(todo))
    if group:
        rep.embedded += _flush(col, clip, group, batch_size, thumb_size)


def _flush(col: Collection, clip, group, batch_size: int, thumb_size: int) -> int:
    """Encode a group's images and commit the group in one transaction."""
    images = [img for _, units in group for _, img in units]
    vectors = np.zeros((0, 0), dtype=np.float32)
    if images:
        vectors = np.asarray(clip.encode_images(images, batch_size=batch_size), np.float32)
    records, k = [], 0
    for rec, units in group:
        new = []
        for hdu, img in units:
            h, w = img.shape[:2]
            new.append(NewItem(hdu, w, h, vectors[k], thumbnail_png(img, thumb_size)))
            k += 1
        records.append((rec, new))
    col.write_files(records)
    return len(images)
