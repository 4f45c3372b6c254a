"""Zero-shot labels per region: the softmax over labels, multi-label scores, rankings.

Single-label mode gives, per region, the softmax over labels of
``logit_scale * cosine(region embedding, label embedding)``. Multi-label mode scores
every label on its own (the cosine) and, with ``top_k``, keeps each region's k best.
Label embeddings come from :func:`~napari_clipcap.core.clip.prompts.text_embeddings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..clip.prompts import parse_labels, resolve_templates, text_embeddings
from ..errors import InvalidInputError
from ..jobs import ProgressCallback
from .crops import RegionCrops, cut_regions


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
    valid: np.ndarray | None = None,
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
        Boxes ``(x0, y0, x1, y1)``, polygons ``(N, 2)`` of ``(x, y)``, regions or
        region-file shapes (:func:`~napari_clipcap.core.tasks.crops.cut_regions`);
        ``None`` or empty scores the whole image as one region. A region reaching past
        the image edge is clipped to it.
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
    valid : ndarray of bool, optional
        ``(H, W)``: where the source holds data, when ``image`` no longer shows it (model
        input has 0 where a FITS had NaN or a GeoTIFF nodata). Regions mostly without
        data get a warning; without it, the NaN pixels of ``image`` count.
    batch_size : int
        Regions per forward pass.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`.

    Returns
    -------
    ndarray
        (R, L) float64 (R = 1 without regions). Rows of regions that hold only NaN
        pixels are NaN. Regions with little data (mostly NaN, or tiny) are scored with a
        :class:`~napari_clipcap.core.errors.LowDataWarning`
        (:mod:`~napari_clipcap.core.tasks.input_checks`).

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
    cut = cut_regions(image, regions, valid=valid, polygon_mode=polygon_mode)
    scores = score_crops(
        cut,
        labels,
        clip,
        templates=tmpl,
        multi_label=multi_label,
        batch_size=batch_size,
        progress=progress,
        cancel=cancel,
    )
    if top_k is not None and int(top_k) < scores.shape[1]:
        order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")
        drop = order[:, int(top_k) :]
        np.put_along_axis(scores, drop, np.nan, axis=1)
    return scores


def score_crops(
    cut: RegionCrops,
    labels: str | Sequence[str],
    clip: Any,
    *,
    template: str = "{}",
    templates: str | Sequence[str] | None = None,
    multi_label: bool = False,
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
    cancel=None,
) -> np.ndarray:
    """Label scores of regions already cut (:func:`~napari_clipcap.core.tasks.crops.cut_regions`).

    Returns
    -------
    ndarray
        ``(R, L)`` float64: per part of ``cut``, the softmax over labels (or the cosines
        with ``multi_label``); NaN rows for the parts without data, which are not
        encoded. See :func:`score_regions` for the parameters.
    """
    labels = parse_labels(labels)
    text = text_embeddings(clip, labels, resolve_templates(template, templates))
    scores = np.full((len(cut.parts), len(labels)), np.nan)
    if cut.kept:
        feats = clip.encode_images(
            cut.kept, batch_size=batch_size, progress=progress, cancel=cancel
        )
        cos = feats.astype(np.float64) @ text.astype(np.float64).T
        scores[~cut.empty] = cos if multi_label else _softmax(clip.logit_scale * cos, axis=1)
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
