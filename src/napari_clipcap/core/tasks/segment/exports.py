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

__all__ = [
    "LABEL_SUFFIXES",
    "TABLE_COLUMNS",
    "instance_columns",
    "instance_shapes",
    "write_outputs",
    "write_table",
]

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
            text=_shape_text(r),
            number=r["id"],
        )
        for ring, r in zip(rings, rows)
        if len(ring) >= 3
    ]


def _shape_text(row: dict) -> str:
    """``"id phrase score"``, then the instance's label and caption when it has them."""
    text = f"{row['id']} {row['phrase']} {row['score']:.3f}"
    if row.get("label"):
        text += f" {row['label']}"
    if row.get("caption"):
        text += f": {row['caption']}"
    return text


def instance_columns(rows: Sequence[dict]) -> list[str]:
    """The columns the instance tasks added to ``rows``: ``label``, one ``p:<label>``
    per label scored, ``caption`` (:mod:`.instances`)."""
    columns: list[str] = []
    if any("label" in r for r in rows):
        probs = next((r["probabilities"] for r in rows if r.get("probabilities")), {})
        columns += ["label", *(f"p:{lab}" for lab in probs)]
    if any("caption" in r for r in rows):
        columns.append("caption")
    return columns


def _instance_cells(row: dict, columns: Sequence[str]) -> list:
    probs = row.get("probabilities") or {}
    return [probs.get(c[2:]) if c.startswith("p:") else row.get(c) for c in columns]


def write_table(path: str | Path, rows: Sequence[dict]) -> Path:
    """The instance table as CSV (:data:`TABLE_COLUMNS`, then the instance tasks'
    :func:`instance_columns`), whole or not at all."""
    from ...io.atomic import write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    extra = instance_columns(rows)
    writer.writerow([*TABLE_COLUMNS, *extra])
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
                *_instance_cells(r, extra),
            ]
        )
    return write_text(Path(path), buffer.getvalue())


def write_outputs(result: Any, provenance: dict | None = None) -> dict[str, str]:
    """Write the request's ``out`` (label image), ``out_regions`` (outlines) and
    ``out_table`` (CSV) from ``result``; returns ``{flag: path written}``.

    The label image is int32; a GeoTIFF in gives a GeoTIFF out on the same grid and CRS,
    a FITS file keeps the image's WCS; ``provenance`` goes into each (HISTORY cards, TIFF
    tags, a side file for ``.npy``) and the region file's header.
    """
    from ...errors import InvalidInputError
    from ...io.images import write_map

    request, written = result.request, {}
    img = result.image_file
    header = [f"napari-clipcap segment: {result.model}: {', '.join(request.phrases) or 'boxes'}"]
    if provenance is not None:
        header.append(f"command: {provenance.get('command', '')}")
    if request.out:
        suffix = Path(request.out).suffix.lower()
        fits_out = suffix in (".fits", ".fit", ".fts")
        tif_out = suffix in (".tif", ".tiff")
        path = write_map(
            request.out,
            result.labels,
            wcs=img.wcs if fits_out else None,
            geo=result.geo if tif_out else None,
            meta={"phrases": list(request.phrases), "model": result.model},
            provenance=provenance,
            dtype="int32",
        )
        written["out"] = str(path)
    shapes = None
    if request.out_regions:
        shapes = instance_shapes(result.labels, result.rows)
        if Path(request.out_regions).suffix.lower() == ".geojson":
            if result.geo is None:
                raise InvalidInputError(
                    f"--out-regions {request.out_regions}: GeoJSON needs a georeferenced "
                    "image (a GeoTIFF); write a .reg file instead"
                )
            from ...io.regionfile.geojson import write_shapes_geojson

            path = write_shapes_geojson(
                request.out_regions, shapes, result.geo, description=header
            )
        else:
            from ...io.region_files import write_region_file

            path = write_region_file(request.out_regions, shapes, wcs=img.wcs, header=header)
        written["out_regions"] = str(path)
    if request.out_table:
        written["out_table"] = str(write_table(request.out_table, result.rows))
    return written
