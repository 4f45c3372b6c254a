"""Words to places: per-word relevance maps for every captioner kind."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from napari_clipcap.core.captioning.protocol import load_captioner, unload_captioners
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.tasks import word_relevance as attribution
from napari_clipcap.core.tasks.word_relevance import caption_words, word_maps

IMAGE = np.random.default_rng(0).random((40, 56, 3), dtype=np.float32)


@pytest.fixture(autouse=True)
def _clean_cache():
    yield
    unload_captioners()


def test_caption_words_and_spans():
    text = "A sun-lit river's bend, near 2 trees."
    assert [w for w, _ in caption_words(text)] == [
        "A",
        "sun-lit",
        "river's",
        "bend",
        "near",
        "2",
        "trees",
    ]
    assert all(text[a:b] == w for w, (a, b) in caption_words(text))


@pytest.mark.parametrize(
    "kind,fixture,method",
    [
        ("blip", "blip_dir", "cross-attention"),
        ("vit-gpt2", "vit_gpt2_dir", "cross-attention"),
        ("git", "git_dir", "self-attention"),
    ],
)
def test_attention_maps_per_word(kind, fixture, method, request):
    cap = load_captioner(kind, str(request.getfixturevalue(fixture)), device="cpu")
    before = cap.model.config._attn_implementation
    res = word_maps(cap, IMAGE, "a dog on a red couch.")
    assert res.words == ["a", "dog", "on", "a", "red", "couch"] and res.method == method
    assert res.maps.shape == (6, 40, 56) and res.maps.dtype == np.float32
    assert np.all(np.isfinite(res.maps)) and np.all(res.maps >= 0) and res.maps.max() > 0
    assert set(res.as_dict()) == {"a", "dog", "on", "red", "couch"}
    assert cap.model.config._attn_implementation == before  # restored after


def test_subword_tokens_share_one_word_map():
    token_maps = np.stack([np.full((2, 2), v, np.float32) for v in (1.0, 3.0, 10.0)])
    offsets = [(0, 3), (3, 6), (7, 9)]  # "rive" + "rbed" form one word, then another
    assert np.allclose(attribution._mean_over_tokens(token_maps, offsets, (0, 6)), 2.0)
    assert np.allclose(attribution._mean_over_tokens(token_maps, offsets, (7, 9)), 10.0)
    assert np.allclose(attribution._mean_over_tokens(token_maps, offsets, (20, 22)), 0.0)


def test_patch_maps_land_where_the_patch_is():
    grid = np.zeros((1, 4, 4), np.float32)
    grid[0, 0, 3] = 1.0  # top row, rightmost column

    squash = SimpleNamespace(do_center_crop=False)
    up = attribution._to_image(grid, (40, 80), squash)[0]
    row, col = np.unravel_index(np.argmax(up), up.shape)
    assert row < 10 and col >= 60
    # shortest edge 20 of a 40 x 80 image, 20 x 20 centre crop -> columns 20..60
    crop = SimpleNamespace(
        do_center_crop=True,
        crop_size={"height": 20, "width": 20},
        size=SimpleNamespace(shortest_edge=20),
    )
    up = attribution._to_image(grid, (40, 80), crop)[0]
    assert up[:, :20].max() == 0 and up[:, 60:].max() == 0 and up[:, 20:60].max() > 0
    assert 45 <= np.unravel_index(np.argmax(up), up.shape)[1] < 60


def test_clipcap_maps_are_dense_clip_similarity(clipcap_for_tiny_clip, tiny_clip_files):
    from napari_clipcap.core.tasks.heatmap import text_heatmap

    cap = load_captioner(
        "clipcap",
        str(clipcap_for_tiny_clip),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    res = word_maps(cap, IMAGE, "river near forest")
    expected = text_heatmap(
        IMAGE, ["river", "near", "forest"], cap.clip, mode="dense", window=40, stride=40
    )
    assert res.method == "clip-dense" and res.maps.shape == (3, 40, 56)
    assert np.allclose(res.maps, expected)


def test_bad_input(blip_dir):
    cap = load_captioner("blip", str(blip_dir), device="cpu")
    with pytest.raises(InvalidInputError, match="no words"):
        word_maps(cap, IMAGE, " .. ")
    with pytest.raises(InvalidInputError, match="H x W x 3"):
        word_maps(cap, IMAGE[..., 0], "a dog")

    class Other:
        kind = "mystery"

    with pytest.raises(InvalidInputError, match="not available"):
        word_maps(Other(), IMAGE, "a dog")


def test_word_relevance_for_one_word(clipcap_for_tiny_clip, tiny_clip_files, tiny_clip, git_dir):
    from napari_clipcap.core.tasks.word_relevance import word_relevance

    cap = load_captioner(
        "clipcap",
        str(clipcap_for_tiny_clip),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    caption = "A river near a forest."
    by_captioner = word_relevance(IMAGE, caption, "River", cap)
    by_clip = word_relevance(IMAGE, caption, "river", tiny_clip)  # a CLIP model works too
    assert by_captioner.shape == (40, 56) and np.allclose(by_captioner, by_clip, atol=1e-5)
    assert np.allclose(by_captioner, word_maps(cap, IMAGE, caption).maps[1], atol=1e-5)
    git = load_captioner("git", str(git_dir), device="cpu")
    assert np.array_equal(
        word_relevance(IMAGE, caption, "forest", git), word_maps(git, IMAGE, caption).maps[4]
    )
    with pytest.raises(InvalidInputError, match="not a word of the caption"):
        word_relevance(IMAGE, caption, "city", git)
