"""The manifest of the IVF-PQ index folder: the one file that says what the index holds.

It is written last (it is the commit of a build or an extension) and read first. A
received collection may hold any manifest, so every name in it must be one the build
writes: it can point neither outside the folder nor at a file of another kind.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..faissfiles import UntrustedIndexError, check_plain_file

__all__ = ["MANIFEST", "checked_manifest", "load_npy", "read_manifest"]

MANIFEST = "manifest.json"


def read_manifest(folder: Path) -> dict | None:
    """The manifest of an index folder, or None when there is no complete index."""
    try:
        return json.loads(check_plain_file(folder / MANIFEST).read_text())
    except (OSError, ValueError, UntrustedIndexError):
        return None


_NAMES = {
    "merged": re.compile(r"merged-[0-9a-f]{8}\.faiss"),
    "removed": re.compile(r"removed-[0-9a-f]{8}\.npy"),
    "shard": re.compile(r"shard-[0-9]{4,6}-[0-9a-f]{6}"),
}


def checked_manifest(manifest) -> dict:
    """``manifest`` if it names only files this project makes, with sane numbers.

    Every file name must be one the build writes (``merged-TOKEN.faiss``,
    ``shard-NNNN-TOKEN.*``, ``removed-TOKEN.npy``), so no manifest can point outside its
    folder or at a file of another name.

    Raises
    ------
    UntrustedIndexError
        Otherwise.
    """
    try:
        shards = manifest["shards"]
        ok = (
            _NAMES["merged"].fullmatch(manifest["merged"])
            and (
                manifest.get("removed") is None or _NAMES["removed"].fullmatch(manifest["removed"])
            )
            and isinstance(shards, list)
            and all(
                _NAMES["shard"].fullmatch(s["name"])
                and s["f16"] == f"{s['name']}.f16.npy"
                and s["ids"] == f"{s['name']}.ids.npy"
                and int(s["rows"]) >= 0
                for s in shards
            )
            and all(int(manifest[key]) >= 1 for key in ("nprobe", "rerank", "dim", "nlist"))
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UntrustedIndexError(f"vector index manifest is incomplete: {exc}") from exc
    if not ok:
        raise UntrustedIndexError("vector index manifest names files this project never writes")
    return manifest


def load_npy(path: Path, mmap_mode: str | None = None) -> np.ndarray:
    """A plain ``.npy`` file in the index folder (no link, no pickle)."""
    return np.load(check_plain_file(path), mmap_mode=mmap_mode, allow_pickle=False)
