"""Refusing model configs that would run code from the model's files.

transformers runs Python shipped with a model when asked to (``trust_remote_code``, an
``auto_map`` naming classes in the model's folder). An open_clip config can ask for it
without the user seeing: ``text_cfg.tokenizer_kwargs`` are handed to
``AutoTokenizer.from_pretrained`` as they are, and ``text_cfg.hf_tokenizer_name`` may
point at any folder, ``text_cfg.hf_model_name`` too. Loading never runs code from model
files (docs/architecture.md), whatever a config says: the one check of every loader is
:mod:`napari_clipcap.core.registry.trust`; this module applies it to open_clip's configs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..registry.trust import REMOTE_CODE_KEYS, check_config, check_folder, remote_code_keys

logger = logging.getLogger(__name__)

__all__ = [
    "REMOTE_CODE_KEYS",
    "check_config",
    "check_folder",
    "check_open_clip",
    "remote_code_keys",
]


def check_open_clip(model: str, arch: str, fetch_hub_config: Any = None) -> dict:
    """Check the config open_clip will build ``arch`` from (and tokenize with); return its
    ``text_cfg``.

    Parameters
    ----------
    model : str
        What the user gave (a name, a ``.json`` file, a folder, ``local-dir:`` or
        ``hf-hub:``), for the message.
    arch : str
        The name open_clip is called with.
    fetch_hub_config : callable, optional
        ``repo_id -> path`` of a hub repository's ``open_clip_config.json`` (raising when
        it cannot be had; open_clip then fails or falls back on its own).

    Raises
    ------
    CheckpointFormatError
        When the config, or the tokenizer folder it names, asks for code from the model's
        files.
    """
    import open_clip

    if arch.startswith("local-dir:"):
        folder = Path(arch[len("local-dir:") :]).expanduser()
        check_folder(folder)
        path = folder / "open_clip_config.json"
        config = json.loads(path.read_text()) if path.is_file() else {}
    elif arch.startswith("hf-hub:"):
        try:
            path = Path(fetch_hub_config(arch[len("hf-hub:") :]))
        except Exception:  # not cached / offline: open_clip reports it
            logger.debug("no hub config for %s to check", arch, exc_info=True)
            return {}
        config = json.loads(path.read_text())
        check_config(config, f"{str(path)!r} (of {model})")
    else:
        config = open_clip.get_model_config(arch) or {}
        check_config(config, f"of {model!r}")
    inner = config.get("model_cfg", config)
    text_cfg = inner.get("text_cfg", {}) if isinstance(inner, dict) else {}
    return text_cfg if isinstance(text_cfg, dict) else {}
