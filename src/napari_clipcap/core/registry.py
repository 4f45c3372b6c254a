"""Model presets as data.

A preset names a model a user can pick in a widget or pass to ``--clip`` /
``--captioner`` on the command line. Adding a model means adding a row here, never a
new code path: the loaders dispatch on ``kind`` and ``source`` only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .errors import InvalidInputError


@dataclass(frozen=True)
class Preset:
    """One named model.

    Attributes
    ----------
    name : str
        The name users type.
    kind : str
        ``"clip"`` for image-text encoders, or a captioner kind: ``"clipcap"``,
        ``"blip"``, ``"vit-gpt2"``, ``"git"``, ``"coca"``.
    source : str
        ``"open_clip"`` (architecture + pretrained tag or ``hf-hub:`` id) or
        ``"transformers"`` (a hub id or local directory).
    model : str
        open_clip architecture name, or the transformers hub id.
    weights : str or None
        open_clip pretrained tag, ``hf-hub:`` id or file; ``None`` when ``model`` says all.
    domain : str
        ``"photo"``, ``"satellite"`` or ``"astronomy"``: picks the default input scaling
        and prompt templates.
    licence : str
        Licence of the weights, as published.
    description : str
        One line shown in the model panel.
    extra : dict
        Loader options (e.g. the CLIP encoder and GPT-2 decoder of a ClipCap preset);
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


PRESETS: tuple[Preset, ...] = (
    Preset(
        "ViT-B-32/openai",
        "clip",
        "open_clip",
        "ViT-B-32",
        "openai",
        "photo",
        "MIT",
        "OpenAI CLIP ViT-B/32, the reference zero-shot model",
        {"hf_hub": "timm/vit_base_patch32_clip_224.openai/"},
    ),
    Preset(
        "ViT-B-16/openai",
        "clip",
        "open_clip",
        "ViT-B-16",
        "openai",
        "photo",
        "MIT",
        "OpenAI CLIP ViT-B/16: finer patches, sharper dense heatmaps",
        {"hf_hub": "timm/vit_base_patch16_clip_224.openai/"},
    ),
    Preset(
        "ViT-L-14/openai",
        "clip",
        "open_clip",
        "ViT-L-14",
        "openai",
        "photo",
        "MIT",
        "OpenAI CLIP ViT-L/14: strongest OpenAI CLIP, slower",
        {"hf_hub": "timm/vit_large_patch14_clip_224.openai/"},
    ),
    Preset(
        "ViT-B-32/laion2b",
        "clip",
        "open_clip",
        "ViT-B-32",
        "laion2b_s34b_b79k",
        "photo",
        "MIT",
        "LAION-2B trained ViT-B/32",
        {"hf_hub": "laion/CLIP-ViT-B-32-laion2B-s34B-b79K/"},
    ),
    Preset(
        "RemoteCLIP-ViT-B-32",
        "clip",
        "open_clip",
        "ViT-B-32",
        "hf-hub:chendelong/RemoteCLIP/RemoteCLIP-ViT-B-32.pt",
        "satellite",
        "Apache-2.0",
        "RemoteCLIP: CLIP continued on remote-sensing image-text data",
    ),
    Preset(
        "GeoRSCLIP-ViT-B-32",
        "clip",
        "open_clip",
        "ViT-B-32",
        "hf-hub:Zilun/GeoRSCLIP/ckpt/RS5M_ViT-B-32.pt",
        "satellite",
        "CC-BY-4.0",
        "GeoRSCLIP: CLIP fine-tuned on the RS5M remote-sensing corpus",
    ),
    Preset(
        "CLIP-RSICD-v2",
        "clip",
        "transformers",
        "flax-community/clip-rsicd-v2",
        None,
        "satellite",
        "Apache-2.0",
        "CLIP ViT-B/32 fine-tuned on RSICD (transformers format)",
    ),
    Preset(
        "clipcap-coco-mlp",
        "clipcap",
        "local",
        "clipcap",
        None,
        "photo",
        "MIT",
        "ClipCap MLP mapping trained on COCO (original release checkpoint; give its path)",
        {"clip_model": "ViT-B-32", "clip_weights": "openai", "decoder": "gpt2"},
    ),
    Preset(
        "clipcap-coco-transformer",
        "clipcap",
        "local",
        "clipcap",
        None,
        "photo",
        "MIT",
        "ClipCap transformer mapping, GPT-2 frozen (original release; give its path)",
        {"clip_model": "ViT-B-32", "clip_weights": "openai", "decoder": "gpt2"},
    ),
    Preset(
        "blip-base",
        "blip",
        "transformers",
        "Salesforce/blip-image-captioning-base",
        None,
        "photo",
        "BSD-3-Clause",
        "BLIP base captioner",
    ),
    Preset(
        "blip-large",
        "blip",
        "transformers",
        "Salesforce/blip-image-captioning-large",
        None,
        "photo",
        "BSD-3-Clause",
        "BLIP large captioner",
    ),
    Preset(
        "vit-gpt2",
        "vit-gpt2",
        "transformers",
        "nlpconnect/vit-gpt2-image-captioning",
        None,
        "photo",
        "Apache-2.0",
        "ViT encoder + GPT-2 decoder captioner",
    ),
    Preset(
        "git-base-coco",
        "git",
        "transformers",
        "microsoft/git-base-coco",
        None,
        "photo",
        "MIT",
        "GIT base fine-tuned on COCO captions",
    ),
    Preset(
        "coca-ViT-L-14",
        "coca",
        "open_clip",
        "coca_ViT-L-14",
        "mscoco_finetuned_laion2B-s13B-b90k",
        "photo",
        "MIT",
        "open_clip CoCa ViT-L/14 fine-tuned on COCO captions",
        {"hf_hub": "laion/mscoco_finetuned_CoCa-ViT-L-14-laion2B-s13B-b90k/"},
    ),
)


def presets(kind: str | None = None) -> list[Preset]:
    """Return the presets, optionally only those of one ``kind`` (``"clip"``, ``"clipcap"``...).

    ``kind="captioner"`` returns every preset that is not a CLIP model.
    """
    if kind is None:
        return list(PRESETS)
    if kind == "captioner":
        return [p for p in PRESETS if p.kind != "clip"]
    return [p for p in PRESETS if p.kind == kind]


def get_preset(name: str) -> Preset:
    """Look up a preset by name.

    Raises
    ------
    InvalidInputError
        If no preset has that name; the message lists the known ones.
    """
    for p in PRESETS:
        if p.name == name:
            return p
    known = ", ".join(p.name for p in PRESETS)
    raise InvalidInputError(f"unknown preset {name!r}; known presets: {known}")
