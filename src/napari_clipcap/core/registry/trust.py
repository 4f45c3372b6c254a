"""Model files are data, never code: the one check every model loader runs first.

transformers runs Python shipped with a model when asked to: ``trust_remote_code``, an
``auto_map`` naming classes in the model's folder, a ``code_revision``. Left unset
(``trust_remote_code=None``), it *asks* on the terminal (``Do you wish to run the custom
code? [y/N]``) and runs the code on "y". The project never runs code from model files
(``shared/DESIGN.md``), whatever a config says, so every loader

- passes :data:`NO_REMOTE_CODE` (``trust_remote_code=False``) explicitly to every
  transformers ``from_pretrained`` / ``Auto*`` call, and
- calls :func:`check_model_source` on what it loads first: every config file transformers
  reads from a local folder (config, tokenizer, image processor, processor, generation
  config), the hub cache's copies of them for a hub id, and the folders a config points
  at (open_clip's ``text_cfg.hf_model_name`` / ``hf_tokenizer_name``), nested anywhere.

Every kind goes through here: CLIP (open_clip JSON, folders, transformers), BLIP,
ViT-GPT2, GIT, CoCa, Florence-2, ClipCap's GPT-2 decoder (``--decoder`` and the
``decoder/`` inside a ClipCap folder).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import CheckpointFormatError

__all__ = [
    "FOLDER_CONFIGS",
    "NO_REMOTE_CODE",
    "REMOTE_CODE_KEYS",
    "check_config",
    "check_folder",
    "check_model_source",
    "remote_code_keys",
    "remote_code_refused",
]

#: The keyword every transformers ``from_pretrained`` call of the package passes.
NO_REMOTE_CODE: dict[str, bool] = {"trust_remote_code": False}
#: Keys that make transformers import and run Python from a model's files (any value
#: but false / empty for ``trust_remote_code``; any value at all for the others).
REMOTE_CODE_KEYS = frozenset({"trust_remote_code", "auto_map", "code_revision"})
#: The JSON files of a model, tokenizer or processor folder that transformers (or
#: open_clip) reads.
FOLDER_CONFIGS = (
    "open_clip_config.json",
    "config.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "image_processor_config.json",
    "generation_config.json",
    "feature_extractor_config.json",
    "video_preprocessor_config.json",
)
#: Keys of a config that name another model folder which is loaded with it.
_FOLDER_KEYS = ("hf_model_name", "hf_tokenizer_name")


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


def _named_folders(config: Any) -> Iterator[str]:
    """Values of :data:`_FOLDER_KEYS` anywhere in ``config``."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key in _FOLDER_KEYS and isinstance(value, str) and value:
                yield value
            else:
                yield from _named_folders(value)
    elif isinstance(config, list):
        for value in config:
            yield from _named_folders(value)


def check_config(config: Any, where: str, _seen: set | None = None) -> None:
    """Raise when ``config`` asks for code from the model's files; also check the model
    and tokenizer folders (or cached hub copies) it names (``text_cfg.hf_model_name``,
    ``text_cfg.hf_tokenizer_name``).

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
    for name in _named_folders(config):
        check_model_source(name, _seen=_seen)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointFormatError(
            f"model config {str(path)!r} is not valid JSON: {exc}"
        ) from exc


def check_folder(folder: str | Path, _seen: set | None = None) -> None:
    """:func:`check_config` on every config file transformers reads from ``folder``.

    Raises
    ------
    CheckpointFormatError
        When one asks for code from the folder's files, or cannot be read.
    """
    folder = Path(folder).expanduser()
    seen = _seen if _seen is not None else set()
    key = str(folder.resolve())
    if key in seen:  # folders naming each other
        return
    seen.add(key)
    for name in FOLDER_CONFIGS:
        path = folder / name
        if path.is_file():
            check_config(_read(path), repr(str(path)), seen)


def _cached_hub_configs(repo_id: str) -> list[Path]:
    """The hub cache's copies of a repository's config files (none downloaded here)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a dependency of transformers
        return []
    found = []
    for name in FOLDER_CONFIGS:
        try:
            hit = try_to_load_from_cache(repo_id, name)
        except Exception:  # not a valid repository id: nothing cached under it
            return found
        if isinstance(hit, str):
            found.append(Path(hit))
    return found


@contextmanager
def remote_code_refused() -> Iterator[None]:
    """Inside the block, a transformers call that leaves ``trust_remote_code`` unset (as
    open_clip's Hugging Face text towers do) refuses remote code instead of asking on the
    terminal: defence in depth beside :func:`check_model_source`; restored after."""
    try:
        from transformers import dynamic_module_utils as dynamic
    except ImportError:  # pragma: no cover - no transformers, no remote code
        yield
        return
    before = dynamic.TIME_OUT_REMOTE_CODE
    dynamic.TIME_OUT_REMOTE_CODE = 0  # transformers then raises instead of prompting
    try:
        yield
    finally:
        dynamic.TIME_OUT_REMOTE_CODE = before


def check_model_source(source: str | Path, _seen: set | None = None) -> None:
    """Check what a loader is about to hand transformers or open_clip: a local folder (its
    config files), a config JSON file, or a hub id (its cached config files; transformers
    itself refuses the rest, since every call passes ``trust_remote_code=False``).

    Raises
    ------
    CheckpointFormatError
        With the project's refusal message, naming the file and the keys.
    """
    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir():
        check_folder(path, _seen)
    elif path.is_file() and path.suffix.lower() == ".json":
        check_config(_read(path), repr(str(path)), _seen)
    elif text.count("/") == 1 and not text.startswith((".", "/", "~")):
        for cached in _cached_hub_configs(text.removeprefix("hf-hub:")):
            check_config(_read(cached), f"{str(cached)!r} (of {text})", _seen)
