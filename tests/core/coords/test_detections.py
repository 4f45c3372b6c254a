"""Detections: tiles, NMS across tile edges, boxes on napari layers."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.coords.detections import (
    Detection,
    layer_vertices,
    merge_detections,
    nms,
    tile_grid,
)
from napari_clipcap.core.coords.geometry import map_points
from napari_clipcap.core.errors import InvalidInputError


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
