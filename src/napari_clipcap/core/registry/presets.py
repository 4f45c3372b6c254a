"""Model presets as data.

A preset names a model a user can pick in a widget or pass to ``--clip`` /
``--captioner`` on the command line. Adding a model means adding a row here, never a
new code path: the loaders dispatch on ``kind`` and ``source`` only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import InvalidInputError

#: Every captioner kind; a captioner preset's ``kind`` is one of these.
CAPTIONER_KINDS = ("clipcap", "blip", "vit-gpt2", "git", "coca", "florence2", "vlm")


@dataclass(frozen=True)
class Preset:
    """One named model.

    Attributes
    ----------
    name : str
        The name users type.
    kind : str
        ``"clip"`` for image-text encoders, ``"segmenter"`` for SAM 3 / SAM, or one of
        :data:`CAPTIONER_KINDS`.
    source : str
        ``"open_clip"`` (architecture + pretrained tag or ``hf-hub:`` id),
        ``"transformers"`` (a hub id or local directory), ``"hf_hub"`` (one file of a
        Hugging Face hub repository: ``model`` the repository, ``weights`` the file) or
        ``"local"`` (a file the user gives; ``model`` only names the format).
    model : str
        open_clip architecture name, transformers hub id or hub repository.
    weights : str or None
        open_clip pretrained tag, ``hf-hub:`` id, file in the hub repository; ``None``
        when ``model`` says all (or, for ``"local"``, the user gives it).
    domain : str
        ``"photo"``, ``"satellite"`` or ``"astronomy"``: picks the default input scaling
        and prompt templates.
    licence : str
        Licence of the weights, as published.
    description : str
        One line shown in the model panel.
    extra : dict
        Loader options, as :func:`~napari_clipcap.core.captioning.protocol.load_captioner`
        names them (``clip_model``, ``clip_weights``, ``decoder``, ``normalize_prefix``);
        ``hf_hub`` is the hub repository open_clip downloads a pretrained tag from, so
        the widgets can tell whether it is cached without importing open_clip.
    """

    name: str
    kind: str
    source: str
    model: str
    weights: str | None
    domain: str = "photo"
    licence: str = "unknown"
    description: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def load_args(self) -> dict:
        """What the row gives a loader: ``weights`` (``None`` when the user must give a
        file), and for open_clip captioners ``clip_model``, plus the ``extra`` options."""
        args = {k: v for k, v in self.extra.items() if k != "hf_hub"}
        if self.source == "transformers":
            args["weights"] = self.weights or self.model
        elif self.source == "hf_hub":
            args["weights"] = f"hf-hub:{self.model}/{self.weights}"
        elif self.source == "local":
            args["weights"] = None
        else:
            args["weights"] = self.weights
            if self.kind != "clip":
                args["clip_model"] = self.model
        return args


_CLIPCAP = {"clip_model": "ViT-B-32", "clip_weights": "openai", "decoder": "gpt2"}
_CLIPCAP_HUB = "Original ClipCap release, MLP mapping, GPT-2 fine-tuned"

PRESETS: tuple[Preset, ...] = (
    Preset(
        name="ViT-B-32/openai",
        kind="clip",
        source="open_clip",
        model="ViT-B-32",
        weights="openai",
        licence="MIT",
        description="OpenAI CLIP ViT-B/32, the reference zero-shot model",
        extra={"hf_hub": "timm/vit_base_patch32_clip_224.openai/"},
    ),
    Preset(
        name="ViT-B-16/openai",
        kind="clip",
        source="open_clip",
        model="ViT-B-16",
        weights="openai",
        licence="MIT",
        description="OpenAI CLIP ViT-B/16: finer patches, sharper dense heatmaps",
        extra={"hf_hub": "timm/vit_base_patch16_clip_224.openai/"},
    ),
    Preset(
        name="ViT-L-14/openai",
        kind="clip",
        source="open_clip",
        model="ViT-L-14",
        weights="openai",
        licence="MIT",
        description="OpenAI CLIP ViT-L/14: strongest OpenAI CLIP, slower",
        extra={"hf_hub": "timm/vit_large_patch14_clip_224.openai/"},
    ),
    Preset(
        name="ViT-B-32/laion2b",
        kind="clip",
        source="open_clip",
        model="ViT-B-32",
        weights="laion2b_s34b_b79k",
        licence="MIT",
        description="LAION-2B trained ViT-B/32",
        extra={"hf_hub": "laion/CLIP-ViT-B-32-laion2B-s34B-b79K/"},
    ),
    Preset(
        name="RemoteCLIP-ViT-B-32",
        kind="clip",
        source="open_clip",
        model="ViT-B-32",
        weights="hf-hub:chendelong/RemoteCLIP/RemoteCLIP-ViT-B-32.pt",
        domain="satellite",
        licence="Apache-2.0",
        description="RemoteCLIP: CLIP continued on remote-sensing image-text data",
    ),
    Preset(
        name="GeoRSCLIP-ViT-B-32",
        kind="clip",
        source="open_clip",
        model="ViT-B-32",
        weights="hf-hub:Zilun/GeoRSCLIP/ckpt/RS5M_ViT-B-32.pt",
        domain="satellite",
        licence="CC-BY-4.0",
        description="GeoRSCLIP: CLIP fine-tuned on the RS5M remote-sensing corpus",
    ),
    Preset(
        name="CLIP-RSICD-v2",
        kind="clip",
        source="transformers",
        model="flax-community/clip-rsicd-v2",
        weights=None,
        domain="satellite",
        licence="Apache-2.0",
        description="CLIP ViT-B/32 fine-tuned on RSICD (transformers format)",
    ),
    # the first preset of a kind gives that kind's defaults
    Preset(
        name="clipcap-coco-mlp",
        kind="clipcap",
        source="hf_hub",
        model="akhaliq/CLIP-prefix-captioning-COCO-weights",
        weights="coco_weights.pt",
        licence="MIT",
        description=f"{_CLIPCAP_HUB}, trained on COCO (downloaded on first use)",
        extra=dict(_CLIPCAP),
    ),
    Preset(
        name="clipcap-conceptual-mlp",
        kind="clipcap",
        source="hf_hub",
        model="akhaliq/CLIP-prefix-captioning-conceptual-weights",
        weights="conceptual_weights.pt",
        licence="MIT",
        description=f"{_CLIPCAP_HUB}, trained on Conceptual Captions (downloaded on first use)",
        extra=dict(_CLIPCAP),
    ),
    Preset(
        name="clipcap-coco-transformer",
        kind="clipcap",
        source="local",
        model="clipcap",
        weights=None,
        licence="MIT",
        description="ClipCap transformer mapping on CLIP RN50x4, GPT-2 frozen (original "
        "release, not on a hub; give its path)",
        extra={**_CLIPCAP, "clip_model": "RN50x4", "normalize_prefix": True},
    ),
    Preset(
        name="blip-base",
        kind="blip",
        source="transformers",
        model="Salesforce/blip-image-captioning-base",
        weights=None,
        licence="BSD-3-Clause",
        description="BLIP base captioner",
    ),
    Preset(
        name="blip-large",
        kind="blip",
        source="transformers",
        model="Salesforce/blip-image-captioning-large",
        weights=None,
        licence="BSD-3-Clause",
        description="BLIP large captioner",
    ),
    Preset(
        name="vit-gpt2",
        kind="vit-gpt2",
        source="transformers",
        model="nlpconnect/vit-gpt2-image-captioning",
        weights=None,
        licence="Apache-2.0",
        description="ViT encoder + GPT-2 decoder captioner",
    ),
    Preset(
        name="git-base-coco",
        kind="git",
        source="transformers",
        model="microsoft/git-base-coco",
        weights=None,
        licence="MIT",
        description="GIT base fine-tuned on COCO captions",
    ),
    Preset(
        name="coca-ViT-L-14",
        kind="coca",
        source="open_clip",
        model="coca_ViT-L-14",
        weights="mscoco_finetuned_laion2B-s13B-b90k",
        licence="MIT",
        description="open_clip CoCa ViT-L/14 fine-tuned on COCO captions",
        extra={"hf_hub": "laion/mscoco_finetuned_CoCa-ViT-L-14-laion2B-s13B-b90k/"},
    ),
    Preset(
        name="florence2-base",
        kind="florence2",
        source="transformers",
        model="florence-community/Florence-2-base",
        weights=None,
        licence="MIT",
        description="Florence-2 base (0.23B): captions at three levels, region captions, "
        "phrase grounding, open-vocabulary detection",
    ),
    Preset(
        name="florence2-large",
        kind="florence2",
        source="transformers",
        model="florence-community/Florence-2-large",
        weights=None,
        licence="MIT",
        description="Florence-2 large (0.77B): the same tasks, more detail",
    ),
    Preset(
        name="smolvlm2-256m",
        kind="vlm",
        source="transformers",
        model="HuggingFaceTB/SmolVLM2-256M-Video-Instruct",
        weights=None,
        licence="Apache-2.0",
        description="SmolVLM2 256M: a small vision-language model that answers on a CPU",
    ),
    Preset(
        name="smolvlm2-500m",
        kind="vlm",
        source="transformers",
        model="HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
        weights=None,
        licence="Apache-2.0",
        description="SmolVLM2 500M: more detail, still CPU-friendly",
    ),
    Preset(
        name="qwen2.5-vl-3b",
        kind="vlm",
        source="transformers",
        model="Qwen/Qwen2.5-VL-3B-Instruct",
        weights=None,
        licence="Qwen Research License",
        description="Qwen2.5-VL 3B: answers with boxes (grounding, counting); a GPU is advised",
    ),
    Preset(
        name="qwen3-vl-2b",
        kind="vlm",
        source="transformers",
        model="Qwen/Qwen3-VL-2B-Instruct",
        weights=None,
        licence="Apache-2.0",
        description="Qwen3-VL 2B: answers with boxes on a 0-1000 grid",
    ),
    Preset(
        name="paligemma2-3b-mix-448",
        kind="vlm",
        source="transformers",
        model="google/paligemma2-3b-mix-448",
        weights=None,
        licence="Gemma (gated: accept the terms on the hub and log in, or give a local folder)",
        description="PaliGemma 2 mix 448: short answers, 'detect X' boxes as <loc> tokens",
    ),
    Preset(
        name="sam3",
        kind="segmenter",
        source="transformers",
        model="facebook/sam3",
        weights=None,
        licence="SAM License (gated: accept the terms on the hub and run `hf auth login`, "
        "or give a local save_pretrained folder)",
        description="SAM 3 (0.85B): every instance of a phrase or of example boxes as masks",
    ),
    Preset(
        name="sam-vit-base",
        kind="segmenter",
        source="transformers",
        model="facebook/sam-vit-base",
        weights=None,
        licence="Apache-2.0",
        description="SAM ViT-B: boxes to masks (no phrases), weights not gated",
    ),
    Preset(
        name="sam2.1-hiera-tiny",
        kind="segmenter",
        source="transformers",
        model="facebook/sam2.1-hiera-tiny",
        weights=None,
        licence="Apache-2.0",
        description="SAM 2.1 Hiera-T (39M): boxes to masks (no phrases), weights not gated",
    ),
)
_BY_NAME = {p.name: p for p in PRESETS}


def presets(kind: str | None = None) -> list[Preset]:
    """Return the presets, optionally only those of one ``kind`` (``"clip"``, ``"clipcap"``...).

    ``kind="captioner"`` returns every captioner preset. The first preset of a kind is
    that kind's default.
    """
    if kind is None:
        return list(PRESETS)
    if kind == "captioner":
        return [p for p in PRESETS if p.kind in CAPTIONER_KINDS]
    return [p for p in PRESETS if p.kind == kind]


def get_preset(name: str) -> Preset:
    """Look up a preset by name.

    Raises
    ------
    InvalidInputError
        If no preset has that name; the message lists the known ones.
    """
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        known = ", ".join(_BY_NAME)
        raise InvalidInputError(f"unknown preset {name!r}; known presets: {known}") from None
