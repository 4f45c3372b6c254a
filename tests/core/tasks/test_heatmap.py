"""Text heatmaps: sliding windows against the naive loop, edges, queries, dense, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from napari_clipcap.core.clip.dense import patch_features
from napari_clipcap.core.errors import Cancelled, InvalidInputError
from napari_clipcap.core.tasks.heatmap import (
    WindowGrid,
    naive_sliding_heatmap,
    text_heatmap,
    window_starts,
)

QUERIES = ["river", "forest", "city"]


@pytest.fixture
def image():
    return np.random.default_rng(5).random((70, 90, 3), dtype=np.float32)


def test_window_starts_cover_edges():
    assert window_starts(100, 40, 30).tolist() == [0, 30, 60]
    assert window_starts(101, 40, 30).tolist() == [0, 30, 60, 61]
    assert window_starts(20, 40, 30).tolist() == [0]  # image smaller than a window
    assert window_starts(40, 40, 30).tolist() == [0]
    with pytest.raises(InvalidInputError, match="positive"):
        WindowGrid.of(10, 10, 0, 4)


@pytest.mark.parametrize("window, stride", [(32, 16), (40, 25), (32, 32), (100, 50)])
def test_sliding_equals_naive_loop(tiny_clip, image, window, stride):
    got = text_heatmap(image, QUERIES, tiny_clip, window=window, stride=stride, batch_size=5)
    want = naive_sliding_heatmap(image, QUERIES, tiny_clip, window=window, stride=stride)
    assert got.shape == (3, 70, 90) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_single_query_gives_2d_and_matches_stack(tiny_clip, image):
    one = text_heatmap(image, "forest", tiny_clip, window=32, stride=16)
    stack = text_heatmap(image, QUERIES, tiny_clip, window=32, stride=16)
    assert one.shape == (70, 90)
    np.testing.assert_allclose(one, stack[1], atol=1e-6)


def test_edges_use_the_flush_window(tiny_clip, image):
    # 90 columns, window 40, stride 40: windows at 0, 40 and a flush one at 50.
    got = text_heatmap(image, "city", tiny_clip, window=40, stride=40)
    t = tiny_clip.encode_texts(["city"])[0]
    last = tiny_clip.encode_images([image[30:70, 50:90]])[0] @ t
    assert got[-1, -1] == pytest.approx(last, abs=1e-5)
    mid = tiny_clip.encode_images([image[30:70, 40:80]])[0] @ t
    assert got[-1, 60] == pytest.approx((last + mid) / 2, abs=1e-5)


def test_softmax_across_queries(tiny_clip, image):
    cos = text_heatmap(image, QUERIES, tiny_clip, window=32, stride=16)
    sm = text_heatmap(image, QUERIES, tiny_clip, window=32, stride=16, softmax=True)
    z = tiny_clip.logit_scale * cos.astype(np.float64)
    want = np.exp(z - z.max(0)) / np.exp(z - z.max(0)).sum(0)
    np.testing.assert_allclose(sm, want, atol=1e-5)
    with pytest.raises(InvalidInputError, match="two queries"):
        text_heatmap(image, "river", tiny_clip, softmax=True)


def test_templates_change_the_text(tiny_clip, image):
    plain = text_heatmap(image, "river", tiny_clip, window=64, stride=32)
    sat = text_heatmap(image, "river", tiny_clip, window=64, stride=32, templates="satellite")
    assert not np.allclose(plain, sat)


def test_progress_cancel_grey_and_uint8(tiny_clip, image):
    calls = []
    text_heatmap(
        image,
        "river",
        tiny_clip,
        window=32,
        stride=32,
        batch_size=4,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(4, 9), (8, 9), (9, 9)]
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        text_heatmap(image, "river", tiny_clip, window=32, stride=16, cancel=flag)
    grey = image[..., 0]
    np.testing.assert_allclose(
        text_heatmap(grey, "river", tiny_clip, window=32, stride=16),
        text_heatmap(np.repeat(grey[..., None], 3, 2), "river", tiny_clip, window=32, stride=16),
        atol=1e-6,
    )
    u8 = (image * 255).astype(np.uint8)
    np.testing.assert_allclose(
        text_heatmap(u8, "river", tiny_clip, window=32, stride=32),
        text_heatmap(u8 / np.float32(255), "river", tiny_clip, window=32, stride=32),
        atol=1e-5,
    )


def test_small_one_pixel_and_nan_images(tiny_clip):
    one = text_heatmap(np.full((1, 1, 3), 0.5, np.float32), "star", tiny_clip)
    assert one.shape == (1, 1) and np.isfinite(one).all()
    img = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    img[:5] = np.nan
    # NaN rows have no data: the map is NaN there (transparent in napari), finite elsewhere
    got = text_heatmap(img, "star", tiny_clip, window=16, stride=8)
    assert np.isnan(got[:5]).all() and np.isfinite(got[5:]).all()
    with pytest.raises(InvalidInputError, match="entirely NaN"):
        text_heatmap(np.full((9, 9, 3), np.nan, np.float32), "star", tiny_clip)


def test_bad_arguments(tiny_clip, image):
    with pytest.raises(InvalidInputError, match="mode"):
        text_heatmap(image, "x", tiny_clip, mode="fast")
    with pytest.raises(InvalidInputError, match="no labels"):
        text_heatmap(image, [], tiny_clip)
    with pytest.raises(InvalidInputError, match="duplicate"):
        text_heatmap(image, ["a", "a"], tiny_clip)
    with pytest.raises(InvalidInputError, match="H x W"):
        text_heatmap(np.zeros((4, 4, 2), np.float32), "x", tiny_clip)
    with pytest.raises(InvalidInputError, match="positive"):
        text_heatmap(image, "x", tiny_clip, stride=0)
    with pytest.raises(InvalidInputError, match="larger than the window"):
        text_heatmap(image, "x", tiny_clip, window=32, stride=40)


def _manual_dense_open_clip(clip, pixels):
    """ClearCLIP last block written out with nn.MultiheadAttention's own weights."""
    v = clip.model.visual
    x = v._embeds(pixels)
    for blk in v.transformer.resblocks[:-1]:
        x = blk(x)
    last = v.transformer.resblocks[-1]
    y = last.ln_1(x)
    q, _, val = torch.nn.functional.linear(
        y, last.attn.in_proj_weight, last.attn.in_proj_bias
    ).chunk(3, dim=-1)
    h = last.attn.num_heads
    b, n, c = y.shape
    q = q.view(b, n, h, -1).transpose(1, 2)
    val = val.view(b, n, h, -1).transpose(1, 2)
    w = torch.softmax(q @ q.transpose(-1, -2) / (c // h) ** 0.5, dim=-1)
    out = last.attn.out_proj((w @ val).transpose(1, 2).reshape(b, n, c))
    tok = v.ln_post(out[:, 1:]) @ v.proj
    return torch.nn.functional.normalize(tok, dim=-1).reshape(b, 4, 4, -1)


def test_dense_patch_features_follow_clearclip(tiny_clip, image):
    pixels = tiny_clip.preprocess(np.stack([image[:32, :32], image[10:42, 20:52]]))
    got = patch_features(tiny_clip, pixels)
    assert got.shape == (2, 4, 4, 32)
    with torch.no_grad():
        want = _manual_dense_open_clip(tiny_clip, pixels)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_dense_heatmap_is_upsampled_patch_cosine(tiny_clip):
    img = np.random.default_rng(1).random((32, 64, 3)).astype(np.float32)
    got = text_heatmap(img, ["river", "forest"], tiny_clip, mode="dense", window=32, stride=32)
    assert got.shape == (2, 32, 64) and got.dtype == np.float32
    t = torch.from_numpy(tiny_clip.encode_texts(["river", "forest"]))
    tok = patch_features(tiny_clip, tiny_clip.preprocess(img[None, :, 32:]))
    sim = torch.einsum("bhwd,qd->bqhw", tok, t)
    up = torch.nn.functional.interpolate(sim, size=(32, 32), mode="bilinear", align_corners=False)
    np.testing.assert_allclose(got[:, :, 32:], up[0].numpy(), atol=1e-5)


def test_dense_overlap_edges_and_transformers(tiny_clip, tiny_hf_clip, image):
    got = text_heatmap(image, "river", tiny_clip, mode="dense", window=32, stride=24)
    assert got.shape == (70, 90) and np.isfinite(got).all()
    assert got.min() >= -1 and got.max() <= 1
    hf = text_heatmap(image, "river", tiny_hf_clip, mode="dense", window=32, stride=32)
    assert hf.shape == (70, 90) and np.isfinite(hf).all()
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        text_heatmap(image, "river", tiny_clip, mode="dense", cancel=flag)


def test_dense_needs_a_vit(tiny_clip, monkeypatch):
    monkeypatch.setattr(tiny_clip, "patch_size", None)
    with pytest.raises(InvalidInputError, match="ViT"):
        text_heatmap(np.ones((8, 8, 3), np.float32), "x", tiny_clip, mode="dense")


def test_huge_memmap_reads_only_windows(tiny_clip, tmp_path):
    mm = np.lib.format.open_memmap(tmp_path / "big.npy", "w+", np.float32, (300, 200, 3))
    mm[:] = 0.5
    mm[100:200] = 0.1
    mm.flush()
    src = np.load(tmp_path / "big.npy", mmap_mode="r")
    got = text_heatmap(src, "river", tiny_clip, window=100, stride=100, batch_size=2)
    assert got.shape == (300, 200)
    assert got[0, 0] == pytest.approx(got[299, 199]) and got[0, 0] != pytest.approx(got[150, 0])
