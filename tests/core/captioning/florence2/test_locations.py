"""Florence-2's location tokens <-> pixel boxes, and tile bins mapped to the image."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from napari_clipcap.core.captioning.florence2.locations import (
    dequantize_boxes,
    location_tokens,
    parse_locations,
    quantize_boxes,
    strip_locations,
    tile_boxes_to_image,
)
from napari_clipcap.core.errors import InvalidInputError


@pytest.mark.parametrize("size", [(64, 64), (1000, 1000), (1234, 567), (8192, 300)])
def test_bins_round_trip_exactly_and_pixels_within_half_a_bin(size):
    rng = np.random.default_rng(0)
    bins = rng.integers(0, 1000, size=(200, 4))
    assert np.array_equal(quantize_boxes(dequantize_boxes(bins, size), size), bins)
    w, h = size
    boxes = rng.uniform(0, 1, size=(200, 4)) * [w, h, w, h]
    back = dequantize_boxes(quantize_boxes(boxes, size), size)
    assert np.all(np.abs(back - boxes) <= np.array([w, h, w, h]) / 1000 / 2 + 1e-9)


def test_quantisation_matches_the_florence2_post_processor():
    import torch
    from transformers.models.florence2.processing_florence2 import Florence2PostProcessor

    post = Florence2PostProcessor({}, SimpleNamespace(all_special_tokens=[]))
    boxes = np.array([[0, 0, 30, 40], [500, 550, 600, 690], [750, 1121, 851, 1239.9]])
    size = (800, 1200)
    theirs = post.quantize(torch.tensor(boxes), size).numpy()
    assert np.array_equal(quantize_boxes(boxes, size), theirs)
    # their dequantize truncates to int; ours keeps the bin centre
    assert np.array_equal(
        dequantize_boxes(theirs, size).astype(int),
        post.dequantize(torch.tensor(theirs), size).numpy(),
    )


def test_location_tokens_of_a_box():
    assert location_tokens((0, 50, 100, 200), (200, 400)) == "<loc_0><loc_125><loc_500><loc_500>"
    assert location_tokens((0, 0, 200, 400), (200, 400)).endswith("<loc_999><loc_999>")
    with pytest.raises(InvalidInputError):
        location_tokens((0, 0, 1, 1), (0, 10))


def test_parse_locations_reads_phrases_and_whole_boxes():
    text = (
        "</s><s>two ships<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8>"
        "<ground> a storage tank<loc_10><loc_20><loc_30><loc_40><loc_50></s><pad>"
    )
    parsed = parse_locations(text)
    assert [p for p, _ in parsed] == ["two ships", "a storage tank"]
    assert parsed[0][1].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert parsed[1][1].tolist() == [[10, 20, 30, 40]]  # the stray 5th token is dropped
    bare = "<s><loc_1><loc_2><loc_3><loc_4></s>"
    assert parse_locations(bare) == []
    ((phrase, bins),) = parse_locations(bare, allow_empty=True)
    assert phrase == "" and bins.tolist() == [[1, 2, 3, 4]]
    assert parse_locations("") == [] and parse_locations("a caption, no boxes") == []
    assert strip_locations("</s><s>a ship<loc_3> at sea</s>") == "a ship at sea"


def test_tile_bins_map_to_image_pixels():
    tile = (488, 100, 1000, 612)  # a 512 px tile at x 488, y 100
    boxes = tile_boxes_to_image([[0, 0, 999, 999], [500, 250, 750, 500]], tile)
    per_bin = 512 / 1000
    assert np.allclose(
        boxes[0],
        [488 + 0.5 * per_bin, 100 + 0.5 * per_bin, 488 + 999.5 * per_bin, 100 + 999.5 * per_bin],
    )
    assert np.allclose(boxes[1], [488 + 256.256, 100 + 128.256, 488 + 384.256, 100 + 256.256])
    # an inverted box (end bin before the start bin) is no box
    assert tile_boxes_to_image([[10, 10, 5, 20]], tile).shape == (0, 4)
