"""Vision-language models: questions about an image, a view or a region, with boxes.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "model": ["Answer", "Turn", "VisionLanguageModel"],
        "loading": ["cached_vlm", "load_vlm", "vlm_problem", "vlm_source"],
        "families": ["FAMILIES", "Family", "family_of"],
        "boxes": ["parse_boxes", "strip_boxes"],
    },
)
