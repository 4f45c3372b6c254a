"""Captioners behind one protocol: ClipCap, transformers captioners, open_clip CoCa.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "protocol": [
            "Captioner",
            "load_captioner",
            "loaded_captioners",
            "unload_captioners",
        ],
        "coca": ["CoCaCaptioner"],
        "vlm": ["DOMAIN_PROMPTS", "VlmCaptioner", "build_vlm_captioner"],
        "clipcap": [
            "ClipCapCaptioner",
            "ClipCapModel",
            "MappingConfig",
            "build_mapping",
            "load_clipcap_checkpoint",
            "save_clipcap",
        ],
        "florence2": [
            "Florence2Captioner",
            "build_florence2",
            "describe_regions",
            "detect_phrases",
            "ground_caption",
        ],
    },
)
