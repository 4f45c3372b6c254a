"""Image-exemplar heatmaps: a region of the image is the query ("more like this")."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.tasks.heatmap import region_embeddings, region_heatmap

#: The exemplar: a red/green grid patch on a smooth background, nothing else like it.
BOX = (32, 64, 64, 96)


def exemplar_image() -> np.ndarray:
    """128 x 128: a blue-grey gradient with one 32 px grid patch at ``BOX``."""
    image = np.full((128, 128, 3), 0.2, np.float32)
    image[..., 2] = np.linspace(0.1, 0.4, 128)[None, :]
    x0, y0, x1, y1 = BOX
    patch = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    patch[::4, :, 0] = 1.0
    patch[:, ::4, 1] = 1.0
    image[y0:y1, x0:x1] = patch
    return image


def inside(shape, box=BOX) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_the_region_scores_highest_on_itself(tiny_clip, mode):
    image = exemplar_image()
    maps = region_heatmap(image, [BOX], tiny_clip, mode=mode, window=32, stride=32)
    assert maps.shape == (1, 128, 128) and maps.dtype == np.float32
    heat, there = maps[0], inside((128, 128))
    assert heat[there].min() > heat[~there].max()
    assert heat[there].mean() == pytest.approx(1.0, abs=1e-4)  # the same pixels


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_overlapping_windows_peak_on_the_region(tiny_clip, mode):
    image = exemplar_image()
    heat = region_heatmap(image, BOX, tiny_clip, mode=mode, window=32, stride=16)[0]
    y, x = np.unravel_index(np.nanargmax(heat), heat.shape)
    assert inside(heat.shape)[y, x]


def test_sliding_query_is_the_crops_image_embedding(tiny_clip):
    image = exemplar_image()
    got = region_embeddings(image, [BOX, (0, 0, 40, 30)], tiny_clip)
    x0, y0, x1, y1 = BOX
    want = tiny_clip.encode_images([image[y0:y1, x0:x1], image[0:30, 0:40]])
    np.testing.assert_allclose(got, want, atol=1e-6)
    dense = region_embeddings(image, [BOX], tiny_clip, mode="dense")
    assert np.linalg.norm(dense, axis=1) == pytest.approx(1.0, abs=1e-5)


def test_a_polygon_region_and_several_regions(tiny_clip):
    image = exemplar_image()
    square = np.array([[32, 64], [64, 64], [64, 96], [32, 96]], float)  # BOX as a polygon
    maps = region_heatmap(image, [square, (90, 0, 128, 40)], tiny_clip, window=32, stride=32)
    assert maps.shape == (2, 128, 128)
    assert maps[0][inside((128, 128))].mean() == pytest.approx(1.0, abs=1e-4)
    sm = region_heatmap(
        image, [BOX, (90, 0, 128, 40)], tiny_clip, window=32, stride=32, softmax=True
    )
    np.testing.assert_allclose(sm.sum(axis=0), 1.0, atol=1e-5)


def test_bad_query_regions_are_one_clear_line(tiny_clip):
    image = exemplar_image()
    with pytest.raises(InvalidInputError, match="query region"):
        region_heatmap(image, [], tiny_clip)
    with pytest.raises(InvalidInputError, match="region 1"):
        region_heatmap(image, [(500, 500, 600, 600)], tiny_clip)
    with pytest.raises(InvalidInputError, match="two query regions"):
        region_heatmap(image, [BOX], tiny_clip, softmax=True)
    blank = image.copy()
    blank[:40, :40] = np.nan
    with pytest.raises(InvalidInputError, match="query region 1 holds no data"):
        region_heatmap(blank, [(0, 0, 40, 40)], tiny_clip)
    heat = region_heatmap(blank, [BOX], tiny_clip, window=32, stride=32)[0]
    assert np.isnan(heat[:40, :40]).all() and np.isfinite(heat[50:, 50:]).all()
