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
    "load_clip": "napari_clipcap.core.clip.model",
    "score_regions": "napari_clipcap.core.tasks.labels",
    "text_heatmap": "napari_clipcap.core.tasks.heatmap",
    "region_heatmap": "napari_clipcap.core.tasks.heatmap",
    "load_captioner": "napari_clipcap.core.captioning.protocol",
    "caption_regions": "napari_clipcap.core.tasks.captions",
    "word_maps": "napari_clipcap.core.tasks.word_relevance",
    "load_clipcap_checkpoint": "napari_clipcap.core.captioning.clipcap.model",
    "read_fits": "napari_clipcap.core.io.fits.reader",
    "to_model_input": "napari_clipcap.core.scaling.model_input",
    "read_geotiff": "napari_clipcap.core.io.geotiff",
    "composite": "napari_clipcap.core.scaling.composites",
    "scene_image": "napari_clipcap.core.io.geoimage",
    "Collection": "napari_clipcap.core.collection.store",
    "index_paths": "napari_clipcap.core.collection.indexing",
    "search_text": "napari_clipcap.core.collection.search",
    "search_image": "napari_clipcap.core.collection.search",
    "BatchSpec": "napari_clipcap.core.batch.chunks",
    "run_batch": "napari_clipcap.core.batch.runner",
    "read_caption_dataset": "napari_clipcap.core.training.datasets",
    "train_clipcap": "napari_clipcap.core.training.clipcap.train",
    "finetune_clip": "napari_clipcap.core.training.finetune_clip",
    "caption_metrics": "napari_clipcap.core.evaluation.metrics",
    "ask": "napari_clipcap.core.tasks.ask.regions",
    "segment": "napari_clipcap.core.tasks.segment.request",
    "load_segmenter": "napari_clipcap.core.segmentation.model",
    "load_vlm": "napari_clipcap.core.vlm.loading",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'napari_clipcap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
