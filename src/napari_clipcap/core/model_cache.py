"""The one in-memory cache of loaded models: CLIP models, captioners, batch models.

Every loader keeps what it loads here under ``(kind, key)``; ``kind`` is the loader's
name (``"clip"``, ``"captioner"``) and ``key`` a tuple of the arguments that make the
model, its device among them. One naming serves every kind:

>>> model = get_or_load("clip", key, build, device="cpu")     # doctest: +SKIP
>>> loaded("clip")                                            # doctest: +SKIP
[('ViT-B-32', 'openai', 'cpu', 'fp32')]
>>> unload("clip", key); unload_model(model); unload_all()    # doctest: +SKIP

A load that raises leaves nothing behind. Loads hold one re-entrant lock, so a loader
may load another model inside its build (a captioner loads its CLIP model) while two
threads never build the same model twice.

Other process-wide memos (hub reachability, weight digests, scaled model inputs) say
how to forget themselves with :func:`on_reset`; :func:`reset` forgets everything, the
models included (a fresh start, and what tests run before each test).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .devices import release_memory

__all__ = ["get_or_load", "loaded", "on_reset", "reset", "unload", "unload_all", "unload_model"]

T = TypeVar("T")
_ENTRIES: dict[tuple[str, tuple], tuple[Any, str]] = {}
_LOCK = threading.RLock()
_RESETS: list[Callable[[], None]] = []


def get_or_load(kind: str, key: tuple, build: Callable[[], T], device: str) -> T:
    """The cached model of ``(kind, key)``, built by ``build()`` on first use.

    Parameters
    ----------
    kind : str
        The loader's name, e.g. ``"clip"`` or ``"captioner"``.
    key : tuple
        Hashable arguments that identify the model (device included).
    build : callable
        Loads the model; an exception leaves the cache unchanged.
    device : str
        Where the model lives; its memory is released when the model is unloaded.
    """
    with _LOCK:
        entry = _ENTRIES.get((kind, key))
        if entry is None:
            entry = (build(), str(device))
            _ENTRIES[(kind, key)] = entry
        return entry[0]


def loaded(kind: str | None = None) -> list[tuple]:
    """Keys of the models held, of one ``kind`` or (``kind=None``) ``(kind, key)`` pairs."""
    with _LOCK:
        if kind is None:
            return list(_ENTRIES)
        return [k for (c, k) in _ENTRIES if c == kind]


def _drop(pairs: list[tuple[str, tuple]]) -> int:
    with _LOCK:
        dropped = [_ENTRIES.pop(p) for p in pairs if p in _ENTRIES]
    for dev in {d for _, d in dropped}:
        release_memory(dev)
    return len(dropped)


def unload(kind: str, key: tuple) -> bool:
    """Drop one model and release its device's memory; returns whether it was held."""
    return bool(_drop([(kind, key)]))


def unload_model(model: object) -> bool:
    """Drop a model by identity (every key it is held under); returns whether it was held."""
    with _LOCK:
        pairs = [p for p, (m, _) in _ENTRIES.items() if m is model]
    return bool(_drop(pairs))


def unload_all(kind: str | None = None) -> int:
    """Drop every model (of every kind, or of one ``kind``); returns how many were held."""
    with _LOCK:
        pairs = [p for p in _ENTRIES if kind is None or p[0] == kind]
    return _drop(pairs)


def on_reset(forget: Callable[[], None]) -> Callable[[], None]:
    """Register ``forget()`` (empties one process-wide memo) to run on :func:`reset`;
    returns it, so it can decorate the function."""
    if forget not in _RESETS:
        _RESETS.append(forget)
    return forget


def reset() -> int:
    """Forget every loaded model and every registered memo; returns the models dropped."""
    for forget in list(_RESETS):
        forget()
    return unload_all()
