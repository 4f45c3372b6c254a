"""Zero-shot labels per region: prompt templates, ensembling and scoring.

Single-label mode gives, per region, the softmax over labels of
``logit_scale * cosine(region embedding, label embedding)``. Multi-label mode scores
every label on its own (the cosine) and, with ``top_k``, keeps each region's k best.

A label's text embedding is the normalised mean of its template embeddings (the
zero-shot classifier of the CLIP paper); embeddings are cached per
``(model, label, template)`` on the model object, so they go when the model is unloaded.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..coords.regions import crops, is_all_nan
from ..errors import InvalidInputError
from ..jobs import ProgressCallback

#: Prompt templates per domain, ``{}`` standing for the label.
TEMPLATE_PRESETS: dict[str, tuple[str, ...]] = {
    "photo": (
        "a photo of {}.",
        "a photo of a {}.",
        "a close-up photo of {}.",
        "a bright photo of {}.",
        "a cropped photo of {}.",
    ),
    "satellite": (
        "an aerial photograph of {}.",
        "a satellite image of {}.",
        "an aerial view of {}.",
        "a remote sensing image of {}.",
        "a satellite photo showing {}.",
    ),
    "astronomy": (
        "an astronomical image of {}.",
        "a telescope image of {}.",
        "a deep sky image of {}.",
        "a photo of {} in the night sky.",
        "an astrophotograph of {}.",
    ),
}

_TEXT_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def parse_labels(labels: str | Sequence[str]) -> list[str]:
    """Turn ``"a, b, c"`` or a list into clean labels; reject empty and duplicate ones.

    Raises
    ------
    InvalidInputError
        No labels, an empty label, or the same label twice (ignoring case and spaces).
    """
    items = labels.split(",") if isinstance(labels, str) else list(labels)
    out = [" ".join(str(x).split()) for x in items]
    if not out or all(not x for x in out):
        raise InvalidInputError("no labels given; pass at least one, e.g. 'forest, river'")
    if any(not x for x in out):
        raise InvalidInputError(f"empty label in {labels!r}")
    seen: dict[str, str] = {}
    dups = []
    for x in out:
        key = x.lower()
        if key in seen:
            dups.append(x)
        seen[key] = x
    if dups:
        raise InvalidInputError(f"duplicate labels: {', '.join(sorted(set(dups)))}")
    return out


def resolve_templates(template: str = "{}", templates: str | Sequence[str] | None = None):
    """The templates to use: a preset name, a list, or the single ``template``."""
    if templates is None:
        chosen: Sequence[str] = [template]
    elif isinstance(templates, str):
        if templates in TEMPLATE_PRESETS:
            chosen = TEMPLATE_PRESETS[templates]
        else:
            raise InvalidInputError(
                f"unknown template preset {templates!r}; choose one of "
                f"{', '.join(TEMPLATE_PRESETS)} or pass a list of templates"
            )
    else:
        chosen = list(templates)
    if not chosen:
        raise InvalidInputError("no templates given")
    for t in chosen:
        if not isinstance(t, str) or t.count("{}") != 1:
            raise InvalidInputError(f"template {t!r} must contain '{{}}' exactly once")
    return list(chosen)


def text_embeddings(clip: Any, texts: Sequence[str], templates: Sequence[str]) -> np.ndarray:
    """One L2-normalised embedding per text: the normalised mean over ``templates``.

    Parameters
    ----------
    clip : ClipModel
    texts : sequence of str
        Labels or queries.
    templates : sequence of str
        Each with ``{}``.

    Returns
    -------
    ndarray
        (len(texts), D) float32.
    """
    cache = _TEXT_CACHE.setdefault(clip, {})
    wanted = [(t, x) for x in texts for t in templates]
    missing = [k for k in dict.fromkeys(wanted) if k not in cache]
    if missing:
        emb = clip.encode_texts([t.format(x) for t, x in missing])
        cache.update(zip(missing, emb))
    out = np.empty((len(texts), clip.embed_dim), dtype=np.float32)
    for i, x in enumerate(texts):
        m = np.mean([cache[(t, x)] for t in templates], axis=0)
        out[i] = m / max(float(np.linalg.norm(m)), 1e-12)
    return out


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def score_regions(
    image: np.ndarray,
    regions: Sequence[Any] | None,
    labels: str | Sequence[str],
    clip: Any,
    *,
    template: str = "{}",
    templates: str | Sequence[str] | None = None,
    multi_label: bool = False,
    top_k: int | None = None,
    polygon_mode: str = "mask",
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
    cancel=None,
) -> np.ndarray:
    """Score labels for each region of an image.

    Parameters
    ----------
    image : ndarray
        ``H x W x 3`` float32 in [0, 1] (as
        :func:`~napari_clipcap.core.scaling.model_input.to_model_input` gives), or ``H x W``
        grey.
    regions : sequence or None
        Boxes ``(x0, y0, x1, y1)`` and/or polygons ``(N, 2)`` of ``(x, y)``; ``None`` or
        empty scores the whole image as one region. A region reaching past the image
        edge is clipped to it (:func:`~napari_clipcap.core.coords.regions.as_region`).
    labels : str or sequence of str
        Labels, or one comma-separated string.
    clip : ClipModel
        From :func:`~napari_clipcap.core.clip.model.load_clip`.
    template : str
        Prompt with ``{}``; ignored when ``templates`` is given.
    templates : str or sequence of str, optional
        A preset (``"satellite"``, ``"astronomy"``, ``"photo"``) or a list; the label
        embedding is the normalised mean over them.
    multi_label : bool
        Score labels independently (cosine similarity) instead of a softmax over them.
    top_k : int, optional
        Keep each region's ``k`` highest scores; the others become NaN.
    polygon_mode : {"mask", "context"}
        What to do with the pixels of a polygon's box outside the polygon.
    batch_size : int
        Regions per forward pass.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`.

    Returns
    -------
    ndarray
        (R, L) float64 (R = 1 without regions). Rows of regions that hold only NaN
        pixels are NaN.

    Raises
    ------
    InvalidInputError
        No or duplicate labels, a bad template, an empty or out-of-bounds region, an
        image that is not 2D/3D or is entirely NaN.
    """
    labels = parse_labels(labels)
    tmpl = resolve_templates(template, templates)
    if top_k is not None and not 1 <= int(top_k):
        raise InvalidInputError(f"top_k must be at least 1, got {top_k}")
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] < 1 or img.shape[1] < 1:
        raise InvalidInputError(f"image must be H x W or H x W x 3, got shape {img.shape}")
    if is_all_nan(img):
        raise InvalidInputError("the image is entirely NaN; nothing to score")
    parts = crops(img, regions, polygon_mode=polygon_mode)
    empty = np.array([is_all_nan(p) for p in parts])
    text = text_embeddings(clip, labels, tmpl)
    feats = clip.encode_images(parts, batch_size=batch_size, progress=progress, cancel=cancel)
    cos = feats.astype(np.float64) @ text.astype(np.float64).T
    scores = cos if multi_label else _softmax(clip.logit_scale * cos, axis=1)
    scores[empty] = np.nan
    if top_k is not None and int(top_k) < scores.shape[1]:
        order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")
        drop = order[:, int(top_k) :]
        np.put_along_axis(scores, drop, np.nan, axis=1)
    return scores


def rank_labels(
    scores: np.ndarray, labels: Sequence[str], top_k: int | None = None
) -> list[list[tuple[str, float]]]:
    """Per region, ``(label, score)`` pairs from best to worst (NaN scores left out)."""
    out = []
    for row in np.atleast_2d(scores):
        order = [int(j) for j in np.argsort(-np.nan_to_num(row, nan=-np.inf), kind="stable")]
        pairs = [(labels[j], float(row[j])) for j in order if np.isfinite(row[j])]
        out.append(pairs[:top_k] if top_k else pairs)
    return out


def top_k_hits(ranked: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], k: int):
    """xView-style multi-label hits: fraction of items whose top ``k`` contains any / all
    of their true labels.

    Returns
    -------
    dict
        ``{"any": float, "all": float, "n": int}``.
    """
    if len(ranked) != len(truth):
        raise InvalidInputError("ranked and truth must have the same length")
    if not ranked:
        return {"any": float("nan"), "all": float("nan"), "n": 0}
    anyhit = allhit = 0
    for pred, true in zip(ranked, truth):
        top, true = set(list(pred)[:k]), set(true)
        anyhit += bool(top & true)
        allhit += bool(true) and true <= top
    n = len(ranked)
    return {"any": anyhit / n, "all": allhit / n, "n": n}
