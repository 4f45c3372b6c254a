"""Progress reporting and cancellation for long computations.

Compute functions in :mod:`napari_clipcap.core` take two optional keyword arguments:

``progress``
    a plain callable ``progress(done, total)`` called after each batch;
``cancel``
    a :class:`threading.Event` (or anything with ``is_set()``) checked between batches.
    When it is set the function raises :class:`~napari_clipcap.core.errors.Cancelled`
    and returns nothing partial.

The Qt layer adapts both to napari's thread workers; the command line prints a bar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .errors import Cancelled, InvalidInputError

ProgressCallback = Callable[[int, int], None]


class CancelFlag(Protocol):
    """Anything with an ``is_set()`` method, such as :class:`threading.Event`."""

    def is_set(self) -> bool: ...


def check_cancel(cancel: CancelFlag | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is set.

    Parameters
    ----------
    cancel : CancelFlag or None
        The job's cancel flag; ``None`` means the job cannot be cancelled.
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled by the user")


def report(progress: ProgressCallback | None, done: int, total: int) -> None:
    """Call ``progress(done, total)`` when a callback was given."""
    if progress is not None:
        progress(int(done), int(total))


def batched(n: int, batch_size: int) -> list[slice]:
    """Split ``range(n)`` into consecutive slices of at most ``batch_size`` items.

    Parameters
    ----------
    n : int
        Number of items.
    batch_size : int
        Largest batch; must be positive.

    Returns
    -------
    list of slice
    """
    if batch_size < 1:
        raise InvalidInputError(f"batch size must be at least 1, got {batch_size}")
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
