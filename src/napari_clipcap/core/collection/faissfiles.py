"""Reading FAISS files that someone else may have written: only the project's formats.

A collection folder is data a user may have received. A FAISS file is not only numbers:
an IVF index may keep its inverted lists in another file (``OnDiskInvertedLists``),
named inside the index, which ``faiss.read_index`` opens, for writing unless told
otherwise, relative to the current folder. So a received ``vectors.faiss`` could make
the plugin write into ``~/.bashrc``. Every FAISS file the collection reads goes through
here instead:

- the file must be a regular file (not a link, not a folder) where it is expected;
- it is first *probed* with ``IO_FLAG_READ_ONLY | IO_FLAG_MMAP``: in-file lists are
  mapped read-only from the file itself and lists kept elsewhere are described but not
  opened, so the probe touches no other file;
- the probed object must be one of the structures the project writes (:data:`KINDS`):
  its classes are compared exactly, the metric must be inner product, and any inverted
  lists must live in the file itself;
- only then is it read for use, read-only; the on-disk lists of the project's own IVF-PQ
  index (:mod:`.ivfpq`) are mapped only from the data file its manifest names, inside
  its folder, never from the name stored in the index.

Anything else raises :class:`UntrustedIndexError` (a :class:`FileFormatError`): callers
rebuild the index from the SQLite vectors, which are the collection's source of truth.
"""

from __future__ import annotations

import itertools
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError

__all__ = [
    "KINDS",
    "UntrustedIndexError",
    "check_plain_file",
    "check_plain_folder",
    "index_kind",
    "probe_index",
    "quiet_stdout",
    "read_index",
    "read_ondisk_index",
]

#: The structures the project writes, by kind: ``exact`` (``IndexIDMap2`` over
#: ``IndexFlatIP``), ``ivf`` (``IndexIVFFlat`` over an ``IndexFlatIP`` quantizer) and
#: ``ivfpq`` (``IndexIVFPQ`` over an ``IndexHNSWFlat`` quantizer, from the factory
#: string ``IVFn_HNSW32,PQm``).
KINDS = ("exact", "ivf", "ivfpq")


class UntrustedIndexError(FileFormatError):
    """A FAISS file that is not one the project writes (or not where it should be)."""


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence C-level prints to stdout (FAISS's on-disk lists report every file they
    open or resize there, which would corrupt ``--json`` output)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (a GUI process): nothing to protect
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def check_plain_file(path: str | os.PathLike) -> Path:
    """``path`` itself, if it is a regular file and not a symbolic link.

    Raises
    ------
    UntrustedIndexError
        If it is missing, a link, a folder or a special file.
    """
    path = Path(path)
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise UntrustedIndexError(f"cannot read vector index {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise UntrustedIndexError(f"vector index {path} is not a plain file (a link?)")
    return path


def check_plain_folder(path: str | os.PathLike) -> Path:
    """``path`` itself, if it is a folder and not a symbolic link (else raises)."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise UntrustedIndexError(f"cannot read vector index {path}: {exc.strerror}") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise UntrustedIndexError(f"vector index {path} is not a plain folder (a link?)")
    return path


def _read(path: Path, flags: int):
    import faiss

    try:
        with quiet_stdout():
            return faiss.read_index(str(path), flags)
    except (RuntimeError, MemoryError, OverflowError, ValueError) as exc:
        raise UntrustedIndexError(f"cannot read vector index {path}: {exc}") from exc


def _exact_class(obj, name: str) -> bool:
    import faiss

    return type(obj) is getattr(faiss, name)


def index_kind(index) -> str:
    """The kind (one of :data:`KINDS`) of a loaded index, judged by its classes.

    Raises
    ------
    UntrustedIndexError
        If the index is of any other structure or metric.
    """
    import faiss

    top = faiss.downcast_index(index)
    if _exact_class(top, "IndexIDMap2"):
        if _exact_class(faiss.downcast_index(top.index), "IndexFlatIP"):
            return "exact"
    elif top.metric_type == faiss.METRIC_INNER_PRODUCT:
        quantizer = faiss.downcast_index(top.quantizer) if hasattr(top, "quantizer") else None
        if _exact_class(top, "IndexIVFFlat") and _exact_class(quantizer, "IndexFlatIP"):
            return "ivf"
        if _exact_class(top, "IndexIVFPQ") and _exact_class(quantizer, "IndexHNSWFlat"):
            storage = faiss.downcast_index(quantizer.storage)
            if _exact_class(storage, "IndexFlatL2") or _exact_class(storage, "IndexFlatIP"):
                return "ivfpq"
    raise UntrustedIndexError(
        f"vector index of type {type(top).__name__} is not one this project writes"
    )


def _lists(index):
    import faiss

    return faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists)


def probe_index(path: str | os.PathLike, kinds=KINDS) -> str:
    """Check a FAISS file without opening any other file; returns its kind.

    The file is read with ``IO_FLAG_READ_ONLY | IO_FLAG_MMAP``: inverted lists stored in
    the file are mapped read-only from it, lists stored elsewhere keep their file name
    but are not opened. Such a name (an ``OnDiskInvertedLists``) is refused.

    Raises
    ------
    UntrustedIndexError
        If the file is not a plain file, not of one of ``kinds``, or names another file.
    """
    import faiss

    path = check_plain_file(path)
    probe = _read(path, faiss.IO_FLAG_READ_ONLY | faiss.IO_FLAG_MMAP)
    kind = index_kind(probe)
    if kind not in kinds:
        raise UntrustedIndexError(f"vector index {path} is of kind {kind!r}, not {kinds}")
    if kind != "exact" and _lists(probe).filename:
        raise UntrustedIndexError(
            f"vector index {path} keeps its lists in another file; refused (never followed)"
        )
    return kind


def read_index(path: str | os.PathLike, kinds=KINDS) -> tuple[object, str]:
    """Read a FAISS file of one of ``kinds`` whole into memory, read-only; ``(index, kind)``.

    The file is probed first (:func:`probe_index`), so nothing it names is ever opened.

    Raises
    ------
    UntrustedIndexError
        As :func:`probe_index`, or if the read gives another structure than the probe.
    """
    import faiss

    kind = probe_index(path, kinds)
    index = _read(Path(path), faiss.IO_FLAG_READ_ONLY)
    if index_kind(index) != kind or (
        kind != "exact" and not _exact_class(_lists(index), "ArrayInvertedLists")
    ):
        raise UntrustedIndexError(f"vector index {path} changed while it was read")
    return index, kind


def read_ondisk_index(path: str | os.PathLike, data: str | os.PathLike):
    """Open an IVF-PQ index whose lists live in ``data``, mapped read-only.

    The index is read without its lists (``IO_FLAG_SKIP_IVF_DATA``), must be an
    ``ivfpq`` with ``OnDiskInvertedLists`` whose file, taken in the index's own folder,
    is ``data``: a regular file, at least as long as the lists need. Only then is
    ``data`` mapped, read-only.

    Raises
    ------
    UntrustedIndexError
        If anything above does not hold.
    """
    import faiss

    path, data = check_plain_file(path), check_plain_file(data)
    flags = faiss.IO_FLAG_READ_ONLY | faiss.IO_FLAG_ONDISK_SAME_DIR | faiss.IO_FLAG_SKIP_IVF_DATA
    index = _read(path, flags)
    if index_kind(index) != "ivfpq":
        raise UntrustedIndexError(f"vector index {path} is not an IVF-PQ index")
    lists = _lists(index)
    if not _exact_class(lists, "OnDiskInvertedLists"):
        raise UntrustedIndexError(f"vector index {path} has no on-disk lists")
    named = os.path.abspath(lists.filename)
    if named != os.path.abspath(data) or os.lstat(data).st_size < int(lists.totsize):
        raise UntrustedIndexError(
            f"vector index {path} names lists {lists.filename!r}, not {data.name}; refused"
        )
    problem = list_layout_problem(lists, os.lstat(data).st_size)
    if problem:
        raise UntrustedIndexError(f"vector index lists {data.name}: {problem}; refused")
    lists.read_only = True
    try:
        with quiet_stdout():
            lists.do_mmap()
    except RuntimeError as exc:
        raise UntrustedIndexError(f"cannot map vector index lists {data}: {exc}") from exc
    problem = list_ids_problem(lists, int(index.ntotal))
    if problem:
        raise UntrustedIndexError(f"vector index lists {data.name}: {problem}; refused")
    return index


def list_layout_problem(lists: Any, file_size: int) -> str | None:
    """Why the on-disk lists' table does not fit their file (None when it does).

    Each list ``i`` holds ``size <= capacity`` entries of ``code_size`` code bytes and
    one int64 id, at ``offset`` in the file: every list must lie inside the file, and
    the lists must not overlap (a list pointing into another would let one list's
    codes be read as another's ids).
    """
    entry = int(lists.code_size) + 8
    spans = []
    for i in range(int(lists.nlist)):
        one = lists.lists.at(i)
        size, capacity, offset = int(one.size), int(one.capacity), int(one.offset)
        if size < 0 or capacity < size or offset < 0:
            return f"list {i} declares {size} entries in room for {capacity} at {offset}"
        if offset + capacity * entry > file_size:
            return f"list {i} runs past the end of the file ({file_size} bytes)"
        if capacity:
            spans.append((offset, offset + capacity * entry, i))
    spans.sort()
    for (_, end, i), (start, _, j) in itertools.pairwise(spans):
        if start < end:
            return f"lists {i} and {j} overlap"
    return None


def list_ids_problem(lists: Any, ntotal: int) -> str | None:
    """Why the ids stored in the (mapped) lists are not the rows ``0 .. ntotal - 1``,
    each exactly once (None when they are): each list's count and ids are checked."""
    import faiss

    found = [
        np.array(faiss.rev_swig_ptr(lists.get_ids(i), n), dtype=np.int64)
        for i in range(int(lists.nlist))
        if (n := int(lists.list_size(i)))
    ]
    ids = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
    if len(ids) != ntotal:
        return f"the lists hold {len(ids)} entries, the index says {ntotal}"
    if len(ids) and (ids.min() < 0 or ids.max() >= ntotal):
        return "a list holds a row number outside the index"
    if len(np.unique(ids)) != len(ids):
        return "a row is listed twice"
    return None
