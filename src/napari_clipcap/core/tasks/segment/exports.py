"""What a segmentation writes: the label image (GeoTIFF/FITS keep the georeferencing or
WCS), the outlines as a region file (DS9 in sky coordinates over a celestial WCS, or
GeoJSON over a GeoTIFF) and the table as CSV; every file through ``core/io/atomic``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LABEL_SUFFIXES", "TABLE_COLUMNS", "instance_shapes", "write_table"]

#: Label image formats ``--out`` takes.
LABEL_SUFFIXES = (".tif", ".tiff", ".fits", ".fit", ".fts", ".npy")
#: The CSV columns, in order.
TABLE_COLUMNS = (
    "id",
    "phrase",
    "score",
    "area_px",
    "area_world",
    "area_unit",
    "centroid_x",
    "centroid_y",
    "centroid_world_x",
    "centroid_world_y",
    "x0",
    "y0",
    "x1",
    "y1",
)


def instance_shapes(labels: np.ndarray, rows: Sequence[dict]) -> list[Any]:
    """Each instance's outline as a polygon ``FileRegion`` with ``"id phrase score"`` as
    its text, for :func:`~napari_clipcap.core.io.region_files.write_region_file` and the
    GeoJSON writer."""
    from ...coords.region_shapes import FileRegion
    from ...segmentation.measure import instance_outlines

    rings = instance_outlines(labels, [r["id"] for r in rows])
    return [
        FileRegion(
            "polygon",
            ring[:, ::-1] - 0.5,  # pixel-edge (x, y) -> napari (row, col) of the vertices
            text=f"{r['id']} {r['phrase']} {r['score']:.3f}",
            number=r["id"],
        )
        for ring, r in zip(rings, rows)
        if len(ring) >= 3
    ]


def write_table(path: str | Path, rows: Sequence[dict]) -> Path:
    """The instance table as CSV (:data:`TABLE_COLUMNS`), whole or not at all."""
    from ...io.atomic import write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TABLE_COLUMNS)
    for r in rows:
        world = r["centroid_world"] or [None, None]
        writer.writerow(
            [
                r["id"],
                r["phrase"],
                r["score"],
                r["area_px"],
                r["area_world"],
                r["area_unit"],
                r["centroid_x"],
                r["centroid_y"],
                *world,
                *r["box"],
            ]
        )
    return write_text(Path(path), buffer.getvalue())
