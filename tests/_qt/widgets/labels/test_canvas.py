"""Region labels dock, presentation: a table that fits the dock, the top probability
highlighted, one numbering with the canvas, live template check, shapes outside the
image reported, regions done of total."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.layers import camera_of
from napari_clipcap._napari.region_text import numbers_layer_name
from napari_clipcap._qt.widgets.labels.canvas import OUTSIDE, TEXT_COLUMN
from napari_clipcap._qt.widgets.labels.widget import CUSTOM_TEMPLATE, LabelsWidget

RECT = np.array([[10.0, 20.0], [40.0, 60.0]])
RECT2 = np.array([[50.0, 70.0], [90.0, 120.0]])
FIVE = "river, village, forest, farmland, airport"


@pytest.fixture
def labels_widget(make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(scene, name="scene")
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    widget.auto_check.setChecked(False)
    return viewer, widget


def score(qtbot, viewer, w, labels, rects=(RECT, RECT2)):
    shapes = viewer.add_shapes(list(rects), shape_type="rectangle", name="regions")
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText(labels)
    w.score_button.click()
    wait_job(qtbot, w, timeout=20000)
    return shapes


def test_many_labels_are_rows_and_the_table_fits_the_dock(labels_widget, qtbot):
    viewer, w = labels_widget
    w.resize(470, 900)
    w.show()
    score(qtbot, viewer, w, FIVE)
    t = w.table
    assert t.transposed and t.rowCount() == 5 and t.columnCount() == 3
    headers = [t.horizontalHeaderItem(c).text() for c in range(3)]
    assert headers == ["label", "shape 0", "shape 1"]
    assert [t.item(r, 0).text() for r in range(5)] == [s.strip() for s in FIVE.split(",")]
    qtbot.wait(50)
    assert not t.horizontalScrollBar().isVisible()
    # each region's top probability (and only it) is highlighted
    for col, region in enumerate(w.results["regions"], start=1):
        marked = [r for r in range(5) if t.is_highlighted(r, col)]
        assert [t.item(r, 0).text() for r in marked] == [region["label"]]


def test_few_labels_keep_a_row_per_region_with_the_top_highlighted(labels_widget, qtbot):
    viewer, w = labels_widget
    score(qtbot, viewer, w, "forest, river")
    t = w.table
    assert not t.transposed and t.rowCount() == 2
    assert not t.verticalHeader().isVisible()  # no second numbering beside the shapes'
    for row, region in enumerate(w.results["regions"]):
        top_col = 3 + ["forest", "river"].index(region["label"])
        assert t.is_highlighted(row, top_col) and not t.is_highlighted(row, 7 - top_col)


def test_table_and_canvas_share_the_shape_numbers(labels_widget, qtbot):
    viewer, w = labels_widget
    shapes = score(qtbot, viewer, w, "forest, river")
    numbers = viewer.layers[numbers_layer_name(shapes)]
    assert list(numbers.text.values) == ["0", "1"]
    assert [w.table.item(r, 0).text() for r in range(2)] == ["0", "1"]


def test_custom_template_is_checked_as_you_type(labels_widget, qtbot):
    viewer, w = labels_widget
    w.show()
    shapes = viewer.add_shapes([RECT], shape_type="rectangle")
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText("forest, river")
    w.template_combo.setCurrentText(CUSTOM_TEMPLATE)
    assert w.score_button.isEnabled()
    w.template_edit.clear()
    qtbot.keyClicks(w.template_edit, "a photo of")
    assert not w.score_button.isEnabled()
    assert w.hint.isVisible() and "{}" in w.hint.text()
    qtbot.keyClicks(w.template_edit, " {}")
    assert w.score_button.isEnabled() and not w.hint.isVisible()


def test_shape_outside_the_image_is_reported(labels_widget, qtbot):
    viewer, w = labels_widget
    far = np.array([[500.0, 500.0], [600.0, 600.0]])
    shapes = score(qtbot, viewer, w, "forest, river", rects=(RECT, far))
    assert [r["shape"] for r in w.results["regions"]] == [0]
    assert w.results["outside"] == [1]
    assert "Shape 1 is outside the image" in w.job_panel.status.text()
    assert shapes.features[TEXT_COLUMN][1] == OUTSIDE


def test_scoring_shows_regions_done_of_total(labels_widget, qtbot, monkeypatch):
    import napari_clipcap.core.tasks.labels as zs

    gate = threading.Event()

    def half(image, regions, labels, clip, progress=None, **kwargs):
        progress(1, len(regions))
        gate.wait(10)
        return np.full((len(regions), len(labels)), 1 / len(labels), np.float32)

    monkeypatch.setattr(zs, "score_regions", half)
    viewer, w = labels_widget
    shapes = viewer.add_shapes([RECT, RECT2], shape_type="rectangle")
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText("forest, river")
    w.score_button.click()
    try:
        qtbot.waitUntil(lambda: w.job_panel.bar.text() == "1 of 2 regions (50%)", timeout=20000)
    finally:
        gate.set()
    wait_job(qtbot, w)


def test_label_text_colour_follows_zoom_and_contrast(labels_widget, qtbot):
    """Dark text over the bright square; zoomed out (text over the black canvas) or with
    contrast limits that darken the image, the dock's own light colour."""
    from napari_clipcap._napari.region_text import DARK_TEXT
    from napari_clipcap._qt.widgets.labels.canvas import LABEL_COLOUR

    viewer, w = labels_widget
    camera_of(viewer).zoom = 4.0
    in_square = np.array([[30.0, 20.0], [60.0, 60.0]])  # its text above, on the square
    shapes = score(qtbot, viewer, w, "river, forest", rects=(in_square,))
    dark = [int(DARK_TEXT[i : i + 2], 16) / 255 for i in (1, 3, 5)]

    def colour():
        return shapes.text._view_color(np.arange(1))[0][:3]

    np.testing.assert_allclose(colour(), dark, atol=1e-3)
    camera_of(viewer).zoom = 0.3
    assert shapes.features["clipcap_text_colour"][0] == LABEL_COLOUR
    camera_of(viewer).zoom = 4.0
    np.testing.assert_allclose(colour(), dark, atol=1e-3)
    viewer.layers["scene"].contrast_limits = (0, 2550)
    assert shapes.features["clipcap_text_colour"][0] == LABEL_COLOUR
