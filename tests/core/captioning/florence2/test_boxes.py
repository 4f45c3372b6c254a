"""Location tokens <-> pixel boxes, tiles, NMS across tile edges, boxes on napari layers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from napari_clipcap.core.captioning.florence2.boxes import (
    Detection,
    dequantize_boxes,
    layer_vertices,
    location_tokens,
    merge_detections,
    nms,
    parse_locations,
    quantize_boxes,
    strip_locations,
    tile_boxes_to_image,
    tile_grid,
)
from napari_clipcap.core.coords.geometry import map_points
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


def test_tile_grid_covers_the_image_with_the_overlap():
    tiles = tile_grid(1000, 1500, 512, 64)
    xs = sorted({t[0] for t in tiles})
    ys = sorted({t[1] for t in tiles})
    assert xs == [0, 448, 896, 988] and ys == [0, 448, 488]
    assert all(t[2] - t[0] == 512 and t[3] - t[1] == 512 for t in tiles)
    covered = np.zeros((1000, 1500), bool)
    for x0, y0, x1, y1 in tiles:
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    assert tile_grid(300, 400, None) == [(0, 0, 400, 300)]
    assert tile_grid(300, 400, 512, 64) == [(0, 0, 400, 300)]
    assert tile_grid(300, 1000, 512, 0) == [(0, 0, 512, 300), (488, 0, 1000, 300)]
    for bad in ((512, 512), (512, -1), (8, 0)):
        with pytest.raises(InvalidInputError):
            tile_grid(1000, 1000, *bad)


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


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]]
    assert nms(boxes, [0.5, 0.9, 0.1], iou=0.5).tolist() == [1, 2]
    assert nms(boxes, [0.5, 0.9, 0.1], iou=0.9).tolist() == [1, 0, 2]


def test_merge_across_a_tile_edge_keeps_the_whole_box():
    # two tiles overlapping on x 448..512 of a 1000 x 512 image; a ship at x 430..480
    left, right = (0, 0, 512, 512), (448, 0, 960, 512)
    whole = Detection("ship", (430.0, 100.0, 480.0, 140.0), tile=left)
    cut = Detection("ship", (448.2, 100.0, 480.0, 140.0), tile=right)  # cut at x 448
    other = Detection("ship", (700.0, 300.0, 760.0, 350.0), tile=right)
    tank = Detection("tank", (430.0, 100.0, 480.0, 140.0), tile=left)
    merged = merge_detections([cut, other, whole, tank], (1000, 512))
    assert merged == [other, whole, tank]  # per label: whole boxes first, larger first
    # IoU alone (0.64) would keep both halves at the usual 0.7 threshold
    assert len(merge_detections([cut, whole], (1000, 512), iou=0.7)) == 1
    # the same two boxes in one tile are two objects
    both = [Detection("ship", whole.box, tile=left), Detection("ship", cut.box, tile=left)]
    assert len(merge_detections(both, (1000, 512), iou=0.7)) == 2
    # the image edge is no tile edge: a box there is not "cut"
    edge = Detection("ship", (0.0, 0.0, 40.0, 40.0), tile=left)
    assert merge_detections([edge], (1000, 512)) == [edge]


def test_layer_vertices_on_scaled_and_translated_layers():
    box = (2, 4, 6, 10)  # x 2..6, y 4..10 (pixels 2..5, 4..9)
    (plain,) = layer_vertices([box])
    assert plain.tolist() == [[3.5, 1.5], [3.5, 5.5], [9.5, 5.5], [9.5, 1.5]]
    (world,) = layer_vertices([box], scale=(2.0, 0.5), translate=(10.0, -3.0))
    assert np.allclose(world, plain * [2.0, 0.5] + [10.0, -3.0])
    image_affine = np.array([[2.0, 0, 10.0], [0, 0.5, -3.0], [0, 0, 1]])
    (same,) = layer_vertices([box], affine=image_affine)
    assert np.allclose(same, world)
    # a Shapes layer without a transform holds world coordinates: back to image pixels
    assert np.allclose(map_points(world, np.eye(3), image_affine), plain)
    # a 3D image (a stack): the trailing two axes of scale / translate are the plane's
    (stack,) = layer_vertices([box], scale=(5.0, 2.0, 0.5), translate=(1.0, 10.0, -3.0))
    assert np.allclose(stack, world)


def test_detection_as_dict_is_json_ready():
    d = Detection("ship", (1.23456, 2.0, 3.0, 4.0), text="a ship", tile=(0, 0, 64, 64))
    assert d.as_dict() == {
        "label": "ship",
        "box": [1.23, 2.0, 3.0, 4.0],
        "text": "a ship",
        "tile": [0, 0, 64, 64],
    }
