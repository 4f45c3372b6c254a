"""Captions, region labels and text-query heatmaps for scientific images in napari.

The public Python API is importable without Qt or napari::

    from napari_clipcap import load_clip, score_regions, text_heatmap, load_captioner

Names are imported lazily, so ``import napari_clipcap`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_API: dict[str, str] = {
    "load_clip": "napari_clipcap.core.clip",
    "score_regions": "napari_clipcap.core.zeroshot",
    "text_heatmap": "napari_clipcap.core.heatmap",
    "load_captioner": "napari_clipcap.core.captioning",
    "caption_regions": "napari_clipcap.core.captioning",
    "word_maps": "napari_clipcap.core.attribution",
    "load_clipcap_checkpoint": "napari_clipcap.core.clipcap",
    "read_fits": "napari_clipcap.core.fits",
    "to_model_input": "napari_clipcap.core.scaling",
    "read_geotiff": "napari_clipcap.core.geotiff",
    "composite": "napari_clipcap.core.composites",
    "scene_image": "napari_clipcap.core.geoimage",
    "Collection": "napari_clipcap.core.collection",
    "index_paths": "napari_clipcap.core.indexing",
    "search_text": "napari_clipcap.core.search",
    "search_image": "napari_clipcap.core.search",
    "BatchSpec": "napari_clipcap.core.batch_tasks",
    "run_batch": "napari_clipcap.core.batch",
    "read_caption_dataset": "napari_clipcap.core.datasets",
    "train_clipcap": "napari_clipcap.core.train_clipcap",
    "finetune_clip": "napari_clipcap.core.finetune_clip",
    "caption_metrics": "napari_clipcap.core.metrics",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'napari_clipcap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
