"""The one Dask driver: open a cluster, map work over it a few items at a time, isolate
the items that fail. Used by ``index --workers/--scheduler`` and by ``batch``.

It sits low in the layers (beside ``io``: it imports only the ground floor), so the
collection (layer 6) and the batch runner (layer 7) both build on it.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "cluster": ["check_scheduler_address", "open_cluster", "worker_count", "worker_device"],
        "mapping": ["bounded_map", "run_isolated"],
    },
)
