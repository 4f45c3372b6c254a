"""Caption, label, map or embed a whole archive, locally or on a Dask cluster.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "chunks": ["BatchSpec"],
        "runner": ["read_parts", "run_batch"],
    },
)
