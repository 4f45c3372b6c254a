"""Segmenters: SAM 3 finds every instance of a phrase (or of example boxes) as masks;
SAM turns boxes into masks. Tiling and merging of large scenes, and the instance table.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "model": [
            "BoxSegmenter",
            "PhraseSegmenter",
            "TileInstance",
            "cached_segmenter",
            "load_segmenter",
            "segmenter_source",
        ],
        "tiling": ["Instance", "merge_instances", "paint_labels", "segment_tiles"],
        "measure": ["instance_table", "instance_outlines", "world_area_unit"],
    },
)
