"""``napari-clipcap finetune-clip``: contrastive fine-tuning of an open_clip model."""

from __future__ import annotations

import argparse
import os
import sys

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE
from ._argtypes import (
    finite_float,
    nonnegative_int,
    positive_float,
    positive_int,
    seed_value,
    template_text,
)
from ._common import ProgressBar, add_common, emit


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "finetune-clip",
        help="fine-tune an open_clip model contrastively on image-caption data",
        description="Fine-tune on DATASET's train split with crops, flips and 90-degree "
        "rotations; reports zero-shot accuracy on the test (or val) labels at the end. "
        "With --clip-weights none the model is trained from scratch.",
    )
    p.add_argument("dataset", help="dataset file (or class folders)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--images-dir", default=None, help="folder image paths are relative to")
    p.add_argument(
        "--clip",
        default=DEFAULT_CLIP.name,
        metavar="MODEL",
        help="open_clip architecture or model-config JSON. " + RESOLUTION_RULE,
    )
    p.add_argument(
        "--clip-weights",
        default=None,
        metavar="W",
        help="starting weights: tag, hf-hub: id or file (default: the architecture's "
        "published weights); 'none': train from scratch",
    )
    p.add_argument("--epochs", type=positive_int, default=5)
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--lr", type=positive_float, default=1e-5)
    p.add_argument("--weight-decay", type=finite_float, default=0.1)
    p.add_argument(
        "--warmup", type=nonnegative_int, default=100, help="warm-up steps (at most 10%%)"
    )
    p.add_argument(
        "--augment",
        default="crop,flip,rot90",
        help="comma list of crop, flip, rot90, or 'none' (default all three)",
    )
    p.add_argument(
        "--crop-scale",
        type=float,
        default=0.6,
        help="smallest crop, as a share of the image area (0.6)",
    )
    p.add_argument(
        "--caption-augment",
        action="store_true",
        help="also train on labels and on captions wrapped in prompt templates",
    )
    p.add_argument(
        "--template",
        type=template_text,
        default="{}",
        help="zero-shot prompt with {} (default {})",
    )
    p.add_argument("--seed", type=seed_value, default=0)
    p.add_argument("--no-resume", action="store_true", help="refuse to continue a run")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty --out folder napari-clipcap did not create (only "
        "this run's own files there are replaced)",
    )
    add_common(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..core.errors import InvalidInputError
    from ..core.io.atomic import check_output_folder
    from ..core.training.checkpoint import latest_checkpoint
    from ..core.training.datasets import read_caption_dataset
    from ..core.training.finetune_clip import FinetuneConfig, finetune_clip, is_finetune_run
    from .evaluate import clip_spec

    augment = (
        ()
        if args.augment.strip().lower() == "none"
        else tuple(a.strip() for a in args.augment.split(",") if a.strip())
    )
    # every setting is checked before anything is read at length or written
    cfg = FinetuneConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup,
        augment=augment,
        crop_scale=(args.crop_scale, 1.0),
        caption_augment=args.caption_augment,
        template=args.template,
        seed=args.seed,
    )
    out = check_output_folder(args.out, owned=is_finetune_run, overwrite=args.overwrite)
    if args.no_resume and latest_checkpoint(out) is not None:
        raise InvalidInputError(f"{out} already holds a run; choose another --out")
    clip_model, clip_weights = clip_spec(args)
    ds = read_caption_dataset(args.dataset, images_dir=args.images_dir)
    res = finetune_clip(
        ds,
        args.out,
        clip_model=clip_model,
        clip_weights=clip_weights,
        config=cfg,
        device=args.device,
        resume=not args.no_resume,
        overwrite=args.overwrite,
        progress=ProgressBar("finetune", quiet=args.json or os.environ.get("RANK", "0") != "0"),
        log=None if args.json else (lambda m: print(m, file=sys.stderr)),
    )
    data = res.to_dict()
    if data["zeroshot"]:
        data["zeroshot"].pop("confusion", None)
    lines = [f"model: --clip {res.model} --clip-weights {res.weights}"]
    if res.history:
        lines.append(f"final contrastive loss {res.history[-1]['loss']:.4f}")
    if res.zeroshot:
        z = res.zeroshot
        lines.append(
            f"zero-shot on {z['split']} ({z['n_images']} images, "
            f"{len(z['classes'])} classes): top-1 {z['top1']:.3f}, "
            f"top-{z['k']} {z['topk']:.3f}"
        )
    lines += [f"skipped: {p}" for p in ds.problems + res.problems]
    if os.environ.get("RANK", "0") == "0":  # under torchrun: one report, not one per process
        emit(args, data, "\n".join(lines))
    return 0
