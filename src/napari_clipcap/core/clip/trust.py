"""Refusing model configs that would run code from the model's files.

transformers runs Python shipped with a model when asked to (``trust_remote_code``, an
``auto_map`` naming classes in the model's folder). An open_clip config can ask for it
without the user seeing: ``text_cfg.tokenizer_kwargs`` are handed to
``AutoTokenizer.from_pretrained`` as they are, and ``text_cfg.hf_tokenizer_name`` may
point at any folder. Loading never runs code from model files (docs/architecture.md), whatever
a config says, so every config the loaders accept is scanned here first, and the
tokenizer folder it points at too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import CheckpointFormatError

logger = logging.getLogger(__name__)

__all__ = ["REMOTE_CODE_KEYS", "check_config", "check_folder", "remote_code_keys"]

#: Keys that make transformers import and run Python from a model's files (any value
#: but false / empty for ``trust_remote_code``; any value at all for the others).
REMOTE_CODE_KEYS = frozenset({"trust_remote_code", "auto_map", "code_revision"})
#: The JSON files of a transformers model or tokenizer folder that transformers reads.
FOLDER_CONFIGS = (
    "open_clip_config.json",
    "config.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "image_processor_config.json",
)


def remote_code_keys(config: Any, path: str = "") -> Iterator[str]:
    """Dotted paths of the keys in ``config`` (nested dicts and lists) that would turn on
    code from the model's files."""
    if isinstance(config, dict):
        for key, value in config.items():
            here = f"{path}.{key}" if path else str(key)
            if key in REMOTE_CODE_KEYS and (key != "trust_remote_code" or value):
                yield here
            else:
                yield from remote_code_keys(value, here)
    elif isinstance(config, list):
        for i, value in enumerate(config):
            yield from remote_code_keys(value, f"{path}[{i}]")


def _refuse(where: str, keys: list[str]) -> CheckpointFormatError:
    return CheckpointFormatError(
        f"refused to load the model config {where}: {', '.join(keys)} would make "
        "transformers import and run Python code from the model's files, which this "
        "plugin never does. Remove the key(s) (and any Python files beside the model) "
        "if you trust the source, or use another model."
    )


def check_config(config: Any, where: str) -> None:
    """Raise when ``config`` asks for code from the model's files; also check the local
    tokenizer folder its ``text_cfg.hf_tokenizer_name`` names, if any.

    Parameters
    ----------
    config : dict
        A model config as loaded from JSON (open_clip, transformers, or a wrapper).
    where : str
        Where it came from, for the message.

    Raises
    ------
    CheckpointFormatError
        Naming the file and the offending keys.
    """
    keys = list(remote_code_keys(config))
    if keys:
        raise _refuse(where, keys)
    inner = config.get("model_cfg", config) if isinstance(config, dict) else {}
    text_cfg = inner.get("text_cfg") if isinstance(inner, dict) else None
    name = text_cfg.get("hf_tokenizer_name") if isinstance(text_cfg, dict) else None
    if isinstance(name, str) and name and Path(name).expanduser().is_dir():
        check_folder(Path(name).expanduser())


def check_folder(folder: Path) -> None:
    """:func:`check_config` on every config file transformers reads from ``folder``.

    Raises
    ------
    CheckpointFormatError
        When one asks for code from the folder's files, or cannot be read.
    """
    for name in FOLDER_CONFIGS:
        path = folder / name
        if not path.is_file():
            continue
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            msg = f"model config {str(path)!r} is not valid JSON: {exc}"
            raise CheckpointFormatError(msg) from exc
        check_config(config, repr(str(path)))


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
