"""Files from the Hugging Face hub (or its local cache), with byte progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["hub_file", "progress_tqdm"]


def hub_file(repo_id: str, filename: str, progress: Callable | None) -> str:
    """Download (or find in the cache) one file of a hub repository."""
    from huggingface_hub import hf_hub_download

    kwargs: dict[str, Any] = {}
    if progress is not None:
        kwargs["tqdm_class"] = progress_tqdm(progress)
    return hf_hub_download(repo_id, filename, **kwargs)


def progress_tqdm(progress: Callable[[int, int], None]):
    """A tqdm subclass that forwards byte counts to ``progress(done, total)``."""
    from tqdm.auto import tqdm

    class _Forward(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True  # no bar on stderr; a disabled tqdm counts nothing
            super().__init__(*args, **kwargs)
            self._done = int(kwargs.get("initial", 0) or 0)

        def update(self, n=1):
            self._done += int(n or 0)
            progress(self._done, int(self.total or 0))

    return _Forward
