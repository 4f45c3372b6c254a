"""A searchable image collection: SQLite store, records, vector index, indexing, search.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "store": ["Collection"],
        "indexing": ["index_paths"],
        "frombatch": ["import_batch"],
        "distributed": ["open_cluster"],
        "ivfpq": ["IvfPqIndex"],
        "lock": ["CollectionBusyError", "collection_lock"],
        "search": ["Hit", "search_image", "search_text"],
        "vectorindex": ["VectorIndex"],
    },
)
