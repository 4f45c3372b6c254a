"""Evaluation metrics: captioning, CLIP-based caption scores, zero-shot, retrieval.

Captioning metrics are the COCO caption evaluation tools (``pycocoevalcap``): BLEU-1..4,
METEOR, ROUGE-L and CIDEr(-D as implemented there), computed over the whole corpus.
CLIPScore and RefCLIPScore follow Hessel et al. (2021): ``CLIP-S = w * max(cos(c, v), 0)``
with ``w = 2.5`` and ``RefCLIP-S = H-mean(CLIP-S, max(max_r cos(c, r), 0))``. Their
reference code embeds every caption (candidates and references) as
``"A photo depicts " + caption`` (:data:`CLIPSCORE_PREFIX`, :func:`clipscore_texts`);
scores are comparable with published ones only with that prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInputError

CAPTION_METRICS = ("bleu", "meteor", "rouge", "cider")
#: What the reference CLIPScore code puts before every caption it embeds.
CLIPSCORE_PREFIX = "A photo depicts"
_PUNCT = re.compile(r"[^\w\s']|_")


def simple_tokenize(text: str) -> str:
    """Lower-case, drop punctuation and collapse spaces (no Java needed).

    Matches the PTB tokenizer of ``pycocoevalcap`` on plain sentences, which also drops
    punctuation tokens; it differs on contractions and hyphenated words.
    """
    return " ".join(_PUNCT.sub(" ", str(text).lower()).split())


def _tokenize(captions: dict[int, list[str]], tokenizer: str) -> dict[int, list[str]]:
    if tokenizer == "simple":
        return {k: [simple_tokenize(c) for c in v] for k, v in captions.items()}
    if tokenizer == "ptb":
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        return PTBTokenizer().tokenize(
            {k: [{"caption": c} for c in v] for k, v in captions.items()}
        )
    raise InvalidInputError(f"tokenizer must be 'ptb' or 'simple', not {tokenizer!r}")


def caption_metrics(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    metrics: Sequence[str] = CAPTION_METRICS,
    tokenizer: str = "ptb",
) -> dict[str, float]:
    """Corpus-level COCO caption metrics.

    Parameters
    ----------
    predictions : sequence of str
        One generated caption per image.
    references : sequence of sequence of str
        The reference captions of each image.
    metrics : sequence of {"bleu", "meteor", "rouge", "cider"}
        Which metrics to compute; METEOR starts a Java process.
    tokenizer : {"ptb", "simple"}
        ``"ptb"``: the Stanford PTB tokenizer of the COCO tools (needs Java);
        ``"simple"``: :func:`simple_tokenize`.

    Returns
    -------
    dict
        ``Bleu_1``..``Bleu_4``, ``METEOR``, ``ROUGE_L``, ``CIDEr`` (those requested).
    """
    if len(predictions) != len(references):
        raise InvalidInputError(
            f"{len(predictions)} predictions but {len(references)} reference lists"
        )
    if not predictions:
        raise InvalidInputError("no captions to evaluate")
    for i, refs in enumerate(references):
        if not refs or not any(str(r).strip() for r in refs):
            raise InvalidInputError(f"image {i} has no reference caption")
    unknown = set(metrics) - set(CAPTION_METRICS)
    if unknown:
        raise InvalidInputError(f"unknown caption metrics: {', '.join(sorted(unknown))}")
    gts = _tokenize({i: list(r) for i, r in enumerate(references)}, tokenizer)
    res = _tokenize({i: [str(p)] for i, p in enumerate(predictions)}, tokenizer)
    # the COCO scorers reject empty hypotheses; a lone space scores zero the same way
    res = {k: [c if c.strip() else " "] for k, (c, *_) in res.items()}
    out: dict[str, float] = {}
    if "bleu" in metrics:
        from pycocoevalcap.bleu.bleu import Bleu

        scores, _ = Bleu(4).compute_score(gts, res, verbose=0)
        out.update({f"Bleu_{n + 1}": float(s) for n, s in enumerate(scores)})
    if "meteor" in metrics:
        from pycocoevalcap.meteor.meteor import Meteor

        scorer = Meteor()
        try:
            out["METEOR"] = float(scorer.compute_score(gts, res)[0])
        finally:
            _close_meteor(scorer)
    if "rouge" in metrics:
        from pycocoevalcap.rouge.rouge import Rouge

        out["ROUGE_L"] = float(Rouge().compute_score(gts, res)[0])
    if "cider" in metrics:
        from pycocoevalcap.cider.cider import Cider

        out["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    return out


def _close_meteor(scorer) -> None:
    proc = getattr(scorer, "meteor_p", None)
    if proc is not None and proc.poll() is None:
        proc.stdin.close()
        proc.kill()
        proc.wait()


def _unit(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def clipscore_texts(captions: Sequence[str], *, prefix: bool = True) -> list[str]:
    """Captions as CLIPScore embeds them.

    Parameters
    ----------
    captions : sequence of str
    prefix : bool
        Put :data:`CLIPSCORE_PREFIX` and a space before each caption, as the reference
        implementation does (default); ``False`` embeds the captions as they are.
    """
    if not prefix:
        return [str(c) for c in captions]
    return [f"{CLIPSCORE_PREFIX} {str(c).strip()}" for c in captions]


def clip_score(image_emb, caption_emb, *, w: float = 2.5) -> np.ndarray:
    """Per-image CLIPScore: ``w * max(cos(image, caption), 0)``.

    Parameters
    ----------
    image_emb, caption_emb : (N, D) array
        CLIP embeddings of each image and of its candidate caption.
    w : float
        Rescaling weight (2.5 in Hessel et al.).
    """
    img, cap = _unit(image_emb), _unit(caption_emb)
    if img.shape != cap.shape:
        raise InvalidInputError(f"embedding shapes differ: {img.shape} vs {cap.shape}")
    return w * np.maximum((img * cap).sum(-1), 0.0)


def ref_clip_score(
    image_emb, caption_emb, reference_embs: Sequence, *, w: float = 2.5
) -> np.ndarray:
    """Per-image RefCLIPScore: harmonic mean of CLIP-S and ``max(max_r cos(c, r), 0)``.

    ``reference_embs[i]`` is an ``(R_i, D)`` array of image ``i``'s reference captions.
    """
    cs = clip_score(image_emb, caption_emb, w=w)
    cap = _unit(caption_emb)
    ref = np.array([max(float((_unit(r) @ c).max()), 0.0) for c, r in zip(cap, reference_embs)])
    denom = cs + ref
    return np.where(denom > 0, 2 * cs * ref / np.where(denom > 0, denom, 1), 0.0)


def classification_metrics(scores, true, *, k: int = 5) -> dict:
    """Top-1 and top-k accuracy and the confusion matrix of a classifier's scores.

    Parameters
    ----------
    scores : (N, C) array
        Scores or probabilities per image and class.
    true : (N,) int array
        True class index of each image.
    k : int
        The ``k`` of top-k accuracy (clipped to the number of classes).

    Returns
    -------
    dict
        ``top1``, ``topk``, ``k``, ``confusion`` (C x C list, rows true, columns
        predicted) and ``per_class_recall``.
    """
    scores = np.asarray(scores)
    true = np.asarray(true, dtype=int)
    if scores.ndim != 2 or len(scores) != len(true) or not len(true):
        raise InvalidInputError("scores must be (N, C) with one true label per row, N > 0")
    n_classes = scores.shape[1]
    k = min(k, n_classes)
    ranked = np.argsort(-scores, axis=1, kind="stable")
    pred = ranked[:, 0]
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (true, pred), 1)
    support = cm.sum(1)
    recall = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    return {
        "top1": float((pred == true).mean()),
        "topk": float((ranked[:, :k] == true[:, None]).any(1).mean()),
        "k": int(k),
        "confusion": cm.tolist(),
        "per_class_recall": [None if np.isnan(r) else float(r) for r in recall],
    }


def multilabel_topk(scores, true_sets: Sequence[Sequence[int]], *, k: int = 10) -> dict:
    """Any-of and all-of top-k hit rates for images with several true labels.

    An image is an *any-of* hit when at least one true label is among its ``k``
    best-scored classes, an *all-of* hit when every true label is (impossible when it
    has more than ``k`` labels).
    """
    scores = np.asarray(scores)
    if len(scores) != len(true_sets) or not len(true_sets):
        raise InvalidInputError("need one set of true labels per row of scores")
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    any_hits = all_hits = 0
    for row, truth in zip(top, true_sets):
        truth, got = set(int(t) for t in truth), set(row.tolist())
        if not truth:
            raise InvalidInputError("every image needs at least one true label")
        any_hits += bool(truth & got)
        all_hits += truth <= got
    n = len(true_sets)
    return {"k": int(k), "any_of": any_hits / n, "all_of": all_hits / n}


def retrieval_recall(
    similarity, relevant: Sequence, *, ks=(1, 5, 10), exclude_self: bool = False
) -> dict[str, float]:
    """Recall@k: the share of queries with a relevant item among the ``k`` best.

    Parameters
    ----------
    similarity : (Q, G) array
        Query-by-gallery similarities (higher is closer).
    relevant : sequence
        For each query, the gallery index (int) or indices (set) that count as hits.
    ks : iterable of int
    exclude_self : bool
        For image-to-image search over one collection (Q == G): ignore gallery item
        ``q`` for query ``q``.
    """
    sim = np.array(similarity, dtype=np.float64)
    if sim.ndim != 2 or len(sim) != len(relevant) or not len(sim):
        raise InvalidInputError("similarity must be (Q, G) with one relevance entry per query")
    if exclude_self:
        np.fill_diagonal(sim, -np.inf)
    order = np.argsort(-sim, axis=1, kind="stable")
    rel = [{int(r)} if isinstance(r, (int, np.integer)) else {int(x) for x in r} for r in relevant]
    out = {}
    for k in ks:
        hits = [bool(rel[q] & set(order[q, :k].tolist())) for q in range(len(sim))]
        out[f"R@{k}"] = float(np.mean(hits))
    return out
