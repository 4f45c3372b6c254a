"""Intervals and stretches (on astropy.visualization), model input, band composites.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "intervals": ["MinMaxInterval", "PercentileInterval", "ZScaleInterval"],
        "model_input": ["make_stretch", "to_model_input"],
        "composites": [
            "band_limits",
            "composite",
            "default_composite",
            "lazy_composite",
            "resolve_rgb",
        ],
    },
)
