"""Evaluate captioners and CLIP models on a dataset: the work behind ``evaluate``.

Each function returns plain data (numbers, lists) ready for
:func:`napari_clipcap.core.evaluation.report.write_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..io.image_sets import load_images
from .metrics import (
    CAPTION_METRICS,
    CLIPSCORE_PREFIX,
    caption_metrics,
    classification_metrics,
    clip_score,
    clipscore_texts,
    multilabel_topk,
    ref_clip_score,
    retrieval_recall,
)

#: Separator of several labels in one dataset ``label`` cell (multi-label data).
LABEL_SEP = ";"


def generate_captions(
    records,
    weights,
    *,
    clip_model: str,
    clip_weights: str | None = None,
    decoder=None,
    device: str = "auto",
    beam_size: int = 1,
    max_tokens: int = 67,
    batch_size: int = 32,
    captioner: str = "clipcap",
    prompt: str | None = None,
    progress=None,
    cancel=None,
) -> tuple[list[str], list[int], list[str]]:
    """Caption each record's image with a ClipCap checkpoint (own or original format), or
    with another captioner kind (``captioner``: ``blip``, ``vlm`` with its ``prompt``...).

    Returns the captions, the indices of the records whose image could be read, and the
    problems met.
    """
    if captioner != "clipcap":
        return _captions_of(records, captioner, weights, prompt, device, beam_size,
                            max_tokens, batch_size, progress, cancel)  # fmt: skip
    import torch

    from ..captioning.clipcap.model import load_clipcap_checkpoint
    from ..clip.model import load_clip
    from ..decoding.options import DecodeOptions
    from ..jobs import batched, check_cancel, report

    opts = DecodeOptions(beam_size=beam_size, max_tokens=max_tokens)
    clip = load_clip(clip_model, clip_weights, device)
    model = load_clipcap_checkpoint(weights, decoder, device=clip.device)
    images, kept, problems = load_images([r.image for r in records], cancel=cancel)
    emb = torch.as_tensor(clip.encode_images(images, normalize=False, cancel=cancel))
    captions: list[str] = []
    for sl in batched(len(emb), batch_size):
        check_cancel(cancel)
        out = model.generate(emb[sl].to(clip.device), opts)
        captions += [c[0] for c in out]
        report(progress, sl.stop, len(emb))
    return captions, kept, problems


def _captions_of(records, kind, weights, prompt, device, beam, max_tokens, batch_size,
                 progress, cancel):  # fmt: skip
    """:func:`generate_captions` for the captioners behind the one captioner protocol."""
    from ..captioning.protocol import load_captioner
    from ..decoding.options import DecodeOptions

    model = load_captioner(kind, weights, prompt=prompt, device=device)
    images, kept, problems = load_images([r.image for r in records], cancel=cancel)
    opts = DecodeOptions(beam_size=beam, max_tokens=max_tokens)
    made = model.caption(images, options=opts, batch_size=batch_size, progress=progress,
                         cancel=cancel) if images else []  # fmt: skip
    return [c[0] if c else "" for c in made], kept, problems


def evaluate_captions(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    metrics: Sequence[str] = (*CAPTION_METRICS, "clipscore"),
    images: Sequence[np.ndarray] | None = None,
    clip=None,
    tokenizer: str = "ptb",
    names: Sequence[str] | None = None,
    n_samples: int = 10,
    clipscore_prefix: bool = True,
) -> dict:
    """COCO caption metrics, plus CLIPScore and RefCLIPScore when ``clip`` and ``images``
    are given and ``"clipscore"`` is among ``metrics``; ``clipscore_prefix`` embeds the
    captions as the reference CLIPScore code does (``"A photo depicts ..."``,
    :func:`~napari_clipcap.core.evaluation.metrics.clipscore_texts`), and the result's
    ``clipscore_prefix`` says which was used."""
    unknown = [m for m in metrics if m not in (*CAPTION_METRICS, "clipscore")]
    if unknown:
        raise InvalidInputError(
            f"unknown caption metric(s) {', '.join(map(repr, unknown))}; use "
            f"{', '.join(CAPTION_METRICS)} or clipscore"
        )
    coco = [m for m in metrics if m in CAPTION_METRICS]
    out: dict = {"n_images": len(predictions)}
    if coco:
        out.update(caption_metrics(predictions, references, metrics=coco, tokenizer=tokenizer))
    if "clipscore" in metrics:
        if clip is None or images is None:
            raise InvalidInputError("CLIPScore needs a CLIP model and the images")
        img = clip.encode_images(images)
        cap = clip.encode_texts(clipscore_texts(predictions, prefix=clipscore_prefix))
        refs = [clip.encode_texts(clipscore_texts(r, prefix=clipscore_prefix)) for r in references]
        out["clipscore_prefix"] = CLIPSCORE_PREFIX if clipscore_prefix else ""
        out["CLIPScore"] = float(clip_score(img, cap).mean())
        out["RefCLIPScore"] = float(ref_clip_score(img, cap, refs).mean())
    exact = [
        p.strip().lower() in {r.strip().lower() for r in refs}
        for p, refs in zip(predictions, references)
    ]
    out["exact_match"] = float(np.mean(exact)) if exact else 0.0
    names = names or [str(i) for i in range(len(predictions))]
    out["samples"] = [
        {"image": n, "prediction": p, "references": list(r)}
        for n, p, r in list(zip(names, predictions, references))[:n_samples]
    ]
    return out


def _label_sets(records) -> tuple[list[str], list[list[int]]]:
    sets = [[x.strip() for x in str(r.label).split(LABEL_SEP) if x.strip()] for r in records]
    classes = sorted({x for s in sets for x in s})
    return classes, [[classes.index(x) for x in s] for s in sets]


def evaluate_zeroshot(
    records, clip, *, templates: Sequence[str] = ("{}",), k: int = 5, out_dir=None, cancel=None
) -> tuple[dict, dict[str, str]]:
    """Zero-shot classification of labelled records; multi-label cells use ``;``.

    Returns the results and the plots written (name -> file name in ``out_dir``).
    """
    from ..clip.prompts import text_embeddings
    from .report import plot_confusion

    recs = [r for r in records if r.label]
    if not recs:
        raise InvalidInputError("no record has a label; zero-shot evaluation needs labels")
    images, kept, problems = load_images([r.image for r in recs], cancel=cancel)
    recs = [recs[i] for i in kept]
    classes, truth = _label_sets(recs)
    scores = clip.encode_images(images) @ text_embeddings(clip, classes, list(templates)).T
    out: dict = {
        "n_images": len(recs),
        "n_classes": len(classes),
        "templates": list(templates),
        "problems": problems,
    }
    plots: dict[str, str] = {}
    if all(len(t) == 1 for t in truth):
        out.update(classification_metrics(scores, [t[0] for t in truth], k=k))
        out["classes"] = classes
        if out_dir is not None:
            plot_confusion(out["confusion"], classes, Path(out_dir) / "confusion.png")
            plots["confusion matrix"] = "confusion.png"
    else:
        out.update(multilabel_topk(scores, truth, k=k))
        out["classes"] = classes
    return out, plots


def evaluate_retrieval(records, clip, *, ks=(1, 5, 10), cancel=None) -> dict:
    """Recall@k for text-to-image (each caption finds its image) and, when records have
    labels, image-to-image (another image with the same label)."""
    images, kept, problems = load_images([r.image for r in records], cancel=cancel)
    recs = [records[i] for i in kept]
    img = clip.encode_images(images, cancel=cancel)
    texts, owner = [], []
    for i, r in enumerate(recs):
        texts += r.captions
        owner += [i] * len(r.captions)
    out: dict = {"n_images": len(recs), "n_captions": len(texts), "problems": problems}
    t2i = retrieval_recall(clip.encode_texts(texts) @ img.T, owner, ks=ks)
    out.update({f"text_to_image_{k}": v for k, v in t2i.items()})
    labels = [r.label for r in recs]
    if any(labels):
        queries = [i for i, lab in enumerate(labels) if lab and sum(x == lab for x in labels) > 1]
        if queries:
            rel = [
                {j for j, lab in enumerate(labels) if lab == labels[q] and j != q} for q in queries
            ]
            sim = img[queries] @ img.T
            sim[np.arange(len(queries)), queries] = -np.inf
            i2i = retrieval_recall(sim, rel, ks=ks)
            out.update({f"image_to_image_{k}": v for k, v in i2i.items()})
    return out
