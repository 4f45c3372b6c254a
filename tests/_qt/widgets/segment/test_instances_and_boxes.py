"""Segment dock: a Shapes layer's boxes (as the Grounding dock adds them) become masks with
SAM 2; *Label instances* and *Caption instances* score and caption each instance's outline
as the Region labels and Caption requests do, into the table, the layer text and the
copied command."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from PIL import Image

from fixtures.qt_jobs import wait_job
from fixtures.scripted_segmenter import BlobSegmenter, blob_scene
from napari_clipcap._napari.models.specs import (
    CUSTOM,
    ModelChoice,
    captioner_spec,
    clip_spec,
)
from napari_clipcap._qt.models.shared import SharedSettings
from napari_clipcap._qt.widgets.segment.widget import BOXES, SegmentWidget
from napari_clipcap.core.segmentation import model as segmentation_model
from napari_clipcap.core.tasks.requests.base import ImageInput
from napari_clipcap.core.tasks.requests.caption import CaptionRequest
from napari_clipcap.core.tasks.requests.labels import LabelsRequest
from napari_clipcap.core.tasks.segment import instance_polygons

PLACE = {"scale": (2.0, 0.5), "translate": (10.0, -5.0), "rotate": 30.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class BoxFiller:
    """A scripted box segmenter: each box's mask is the box itself."""

    kind, name, device = "boxes", "segmenter:box-filler", "cpu"

    def __init__(self):
        self.boxes = []

    def masks_for_boxes(self, image, boxes):
        self.boxes = [tuple(int(v) for v in b) for b in boxes]
        masks = np.zeros((len(boxes), *image.shape[:2]), bool)
        for m, (x0, y0, x1, y1) in zip(masks, self.boxes):
            m[y0:y1, x0:x1] = True
        return masks, np.full(len(boxes), 0.9, np.float32)


@pytest.fixture
def dock(make_napari_viewer, qtbot, tmp_path):
    path = tmp_path / "blobs.png"
    Image.fromarray(blob_scene()).save(path)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="napari")
    layer.scale, layer.translate, layer.rotate = PLACE["scale"], PLACE["translate"], 30.0
    widget = SegmentWidget(viewer)
    qtbot.addWidget(widget)
    return viewer, widget, layer, path


def _grounding_like_boxes(viewer, layer):
    """Two rectangles placed as the image, as the Grounding dock adds its detections."""
    rects = [np.array([[5, 8], [5, 30], [20, 30], [20, 8]], float),  # rows 5-20, cols 8-30
             np.array([[40, 60], [40, 90], [64, 90], [64, 60]], float)]  # fmt: skip
    return viewer.add_shapes(
        rects, shape_type="rectangle", scale=layer.scale, translate=layer.translate,
        rotate=layer.rotate,
    )  # fmt: skip


def test_a_shapes_layers_boxes_become_masks(dock, qtbot, monkeypatch):
    viewer, widget, layer, _ = dock
    filler = BoxFiller()
    monkeypatch.setattr(segmentation_model, "cached_segmenter", lambda *a, **k: filler)
    shapes = _grounding_like_boxes(viewer, layer)
    widget.where_combo.setCurrentText(BOXES)
    widget.shapes_combo.set_layer(shapes)
    widget.segmenter_combo.setCurrentText("sam3")
    assert not widget.run_button.isEnabled() and "SAM 2" in widget.run_button.toolTip()
    widget.segmenter_combo.setCurrentText("sam2.1-hiera-tiny")
    assert widget.run_button.isEnabled()  # no phrases needed
    widget.run_button.click()
    wait_job(qtbot, widget)
    # the rectangles' boxes in image pixels, as every dock reads shapes (shape_regions)
    assert filler.boxes == [(8, 5, 30, 20), (60, 40, 90, 64)]
    labels = widget.result_layer.data
    assert [int((labels == i).sum()) for i in (1, 2)] == [22 * 15, 30 * 24]
    assert np.array_equal(np.argwhere(labels == 1).min(axis=0), [5, 8])
    assert np.allclose(widget.result_layer.affine.affine_matrix, layer.affine.affine_matrix)
    command = shlex.split(widget.copy_command_button.record["command"])
    assert command.count("--box") == 2 and "--phrases" not in command


def test_the_tiny_sam2_turns_the_boxes_into_masks_in_the_dock(dock, qtbot, sam2_dir):
    viewer, widget, layer, _ = dock
    widget.where_combo.setCurrentText(BOXES)
    widget.shapes_combo.set_layer(_grounding_like_boxes(viewer, layer))
    widget.segmenter_combo.setCurrentText(str(sam2_dir))
    widget.run_button.click()
    wait_job(qtbot, widget)
    assert widget.result_layer.data.shape == (72, 96)
    assert {r["phrase"] for r in widget.rows} <= {"box"}


def test_label_and_caption_instances_equal_the_region_requests(
    dock, qtbot, monkeypatch, tiny_clip_files, clipcap_for_tiny_clip
):
    viewer, widget, layer, path = dock
    monkeypatch.setattr(segmentation_model, "cached_segmenter", lambda *a, **k: BlobSegmenter(64))
    clip = ModelChoice(preset=CUSTOM, kind="clip", model=str(tiny_clip_files.config),
                       weights=str(tiny_clip_files.safetensors))  # fmt: skip
    captioner = ModelChoice(preset=CUSTOM, kind="clipcap", weights=str(clipcap_for_tiny_clip),
                            clip_model=clip.model, clip_weights=clip.weights)  # fmt: skip
    SharedSettings.instance().update(clip=clip, captioner=captioner, device="cpu")
    actions = widget.instance_actions
    assert not actions.label_button.isEnabled() and not actions.caption_button.isEnabled()
    widget.phrases_edit.setText("blob")
    widget.run_button.click()
    wait_job(qtbot, widget)
    actions.labels_edit.setText("house, tree")
    assert actions.label_button.isEnabled() and actions.caption_button.isEnabled()
    actions.label_button.click()
    wait_job(qtbot, widget)
    polygons = instance_polygons(widget.result_layer.data, widget.rows)
    image = ImageInput(str(path))
    want = LabelsRequest(
        image, ("house", "tree"), regions=tuple(polygons), clip=clip_spec(clip), device="cpu"
    ).run()
    for row, scored in zip(widget.rows, want.rows):
        assert row["probabilities"] == pytest.approx(scored["scores"], abs=1e-6)
    command = shlex.split(widget.copy_command_button.record["command"])
    assert command[command.index("--labels") + 1] == "house,tree"
    table = widget.table
    headers = [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())]
    assert headers[-1] == "label"
    texts = list(widget.text_layer.features["text"])
    assert texts[0].startswith(f"1 {widget.rows[0]['label']}")
    assert np.allclose(widget.text_layer.affine.affine_matrix, layer.affine.affine_matrix)
    actions.caption_button.click()
    wait_job(qtbot, widget)
    spec = captioner_spec(captioner)
    made = CaptionRequest((image,), spec, regions=tuple(polygons), device="cpu").run()
    assert [r["caption"] for r in widget.rows] == [r["captions"][0] for r in made.rows]
    assert all(r["label"] for r in widget.rows)  # the labels stay
    assert "--caption" in shlex.split(widget.copy_command_button.record["command"])
    assert len(viewer.layers) == 3  # image, labels, one text layer
