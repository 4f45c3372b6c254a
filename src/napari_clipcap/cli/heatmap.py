"""``napari-clipcap heatmap``: a text-match map of an image, written as .npy/.tif/.fits."""

from __future__ import annotations

import argparse

from ._argtypes import positive_int
from ._clipargs import add_clip_args, load_model, read_input
from ._common import ProgressBar, add_common, emit, warn


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "heatmap",
        help="where an image matches a text query (float32 map)",
        description="Sliding mode averages each window's cosine with the query over the "
        "pixels it covers; dense mode uses patch-level CLIP features (ViT models). A FITS "
        "input written as .fits keeps its WCS. Pixels without data (NaN, BLANK, GeoTIFF "
        "nodata) are NaN in the map. A map coarser than 8 x 8 cells gets a note on stderr "
        "with a finer --window/--stride.",
    )
    p.add_argument("image", metavar="IMAGE", help="PNG, JPEG, TIFF or FITS file")
    p.add_argument(
        "--query",
        action="append",
        required=True,
        metavar="Q",
        help="text query; repeat for a stack of maps (one per query)",
    )
    p.add_argument("--mode", choices=("sliding", "dense"), default="sliding")
    p.add_argument(
        "--window", type=positive_int, default=224, metavar="PX", help="window size (224)"
    )
    p.add_argument(
        "--stride", type=positive_int, default=112, metavar="PX", help="window step (112)"
    )
    p.add_argument("--softmax", action="store_true", help="softmax across several queries")
    p.add_argument("--out", required=True, metavar="FILE", help=".npy, .tif or .fits")
    add_clip_args(p)
    add_common(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..core.errors import InvalidInputError
    from ..core.io.images import MAP_SUFFIXES, write_map
    from ..core.tasks.heatmap import map_summary, text_heatmap
    from ..core.tasks.validity import file_valid_mask
    from ..core.tasks.windows import WindowGrid

    if Path(args.out).suffix.lower() not in MAP_SUFFIXES:
        raise InvalidInputError(f"--out must end in one of {', '.join(MAP_SUFFIXES)}")
    _check_writable(Path(args.out).expanduser())  # before the model work, not after
    img = read_input(args, lazy=True)  # only the windows used are scaled
    grid = WindowGrid.of(*img.data.shape[:2], args.window, args.stride)
    _note_coarse(args, grid)
    valid = file_valid_mask(img)
    clip = load_model(args)
    query = args.query[0] if len(args.query) == 1 else args.query
    result = text_heatmap(
        img.data,
        query,
        clip,
        mode=args.mode,
        window=args.window,
        stride=args.stride,
        template=args.template,
        templates=args.templates,
        softmax=args.softmax,
        batch_size=args.batch_size,
        valid=valid,
        progress=ProgressBar("heatmap", quiet=args.json),
    )
    meta = {
        "query": " | ".join(args.query),
        "mode": args.mode,
        "window": args.window,
        "stride": args.stride,
        "model": clip.name,
        "value": "softmax" if args.softmax else "cosine",
    }
    wcs = img.wcs if Path(args.out).suffix.lower() in (".fits", ".fit", ".fts") else None
    geo = None
    if img.kind == "geotiff" and Path(args.out).suffix.lower() in (".tif", ".tiff"):
        from ..core.io.geoexport import geo_metadata_of

        geo = geo_metadata_of(img.path)  # GeoTIFF in -> GeoTIFF out, same CRS and grid
    try:
        from ._provenance import provenance_of

        out = write_map(
            args.out,
            result,
            wcs=wcs,
            meta=meta,
            geo=geo,
            provenance=provenance_of(args),
            plane=img.plane,
        )
    except OSError as exc:
        raise InvalidInputError(f"cannot write --out {args.out}: {exc.strerror or exc}") from exc
    data = {
        "image": str(img.path),
        "out": str(out),
        "shape": list(result.shape),
        "queries": args.query,
        **map_summary(result),  # band by band: no full-size copies of the map
        "window_effective": [grid.wh, grid.ww],
        "windows": grid.count,
        "cells": list(grid.cells),
        "wcs": wcs is not None,
        **{k: v for k, v in meta.items() if k not in ("query",)},
    }
    emit(
        args,
        data,
        f"{out}: {' x '.join(map(str, result.shape))} float32 map of {meta['query']!r} "
        f"({args.mode}, {data['min']:.3f} .. {data['max']:.3f})",
    )
    return 0


def _note_coarse(args: argparse.Namespace, grid) -> None:
    """Warn on stderr when the map has fewer than ``MIN_CELLS`` cells along a side."""
    from ..core.tasks.windows import MIN_CELLS, auto_window

    rows, cols = grid.cells
    if min(rows, cols) >= MIN_CELLS:
        return
    window, stride = auto_window(grid.height, grid.width)
    hint = (
        f"for a finer map try --window {window} --stride {stride}"
        if (window, stride) != (args.window, args.stride)
        else "the image is small for CLIP windows"
    )
    warn(
        args,
        f"the map has only {rows} x {cols} cells ({args.window} px windows every "
        f"{args.stride} px on {grid.width} x {grid.height} px); {hint}",
    )


def _check_writable(out) -> None:
    """Raise :class:`InvalidInputError` when ``out`` cannot be written."""
    import os

    from ..core.errors import InvalidInputError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot create the folder of --out {out}: {exc.strerror}"
        ) from exc
    if out.is_dir() or not os.access(out.parent, os.W_OK):
        raise InvalidInputError(f"cannot write --out {out}: not a writable file path")
