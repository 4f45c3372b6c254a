"""Run a function over items on a Dask cluster (or in this process), a few at a time.

:func:`bounded_map` keeps at most a few items in flight per worker, yields each result
as it arrives and proves at the end that every item came back exactly once (a lost
item is a :class:`~napari_clipcap.core.errors.CountMismatchError`, never a short
table). :func:`run_isolated` is what runs on a worker: the items together, and when that
fails each one alone, so one bad file does not take its group with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from ..errors import Cancelled, CountMismatchError
from ..jobs import CancelFlag, check_cancel

__all__ = ["bounded_map", "run_isolated"]

T = TypeVar("T")
R = TypeVar("R")

#: Items in flight per worker: enough to keep each busy while results travel back.
IN_FLIGHT_PER_WORKER = 3


def bounded_map(
    fn: Callable[..., R],
    items: Sequence[T],
    *args: Any,
    client=None,
    in_flight: int | None = None,
    cancel: CancelFlag | None = None,
) -> Iterator[tuple[int, R]]:
    """Yield ``(i, fn(items[i], *args))`` for every item, in the order they finish.

    Parameters
    ----------
    fn : callable
        Run once per item, on a worker (it must be importable there) or here.
    items : sequence
        The work; each item is sent as it is.
    *args
        Passed to every call after the item.
    client : distributed.Client, optional
        Where to run; ``None`` runs the items here, one after another, in order.
    in_flight : int, optional
        Most items submitted and not yet yielded (default: 3 per worker).
    cancel : CancelFlag, optional
        Checked before each result is handed on; unfinished items are cancelled.

    Raises
    ------
    CountMismatchError
        If, after the last result, some item came back twice or not at all.
    Cancelled
        When ``cancel`` is set.
    """
    items = list(items)
    seen: list[int] = []
    if client is None:
        for i, item in enumerate(items):
            check_cancel(cancel)
            seen.append(i)
            yield i, fn(item, *args)
    else:
        yield from _on_cluster(fn, items, args, client, in_flight, cancel, seen)
    _prove_each_once(seen, len(items))


def _on_cluster(fn, items, args, client, in_flight, cancel, seen: list[int]):
    from distributed import as_completed

    from .cluster import worker_count

    limit = max(1, int(in_flight or IN_FLIGHT_PER_WORKER * worker_count(client)))
    index_of: dict[str, int] = {}
    queue = as_completed(loop=client.loop)
    next_item = 0

    def submit_one() -> None:
        nonlocal next_item
        future = client.submit(fn, items[next_item], *args, pure=False)
        index_of[future.key] = next_item
        queue.add(future)
        next_item += 1

    try:
        while next_item < len(items) and next_item < limit:
            submit_one()
        for future in queue:
            check_cancel(cancel)
            result = future.result()
            if next_item < len(items):
                submit_one()
            i = index_of.pop(future.key)
            seen.append(i)
            yield i, result
    finally:
        left = list(getattr(queue, "futures", ()))  # still running: stopped early
        if left:
            client.cancel(left)


def _prove_each_once(seen: list[int], n_items: int) -> None:
    if len(seen) == n_items and set(seen) == set(range(n_items)):
        return
    missing = n_items - len(set(seen))
    twice = len(seen) - len(set(seen))
    raise CountMismatchError(
        f"{n_items} work items were sent but {len(set(seen))} came back "
        f"({missing} missing, {twice} twice); nothing is reported as done for them"
    )


def run_isolated(
    items: Sequence[T],
    run: Callable[[Sequence[T]], dict],
    failed: Callable[[T, BaseException], dict],
) -> dict:
    """``run(items)``; if that raises, ``run([item])`` for each item alone.

    Parameters
    ----------
    items : sequence
        Work done best together (one model call for a group of images).
    run : callable
        ``run(items) -> dict`` of results keyed by item.
    failed : callable
        ``failed(item, exc) -> dict``: the result of an item that fails alone.

    Returns
    -------
    dict
        Every item's result: together, alone, or its failure.
    """
    try:
        return dict(run(items))
    except Cancelled:
        raise
    except Exception as exc:  # one bad item must not fail the others: find it
        if len(items) == 1:
            return dict(failed(items[0], exc))
    out: dict = {}
    for item in items:
        try:
            out.update(run([item]))
        except Cancelled:
            raise
        except Exception as exc:
            out.update(failed(item, exc))
    return out
