"""``napari-clipcap heatmap``: a text-match map of an image, written as .npy/.tif/.fits."""

from __future__ import annotations

import argparse

from ._argtypes import positive_int
from ._clipargs import add_clip_args
from ._common import ProgressBar, add_common, emit_result, warn


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
        default=None,
        metavar="Q",
        help="text query; repeat for a stack of maps (one per query)",
    )
    p.add_argument(
        "--query-region",
        action="extend",
        nargs="+",
        default=None,
        metavar="x0,y0,x1,y1",
        help="a region of the image as the query instead of text ('more like this'): a "
        "box, or polygon vertices x,y,x,y,...; its CLIP embedding is matched against every "
        "window (sliding) or patch (dense); repeatable, one map each",
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
    """Flags -> :class:`~napari_clipcap.core.tasks.requests.HeatmapRequest` -> ``--out``
    checked -> run -> printed."""
    from ..core.tasks.requests import HeatmapRequest
    from ..core.tasks.windows import WindowGrid

    request = HeatmapRequest.from_args(args)
    request.check_outputs()  # before the model work, not after
    image = request.image.load(lazy=True)  # only the windows used are scaled
    _note_coarse(args, WindowGrid.of(*image.data.shape[:2], args.window, args.stride))
    result = request.run(progress=ProgressBar("heatmap", quiet=args.json), image=image)
    emit_result(args, result)
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
