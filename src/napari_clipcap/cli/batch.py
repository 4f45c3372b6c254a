"""``napari-clipcap batch``: caption, label, map or embed every image of an archive."""

from __future__ import annotations

import argparse

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE
from ._argtypes import positive_int, template_text
from ._clipargs import CLIP_WEIGHTS_HELP
from ._common import ProgressBar, add_common, emit_result, warn


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "batch",
        help="run caption, labels, heatmap or embed over many images (locally or on Dask)",
        description="Process every image under INPUTS and write OUT/results.parquet and "
        "OUT/results.csv (heatmaps under OUT/heatmaps). Running the same command again "
        "resumes; unreadable files get a row with an error instead of stopping the run.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument(
        "--task",
        required=True,
        choices=("caption", "labels", "heatmap", "embed", "ask", "segment"),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler")
    where.add_argument("--workers", type=int, metavar="N", help="start N local Dask workers")
    p.add_argument("--chunk-size", type=int, default=8, help="files per chunk of work (8)")
    p.add_argument("--batch-size", type=int, default=8, help="images per model call (8)")
    p.add_argument("--retry-errors", action="store_true", help="redo files that failed")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty --out folder napari-clipcap did not create (only "
        "this run's own files there are replaced)",
    )
    models = p.add_argument_group("models")
    models.add_argument(
        "--clip",
        default=None,
        metavar="MODEL",
        help=f"CLIP model (default {DEFAULT_CLIP.name}; caption: ClipCap's CLIP, default what "
        f"its checkpoint recorded). {RESOLUTION_RULE}",
    )
    models.add_argument("--clip-weights", default=None, metavar="W", help=CLIP_WEIGHTS_HELP)
    models.add_argument("--captioner", default="clipcap", help="caption: captioner kind")
    models.add_argument(
        "--weights",
        default=None,
        help="caption (and segment --caption): captioner weights; ask: the VLM; segment "
        "without --segmenter: the segmenter",
    )
    models.add_argument(
        "--segmenter", default=None, metavar="MODEL", help="segment: preset, folder or hub id"
    )
    models.add_argument("--decoder", default=None, help="caption: ClipCap GPT-2 decoder")
    opts = p.add_argument_group("task options")
    opts.add_argument("--beam", type=int, default=1, help="caption: beam size")
    opts.add_argument("--num", type=int, default=1, help="caption: captions per image")
    opts.add_argument("--max-tokens", type=int, default=67, help="caption: longest caption")
    opts.add_argument("--labels", default=None, help='labels (and segment: per instance): "a,b,c"')
    opts.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="x0,y0,x1,y1",
        help="caption/labels: a region of every image (repeatable); clipped to each image "
        "it reaches past (column clipped_to)",
    )
    opts.add_argument(
        "--template", type=template_text, default="{}", help='labels/heatmap: e.g. "a photo of {}"'
    )
    opts.add_argument("--query", default=None, help="heatmap: text query")
    opts.add_argument(
        "--question", default=None, help="ask: the question (model: --weights, a VLM)"
    )
    opts.add_argument(
        "--phrases", default=None, help="segment: phrases, comma-separated (model: --segmenter)"
    )
    opts.add_argument(
        "--caption",
        action="store_true",
        help="segment: caption every instance on its outline (--captioner/--weights/--decoder)",
    )
    opts.add_argument("--mode", default="sliding", choices=("sliding", "dense"))
    opts.add_argument("--window", type=positive_int, default=224, help="heatmap: window (px)")
    opts.add_argument("--stride", type=positive_int, default=112, help="heatmap: stride (px)")
    add_common(p)
    p.set_defaults(func=run)
    return p


def spec_from_args(args: argparse.Namespace):
    """The :class:`~napari_clipcap.core.batch.chunks.BatchSpec` the flags describe."""
    from ..core.batch.request import spec_from_flags

    return spec_from_flags(args)


def _count_clipped(parquet: str) -> int:
    """Rows of the results table whose region was clipped to its image."""
    import pyarrow.parquet as pq

    if "clipped_to" not in pq.read_schema(parquet).names:
        return 0
    column = pq.read_table(parquet, columns=["clipped_to"]).column("clipped_to")
    return sum(1 for v in column.to_pylist() if v)


def run(args: argparse.Namespace) -> int:
    """Flags -> :class:`~napari_clipcap.core.batch.request.BatchRequest` -> outputs
    checked -> run -> printed."""
    from ..core.batch.request import BatchRequest

    request = BatchRequest.from_args(args)
    request.check_outputs()  # before any model runs
    result = request.run(progress=ProgressBar(f"batch {args.task}", quiet=args.json))
    rows = result.data["rows"]
    clipped = _count_clipped(result.data["parquet"]) if args.region else 0
    if clipped:
        warn(
            args,
            f"{clipped} of {rows} rows: the region reaches past the image and was "
            "clipped to it (see column clipped_to)",
        )
    emit_result(args, result)
    return 0
