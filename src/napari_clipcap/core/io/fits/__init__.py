"""FITS files: HDUs, headers read leniently, scaled and lazy data, WCS.

Names load lazily from their modules on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "reader": ["FITS_SUFFIXES", "FitsImage", "has_fits_suffix", "is_fits", "read_fits"],
    },
)
