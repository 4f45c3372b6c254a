"""``napari-clipcap ask``: a vision-language model answers a question about an image or
each of its regions."""

from __future__ import annotations

import argparse
import sys

from ._common import (
    ProgressBar,
    add_common,
    add_region_argument,
    emit,
    parse_box,
    warn,
)
from ._imageargs import add_scaling_arguments
from ._regionfiles import (
    add_region_file_arguments,
    check_region_file_arguments,
    region_entry,
    write_out_regions,
)


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from ..core.tasks.ask import DEFAULT_VLM

    p = sub.add_parser(
        "ask",
        help="a local vision-language model answers a question about the image or regions",
        description="Ask a local vision-language model (--vlm: a preset, a save_pretrained "
        "folder or a hub id) a question about the whole image or each region (shown as its "
        "crop with --context of its size around it). Greedy decoding: the same question "
        "gives the same answer. Boxes in answers (Qwen-VL JSON, PaliGemma <loc> tokens) "
        "come back in pixel coordinates x0,y0,x1,y1. A general model may be wrong on "
        "astronomy and remote-sensing images.",
    )
    p.add_argument("image", metavar="IMAGE", help="PNG, JPEG, TIFF or FITS file")
    p.add_argument("--question", required=True, metavar="TEXT", help="what to ask")
    p.add_argument(
        "--vlm",
        default=DEFAULT_VLM,
        metavar="MODEL",
        help=f"preset (napari-clipcap info), save_pretrained folder or hub id "
        f"(default {DEFAULT_VLM})",
    )
    add_region_argument(p)
    add_region_file_arguments(p)
    p.add_argument("--max-tokens", type=int, default=256, metavar="N", help="answer length")
    p.add_argument(
        "--context",
        type=float,
        default=0.25,
        metavar="F",
        help="context around each region, as a fraction of its size (0.25)",
    )
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16"))
    add_scaling_arguments(p)
    add_common(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import warnings

    from ..core.tasks.ask import AskRequest
    from ..core.tasks.requests.base import request_record

    check_region_file_arguments(args)
    args.region = [parse_box(r) for r in args.region] if args.region else None
    request = AskRequest.from_args(args)
    streamed = {"region": None}

    def stream(index: int, piece: str) -> None:  # answers appear as they are decoded
        if streamed["region"] != index:
            if streamed["region"] is not None:
                sys.stdout.write("\n")
            label = "image" if not request.has_regions else f"region {index + 1}"
            sys.stdout.write(f"{label}: ")
            streamed["region"] = index
        sys.stdout.write(piece)
        sys.stdout.flush()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kept in the result and reported once below
        result = request.run(
            progress=ProgressBar("ask", quiet=True),
            on_text=None if args.json else stream,
        )
    if streamed["region"] is not None:
        sys.stdout.write("\n")
    for message in result.warnings:
        warn(args, message)
    data = result.to_json()
    data["vlm"] = request.vlm
    data["provenance"] = request_record(request)  # its command: request.to_argv()
    if result.shapes is not None:
        for entry, shape in zip(data["regions"], result.shapes):
            entry.update(region_entry(shape))
    if request.has_regions and args.out_regions:
        texts = [a.text if a is not None else "(no data)" for a in result.answers]
        header = [f"napari-clipcap ask: {result.model}: {request.question}"]
        written = write_out_regions(
            args, result.image_file, result.shapes, result.regions, texts, header
        )
        data["out_regions"] = written
    if args.json or streamed["region"] is None:  # streamed answers are already shown
        emit(args, data, _text(result))
    return 0


def _text(result) -> str:
    lines = []
    for i, answer in enumerate(result.answers):
        label = "image" if not result.request.has_regions else f"region {i + 1}"
        lines.append(f"{label}: {answer.text if answer is not None else '(no valid data)'}")
    return "\n".join(lines)
