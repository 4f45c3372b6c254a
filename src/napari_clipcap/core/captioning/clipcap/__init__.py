"""ClipCap: CLIP image embedding -> mapping network -> GPT-2 prefix, in the release's format
and the project's own.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "model": ["ClipCapModel", "load_clipcap_checkpoint", "load_decoder", "save_clipcap"],
        "captioner": ["ClipCapCaptioner", "build_clipcap"],
        "mapping": ["MappingConfig", "build_mapping"],
    },
)
