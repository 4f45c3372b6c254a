"""Prompts for CLIP: label lists, template presets per domain, ensembled text embeddings.

A label's text embedding is the normalised mean of its template embeddings (the
zero-shot classifier of the CLIP paper); embeddings are cached per
``(model, label, template)`` on the model object, so they go when the model is unloaded.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError

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
        check_template(t)
    return list(chosen)


def check_template(template: object) -> str:
    """``template`` if it is a prompt with ``{}`` exactly once and nothing else to fill.

    Raises
    ------
    InvalidInputError
        No ``{}``, several, or other fields (``{x}``, ``{0}``, a lone ``{``) that
        ``str.format`` would fail on.
    """
    if not isinstance(template, str) or template.count("{}") != 1:
        raise InvalidInputError(f"template {template!r} must contain '{{}}' exactly once")
    try:
        template.format("label")
    except (KeyError, IndexError, ValueError, AttributeError):
        raise InvalidInputError(
            f"template {template!r} holds braces other than one '{{}}'; write a literal "
            "brace as '{{' or '}}'"
        ) from None
    return template


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
