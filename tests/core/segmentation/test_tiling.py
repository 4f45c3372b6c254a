"""Tiles and the merging rule: an instance cut by a tile edge becomes one; progress and
cancel per tile."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from fixtures.scripted_segmenter import BlobSegmenter
from napari_clipcap.core.errors import Cancelled, InvalidInputError
from napari_clipcap.core.segmentation.tiling import (
    Instance,
    merge_instances,
    paint_labels,
    segment_tiles,
)


def scene(h=150, w=170, squares=((10, 10, 20, 20), (50, 40, 80, 70), (120, 100, 140, 130))):
    img = np.zeros((h, w, 3), np.float32)
    for x0, y0, x1, y1 in squares:
        img[y0:y1, x0:x1] = 1.0
    return img


def test_instance_cut_by_a_tile_edge_is_merged_into_one():
    # tiles of 64 px overlapping by 16: x starts 0, 48, 96, 106; the square 50..80 spans
    # the first tile's edge at 64 and the second's start at 48
    img = scene()
    instances = segment_tiles(BlobSegmenter(64), img, ["tank"], tile=64, overlap=16)
    labels = paint_labels(instances, img.shape)
    assert len(instances) == 3
    assert sorted(i.area for i in instances) == [100, 600, 900]
    truth = img[..., 0] > 0.5
    assert np.array_equal(labels > 0, truth)
    # each square holds exactly one id
    for x0, y0, x1, y1 in ((10, 10, 20, 20), (50, 40, 80, 70), (120, 100, 140, 130)):
        assert len(np.unique(labels[y0:y1, x0:x1])) == 1


def test_without_merging_the_pieces_stay_apart():
    img = scene()
    seg = BlobSegmenter(64)
    pieces = segment_tiles(seg, img, ["tank"], tile=64, overlap=16, merge_iou=1.0)
    # merge_iou=1.0 still merges identical views; the cut square has pieces that differ
    assert len(pieces) >= 3


def test_two_phrases_are_two_instances_of_one_blob():
    img = scene(squares=((5, 5, 15, 15),))
    out = segment_tiles(BlobSegmenter(64), img, ["tank", "ship"], tile=64, overlap=8)
    assert sorted(i.phrase for i in out) == ["ship", "tank"]


def test_areas_limit_the_tiles_and_placement_is_in_image_pixels():
    img = scene()
    seg = BlobSegmenter(64)
    out = segment_tiles(seg, img, ["tank"], areas=[(100, 90, 150, 140)], tile=64)
    assert len(seg.calls) == 1 and seg.calls[0][0] == (50, 50, 3)
    assert [i.box for i in out] == [(120, 100, 140, 130)]


def test_progress_per_tile_and_cancel_stops_before_the_next_tile():
    img = scene()
    seen = []
    segment_tiles(
        BlobSegmenter(64),
        img,
        ["t"],
        tile=64,
        overlap=16,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(i, 12) for i in range(1, 13)]
    cancel = threading.Event()
    seg = BlobSegmenter(64, after_tiles=(2, cancel))
    with pytest.raises(Cancelled):
        segment_tiles(seg, img, ["t"], tile=64, overlap=16, cancel=cancel)
    assert len(seg.calls) == 2


def test_exemplars_go_to_the_tiles_they_overlap_in_tile_pixels():
    img = scene()
    seg = BlobSegmenter(64)
    segment_tiles(seg, img, [], exemplars=[(50, 40, 60, 50)], tile=64, overlap=16)
    given = [c[2] for c in seg.calls]
    # tiles start at x, y = 0, 48, 96/86: the box lies in the four top-left ones
    assert given == [[[50, 40, 60, 50]], [[2, 40, 12, 50]], [[50, 0, 60, 2]], [[2, 0, 12, 2]]]


def test_no_data_clears_masks_and_bad_arguments_are_one_line():
    img = scene(squares=((0, 0, 30, 30),))
    valid = np.ones(img.shape[:2], bool)
    valid[:, :10] = False
    out = segment_tiles(BlobSegmenter(64), img, ["t"], tile=64, valid=valid)
    assert out[0].box == (10, 0, 30, 30)
    with pytest.raises(InvalidInputError):
        segment_tiles(BlobSegmenter(64), img, [])
    with pytest.raises(InvalidInputError):
        merge_instances([], merge_iou=0)


def test_overlapping_instances_paint_the_stronger_id():
    a = Instance((0, 0, 4, 4), np.ones((4, 4), bool), 0.5, "a", [(0, 0, 10, 10)])
    b = Instance((2, 2, 6, 6), np.ones((4, 4), bool), 0.9, "b", [(0, 0, 10, 10)])
    labels = paint_labels([b, a], (8, 8))
    assert labels[3, 3] == 1 and labels[0, 0] == 2 and labels.dtype == np.int32
