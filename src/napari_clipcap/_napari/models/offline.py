"""Which hub repositories a model choice still needs, and why it cannot run offline.

Pure Python (no Qt). A preset whose files are not in the hub cache cannot run while
``HF_HUB_OFFLINE`` is set or the hub does not answer; the panel says so before anything
is clicked, in words written for the GUI (:attr:`Reason.short`, two lines at most),
with the full story in :attr:`Reason.detail` for the log and the "Details" toggle.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ...core.cache import hub_cache_dir, hub_offline
from ...core.registry import get_preset, presets
from .specs import CUSTOM, ModelChoice, _hub_cached, _local_paths

#: What to pick instead, per model kind, after "choose Local file or folder… and pick".
LOCAL_HINT = {
    "clip": "a CLIP weights file",
    "clipcap": "a ClipCap checkpoint file",
    "blip": "a BLIP folder",
    "vit-gpt2": "a ViT-GPT2 folder",
    "git": "a GIT folder",
    "coca": "a CoCa weights file",
}
_OPEN_CLIP_FILES = ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]


@dataclass(frozen=True)
class Need:
    """One hub repository a choice loads from: ``files`` (empty: a whole transformers
    model), ``cached`` when it is in the hub cache."""

    repo: str
    files: tuple[str, ...]
    cached: bool


@dataclass(frozen=True)
class Reason:
    """Why a choice cannot run now: ``short`` for the GUI, ``detail`` for the log."""

    short: str
    detail: str


def _open_clip_need(model: str, weights: str) -> Need | None:
    if weights.startswith("hf-hub:"):
        parts = weights[len("hf-hub:") :].split("/")
        repo, rest = "/".join(parts[:2]), "/".join(parts[2:])
        files = (rest,) if rest else tuple(_OPEN_CLIP_FILES)
        return Need(repo, files, _hub_cached(repo, list(files)))
    row = next(
        (p for p in presets("clip") + presets("coca")
         if p.model == model and p.weights == weights and p.extra.get("hf_hub")),
        None,
    )  # fmt: skip
    if row is None:
        return None  # a tag only open_clip's table knows: not told without importing it
    repo, name = os.path.split(row.extra["hf_hub"])
    files = tuple(([name] if name else []) + _OPEN_CLIP_FILES)
    return Need(repo, files, _hub_cached(repo, list(files)))


def _transformers_need(repo: str) -> Need:
    return Need(repo, (), _hub_cached(repo, ["config.json"]))


def hub_needs(choice: ModelChoice, kind: str) -> list[Need]:
    """The hub repositories a preset choice loads from (none for local files).

    Parameters
    ----------
    choice : ModelChoice
    kind : {"clip", "captioner"}

    Returns
    -------
    list of Need
    """
    if choice.preset == CUSTOM or _local_paths(choice, kind) is not None:
        return []
    p = get_preset(choice.preset)
    needs: list[Need | None] = []
    if p.source == "open_clip":
        needs.append(_open_clip_need(p.model, p.weights or ""))
    elif p.source == "transformers":
        needs.append(_transformers_need(p.weights or p.model))
    elif p.source == "hf_hub":
        w = p.weights or ""
        needs.append(Need(p.model, (w,), _hub_cached(p.model, [w])))
    if p.kind == "clipcap":
        needs.append(
            _open_clip_need(p.extra.get("clip_model", ""), p.extra.get("clip_weights", ""))
        )
        decoder = choice.decoder or p.extra.get("decoder", "")
        if decoder and not os.path.exists(os.path.expanduser(decoder)):
            needs.append(_transformers_need(decoder))
    return [n for n in needs if n is not None]


def missing_repos(choice: ModelChoice, kind: str) -> list[str]:
    """The hub repositories of ``choice`` that are not in the hub cache."""
    return [n.repo for n in hub_needs(choice, kind) if not n.cached]


def offline_reason(choice: ModelChoice, kind: str, reachable: bool | None = None) -> Reason | None:
    """Why ``choice`` cannot run without a network, or None when it can (or may).

    Parameters
    ----------
    choice : ModelChoice
    kind : {"clip", "captioner"}
    reachable : bool or None
        Whether the hub answered (None: not known yet, so only ``HF_HUB_OFFLINE`` counts).

    Returns
    -------
    Reason or None
    """
    offline = hub_offline()
    if not offline and reachable is not False:
        return None
    missing = missing_repos(choice, kind)
    if not missing:
        return None
    model_kind = "clip" if kind == "clip" else get_preset(choice.preset).kind
    state = "the hub is offline" if offline else "the hub cannot be reached"
    short = (
        f"{choice.preset} is not downloaded and {state}. Connect and click Load, or choose "
        f"{CUSTOM} and pick {LOCAL_HINT.get(model_kind, 'a local model')}."
    )
    why = "HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set" if offline else (
        "the hub's server did not answer")  # fmt: skip
    detail = (
        f"{choice.preset} needs {', '.join(missing)} from the Hugging Face hub, which "
        f"is not in the hub cache {hub_cache_dir()}; {why}, so nothing can be downloaded. "
        f"Unset HF_HUB_OFFLINE and connect, then click Load; or choose {CUSTOM} and give "
        "the model's local file or folder."
    )
    return Reason(short, detail)
