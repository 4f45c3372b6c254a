"""What the model panel holds: model choices, their load arguments and cache status.

Pure Python (no Qt): the panel edits a :class:`PanelSettings`, the widgets turn its
choices into ``load_clip`` / ``load_captioner`` arguments, and the choices persist as
JSON in :func:`napari_clipcap.core.cache.cache_dir`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ...core.cache import cache_dir, hub_offline
from ...core.errors import InvalidInputError
from ...core.io.atomic import write_json
from ...core.registry import DEFAULT_CLIP, ModelSpec, get_preset
from .._compat import guard_triton

log = logging.getLogger(__name__)

#: Choice name for a model given by local file or folder instead of a preset.
CUSTOM = "Local file or folder…"
SETTINGS_FILE = "widget_settings.json"


@dataclass
class ModelChoice:
    """One model slot (CLIP or captioner) as the user set it.

    ``preset`` is a preset name or :data:`CUSTOM`. For a custom CLIP, ``model`` is an
    open_clip architecture, a model-config JSON or a transformers directory, and
    ``weights`` a checkpoint file. For a custom captioner, ``kind`` says which loader,
    ``weights`` the checkpoint or model directory and, for ClipCap, ``decoder`` the
    GPT-2 directory and ``clip_model`` / ``clip_weights`` its image encoder. A ClipCap
    preset on the hub needs no ``weights`` (a local file given overrides it); one that is
    not on a hub needs them.
    """

    preset: str = CUSTOM
    model: str = ""
    weights: str = ""
    kind: str = "clipcap"
    decoder: str = ""
    clip_model: str = ""
    clip_weights: str = ""

    @property
    def label(self) -> str:
        """Short name for tables and layer names."""
        if self.preset != CUSTOM:
            return self.preset
        name = self.weights or self.model or "model"
        return f"{self.kind if self.kind else 'model'}:{Path(name).name}"

    def key(self) -> tuple:
        """Hashable identity, for caching loaded models."""
        return tuple(sorted(asdict(self).items()))

    @classmethod
    def from_dict(cls, data: dict) -> ModelChoice:
        names = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in data.items() if k in names})


def _default_clip() -> ModelChoice:
    return ModelChoice(preset=f"{DEFAULT_CLIP.name}/{DEFAULT_CLIP.weights}")


def _default_captioner() -> ModelChoice:
    return ModelChoice(preset="blip-base", kind="blip")


def _default_grounding() -> ModelChoice:
    return ModelChoice(preset="florence2-base", kind="florence2")


@dataclass
class PanelSettings:
    """Everything the model panel persists between sessions."""

    clip: ModelChoice = field(default_factory=_default_clip)
    captioner: ModelChoice = field(default_factory=_default_captioner)
    #: The Grounding dock's own captioner (a Florence-2): never the Caption dock's.
    grounding: ModelChoice = field(default_factory=_default_grounding)
    device: str = "auto"
    precision: str = "auto"
    domain: str = "auto"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PanelSettings:
        out = cls()
        if isinstance(data.get("clip"), dict):
            out.clip = ModelChoice.from_dict(data["clip"])
        for name in ("captioner", "grounding"):
            if isinstance(data.get(name), dict):
                setattr(out, name, ModelChoice.from_dict(data[name]))
        for name in ("device", "precision", "domain"):
            if isinstance(data.get(name), str):
                setattr(out, name, data[name])
        return out


def settings_path() -> Path:
    """Where the panel's choices are stored."""
    return cache_dir() / SETTINGS_FILE


def load_settings() -> PanelSettings:
    """Read the stored choices; defaults when there are none or the file is broken."""
    path = settings_path()
    try:
        return PanelSettings.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return PanelSettings()
    except (OSError, ValueError, TypeError) as exc:
        log.warning("ignoring unreadable settings %s: %s", path, exc)
        return PanelSettings()


def save_settings(settings: PanelSettings) -> None:
    """Store the choices (atomically, so a crash never leaves half a file)."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, settings.to_dict())


def clip_spec(choice: ModelChoice) -> ModelSpec:
    """The model description of a CLIP choice, resolved by the one rule (docs/models.md):
    a preset is that preset, an architecture without weights its published weights,
    weights ``none`` random ones (said beside the result)."""
    if choice.preset == CUSTOM:
        if not (choice.model or choice.weights):
            raise InvalidInputError(
                "choose a CLIP preset, or give a local model (architecture, config JSON or "
                "transformers folder) and weights file"
            )
        return ModelSpec.for_clip(choice.model or None, choice.weights or None).resolve()
    get_preset(choice.preset)  # an unknown name: one clear message
    return ModelSpec.for_clip(choice.preset).resolve()


def clip_load_args(choice: ModelChoice) -> dict:
    """``load_clip`` keyword arguments (``model``, ``weights``) for a CLIP choice."""
    spec = clip_spec(choice)
    return {"model": spec.name, "weights": spec.weights}


def captioner_spec(choice: ModelChoice) -> ModelSpec:
    """The model description of a captioner choice (its CLIP resolved for ClipCap)."""
    args = captioner_load_args(choice)
    clip = None
    if args.get("kind") == "clipcap" and (args.get("clip_model") or args.get("clip_weights")):
        clip = ModelSpec.for_clip(args.get("clip_model"), args.get("clip_weights"))
    name = choice.preset if choice.preset != CUSTOM else args["kind"]
    return ModelSpec.for_captioner(
        name,
        args.get("weights"),
        decoder=args.get("decoder"),
        clip=clip,
        normalize_prefix=args.get("normalize_prefix"),
    ).resolve()


def captioner_load_args(choice: ModelChoice) -> dict:
    """``load_captioner`` keyword arguments for a captioner choice."""
    if choice.preset == CUSTOM:
        if not choice.weights:
            raise InvalidInputError(
                "give the captioner's checkpoint file or model folder (or pick a preset)"
            )
        args = {"kind": choice.kind or "clipcap", "weights": choice.weights}
        if args["kind"] == "clipcap":
            args.update(
                clip_model=choice.clip_model or None,
                clip_weights=choice.clip_weights or None,
                decoder=choice.decoder or None,
            )
        return args
    p = get_preset(choice.preset)
    if p.kind == "clipcap":
        weights = choice.weights or p.load_args()["weights"]
        if not weights:
            raise InvalidInputError(
                f"{p.name} needs its checkpoint file: this ClipCap release is not on a model "
                "hub; download it and give its path"
            )
        return {
            "kind": "clipcap",
            "weights": weights,
            "normalize_prefix": p.extra.get("normalize_prefix"),
            "clip_model": p.extra.get("clip_model"),
            "clip_weights": p.extra.get("clip_weights"),
            "decoder": choice.decoder or p.extra.get("decoder"),
        }
    if p.source == "open_clip":
        return {"kind": p.kind, "weights": p.weights, "clip_model": p.model}
    return {"kind": p.kind, "weights": p.model}


def _hub_cached(repo_id: str, filenames: list[str]) -> bool:
    from huggingface_hub import try_to_load_from_cache

    for name in filenames:
        try:
            hit = try_to_load_from_cache(repo_id, name)
        except Exception:  # a malformed id is simply "not cached"
            log.debug("cannot look up %s in the hub cache", repo_id, exc_info=True)
            return False
        if isinstance(hit, str):
            return True
    return False


def _open_clip_cached(model: str, weights: str, hub: str | None = None) -> bool | None:
    """True/False when the cache can be checked, None when it cannot be told.

    ``hub`` is the preset's known hub repository; only other tags need open_clip's own
    table, whose import takes seconds (so presets never import it on the Qt thread).
    """
    if weights.startswith("hf-hub:"):
        parts = weights[len("hf-hub:") :].split("/")
        repo, rest = "/".join(parts[:2]), "/".join(parts[2:])
        names = [rest] if rest else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        return _hub_cached(repo, names)
    cfg = {"hf_hub": hub} if hub else None
    if cfg is None:
        guard_triton()
        try:
            import open_clip

            cfg = open_clip.get_pretrained_cfg(model, weights)
        except Exception:  # unknown architecture or tag
            log.debug("no pretrained config for %s %s", model, weights, exc_info=True)
            return None
    hub = (cfg or {}).get("hf_hub", "")
    if hub:
        repo, name = os.path.split(hub)  # "org/repo/" -> ("org/repo", "")
        names = ([name] if name else []) + [
            "open_clip_model.safetensors",
            "open_clip_pytorch_model.bin",
        ]
        return _hub_cached(repo, names)
    url = (cfg or {}).get("url", "")
    if url:
        return (Path("~/.cache/clip").expanduser() / os.path.basename(url)).is_file()
    return None


def _pathlike(text: str) -> bool:
    return bool(text) and (os.sep in text or text.startswith((".", "~")) or "." in Path(text).name)


def _local_paths(choice: ModelChoice, kind: str) -> list[str] | None:
    """Local paths a choice needs (empty ones dropped), or None when it loads from a hub."""
    if choice.preset == CUSTOM:
        extra = choice.model if kind == "clip" else choice.decoder
        return [p for p in (choice.weights, extra) if p and (p == choice.weights or _pathlike(p))]
    p = get_preset(choice.preset)
    if p.kind == "clipcap" and (choice.weights or p.source == "local"):
        return [choice.weights] if choice.weights else []
    return None


def cache_status(choice: ModelChoice, kind: str) -> tuple[str, str]:
    """Whether a choice is ready offline.

    Parameters
    ----------
    choice : ModelChoice
    kind : {"clip", "captioner"}

    Returns
    -------
    (state, text)
        ``state`` is ``"ready"``, ``"download"`` (will be downloaded on first use),
        ``"missing"`` (cannot be loaded as set) or ``"unknown"``; ``text`` says it in
        words for the panel.
    """
    paths = _local_paths(choice, kind)
    if paths is not None:
        if not paths:
            return "missing", "needs a checkpoint file or folder"
        bad = [p for p in paths if not Path(p).expanduser().exists()]
        if bad:
            return "missing", f"not found: {bad[0]}"
        return "ready", "local files"
    p = get_preset(choice.preset)
    if p.source == "open_clip":
        cached = _open_clip_cached(p.model, p.weights or "", p.extra.get("hf_hub"))
    elif p.source == "hf_hub":
        cached = _hub_cached(p.model, [p.weights or ""])
    else:
        cached = _hub_cached(p.model, ["config.json"])
    if cached:
        return "ready", "cached"
    if cached is None:
        return "unknown", "cache state unknown"
    if hub_offline():
        return "missing", "not cached (offline)"
    return "download", "will be downloaded on first use"
