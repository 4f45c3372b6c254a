"""Sample data made offline: sky, overhead and Sentinel-2-like scenes, the learning set.

Names load lazily from their modules on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "sky_overhead": ["bundled_sky", "synthetic_overhead", "synthetic_sky"],
        "sentinel2": ["write_sample_scene"],
        "learning_set": ["make_synthetic_dataset"],
    },
)
