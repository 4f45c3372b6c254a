"""One model description: :class:`ModelSpec`, and the rule that resolves what a name means.

Every door (dock, command line, batch, provenance) describes a model with a
:class:`ModelSpec` and resolves it here, so a name means one thing everywhere
(``docs/models.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from .names import (
    RANDOM,
    captioner_preset,
    clip_preset,
    default_tag,
    is_local,
    open_clip_architecture,
    read_clipcap_record,
    takes_weights,
    weights_value,
)
from .presets import CAPTIONER_KINDS


@dataclass(frozen=True)
class ModelSpec:
    """One model, as every door describes it: dock, command line, batch, provenance.

    Build it from what the user gave (:meth:`clip`, :meth:`captioner`, :meth:`from_flags`),
    then :meth:`resolve` it to what is loaded. The rule, the same in every door:

    - an architecture name alone (``ViT-B-16``) means its published default weights
      (the OpenAI architectures: ``openai``; see :func:`default_tag`);
    - a preset name (:data:`PRESETS`) means that preset;
    - a file or folder means itself (a model-config JSON given alone holds no weights:
      random weights, warned about);
    - random weights only for weights ``"none"`` (:data:`RANDOM`), always with a
      :class:`~napari_clipcap.core.errors.RandomWeightsWarning`.

    Attributes
    ----------
    kind : str
        ``"clip"`` or a captioner kind (:data:`CAPTIONER_KINDS`).
    name : str
        What the user typed: an architecture, config JSON, folder, hub id or preset (for
        captioners a kind or a preset name). After :meth:`resolve`, what is loaded.
    weights : str or None
        Pretrained tag, ``hf-hub:`` id, file or folder, :data:`RANDOM`, or ``None``:
        "not given" before :meth:`resolve`, "the model holds its own" after.
    decoder : str or None
        ClipCap: the GPT-2 hub id or folder (``None``: the checkpoint's or preset's).
    clip : ModelSpec or None
        ClipCap: its CLIP image encoder (``None``: what the checkpoint folder recorded,
        else the preset's). CoCa: unused (``name`` is the architecture via presets).
    extras : tuple of (str, object)
        Other loader options as sorted pairs, e.g. ``("normalize_prefix", True)``.
    resolved : bool
        Whether :meth:`resolve` made it.
    """

    kind: str
    name: str
    weights: str | None = None
    decoder: str | None = None
    clip: ModelSpec | None = None
    extras: tuple[tuple[str, Any], ...] = ()
    resolved: bool = False

    # ------------------------------------------------------------------ building
    @classmethod
    def for_clip(cls, name: str | None = None, weights: str | None = None) -> ModelSpec:
        """A CLIP model as given (``name`` None: :data:`DEFAULT_CLIP`)."""
        if name is None or not str(name).strip():
            return (
                DEFAULT_CLIP
                if weights_value(weights) is None
                else (cls("clip", DEFAULT_CLIP.name, weights_value(weights)))
            )
        return cls("clip", str(name).strip(), weights_value(weights))

    @classmethod
    def for_captioner(
        cls,
        name: str = "clipcap",
        weights: str | None = None,
        *,
        decoder: str | None = None,
        clip: ModelSpec | None = None,
        **extras: Any,
    ) -> ModelSpec:
        """A captioner as given: ``name`` a kind or captioner preset."""
        pairs = tuple(sorted((k, v) for k, v in extras.items() if v is not None))
        weights = None if weights in (None, "") else str(weights)
        return cls(str(name), str(name), weights, decoder or None, clip, pairs).with_kind()

    def with_kind(self) -> ModelSpec:
        """The same spec with ``kind`` the captioner kind its ``name`` stands for."""
        if self.kind == "clip" or self.name in CAPTIONER_KINDS:
            return self
        preset = captioner_preset(self.name)
        return replace(self, kind=preset.kind)

    @classmethod
    def from_flags(cls, flags: Any, kind: str = "clip") -> ModelSpec:
        """The model the command-line flags (an ``argparse.Namespace`` or a mapping) ask for.

        ``kind="clip"`` reads ``clip`` and ``clip_weights``; ``kind="captioner"`` reads
        ``captioner``, ``weights``, ``decoder``, ``normalize_prefix``, ``prompt`` and the
        CLIP flags (only when ``clip`` is given).
        """
        get = flags.get if isinstance(flags, dict) else (lambda k, d=None: getattr(flags, k, d))
        clip_name, clip_weights = get("clip"), get("clip_weights")
        if kind == "clip":
            return cls.for_clip(clip_name, clip_weights)
        clip = cls.for_clip(clip_name, clip_weights) if clip_name else None
        if clip is None and weights_value(clip_weights) is not None:
            clip = cls.for_clip(None, clip_weights)
        return cls.for_captioner(
            get("captioner") or "clipcap",
            get("weights"),
            decoder=get("decoder"),
            clip=clip,
            normalize_prefix=get("normalize_prefix"),
            prompt=get("prompt"),
        )

    @classmethod
    def from_dict(cls, data: dict) -> ModelSpec:
        """Inverse of :meth:`to_dict`."""
        clip = data.get("clip")
        return cls(
            kind=str(data["kind"]),
            name=str(data["name"]),
            weights=data.get("weights"),
            decoder=data.get("decoder"),
            clip=cls.from_dict(clip) if isinstance(clip, dict) else None,
            extras=tuple(sorted((data.get("extras") or {}).items())),
            resolved=bool(data.get("resolved", False)),
        )

    # ----------------------------------------------------------------- resolving
    def resolve(self) -> ModelSpec:
        """What is loaded, by the rule in the class docstring (idempotent).

        Raises
        ------
        InvalidInputError
            For an architecture without a single default (the message lists its tags), an
            unknown captioner, or weights ``none`` for a model that holds its own weights.
        """
        if self.resolved:
            return self
        if self.kind == "clip":
            return self._resolve_clip()
        return self._resolve_captioner()

    def _resolve_clip(self) -> ModelSpec:
        name, weights = self.name, weights_value(self.weights)
        preset = clip_preset(name)
        if preset is not None:
            name = preset.model
            if weights is None:
                return replace(self, name=name, weights=preset.weights, resolved=True)
        if weights == RANDOM and not takes_weights(name):
            raise InvalidInputError(
                f"weights 'none' (random) only apply to an open_clip architecture or model "
                f"config; {name!r} holds its own weights"
            )
        if weights is not None:
            # ``ViT-B/16`` spelled as open_clip does (no open_clip import otherwise)
            arch = open_clip_architecture(name) if "/" in name and not is_local(name) else None
            return replace(self, name=arch or name, weights=weights, resolved=True)
        if is_local(name) or name.startswith(("hf-hub:", "local-dir:")):
            json_alone = name.lower().endswith(".json") and Path(name).expanduser().is_file()
            return replace(self, weights=RANDOM if json_alone else None, resolved=True)
        arch = open_clip_architecture(name)
        if arch is not None:
            return replace(self, name=arch, weights=default_tag(arch), resolved=True)
        return replace(self, weights=None, resolved=True)  # a transformers hub id

    def _resolve_captioner(self) -> ModelSpec:
        preset = captioner_preset(self.name)
        args = preset.load_args()
        weights = self.weights if self.weights not in (None, "") else args.get("weights")
        name = preset.name if self.name == preset.name or self.weights is None else preset.kind
        clip = self.clip
        if preset.kind == "clipcap":
            recorded = read_clipcap_record(weights) if weights else {}
            clip = clipcap_clip(self.clip, recorded, args)
        return replace(
            self,
            kind=preset.kind,
            name=name,
            weights=weights,
            clip=clip.resolve() if clip is not None and preset.kind == "clipcap" else clip,
            resolved=True,
        )

    # ------------------------------------------------------------------ describing
    @property
    def random(self) -> bool:
        """Whether it runs (or its CLIP runs) with random weights (after :meth:`resolve`)."""
        return self.weights == RANDOM or bool(self.clip is not None and self.clip.random)

    @property
    def id(self) -> str:
        """A stable string naming the model: ``clip:ViT-B-16@openai``,
        ``clipcap:clipcap-coco-mlp@coco_weights.pt+clip:ViT-B-32@openai`` ..."""
        text = f"{self.kind}:{self.name}"
        if self.weights:
            text += f"@{self.weights}"
        if self.decoder:
            text += f"+decoder:{self.decoder}"
        if self.clip is not None:
            text += f"+{self.clip.id}"
        for key, value in self.extras:
            text += f"+{key}={value}"
        return text

    @property
    def label(self) -> str:
        """What a user reads: ``ViT-B-16 (openai)``, ``ViT-B-16 (random weights)``."""
        if self.kind == "clip":
            if self.weights == RANDOM:
                return f"{self.name} (random weights)"
            return f"{self.name} ({self.weights})" if self.weights else self.name
        text = self.name + (f" ({self.weights})" if self.weights else "")
        return text + (f", CLIP {self.clip.label}" if self.clip is not None else "")

    def option(self, key: str, default: Any = None) -> Any:
        """One of :attr:`extras`."""
        return dict(self.extras).get(key, default)

    def warnings(self) -> list[str]:
        """The :class:`~napari_clipcap.core.errors.RandomWeightsWarning` texts it earns."""
        out = []
        if self.kind == "clip" and self.weights == RANDOM:
            out.append(
                f"CLIP {self.name} runs with random weights (weights 'none'): its scores "
                "mean nothing (speed measurements only); name a pretrained tag or file to "
                "get real results"
            )
        if self.clip is not None:
            out += self.clip.warnings()
        return out

    def warn(self) -> list[str]:
        """Issue :meth:`warnings` as :class:`RandomWeightsWarning` (stderr on the command
        line, ``--json`` ``warnings``, the dock's hint line); returns them."""
        from ..errors import RandomWeightsWarning, warn_user

        found = self.warnings()
        for text in found:
            warn_user(text, RandomWeightsWarning, stacklevel=3)
        return found

    def to_flags(self) -> list[str]:
        """The command-line flags that ask for this model (resolve first for the exact
        weights): ``["--clip", "ViT-B-16", "--clip-weights", "openai"]``."""
        if self.kind == "clip":
            flags = ["--clip", self.name]
            return flags + (["--clip-weights", self.weights] if self.weights else [])
        flags = ["--captioner", self.name]
        if self.weights:
            flags += ["--weights", str(self.weights)]
        if self.decoder:
            flags += ["--decoder", self.decoder]
        if self.clip is not None:
            flags += self.clip.to_flags()
        prefix = self.option("normalize_prefix")
        if prefix is not None:
            flags.append("--normalize-prefix" if prefix else "--no-normalize-prefix")
        if self.option("prompt"):
            flags += ["--prompt", str(self.option("prompt"))]
        return flags

    def to_dict(self) -> dict:
        """JSON-ready: ``kind``, ``name``, ``weights``, ``random``, ``id`` and, where set,
        ``decoder``, ``clip``, ``extras``, ``resolved``."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "weights": self.weights,
            "random": self.random,
            "id": self.id,
            "resolved": self.resolved,
        }
        if self.decoder:
            out["decoder"] = self.decoder
        if self.clip is not None:
            out["clip"] = self.clip.to_dict()
        if self.extras:
            out["extras"] = dict(self.extras)
        return out


#: The reference zero-shot model, the default of every door that takes a CLIP model.
DEFAULT_CLIP = ModelSpec("clip", "ViT-B-32", "openai")


def clipcap_clip(given: ModelSpec | None, recorded: dict, args: dict) -> ModelSpec:
    """A ClipCap checkpoint's CLIP: as given; a name given alone that the folder recorded
    gets the recorded weights; else what the folder recorded; else the preset's."""
    if given is not None:
        same = recorded.get("clip_model") == given.name
        if given.weights is None and same and recorded.get("clip_weights") is not None:
            return ModelSpec.for_clip(given.name, recorded["clip_weights"] or RANDOM)
        return given
    if recorded.get("clip_model"):
        # a folder that recorded no weights was trained on a random CLIP
        return ModelSpec.for_clip(recorded["clip_model"], recorded.get("clip_weights") or RANDOM)
    return ModelSpec.for_clip(args.get("clip_model"), args.get("clip_weights"))


def describe_request(source: str, asked: ModelSpec) -> dict:
    """What a received collection or model folder asks to load, said before anything loads.

    Parameters
    ----------
    source : str
        What asks (``"collection /data/received"``, ``"ClipCap folder run/"``).
    asked : ModelSpec
        The model as the collection or folder records it; the one rule resolves it.

    Returns
    -------
    dict
        ``source``, ``asks_for`` (as recorded), ``resolved`` (what would load; absent when
        the record cannot be resolved, then ``error``), ``random``, ``warnings`` and
        ``text``, one line for stderr or a dock's hint line.
    """
    out: dict[str, Any] = {"source": source, "asks_for": asked.to_dict()}
    try:
        resolved = asked.resolve()
    except InvalidInputError as exc:
        out.update(random=False, warnings=[], error=str(exc))
        out["text"] = f"{source} asks for {asked.kind} {asked.label}, which is refused: {exc}"
        return out
    out.update(resolved=resolved.to_dict(), random=resolved.random, warnings=resolved.warnings())
    text = f"{source} asks for {resolved.kind} {resolved.label}"
    if resolved.random:
        text += " (RANDOM weights: its results mean nothing)"
    out["text"] = text
    return out
