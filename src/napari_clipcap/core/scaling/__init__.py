"""Intervals and stretches (astropy.visualization's, NaN-safe), model input, band composites.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "intervals": [
            "DtypeInterval",
            "ManualInterval",
            "MinMaxInterval",
            "PercentileInterval",
            "ZScaleInterval",
        ],
        "stretches": [
            "AsinhStretch",
            "HistEqStretch",
            "LinearStretch",
            "LogStretch",
            "PowerStretch",
            "SqrtStretch",
        ],
        "model_input": ["make_interval", "make_stretch", "to_model_input"],
        "bands": ["COMPOSITES", "CompositePreset"],
        "composites": [
            "band_limits",
            "composite",
            "default_composite",
            "lazy_composite",
            "resolve_rgb",
        ],
    },
)
