"""Files from the Hugging Face hub (or its local cache), with byte progress and cancel."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import Cancelled
from ..model_cache import on_reset

__all__ = ["download_files", "hub_file", "hub_reachable", "progress_tqdm", "remove_incomplete"]

#: ``fetch(repo_id, filename, tqdm_class=...) -> path``: how one file is downloaded.
Fetch = Callable[..., str]


def hub_file(repo_id: str, filename: str, progress: Callable | None) -> str:
    """Download (or find in the cache) one file of a hub repository."""
    from huggingface_hub import hf_hub_download

    kwargs: dict[str, Any] = {}
    if progress is not None:
        kwargs["tqdm_class"] = progress_tqdm(progress)
    return hf_hub_download(repo_id, filename, **kwargs)


def progress_tqdm(progress: Callable[[int, int], None], cancel: threading.Event | None = None):
    """A tqdm subclass that forwards byte counts to ``progress(done, total)``.

    With a ``cancel`` flag, each update checks it and raises
    :class:`~napari_clipcap.core.errors.Cancelled` once it is set: the download stops
    within one chunk.
    """
    from tqdm.auto import tqdm

    class _Forward(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True  # no bar on stderr; a disabled tqdm counts nothing
            super().__init__(*args, **kwargs)
            self._done = int(kwargs.get("initial", 0) or 0)

        def update(self, n=1):
            if cancel is not None and cancel.is_set():
                raise Cancelled("download cancelled")
            self._done += int(n or 0)
            progress(self._done, int(self.total or 0))

    return _Forward


def repo_folder(repo_id: str) -> Path:
    """The hub cache folder of a model repository (``models--org--name``)."""
    from ..cache import hub_cache_dir

    return hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))


def remove_incomplete(repo_id: str) -> list[Path]:
    """Delete the partial downloads (``*.incomplete`` blobs) of a repository.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    for path in (repo_folder(repo_id) / "blobs").glob("*.incomplete"):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def download_files(
    files: Sequence[tuple[str, str, int]],
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    fetch: Fetch | None = None,
) -> list[str]:
    """Download hub files one after the other, with bytes done of all and cancel.

    Parameters
    ----------
    files : sequence of (repo_id, filename, size)
        What to download; ``size`` in bytes (0 when unknown) makes the total.
    progress : callable, optional
        ``progress(done, total)`` in bytes over all files.
    cancel : threading.Event, optional
        Checked between chunks; once set, the download stops, its partial file is
        removed from the hub cache and :class:`~napari_clipcap.core.errors.Cancelled`
        is raised.
    fetch : callable, optional
        ``fetch(repo_id, filename, tqdm_class=...) -> path``;
        :func:`huggingface_hub.hf_hub_download` by default.

    Returns
    -------
    list of str
        The local paths, in the order of ``files``.
    """
    if fetch is None:
        from huggingface_hub import hf_hub_download as fetch
    total = sum(max(int(size), 0) for _, _, size in files)
    before = 0
    paths = []
    for repo_id, filename, size in files:
        if cancel is not None and cancel.is_set():
            raise Cancelled("download cancelled")

        def step(done: int, _total: int, offset: int = before) -> None:
            if progress is not None:
                progress(offset + done, max(total, offset + done))

        try:
            paths.append(fetch(repo_id, filename, tqdm_class=progress_tqdm(step, cancel)))
        except BaseException:
            remove_incomplete(repo_id)
            raise
        before += max(int(size), 0)
        if progress is not None:
            progress(before, max(total, before))
    return paths


_REACHABLE: dict[str, tuple[bool, float]] = {}
on_reset(_REACHABLE.clear)


def hub_reachable(timeout: float = 2.0, *, max_age: float = 60.0) -> bool:
    """Whether the hub's server answers a TCP connection within ``timeout`` seconds.

    The answer is kept for ``max_age`` seconds. Blocks up to ``timeout``: call it off the
    Qt thread. False at once when ``HF_HUB_OFFLINE`` is set.
    """
    import time

    from huggingface_hub import constants

    from ..cache import hub_offline

    if hub_offline():
        return False
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    now = time.monotonic()
    known = _REACHABLE.get(host)
    if known is not None and now - known[1] < max_age:
        return known[0]
    try:
        with socket.create_connection((host, port), timeout=timeout):
            ok = True
    except OSError:
        ok = False
    _REACHABLE[host] = (ok, time.monotonic())
    return ok
