"""Boxes from each family's answer format, placed over scaled, translated, rotated layers."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.coords.detections import layer_vertices
from napari_clipcap.core.vlm import parse_boxes, strip_boxes


def test_qwen_absolute_boxes_scale_from_the_resized_grid():
    text = 'Two tanks:\n```json\n[{"bbox_2d": [28, 56, 84, 112], "label": "tank"}]\n```'
    # the model saw a 112 x 224 (w x h) grid for a 200 x 400 crop at (1000, 2000)
    [d] = parse_boxes(
        text, "qwen-absolute", shown_size=(200, 400), model_size=(112, 224), offset=(1000, 2000)
    )
    assert d.label == "tank"
    assert d.box == pytest.approx((1050.0, 2100.0, 1150.0, 2200.0))


def test_qwen_relative_boxes_are_on_a_0_to_1000_grid():
    text = '{"bbox_2d": [100, 250, 500, 1000], "label": "ship"} and {"bbox_2d": "bad"}'
    [d] = parse_boxes(text, "qwen-relative", shown_size=(640, 480))
    assert d.box == pytest.approx((64.0, 120.0, 320.0, 480.0))


def test_paligemma_loc_tokens_are_y_first_in_1024_bins():
    text = "<loc0256><loc0128><loc0512><loc1024> tank ; <loc0000><loc0000><loc0100><loc0100> house"
    tank, house = parse_boxes(text, "paligemma-loc", shown_size=(2048, 1024), offset=(10, 20))
    assert tank.label == "tank"
    assert tank.box == pytest.approx((10 + 256.0, 20 + 256.0, 10 + 2048.0, 20 + 512.0))
    assert house.box == pytest.approx((10.0, 20.0, 10 + 200.0, 20 + 100.0))
    assert strip_boxes(text, "paligemma-loc") == "tank ; house"


def test_boxes_are_clipped_to_the_image_shown_and_empty_ones_dropped():
    text = "<loc0000><loc0900><loc0100><loc1023> a ; <loc0500><loc0500><loc0500><loc0600> b"
    boxes = parse_boxes(text, "paligemma-loc", shown_size=(1024, 1024))
    assert [d.label for d in boxes] == ["a"]
    assert boxes[0].box[2] <= 1024


def test_families_without_boxes_give_none():
    assert parse_boxes('{"bbox_2d": [1, 2, 3, 4]}', None, shown_size=(10, 10)) == []


@pytest.mark.parametrize("angle", [0.0, 30.0])
def test_answer_boxes_land_on_a_scaled_translated_rotated_layer(angle):
    # a box at pixels x 10..30, y 20..60 of an image layer with scale (2, 3),
    # translate (100, -50) and a rotation: its world corners equal the layer transform's
    [d] = parse_boxes(
        '{"bbox_2d": [10, 20, 30, 60], "label": "x"}', "qwen-relative", shown_size=(1000, 1000)
    )
    t = np.radians(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    affine = np.eye(3)
    affine[:2, :2] = rot @ np.diag([2.0, 3.0])
    affine[:2, 2] = [100.0, -50.0]
    [verts] = layer_vertices([d.box], affine=affine)
    corner = np.array([20 - 0.5, 10 - 0.5])  # (row, col) of the box's top-left pixel edge
    assert verts[0] == pytest.approx(affine[:2, :2] @ corner + affine[:2, 2])
