"""The screenshot script's training data: its windows show what their label says."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import screenshot_models as sm


def test_region_crops_are_labelled_by_what_they_show():
    image = sm.overhead_image()
    crops, names = sm.region_crops(image, per_region=6, seed=1)
    assert len(crops) == len(names) == 2 * 6 * len(sm.REGIONS)
    assert {n: names.count(n) for n in sm.REGIONS} == dict.fromkeys(sm.REGIONS, 12)
    for crop, name in zip(crops, names, strict=True):
        water = sm.river_mask(crop).mean()
        if name == "river":
            assert water > 0.05
        elif name == "fields":
            assert water == 0


def test_window_label_rules():
    river = np.zeros((512, 512), bool)
    river[:, 100:110] = True
    forest = np.zeros((512, 512), bool)
    forest[400:, 400:] = True
    masks = (river, forest)
    assert sm.window_label(masks, 0, 80, 64) == "river"
    assert sm.window_label(masks, 440, 440, 64) == "forest"
    assert sm.window_label(masks, 0, 300, 64) == "fields"
    r0, c0, _, _ = sm.REGIONS["village"][0]
    assert sm.window_label(masks, r0, c0 + 20, 64) == "village"
    assert sm.window_label(masks, 380, 380, 64) is None  # part forest, part field


def test_house_masks_replay_the_sample_generator():
    from napari_clipcap.core.segmentation.model import as_uint8

    pixels = as_uint8(sm.overhead_image())
    rects = sm.house_rects()
    colours = np.concatenate([sm.ROOFS, sm.ROOFS * 0.8])
    diff = np.abs(pixels[..., None, :].astype(np.float32) - colours[None, None])
    roof = diff.max(axis=-1).min(axis=-1) < 14
    cy, cx, h, w = rects[-1]  # drawn last: nothing covers it but trees
    assert roof[cy : cy + h, cx : cx + w].mean() > 0.6
    masks = sm.house_masks(pixels)
    assert len(masks) >= 15 and all(m.sum() >= 25 for m in masks)
    x0, y0, x1, y1 = sm.VILLAGE
    assert all(m[y0:y1, x0:x1].sum() == m.sum() for m in masks)  # all in the village box
    assert not np.logical_and.reduce([masks[0], masks[1]]).any()
