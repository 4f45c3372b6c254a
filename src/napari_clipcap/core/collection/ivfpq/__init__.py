"""The project's own IVF-PQ index: inverted lists as .npy row files inside the collection.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "index": ["IvfPqIndex", "default_memory_budget", "parse_bytes"],
        "build": ["build_ivfpq", "extend_ivfpq", "index_layout"],
    },
)
