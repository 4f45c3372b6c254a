"""Florence-2 on transformers' native classes: captions, region descriptions, grounding,
detection.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "locations": ["location_tokens", "parse_locations", "strip_locations"],
        "captioner": ["Florence2Captioner", "build_florence2"],
        "tasks": ["describe_regions", "detect_phrases", "ground_caption"],
    },
)
