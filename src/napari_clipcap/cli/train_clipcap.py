"""``napari-clipcap train-clipcap``: train a ClipCap captioner on image-caption data."""

from __future__ import annotations

import argparse
import sys

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE
from ._argtypes import nonnegative_int, positive_float, positive_int, seed_value
from ._clipargs import CLIP_WEIGHTS_HELP
from ._common import ProgressBar, add_common, emit


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train-clipcap",
        help="train a ClipCap mapping network (and GPT-2) on image-caption data",
        description="Train on DATASET (Karpathy/RSICD or COCO JSON, CSV, JSONL). CLIP "
        "embeddings are cached; after each epoch OUT/model holds a checkpoint that the "
        "caption command loads, and running again with the same --out resumes.",
    )
    p.add_argument("dataset", help="dataset file")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder")
    p.add_argument("--images-dir", default=None, help="folder image paths are relative to")
    p.add_argument(
        "--clip", default=DEFAULT_CLIP.name, metavar="MODEL", help="CLIP model. " + RESOLUTION_RULE
    )
    p.add_argument("--clip-weights", default=None, metavar="W", help=CLIP_WEIGHTS_HELP)
    dec = p.add_mutually_exclusive_group()
    dec.add_argument("--decoder", default="gpt2", help="GPT-2 hub id or folder (gpt2)")
    dec.add_argument(
        "--new-decoder",
        default=None,
        metavar="LxW",
        help="build a new GPT-2 with L layers of width W and a tokenizer "
        "trained on the captions, e.g. 2x64",
    )
    p.add_argument("--mapping", choices=("mlp", "transformer"), default="mlp")
    p.add_argument("--prefix-length", type=positive_int, default=10)
    p.add_argument("--clip-length", type=positive_int, default=None, help="transformer mapping")
    p.add_argument("--layers", type=positive_int, default=8, help="transformer mapping layers (8)")
    p.add_argument("--freeze-gpt", action="store_true", help="train the mapping only")
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=40)
    p.add_argument("--lr", type=positive_float, default=2e-5)
    p.add_argument(
        "--warmup", type=nonnegative_int, default=5000, help="warm-up steps (at most 10%%)"
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="share of train images held out when there is no val split",
    )
    p.add_argument("--seed", type=seed_value, default=0)
    p.add_argument("--no-resume", action="store_true", help="refuse to continue a run")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty --out folder napari-clipcap did not create (only "
        "this run's own files there are replaced)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop on missing images or empty captions instead of skipping",
    )
    add_common(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..core.errors import InvalidInputError
    from ..core.io.atomic import check_output_folder, mark_output_folder
    from ..core.training.checkpoint import latest_checkpoint
    from ..core.training.clipcap.train import ClipcapTrainConfig, is_clipcap_run, train_clipcap
    from ..core.training.datasets import read_caption_dataset
    from ..core.training.decoder_init import (
        decoder_is_complete,
        make_decoder,
        parse_decoder_spec,
    )
    from .evaluate import clip_spec

    # every setting is checked before anything is read at length or written
    cfg = ClipcapTrainConfig(
        mapping=args.mapping,
        prefix_length=args.prefix_length,
        clip_length=args.clip_length,
        num_layers=args.layers,
        freeze_gpt=args.freeze_gpt,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=args.warmup,
        val_fraction=args.val_fraction,
        seed=args.seed,
    )
    out = check_output_folder(args.out, owned=is_clipcap_run, overwrite=args.overwrite)
    if args.no_resume and latest_checkpoint(out) is not None:
        raise InvalidInputError(f"{out} already holds a run; choose another --out")
    layers_width = parse_decoder_spec(args.new_decoder) if args.new_decoder else None
    clip_model, clip_weights = clip_spec(args)
    ds = read_caption_dataset(args.dataset, images_dir=args.images_dir, strict=args.strict)
    from ..core.devices import resolve_device
    from ..core.training.data import barrier, init_distributed

    dist, _ = init_distributed(resolve_device(args.device))  # no-op unless under torchrun
    decoder = args.decoder
    if layers_width:
        layers, width = layers_width
        decoder = out / "decoder-init"
        if dist.is_main:
            mark_output_folder(out, "train-clipcap")  # before decoder-init lands in it
        if dist.is_main and not decoder_is_complete(decoder):  # new, or cut by a kill
            split = "train" if "train" in ds.splits else "all"
            caps = [c for r in ds.split(split).records for c in r.captions]
            make_decoder(caps, decoder, n_layer=layers, n_embd=width, seed=args.seed)
        barrier(dist)
    quiet = args.json or not dist.is_main
    res = train_clipcap(
        ds,
        out,
        clip_model=clip_model,
        clip_weights=clip_weights,
        decoder=str(decoder),
        config=cfg,
        device=args.device,
        resume=not args.no_resume,
        overwrite=args.overwrite,
        progress=ProgressBar("train", quiet=quiet),
        log=None if quiet else (lambda m: print(m, file=sys.stderr)),
    )
    data = {"dataset": args.dataset, **res.to_dict(), "dataset_problems": ds.problems}
    last = res.history[-1] if res.history else {}
    weights = f" --clip-weights {clip_weights}" if clip_weights else ""
    lines = [f"model: {res.model_dir}"]
    if last:
        lines.append(
            f"epoch {last['epoch']}: train loss {last['train_loss']:.4f}, "
            f"val loss {last['val_loss']:.4f}"
        )
        lines += [f"  {s['prediction']!r}  (ref: {s['references'][0]!r})" for s in last["samples"]]
    lines += [f"warning: {w}" for w in res.warnings]
    lines += [f"skipped: {p}" for p in ds.problems + res.problems]
    lines.append(
        f"caption with: napari-clipcap caption IMAGE --captioner clipcap --weights "
        f"{res.model_dir} --clip {clip_model}{weights}"
    )
    if dist.is_main:  # one report, not one per process
        emit(args, data, "\n".join(lines))
    return 0
