"""Segment dock in a real napari window: a Labels layer over a scaled, translated and
rotated image layer, the table and its CSV, reasons Run is disabled, the tiny SAM 3."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from fixtures.qt_jobs import wait_job
from fixtures.scripted_segmenter import BlobSegmenter
from napari_clipcap._napari.layers import data_to_world
from napari_clipcap._qt.widgets.segment.widget import SegmentWidget
from napari_clipcap.core.coords.orientation import north_up_placement
from napari_clipcap.core.segmentation import model as segmentation_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _scene():
    img = np.zeros((90, 120, 3), np.uint8)
    img[10:30, 20:50] = 255
    img[50:80, 70:110] = 255
    return img


PLACEMENTS = {
    "scaled-translated-rotated": {"scale": (2.0, 0.5), "translate": (10.0, -5.0), "rotate": 30.0},
    "north-up": north_up_placement((90, 120)),
}


@pytest.fixture(params=list(PLACEMENTS))
def dock(make_napari_viewer, qtbot, request):
    viewer = make_napari_viewer()
    layer = viewer.add_image(_scene(), rgb=True, **PLACEMENTS[request.param])
    widget = SegmentWidget(viewer)
    qtbot.addWidget(widget)
    return viewer, widget, layer


def test_run_is_disabled_with_a_reason_until_it_can_segment(dock):
    _viewer, widget, _ = dock
    assert not widget.run_button.isEnabled()
    assert "phrases" in widget.run_button.toolTip()
    widget.phrases_edit.setText("tank")
    assert widget.run_button.isEnabled()
    widget.segmenter_combo.setCurrentText("no-such-thing")
    assert not widget.run_button.isEnabled()


def test_labels_layer_lies_over_the_transformed_image(dock, qtbot, monkeypatch, tmp_path):
    _viewer, widget, layer = dock
    monkeypatch.setattr(segmentation_model, "cached_segmenter", lambda *a, **k: BlobSegmenter(64))
    widget.phrases_edit.setText("tank")
    widget.tile_spin.setValue(64)
    widget.run_button.click()
    wait_job(qtbot, widget)
    labels = widget.result_layer
    assert labels is not None and labels.data.shape == (90, 120)
    assert np.allclose(data_to_world(labels), data_to_world(layer))
    corner = layer.data_to_world((10, 20))  # a mask corner lands on the image pixel
    assert np.allclose(labels.data_to_world((10, 20)), corner)
    assert np.array_equal(labels.data > 0, _scene()[..., 0] > 0)
    assert widget.table.rowCount() == 2
    assert sorted(r["area_px"] for r in widget.rows) == [600, 1200]
    written = widget.export_table(str(tmp_path / "table.csv"))
    assert [int(r["area_px"]) for r in csv.DictReader(open(written))] == [
        r["area_px"] for r in widget.rows
    ]


def test_the_tiny_sam3_runs_through_the_dock(dock, qtbot, sam3_dir):
    _viewer, widget, _ = dock
    widget.segmenter_combo.setCurrentText(str(sam3_dir))
    widget.phrases_edit.setText("ship")
    widget.run_button.click()
    wait_job(qtbot, widget)
    assert widget.result_layer is not None
    assert widget.result_layer.data.dtype == np.int32


def test_the_dock_is_in_the_manifest(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", "Segment")
    assert type(widget) is SegmentWidget
