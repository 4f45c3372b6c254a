"""``napari-clipcap evaluate``: caption metrics, zero-shot accuracy and retrieval recall."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE
from ._argtypes import positive_int, template_text
from ._clipargs import CLIP_WEIGHTS_HELP
from ._common import ProgressBar, add_common, emit


def clip_spec(args: argparse.Namespace) -> tuple[str, str | None]:
    """``(model, weights)`` from ``--clip``/``--clip-weights`` by the one rule
    (docs/models.md): an architecture alone means its published weights, ``none``
    random ones; the resolved model is kept on ``args`` for provenance."""
    from ..core.registry import ModelSpec

    args.clip_spec = spec = ModelSpec.from_flags(args).resolve()
    return spec.name, spec.weights


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="dataset file (JSON, CSV, JSONL) or class folders")
    p.add_argument("--images-dir", default=None, help="folder image paths are relative to")
    p.add_argument("--split", default="test", help="split to evaluate (test; 'all' for all)")
    p.add_argument(
        "--out", default=None, metavar="DIR", help="write report.json, report.md and plots here"
    )
    p.add_argument(
        "--clip",
        default=None,
        metavar="MODEL",
        help="CLIP model (default: the one a ClipCap --weights folder recorded, else "
        f"{DEFAULT_CLIP.name}). {RESOLUTION_RULE}",
    )
    p.add_argument("--clip-weights", default=None, metavar="W", help=CLIP_WEIGHTS_HELP)
    add_common(p)


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("evaluate", help="caption metrics, zero-shot accuracy, retrieval recall")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    c = kinds.add_parser("captions", help="BLEU-1..4, METEOR, ROUGE-L, CIDEr, CLIPScore")
    _dataset_args(c)
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--weights",
        help="the captioner's weights: a ClipCap checkpoint (folder or .pt), or with "
        "--captioner another kind's folder, hub id or preset",
    )
    src.add_argument("--predictions", help="CSV/JSONL with image,caption columns to score")
    c.add_argument("--decoder", default=None, help="GPT-2 folder or id for --weights")
    c.add_argument(
        "--captioner",
        default="clipcap",
        help="captioner kind or preset of --weights (default clipcap; e.g. blip, vlm)",
    )
    c.add_argument("--prompt", default=None, help="vlm: the description asked for")
    c.add_argument("--beam", type=int, default=1, help="beam size (1: greedy)")
    c.add_argument(
        "--metrics",
        default="bleu,meteor,rouge,cider,clipscore",
        help="comma list of bleu, meteor, rouge, cider, clipscore",
    )
    c.add_argument(
        "--word-groups",
        action="append",
        default=None,
        metavar="GROUPS",
        help='audit word groups: "gender" (built in) or groups split by | such as '
        '"star, stars | galaxy, galaxies" (repeatable): how often captions use another '
        "group's words where the references use one",
    )
    c.add_argument(
        "--no-clipscore-prefix",
        dest="clipscore_prefix",
        action="store_false",
        help='embed captions as they are for CLIPScore (default: "A photo depicts ..." like '
        "the reference implementation, so scores compare with published ones)",
    )
    c.add_argument(
        "--tokenizer",
        choices=("ptb", "simple"),
        default="ptb",
        help="ptb: the COCO tools' Java tokenizer; simple: lower-case, no punctuation (no Java)",
    )
    c.set_defaults(func=run_captions)
    z = kinds.add_parser(
        "zeroshot",
        help="top-1/top-k accuracy, confusion matrix; "
        "any-of/all-of top-k for ';'-separated multi-label cells",
    )
    _dataset_args(z)
    z.add_argument(
        "--template", type=template_text, default="{}", help="prompt with {} (default {})"
    )
    z.add_argument(
        "--templates",
        default=None,
        help="template preset (satellite, astronomy, photo); overrides --template",
    )
    z.add_argument("--top-k", type=positive_int, default=5)
    z.set_defaults(func=run_zeroshot)
    r = kinds.add_parser("retrieval", help="recall@1/5/10 text-to-image and image-to-image")
    _dataset_args(r)
    r.set_defaults(func=run_retrieval)
    return p


def _records(args):
    from ..core.training.datasets import read_caption_dataset

    if args.out:  # a report folder that cannot be one fails before any model runs
        from ..core.io.atomic import check_output_folder

        check_output_folder(args.out, "--out")

    ds = read_caption_dataset(args.dataset, images_dir=args.images_dir)
    return ds.split(args.split).records, ds.problems


def _finish(args, section: str, result: dict, plots: dict, lines: list[str]) -> int:
    from ..core.evaluation.report import write_report

    data = {section: result}
    if args.out:
        paths = write_report(
            data, args.out, title=f"{section} evaluation: {args.dataset}", plots=plots
        )
        data["report"] = {k: str(v) for k, v in paths.items()}
        lines.append(f"report: {paths['markdown']}")
    emit(args, data, "\n".join(lines))
    return 0


def _read_predictions(path: str) -> dict[str, str]:
    from ..core.errors import FileFormatError, InvalidInputError

    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"predictions file {p} does not exist")
    try:
        if p.suffix.lower() in (".jsonl", ".ndjson"):
            rows = [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
        else:
            import csv

            rows = list(csv.DictReader(p.read_text(encoding="utf-8-sig").splitlines()))
    except (ValueError, OSError) as exc:  # JSON errors and bad text encodings are ValueErrors
        raise FileFormatError(f"cannot read predictions {p}: {exc}") from None
    if rows and not all(isinstance(r, dict) for r in rows):
        raise FileFormatError(f"{p}: every line must be a JSON object with image and caption")
    if not rows or "image" not in rows[0] or "caption" not in rows[0]:
        raise FileFormatError(f"{p} needs 'image' and 'caption' columns")
    return {str(r["image"]): r["caption"] for r in rows}


def run_captions(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..core.clip.model import load_clip
    from ..core.errors import InvalidInputError
    from ..core.evaluation.metrics import CAPTION_METRICS
    from ..core.evaluation.report import clipscore_note
    from ..core.evaluation.runs import evaluate_captions, generate_captions
    from ..core.evaluation.word_groups import parse_word_groups
    from ..core.registry import RANDOM, ModelSpec, read_clipcap_record
    from ..core.training.data import load_images
    from ._collection_model import announce

    for spec in args.word_groups or ():  # a bad group spec fails before any work
        parse_word_groups(spec)
    metrics = [m.strip().lower() for m in args.metrics.split(",") if m.strip()]
    unknown = [m for m in metrics if m not in (*CAPTION_METRICS, "clipscore")]
    if unknown or not metrics:  # checked before any captioning work
        raise InvalidInputError(
            f"--metrics {args.metrics!r}: use a comma list of "
            f"{', '.join(CAPTION_METRICS)}, clipscore"
        )
    records, problems = _records(args)
    if args.weights and args.clip is None and args.captioner == "clipcap":
        # the CLIP model the captioner was trained with
        recorded = read_clipcap_record(args.weights)
        if recorded.get("clip_model"):
            asked = ModelSpec.for_clip(recorded["clip_model"], recorded.get("clip_weights"))
            asked = asked if recorded.get("clip_weights") else replace(asked, weights=RANDOM)
            announce(args, f"ClipCap folder {args.weights}", asked)
            args.clip, args.clip_weights = asked.name, asked.weights
    model, weights = clip_spec(args)
    if args.weights:
        preds, kept, more = generate_captions(
            records,
            args.weights,
            clip_model=model,
            clip_weights=weights,
            decoder=args.decoder,
            device=args.device,
            beam_size=args.beam,
            captioner=args.captioner,
            prompt=args.prompt,
            progress=ProgressBar("caption", quiet=args.json),
        )
        records, problems = [records[i] for i in kept], problems + more
    else:
        from ..core.evaluation.predictions import match_predictions

        given = _read_predictions(args.predictions)  # matched by path, not by name alone
        preds = match_predictions(given, [r.image for r in records], args.predictions)
    clip = images = None
    if "clipscore" in metrics:
        clip = load_clip(*clip_spec(args), args.device)
        images, kept, more = load_images([r.image for r in records])
        records, preds = [records[i] for i in kept], [preds[i] for i in kept]
        problems += more
    res = evaluate_captions(
        preds,
        [r.captions for r in records],
        metrics=metrics,
        images=images,
        clip=clip,
        tokenizer=args.tokenizer,
        names=[r.image.name for r in records],
        clipscore_prefix=args.clipscore_prefix,
    )
    res["problems"] = problems
    if args.word_groups:
        from ..core.evaluation.word_groups import audit_word_groups, markdown_table

        generated = {str(i): p for i, p in enumerate(preds)}
        refs = {str(i): r.captions for i, r in enumerate(records)}
        res["word_groups"] = [
            audit_word_groups(generated, refs, parse_word_groups(spec))
            for spec in args.word_groups
        ]
    lines = [f"{k}: {v:.4f}" for k, v in res.items() if isinstance(v, float)]
    for audit in res.get("word_groups", ()):
        lines += ["", markdown_table(audit)]
    note = clipscore_note(res)
    lines += [note] if note else []
    lines += [f"  {s['image']}: {s['prediction']!r}" for s in res["samples"][:5]]
    return _finish(args, "captions", res, {}, lines)


def run_zeroshot(args: argparse.Namespace) -> int:
    from ..core.clip.model import load_clip
    from ..core.clip.prompts import resolve_templates
    from ..core.evaluation.runs import evaluate_zeroshot

    records, problems = _records(args)
    clip = load_clip(*clip_spec(args), args.device)
    res, plots = evaluate_zeroshot(
        records,
        clip,
        k=args.top_k,
        out_dir=args.out,
        templates=resolve_templates(args.template, args.templates),
    )
    res["problems"] = problems + res["problems"]
    keys = ("top1", "topk", "any_of", "all_of")
    lines = [f"{res['n_images']} images, {res['n_classes']} classes"]
    lines += [f"{k}: {res[k]:.4f}" for k in keys if k in res]
    return _finish(args, "zeroshot", res, plots, lines)


def run_retrieval(args: argparse.Namespace) -> int:
    from ..core.clip.model import load_clip
    from ..core.evaluation.runs import evaluate_retrieval

    records, problems = _records(args)
    clip = load_clip(*clip_spec(args), args.device)
    res = evaluate_retrieval(records, clip)
    res["problems"] = problems + res["problems"]
    lines = [f"{k}: {v:.4f}" for k, v in res.items() if isinstance(v, float)]
    return _finish(args, "retrieval", res, {}, lines)
