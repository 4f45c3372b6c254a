"""Download what a model choice needs from the hub, with bytes done of total and cancel.

Pure Python (no Qt): the panel's Load job calls :func:`download_choices` before it
loads, so the download shows its bytes and its Cancel button stops it within one chunk,
leaving no partial file in the hub cache (:func:`napari_clipcap.core.clip.hub.download_files`).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterable

from ...core.clip.hub import Fetch, download_files
from .offline import Need, hub_needs
from .specs import ModelChoice

#: Files of a transformers model worth downloading (other frameworks' weights are not).
KEEP = ("*.json", "*.txt", "*.model", "*.tiktoken", "*.safetensors", "pytorch_model*.bin")
#: ``list_files(repo) -> [(filename, size)]``: what a hub repository holds.
Lister = Callable[[str], list[tuple[str, int]]]


def list_repo_files(repo: str) -> list[tuple[str, int]]:
    """Files of a hub repository with their sizes in bytes (asks the hub)."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo, files_metadata=True)
    return [(s.rfilename, int(s.size or 0)) for s in info.siblings or []]


def _pick(need: Need, listed: list[tuple[str, int]]) -> list[tuple[str, int]]:
    sizes = dict(listed)
    if need.files:  # alternatives, the first present wins
        name = next((f for f in need.files if f in sizes), None)
        extra = [(f, sizes[f]) for f in ("open_clip_config.json",) if f in sizes]
        return ([(name, sizes[name])] if name else []) + extra
    files = [(f, s) for f, s in listed if any(fnmatch.fnmatch(f, k) for k in KEEP)]
    if any(f.endswith(".safetensors") for f, _ in files):  # never both weight formats
        files = [(f, s) for f, s in files if not f.endswith(".bin")]
    return files


def plan(
    choices: Iterable[tuple[ModelChoice, str]], list_files: Lister | None = None
) -> list[tuple[str, str, int]]:
    """The ``(repo, filename, size)`` downloads the choices still need."""
    list_files = list_files or list_repo_files
    out: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    for choice, kind in choices:
        for need in hub_needs(choice, kind):
            if need.cached or need.repo in seen:
                continue
            seen.add(need.repo)
            out += [(need.repo, f, s) for f, s in _pick(need, list_files(need.repo))]
    return out


def download_choices(
    choices: Iterable[tuple[ModelChoice, str]],
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    *,
    list_files: Lister | None = None,
    fetch: Fetch | None = None,
) -> int:
    """Download every hub file the choices miss; returns the bytes planned.

    ``progress(done, total)`` counts kibibytes (Qt signals carry 32-bit integers).
    """
    files = plan(choices, list_files)

    def kib(done: int, total: int) -> None:
        if progress is not None:
            progress(done // 1024, total // 1024)

    download_files(files, kib, cancel, fetch)
    return sum(s for _, _, s in files)
