"""One writer at a time: the lock an indexing run holds on its collection folder.

The lock is an operating-system lock on ``DIR/index.lock`` (``flock`` on POSIX,
``msvcrt.locking`` on Windows), so it is released when its process ends, even by a kill:
a crashed run never leaves a collection locked. The file itself stays; it holds the
process id of the last holder, for the message a second run gets.

A received collection may hold anything under that name: the lock is opened without
following a symbolic link (``O_NOFOLLOW``) and must be a regular file with a single
link, or the run is refused before it writes a byte (``index.lock -> ~/thesis.tex``
must not truncate the thesis).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InvalidInputError

__all__ = ["LOCK_NAME", "CollectionBusyError", "collection_lock"]

LOCK_NAME = "index.lock"


class CollectionBusyError(InvalidInputError):
    """Another process is writing to the collection."""


def _open_lock_file(path: Path) -> int:
    """Open (or create) the lock file itself, never what a link or odd entry points at."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    refuse = (
        f"collection {path.parent}: {LOCK_NAME} is not a plain file (a link or a special "
        "file); remove it and run again"
    )
    if path.is_symlink():  # Windows has no O_NOFOLLOW: look before opening
        raise InvalidInputError(refuse)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise InvalidInputError(f"{refuse} ({exc.strerror})") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        raise InvalidInputError(refuse)
    return fd


def _try_lock(fd: int) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        pid = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


@contextmanager
def collection_lock(
    folder: str | os.PathLike, *, wait: float | None = 0.0, poll: float = 0.2
) -> Iterator[None]:
    """Hold the collection's write lock for the duration of the block.

    Parameters
    ----------
    folder : str or os.PathLike
        The collection folder (it must exist).
    wait : float or None
        Seconds to wait for another writer to finish: 0 refuses at once, None waits as
        long as it takes.
    poll : float
        Seconds between tries while waiting.

    Raises
    ------
    CollectionBusyError
        If another process still holds the lock after ``wait`` seconds.
    InvalidInputError
        If ``index.lock`` is a symbolic link, a hard link to another file, or not a
        regular file.
    """
    path = Path(folder) / LOCK_NAME
    fd = _open_lock_file(path)
    try:
        deadline = None if wait is None else time.monotonic() + max(0.0, wait)
        while not _try_lock(fd):
            if deadline is not None and time.monotonic() >= deadline:
                raise CollectionBusyError(
                    f"collection {folder} is being written by another indexing run"
                    f"{_holder(fd)}; wait for it to finish (or pass --wait SECONDS)"
                )
            time.sleep(poll)
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, str(os.getpid()).encode("ascii"))
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
