"""Region labels widget on the tiny CLIP: scoring, validation, re-scoring, CSV, errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.layers import META_KEY
from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
from napari_clipcap._qt.models.panel import SharedSettings
from napari_clipcap._qt.widgets.labels.widget import TEXT_COLUMN, LabelsWidget, parse_labels

RECT = np.array([[10.0, 20.0], [10.0, 60.0], [40.0, 60.0], [40.0, 20.0]])
POLY = np.array([[60.0, 10.0], [80.0, 40.0], [62.0, 90.0]])


def _ask(viewer, w, labels: str, both_shapes: bool = False):
    """A shapes layer (a rectangle, and a polygon if asked) and ``labels`` in the widget,
    scoring left to the score button; the layer."""
    if both_shapes:
        shapes = viewer.add_shapes([RECT, POLY], shape_type=["rectangle", "polygon"])
    else:
        shapes = viewer.add_shapes([RECT], shape_type="rectangle")
    w.auto_check.setChecked(False)
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText(labels)
    return shapes


@pytest.fixture
def labels_widget(make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(scene, name="scene")
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    return viewer, widget


def test_parse_labels_accepts_commas_and_newlines():
    assert parse_labels("forest, river\nairport,\n\n field ") == [
        "forest",
        "river",
        "airport",
        "field",
    ]


def test_button_explains_what_is_missing(labels_widget):
    viewer, w = labels_widget
    assert not w.score_button.isEnabled()
    assert "Shapes" in w.score_button.toolTip()
    shapes = w.new_regions_layer()
    assert shapes.name in viewer.layers and w.shapes_combo.layer() is shapes
    assert "Draw at least one shape" in w.score_button.toolTip()
    shapes.add_rectangles(RECT[[0, 2]])
    assert "label" in w.score_button.toolTip()
    w.labels_edit.setPlainText("forest, Forest")
    assert "duplicate" in w.score_button.toolTip()
    w.labels_edit.setPlainText("forest, river")
    assert w.score_button.isEnabled()
    viewer.layers.remove("scene")
    assert not w.score_button.isEnabled() and "image" in w.score_button.toolTip()


def test_scores_rectangles_and_polygons(labels_widget, qtbot, tmp_path):
    viewer, w = labels_widget
    shapes = _ask(viewer, w, "forest\nriver\nairport", both_shapes=True)
    w.score_button.click()
    wait_job(qtbot, w)
    regions = w.results["regions"]
    assert [r["shape"] for r in regions] == [0, 1]
    assert regions[0]["box"] == [20, 10, 60, 40]
    for r in regions:
        assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    # top label and probability as shape features and text
    assert list(shapes.features["label"]) == [r["label"] for r in regions]
    assert shapes.features[TEXT_COLUMN][0].startswith(regions[0]["label"])
    assert shapes.text.string.format == "{" + TEXT_COLUMN + "}"
    assert shapes.metadata[META_KEY]["labels"]["labels"] == ["forest", "river", "airport"]
    # sortable table: one row per region, one column per label
    assert w.table.rowCount() == 2 and w.table.columnCount() == 6
    w.table.sortItems(2)
    probs = [float(w.table.item(i, 2).text()) for i in range(2)]
    assert probs == sorted(probs)
    # CSV export
    out = tmp_path / "labels.csv"
    w.export_csv(str(out))
    rows = list(csv.reader(out.open()))
    assert rows[0][:7] == ["shape", "x0", "y0", "x1", "y1", "label", "probability"]
    assert rows[1][1:5] == ["20", "10", "60", "40"]
    assert len(rows) == 3


def test_shapes_layer_with_other_scale_maps_to_image_pixels(
    make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications
):
    viewer = make_napari_viewer()
    viewer.add_image(scene, name="scene", scale=(2.0, 2.0), translate=(4.0, 0.0))
    # in world units: rows 24..84, cols 40..120 -> image pixels rows 10..40, cols 20..60
    shapes = viewer.add_shapes(
        [np.array([[6.0, 10.0], [21.0, 30.0]])],
        shape_type="rectangle",
        scale=(4.0, 4.0),
        translate=(0.0, 0.0),
    )
    w = LabelsWidget(viewer)
    qtbot.addWidget(w)
    w.shapes_combo.set_layer(shapes)
    w.image_combo.setCurrentText("scene")
    w.labels_edit.setPlainText("a, b")
    w.score_button.click()
    wait_job(qtbot, w)
    assert w.results["regions"][0]["box"] == [20, 10, 60, 40]


def test_editing_shapes_rescores_only_new_ones_debounced(labels_widget, qtbot, monkeypatch):
    import napari_clipcap.core.tasks.labels as zs

    calls: list[int] = []
    real = zs.score_regions

    def counting(image, regions, *args, **kwargs):
        calls.append(len(regions))
        return real(image, regions, *args, **kwargs)

    monkeypatch.setattr(zs, "score_regions", counting)
    viewer, w = labels_widget
    shapes = viewer.add_shapes([RECT], shape_type="rectangle")
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText("forest, river")
    w.score_button.click()
    wait_job(qtbot, w)
    assert calls == [1]
    shapes.add_rectangles(np.array([[50.0, 50.0], [90.0, 120.0]]))
    shapes.add_rectangles(np.array([[0.0, 0.0], [20.0, 20.0]]))
    # two quick edits -> one debounced job that scores only the two new shapes
    qtbot.waitUntil(lambda: len(w.results["regions"]) == 3, timeout=20000)
    assert calls == [1, 2]
    assert len(shapes.features[TEXT_COLUMN]) == 3 and all(shapes.features[TEXT_COLUMN])


def test_missing_weights_disable_score_naming_the_row(labels_widget, tmp_path, notifications):
    """A weights file that is not there disables Score before any click, naming the row
    and the file (c90ddf4: Run buttons say the row to fix); a click starts no job."""
    viewer, w = labels_widget
    SharedSettings.instance().update(
        clip=ModelChoice(preset=CUSTOM, model="ViT-B-32", weights=str(tmp_path / "x.pt"))
    )
    shapes = viewer.add_shapes([RECT], shape_type="rectangle")
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText("forest, river")
    assert not w.score_button.isEnabled()
    why = w.score_button.toolTip()
    assert "Weights row" in why and "x.pt" in why and why == w.hint.text()
    w.score_button.click()
    assert w.job_panel.job is None and notifications == []
    assert w.results == {} and "label" not in shapes.features


def test_broken_weights_are_one_notification_and_no_results(
    labels_widget, qtbot, tmp_path, notifications, tiny_clip_choice
):
    viewer, w = labels_widget
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a weights file")
    SharedSettings.instance().update(
        clip=ModelChoice(
            preset=CUSTOM, kind="clip", model=tiny_clip_choice.model, weights=str(broken)
        )
    )
    shapes = viewer.add_shapes([RECT], shape_type="rectangle")
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText("forest, river")
    w.score_button.click()
    wait_job(qtbot, w)
    assert len(notifications) == 1 and "broken.safetensors" in notifications[0]
    assert w.results == {} and "label" not in shapes.features
    assert "Failed" in w.job_panel.status.text()


def test_shapes_deleted_while_scoring_leave_no_stale_results(
    labels_widget, qtbot, monkeypatch, notifications
):
    """Results index shapes by position: a shape deleted during the job must not make
    the results land on the wrong shapes (or fail on an index past the end)."""
    import threading

    import napari_clipcap.core.tasks.labels as zs

    gate = threading.Event()
    real = zs.score_regions

    def held(*args, **kwargs):
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(zs, "score_regions", held)
    viewer, w = labels_widget
    shapes = _ask(viewer, w, "forest, river", both_shapes=True)
    with qtbot.captureExceptions() as raised:
        w.score_button.click()
        shapes.selected_data = {0}
        shapes.remove_selected()
        gate.set()
        wait_job(qtbot, w)
    assert raised == [] and notifications == []
    assert w.results == {} and "label" not in shapes.features
    assert "changed" in w.job_panel.status.text()


def test_export_to_unwritable_path_is_a_message(labels_widget, qtbot, tmp_path, monkeypatch):
    import napari_clipcap._qt.widgets.labels.widget as lw

    viewer, w = labels_widget
    _ask(viewer, w, "forest, river")
    w.score_button.click()
    wait_job(qtbot, w)
    target = tmp_path / "no such folder" / "labels.csv"
    monkeypatch.setattr(lw.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    shown: list[str] = []
    monkeypatch.setattr(lw, "show_error", shown.append, raising=False)
    with qtbot.captureExceptions() as raised:
        w.export_button.click()
    assert raised == []
    assert len(shown) == 1 and "labels.csv" in shown[0]
    assert "Cannot write" in w.job_panel.status.text() and not target.exists()


def test_score_asked_while_scoring_runs_one_job_after_the_other(labels_widget, qtbot, monkeypatch):
    import threading

    import napari_clipcap.core.tasks.labels as zs

    gate, running, most = threading.Event(), [], []
    real = zs.score_regions

    def held(*args, **kwargs):
        running.append(1)
        most.append(len(running))
        gate.wait(10)
        try:
            return real(*args, **kwargs)
        finally:
            running.pop()

    monkeypatch.setattr(zs, "score_regions", held)
    viewer, w = labels_widget
    _ask(viewer, w, "forest, river")
    w.score_button.click()
    qtbot.waitUntil(lambda: bool(running), timeout=20000)
    w.labels_edit.setPlainText("forest, river, airport")
    assert not w.score_button.isEnabled() and w.score_button.text() == "Running…"
    w.score_button.click()  # refused: the button shows the running job
    w.score()  # as the re-score of edited shapes asks: it waits for the running job
    gate.set()
    qtbot.waitUntil(
        lambda: len(w.results.get("labels", [])) == 3 and not w.job_panel.busy, timeout=20000
    )
    assert max(most) == 1  # never two scoring jobs at once


def test_scores_come_from_the_labels_requests_run(labels_widget, qtbot, monkeypatch):
    """The dock runs its LabelsRequest (the CLI's path), not a copy of the scoring loop:
    what the request's run gives is what the table and the shapes show."""
    from napari_clipcap.core.tasks.requests import LabelsRequest

    ran: list = []
    real = LabelsRequest.run

    def spy(self, **kwargs):
        result = real(self, **kwargs)
        ran.append((self, kwargs))
        result.extra["scores"] = np.array([[0.25, 0.75]], np.float32)
        return result

    monkeypatch.setattr(LabelsRequest, "run", spy)
    viewer, w = labels_widget
    _ask(viewer, w, "forest, river")
    w.score_button.click()
    wait_job(qtbot, w)
    assert len(ran) == 1
    request, kwargs = ran[0]
    assert request.labels == ("forest", "river") and request.image.name == "scene"
    assert kwargs["clip"] is not None  # the dock's cached model is handed in
    probs = w.results["regions"][0]["probabilities"]
    assert probs == pytest.approx({"forest": 0.25, "river": 0.75})
