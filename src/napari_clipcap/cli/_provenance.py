"""The ``provenance`` object of a ``--json`` output built from the parsed arguments, for
the commands that have no request yet (evaluate, train-clipcap, finetune-clip, info).
Every command with a request (labels, caption, heatmap, ground, ask, segment, index,
search, batch) records ``request.to_argv()`` through its request instead."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

#: Arguments that are not parameters of the result.
_NOT_PARAMETERS = {
    "func",
    "command",
    "json",
    "device",
    "precision",
    "argv",
    "low_data",
    "clip_spec",
    "asked_models",
}
#: Arguments that name the inputs (of the commands without a request: evaluate,
#: train-clipcap, finetune-clip, info).
_INPUTS = ("image", "dataset")


#: Longest name of one path component, and of a whole path, that a file system takes.
_NAME_MAX, _PATH_MAX = 255, 4096


def _may_be_path(token: str) -> bool:
    """Whether ``token`` can name a file at all: not an option, no newline or NUL, no
    component longer than a file system takes. A label list, template or query of any
    length is text, never handed to the file system."""
    if not token or token.startswith("-") or "\n" in token or "\x00" in token:
        return False
    parts = token.replace(os.sep, "/").split("/")
    return len(token) <= _PATH_MAX and all(len(part) <= _NAME_MAX for part in parts)


def _absolute(token: str) -> str:
    """A token that names an existing file or folder, made absolute. Only tokens that
    can be paths are looked at (:func:`_may_be_path`); commands with a request record
    ``request.to_argv()`` instead."""
    if not _may_be_path(token):
        return token
    try:
        exists = Path(token).exists()
    except (OSError, ValueError):  # a file system that refuses the name anyway
        return token
    return os.path.abspath(token) if exists else token


def _models(args: argparse.Namespace) -> list[dict]:
    from ..core.provenance import model_entry, spec_entries

    if getattr(args, "clip_spec", None) is not None:  # resolved by the command
        return spec_entries("clip", args.clip_spec)
    models = []
    if getattr(args, "captioner", None):
        models.append(model_entry("captioner", args.captioner, getattr(args, "weights", None)))
        if getattr(args, "decoder", None):
            models.append(model_entry("decoder", args.decoder, args.decoder))
    if getattr(args, "clip", None):
        from ._clipargs import clip_weights

        models.append(model_entry("clip", args.clip, clip_weights(args)))
    return models


def provenance_of(args: argparse.Namespace) -> dict[str, Any]:
    """How this command's result was made; ``command`` recomputes it from any folder."""
    from ..core.provenance import command_line, record

    argv = [_absolute(str(t)) for t in getattr(args, "argv", None) or ()]
    device = getattr(args, "device", None)
    if device is not None:
        try:
            from ..core.devices import resolve_device

            device = resolve_device(device)
        except Exception:  # an unknown device already failed the command
            pass
    params = {k: v for k, v in vars(args).items() if k not in _NOT_PARAMETERS and k not in _INPUTS}
    inputs = {k: getattr(args, k) for k in _INPUTS if getattr(args, k, None) is not None}
    inputs = {
        k: [_absolute(str(x)) for x in v] if isinstance(v, list) else _absolute(str(v))
        for k, v in inputs.items()
    }
    return record(
        command=command_line([args.command.replace("_", "-"), *argv[1:]] if argv else []),
        models=_models(args),
        device=device,
        precision=getattr(args, "precision", None),
        parameters=params,
        inputs=inputs,
    )
