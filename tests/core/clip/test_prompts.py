"""Prompts: template ensembles, the per-model text cache, label parsing."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.clip import prompts as zeroshot
from napari_clipcap.core.clip.prompts import TEMPLATE_PRESETS, parse_labels, text_embeddings
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.tasks.labels import score_regions

LABELS = ["river", "forest", "city"]


@pytest.fixture
def image():
    return np.random.default_rng(3).random((64, 80, 3), dtype=np.float32)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_template_ensemble_is_normalised_mean(tiny_clip):
    tmpl = TEMPLATE_PRESETS["satellite"]
    got = text_embeddings(tiny_clip, ["river"], tmpl)[0]
    each = tiny_clip.encode_texts([t.format("river") for t in tmpl])
    mean = each.mean(axis=0)
    np.testing.assert_allclose(got, mean / np.linalg.norm(mean), atol=1e-6)
    scores = score_regions(
        np.ones((8, 8, 3), np.float32), None, ["river", "forest"], tiny_clip, templates="satellite"
    )
    assert scores.shape == (1, 2)


def test_text_embeddings_are_cached_per_model(tiny_clip, monkeypatch):
    # labels no other test uses: the session-wide tiny model keeps its cache between tests
    known, new = "cached-galaxy-label", "uncached-star-label"
    text_embeddings(tiny_clip, [known], ["{}"])
    calls = []
    real = type(tiny_clip).encode_texts
    monkeypatch.setattr(
        type(tiny_clip),
        "encode_texts",
        lambda self, t, **k: calls.append(list(t)) or real(self, t, **k),
    )
    text_embeddings(tiny_clip, [known, new], ["{}"])
    assert calls == [[new]]
    assert ("{}", known) in zeroshot._TEXT_CACHE[tiny_clip]


@pytest.mark.parametrize(
    "labels, match",
    [
        ([], "no labels"),
        ("", "no labels"),
        (" , ", "no labels"),
        (["a", ""], "empty label"),
        (["River", "forest", "river "], "duplicate labels: river"),
    ],
)
def test_bad_labels(labels, match):
    with pytest.raises(InvalidInputError, match=match):
        parse_labels(labels)
