"""Segment dock by example: boxes in an examples layer (label 1) and a counter-examples
layer (label 0) become the request's exemplars, reach the tiny SAM 3, and the copied
command (--exemplar, --negative-exemplar) gives the same label image."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from PIL import Image

from fixtures.qt_jobs import wait_job
from fixtures.scripted_segmenter import BlobSegmenter
from napari_clipcap._napari.layers import META_KEY
from napari_clipcap._qt.widgets.segment.widget import SegmentWidget
from napari_clipcap.cli import main
from napari_clipcap.core.segmentation import model as segmentation_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def rectangle(x0, y0, x1, y1) -> np.ndarray:
    """napari corners (row, col) of the pixel box (x0, y0, x1, y1)."""
    return np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]], float)


@pytest.fixture
def dock(make_napari_viewer, qtbot, tmp_path):
    img = np.zeros((56, 56, 3), np.uint8)
    img[5:20, 5:20] = 255
    img[30:50, 30:50] = 255
    path = tmp_path / "houses.png"
    Image.fromarray(img).save(path)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin="napari")
    widget = SegmentWidget(viewer)
    qtbot.addWidget(widget)
    widget.image_combo.set_layer(layer)
    return viewer, widget, path


def test_example_layers_need_boxes_and_stand_in_for_phrases(dock):
    viewer, widget, _ = dock
    assert "phrases" in widget.run_button.toolTip()
    examples, counter = widget.examples.new_layers()
    assert examples.name == "examples" and counter.name == "counter-examples"
    assert viewer.layers.selection.active is examples and examples.mode == "add_rectangle"
    assert not widget.run_button.isEnabled() and "Draw boxes" in widget.run_button.toolTip()
    examples.add_rectangles([rectangle(5, 5, 20, 20)])
    assert "counter-examples" in widget.run_button.toolTip()
    widget.examples.counter_check.setChecked(False)
    assert widget.run_button.isEnabled()  # examples alone, no phrase
    widget.examples.counter_check.setChecked(True)
    widget.examples.counter_combo.set_layer(examples)
    assert "two different" in widget.run_button.toolTip()


def test_examples_and_counter_examples_reach_the_segmenter_with_their_labels(
    dock, qtbot, monkeypatch
):
    _viewer, widget, _ = dock
    seen = []

    class Spy(BlobSegmenter):
        def segment(self, tile, phrases, *, exemplars=(), exemplar_labels=(), **kw):
            seen.append((list(exemplars), list(exemplar_labels)))
            return super().segment(tile, phrases, exemplars=exemplars, **kw)

    monkeypatch.setattr(segmentation_model, "cached_segmenter", lambda *a, **k: Spy(56))
    examples, counter = widget.examples.new_layers()
    examples.add_rectangles([rectangle(5, 5, 20, 20)])
    counter.add_rectangles([rectangle(30, 30, 50, 50)])
    widget.tile_spin.setValue(56)
    widget.run_button.click()
    wait_job(qtbot, widget)
    assert seen == [([[5, 5, 20, 20], [30, 30, 50, 50]], [1, 0])]
    command = widget.result_layer.metadata[META_KEY]["provenance"]["command"]
    assert "--exemplar 5,5,20,20 --negative-exemplar 30,30,50,50" in command
    assert widget.result_layer.name == "examples on houses"


def test_the_tiny_sam3_by_example_and_the_copied_command_agree(
    dock, qtbot, sam3_dir, tmp_path, monkeypatch
):
    _viewer, widget, _path = dock
    labels_seen = []
    model = segmentation_model.cached_segmenter(str(sam3_dir), "cpu")
    forward = model.model.forward

    def spy(*args, **kwargs):
        labels_seen.append(kwargs["input_boxes_labels"].tolist())
        return forward(*args, **kwargs)

    monkeypatch.setattr(model.model, "forward", spy)
    widget.segmenter_combo.setCurrentText(str(sam3_dir))
    widget.tile_spin.setValue(56)
    examples, counter = widget.examples.new_layers()
    examples.add_rectangles([rectangle(5, 5, 20, 20)])
    counter.add_rectangles([rectangle(30, 30, 50, 50)])
    widget.run_button.click()
    wait_job(qtbot, widget)
    assert labels_seen == [[[1, 0]]]
    dock_labels = np.asarray(widget.result_layer.data)
    assert dock_labels.dtype == np.int32
    command = widget.result_layer.metadata[META_KEY]["provenance"]["command"]
    out = tmp_path / "labels.npy"
    assert main([*shlex.split(command)[1:], "--out", str(out), "--device", "cpu"]) == 0
    assert labels_seen[-1] == [[1, 0]]
    np.testing.assert_array_equal(np.load(out), dock_labels)
