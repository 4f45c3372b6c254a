"""Every label of every dock shows paths, file names and model text as plain text: a
crafted path (``<img>``, ``<h1>``) in a received file is never rendered as markup."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFormLayout, QLabel

from napari_clipcap.cli.view import _WIDGETS

CRAFTED = "/data/<h1>big</h1><img src='x.png' width=900 height=900>.fits"


def _row_names(widget) -> list:
    """The fixed row-name labels of the widget's forms (the wrappers kept alive, so that
    ``findChildren`` gives these same objects)."""
    out = []
    for form in widget.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and item.widget() is not None:
                out.append(item.widget())
    return out


def _dynamic_labels(widget) -> list[QLabel]:
    """The labels whose text the dock sets (not the fixed row names of its forms)."""
    fixed = _row_names(widget)
    return [
        label
        for label in widget.findChildren(QLabel)
        if not any(label is f for f in fixed) and label.objectName() != "clipcap_caption_words"
    ]


def test_every_dock_label_is_plain_text(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((8, 8), np.float32), name="<b>bold</b> layer")
    for name in _WIDGETS:
        _, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", name)
        rich = [
            (type(label.parentWidget()).__name__, label.text()[:40])
            for label in _dynamic_labels(widget)
            if label.textFormat() != Qt.TextFormat.PlainText
        ]
        assert not rich, (name, rich)


def test_a_crafted_path_does_not_inflate_a_status_label(make_napari_viewer, qtbot):
    from napari_clipcap._qt.job_panel import JobPanel

    panel = JobPanel()
    qtbot.addWidget(panel)
    panel.set_status(f"Cannot open {CRAFTED}", error=True)
    assert panel.status.text().startswith("Cannot open /data/<h1>")
    hint = panel.status.sizeHint()
    assert hint.height() < 100 and hint.width() < 900


def test_text_boxes_have_a_visible_frame(make_napari_viewer, qtbot, tmp_path):
    """Labels and Queries boxes show a frame on napari's dark theme."""
    viewer = make_napari_viewer(show=True)
    _, labels = viewer.window.add_plugin_dock_widget("napari-clipcap", "Region labels")
    _, heat = viewer.window.add_plugin_dock_widget("napari-clipcap", "Text heatmap")
    for edit in (labels.labels_edit, heat.queries_edit):
        assert "border: 1px solid" in edit.styleSheet()
    labels.grab().save(str(tmp_path / "labels.png"))
