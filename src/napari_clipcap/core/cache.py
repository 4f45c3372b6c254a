"""Where napari-clipcap and the model hubs keep files on disk."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """napari-clipcap's own cache folder (embeddings, indexes, settings).

    ``NAPARI_CLIPCAP_CACHE`` overrides the platform's user cache folder.
    """
    env = os.environ.get("NAPARI_CLIPCAP_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("napari-clipcap"))


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, honouring ``HF_HOME`` and ``HF_HUB_CACHE``."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for no downloads."""
    truthy = {"1", "true", "yes", "on"}
    return any(
        os.environ.get(v, "").strip().lower() in truthy
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
