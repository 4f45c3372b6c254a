"""Reading ClipCap state dicts and loading them strictly, with clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ...errors import CheckpointFormatError, ModelNotFoundError

HUB_PREFIX = "hf-hub:"

#: Buffers that transformers < 4.3x stored in GPT-2 state dicts; dropped on load.
_OLD_BUFFERS = re.compile(r"gpt\.transformer\.h\.\d+\.attn\.(bias|masked_bias)")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A flat ``{name: tensor}`` dict from a ``.pt``/``.bin`` (``weights_only``) or
    ``.safetensors`` file; ``{"state_dict": ...}`` / ``{"model": ...}`` wrappers and
    DataParallel's ``module.`` prefixes are removed.

    Raises
    ------
    ModelNotFoundError
        If the file does not exist.
    CheckpointFormatError
        If it cannot be read safely or holds something other than tensors.
    """
    if not path.is_file():
        raise ModelNotFoundError(f"ClipCap checkpoint {str(path)!r} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file is a format problem
        first = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointFormatError(
            f"cannot read {str(path)!r} as a checkpoint ({type(exc).__name__}: {first})"
        ) from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointFormatError(f"{str(path)!r} does not hold a flat state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_strict(model, state: dict[str, torch.Tensor]) -> None:
    """Load ``state`` into a ClipCap ``model`` strictly, after dropping exactly the old
    ``attn.bias`` / ``attn.masked_bias`` buffers; a file without ``gpt.*`` tensors only
    has to fill the mapping network.

    Raises
    ------
    CheckpointFormatError
        Listing missing keys, unexpected keys and shape mismatches.
    """
    state = {k: v for k, v in state.items() if not _OLD_BUFFERS.fullmatch(k)}
    if "gpt.lm_head.weight" not in state and "gpt.transformer.wte.weight" in state:
        state["gpt.lm_head.weight"] = state["gpt.transformer.wte.weight"]
    own = model.state_dict()
    if not any(k.startswith("gpt.") for k in state):  # mapping only: decoder weights kept
        own = {k: v for k, v in own.items() if k.startswith("clip_project.")}
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong:
        parts = [
            f"{name}: {', '.join(keys[:10])}{' ...' if len(keys) > 10 else ''}"
            for name, keys in (
                ("missing keys", missing),
                ("unexpected keys", unexpected),
                ("shape mismatches", wrong),
            )
            if keys
        ]
        raise CheckpointFormatError("checkpoint does not fit the model; " + "; ".join(parts))
    model.load_state_dict(state, strict=False)


def fetch_weights(weights: str, name: str = "ClipCap") -> Path:
    """The local path of ``weights``; ``hf-hub:org/repo/file`` is fetched through the
    Hugging Face hub cache (downloaded once, with a progress bar, then reused offline).

    Parameters
    ----------
    weights : str
        A local file or folder, or ``hf-hub:org/repo/file``.
    name : str
        The model's name, for messages.

    Raises
    ------
    ModelNotFoundError
        If the file is neither in the hub cache nor downloadable; the message names
        the model, the cache folder and how to pass a local file instead.
    """
    if not weights.startswith(HUB_PREFIX):
        return Path(weights).expanduser()
    parts = weights[len(HUB_PREFIX) :].split("/")
    if len(parts) < 3 or not all(parts):
        raise ModelNotFoundError(f"{weights!r} is not hf-hub:org/repo/file")
    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    from huggingface_hub import hf_hub_download

    from ...cache import hub_cache_dir, hub_offline

    cache = hub_cache_dir()
    try:
        return Path(hf_hub_download(repo, filename, cache_dir=cache))
    except Exception as exc:  # offline, missing repository or file, network errors
        why = "offline: HF_HUB_OFFLINE is set" if hub_offline() else type(exc).__name__
        raise ModelNotFoundError(
            f"{name}: {filename} of the Hugging Face repository {repo} is not in the hub "
            f"cache {cache} and could not be downloaded ({why}). Download it from "
            f"https://huggingface.co/{repo} and pass the local file with weights= "
            "(--weights FILE.pt), or run once with network access"
        ) from None
