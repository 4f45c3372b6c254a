"""Build and update a collection: embed every image unit of the given paths.

Re-running is incremental. A file whose size and modification time match the
collection's record is skipped without being read; one whose time changed but whose
content hash did not is only re-stamped; a changed file is re-embedded (its old items are
replaced in the same transaction); files that no longer exist are dropped.

Work is committed file group by file group (at least ``batch_size`` images, never
splitting a file), so an interruption keeps every committed group and the next run
continues with the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from .collection import Collection, FileRecord, NewItem
from .errors import ClipcapError
from .jobs import CancelFlag, ProgressCallback, check_cancel, report
from .sources import file_hash, find_images, list_units, load_unit, thumbnail_png

Loader = Callable[[str, "int | None"], np.ndarray]


@dataclass
class IndexReport:
    """What an indexing run did, counted in files except ``items``."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict] = field(default_factory=list)
    items: int = 0
    embedded: int = 0
    index_kind: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def model_id_of(clip, model: str | None = None, weights: str | None = None) -> str:
    """The id a collection records for an encoder: its ``name``, else ``model/weights``."""
    name = getattr(clip, "name", None)
    if name:
        return str(name)
    return f"{model}/{weights}" if weights else str(model)


def _plan(
    col: Collection, files: list[str], rep: IndexReport
) -> list[tuple[str, os.stat_result, str]]:
    """Return ``(path, stat, hash)`` of new or changed files; count the unchanged ones."""
    todo, records = [], col.file_records()
    for path in files:
        st = os.stat(path)
        rec = records.get(path)
        if rec is not None and rec.size == st.st_size and rec.mtime_ns == st.st_mtime_ns:
            rep.unchanged += 1
            continue
        digest = file_hash(path)
        if rec is not None and rec.hash == digest:
            col.touch_file(path, st.st_size, st.st_mtime_ns)
            rep.unchanged += 1
            continue
        todo.append((path, st, digest))
    return todo


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
) -> IndexReport:
    """Embed the images under ``paths`` into the collection at ``folder``.

    Parameters
    ----------
    folder : str or os.PathLike
        Collection folder; created when missing.
    paths : iterable of path
        Image files and folders (searched recursively).
    clip : object
        Encoder from :func:`napari_clipcap.load_clip` (``encode_images`` and ``name``).
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
        See :mod:`napari_clipcap.core.jobs`; progress counts files to embed.

    Returns
    -------
    IndexReport

    Raises
    ------
    ModelMismatchError
        If the collection was built with another model.
    Cancelled
        When ``cancel`` is set; everything committed so far is kept.
    """
    files = find_images(paths)
    rep = IndexReport()
    with Collection(folder, create=True) as col:
        col.bind_model(model_id_of(clip, model, weights), model, weights)
        gone = [p for p in col.file_paths() if not os.path.exists(p)]
        col.remove_files(gone)
        rep.removed = len(gone)
        known_files = set(col.file_paths())
        todo = _plan(col, files, rep)
        group: list[tuple[FileRecord, list[tuple[int | None, np.ndarray]]]] = []
        n_images = 0
        for done, (path, st, digest) in enumerate(todo, 1):
            check_cancel(cancel)
            known = path in known_files
            units, error = [], None
            try:
                units = [(hdu, loader(path, hdu)) for hdu in list_units(path)]
            except ClipcapError as exc:
                error = str(exc)
                rep.failed.append({"path": path, "error": error})
            if error is None:
                rep.updated += known
                rep.added += not known
            group.append((FileRecord(path, st.st_size, st.st_mtime_ns, digest, error), units))
            n_images += len(units)
            if n_images >= batch_size or done == len(todo):
                rep.embedded += _flush(col, clip, group, batch_size, thumb_size)
                group, n_images = [], 0
            report(progress, done, len(todo))
        if group:
            rep.embedded += _flush(col, clip, group, batch_size, thumb_size)
        index = col.vector_index(approximate=approximate)
        rep.items, rep.index_kind = len(col), index.kind
    return rep


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
