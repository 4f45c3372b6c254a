"""A scripted phrase segmenter: each bright connected blob of a tile is one instance.

It stands in for SAM 3 where the test is about placement and merging, not the model:
random weights give arbitrary masks."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from napari_clipcap.core.segmentation.model import TileInstance


class BlobSegmenter:
    kind = "phrase"
    name = "segmenter:blobs"

    def __init__(self, tile_size: int = 64, after_tiles=None):
        self.tile_size = tile_size
        self.calls: list[tuple] = []
        self.after_tiles = after_tiles

    def segment(
        self,
        tile,
        phrases,
        *,
        exemplars=(),
        exemplar_labels=(),
        threshold=0.5,
        mask_threshold=0.5,
        cancel=None,
    ):
        self.calls.append((tile.shape, tuple(phrases), list(exemplars)))
        if self.after_tiles is not None and len(self.calls) >= self.after_tiles[0]:
            self.after_tiles[1].set()
        bright = np.nan_to_num(tile).mean(axis=2) > 0.5
        parts, n = ndimage.label(bright)
        return [
            TileInstance(parts == i, 0.9 - 0.01 * i, phrase)
            for phrase in (phrases or ["exemplar"])
            for i in range(1, n + 1)
        ]
