"""Zero-shot region scores against a direct computation; rankings, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.tasks.labels import rank_labels, score_regions, top_k_hits

LABELS = ["river", "forest", "city"]


@pytest.fixture
def image():
    return np.random.default_rng(3).random((64, 80, 3), dtype=np.float32)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_scores_match_direct_computation(tiny_clip, image):
    boxes = [(0, 0, 40, 32), (10, 20, 80, 64)]
    got = score_regions(image, boxes, LABELS, tiny_clip, template="a photo of {}")
    img = tiny_clip.encode_images([image[0:32, 0:40], image[20:64, 10:80]])
    txt = tiny_clip.encode_texts([f"a photo of {x}" for x in LABELS])
    want = _softmax(tiny_clip.logit_scale * img.astype(float) @ txt.T.astype(float))
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)


def test_whole_image_when_no_regions_and_comma_string(tiny_clip, image):
    got = score_regions(image, None, "river, forest ,city", tiny_clip)
    assert got.shape == (1, 3)
    txt = tiny_clip.encode_texts(LABELS)
    want = _softmax(tiny_clip.logit_scale * tiny_clip.encode_images([image]) @ txt.T)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_multi_label_top_k_and_ranking(tiny_clip, image):
    cos = score_regions(image, [(0, 0, 30, 30)], LABELS, tiny_clip, multi_label=True)
    direct = tiny_clip.encode_images([image[:30, :30]]) @ tiny_clip.encode_texts(LABELS).T
    np.testing.assert_allclose(cos, direct, atol=1e-5)
    top = score_regions(image, [(0, 0, 30, 30)], LABELS, tiny_clip, multi_label=True, top_k=2)
    assert np.isnan(top).sum() == 1
    best = int(np.argmax(cos[0]))
    assert top[0, best] == pytest.approx(cos[0, best])
    ranked = rank_labels(top, LABELS)
    assert len(ranked[0]) == 2 and ranked[0][0][0] == LABELS[best]
    assert rank_labels(cos, LABELS, top_k=1)[0][0][0] == LABELS[best]


def test_top_k_hits_any_and_all():
    ranked = [["a", "b", "c"], ["c", "d", "a"], ["x", "y", "z"]]
    truth = [["a", "b"], ["a"], ["q"]]
    assert top_k_hits(ranked, truth, 2) == {"any": 1 / 3, "all": 1 / 3, "n": 3}
    assert top_k_hits(ranked, truth, 3) == {"any": 2 / 3, "all": 2 / 3, "n": 3}
    assert top_k_hits([], [], 3)["n"] == 0
    with pytest.raises(InvalidInputError):
        top_k_hits([["a"]], [], 1)


def test_polygon_region_and_nan_region(tiny_clip):
    img = np.random.default_rng(0).random((40, 40, 3)).astype(np.float32)
    img[:10, :10] = np.nan
    tri = np.array([[0, 0], [20, 0], [0, 20]], float)
    s = score_regions(img, [tri, (0, 0, 10, 10), (20, 20, 40, 40)], LABELS, tiny_clip)
    assert np.all(np.isnan(s[1])) and np.all(np.isfinite(s[[0, 2]]))


def test_one_pixel_image(tiny_clip):
    s = score_regions(np.full((1, 1, 3), 0.5, np.float32), [(0, 0, 1, 1)], LABELS, tiny_clip)
    assert s.shape == (1, 3) and np.isclose(s.sum(), 1)


def test_bad_inputs(tiny_clip, image):
    with pytest.raises(InvalidInputError, match="entirely NaN"):
        score_regions(np.full((8, 8, 3), np.nan, np.float32), None, LABELS, tiny_clip)
    with pytest.raises(InvalidInputError, match="region 1"):
        score_regions(image, [(100, 100, 120, 120)], LABELS, tiny_clip)
    with pytest.raises(InvalidInputError, match="empty"):
        score_regions(image, [(5, 5, 5, 10)], LABELS, tiny_clip)
    with pytest.raises(InvalidInputError, match="exactly once"):
        score_regions(image, None, LABELS, tiny_clip, template="a photo")
    with pytest.raises(InvalidInputError, match="unknown template preset"):
        score_regions(image, None, LABELS, tiny_clip, templates="medical")
    with pytest.raises(InvalidInputError, match="top_k"):
        score_regions(image, None, LABELS, tiny_clip, top_k=0)
    with pytest.raises(InvalidInputError, match="H x W"):
        score_regions(np.zeros((2, 2, 2, 3)), None, LABELS, tiny_clip)
