"""``napari-clipcap labels``: zero-shot label probabilities for an image or its regions."""

from __future__ import annotations

import argparse

from ._clipargs import add_clip_args
from ._common import ProgressBar, add_common, add_region_argument, emit_result, note_clipped
from ._regionfiles import add_region_file_arguments, check_region_file_arguments, region_files


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "labels",
        help="CLIP zero-shot label probabilities per region",
        description="Per region (or the whole image), a softmax over the labels of "
        "logit_scale * cosine(image, text); --multi-label scores each label on its own.",
    )
    p.add_argument("image", metavar="IMAGE", help="PNG, JPEG, TIFF or FITS file")
    p.add_argument("--labels", required=True, help='comma-separated, e.g. "forest,river,city"')
    add_region_argument(p)
    add_region_file_arguments(p)
    p.add_argument("--multi-label", action="store_true", help="independent cosine scores")
    p.add_argument("--top-k", type=int, default=None, metavar="K", help="show the K best")
    add_clip_args(p)
    add_common(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Flags -> :class:`~napari_clipcap.core.tasks.requests.LabelsRequest` -> outputs
    checked -> run -> printed."""
    from ..core.tasks.requests import LabelsRequest

    request = LabelsRequest.from_args(args)
    check_region_file_arguments(args)
    request.check_outputs()  # before any model runs
    result = request.run(progress=ProgressBar("labels", quiet=args.json), files=region_files(args))
    if request.regions is not None:
        note_clipped(args, result.rows, request.image.name, result.image.data.shape)
    emit_result(args, result)
    return 0
