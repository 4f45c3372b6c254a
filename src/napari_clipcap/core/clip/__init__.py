"""CLIP models: loading, preprocessing, dense patch features, prompts.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "model": ["ClipModel", "load_clip", "loaded_models", "unload_all", "unload_clip"],
        "dense": ["patch_features"],
        "prompts": ["TEMPLATE_PRESETS", "parse_labels", "resolve_templates", "text_embeddings"],
    },
)
