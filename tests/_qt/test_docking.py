"""The widgets dock through the npe2 manifest, as ``napari-clipcap view`` docks them."""

from __future__ import annotations

from napari_clipcap._qt.widgets.caption.widget import CaptionWidget
from napari_clipcap._qt.widgets.heatmap.widget import HeatmapWidget
from napari_clipcap._qt.widgets.labels.widget import LabelsWidget
from napari_clipcap.cli.view import _WIDGETS

MINE = {"Caption": CaptionWidget, "Region labels": LabelsWidget, "Text heatmap": HeatmapWidget}


def test_manifest_widgets_dock(make_napari_viewer):
    assert set(MINE) <= set(_WIDGETS)  # `napari-clipcap view` docks them
    viewer = make_napari_viewer()
    for name, cls in MINE.items():
        _, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", name)
        assert type(widget) is cls


def test_every_dock_is_usable_in_a_short_window_and_reopens_on_the_shown_layer(
    make_napari_viewer, qtbot
):
    """Docks scroll inside at 600 px; a reopened dock takes the visible layer and does
    not push the window past the screen."""
    import numpy as np
    from qtpy.QtWidgets import QApplication

    from napari_clipcap._qt.first_view import MIN_DOCK_HEIGHT, dock_wrappers

    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((32, 32), np.float32), name="shown")
    hidden = viewer.add_image(np.ones((32, 32), np.float32), name="hidden")
    hidden.visible = False
    viewer.layers.selection.active = None
    for i, name in enumerate(_WIDGETS):
        dock, _ = viewer.window.add_plugin_dock_widget("napari-clipcap", name, tabify=i > 0)
        assert dock.minimumSizeHint().height() <= MIN_DOCK_HEIGHT + 40, name
    qt_window = viewer.window._qt_window
    qt_window.resize(1200, 600)
    QApplication.processEvents()
    assert qt_window.height() <= 600
    key = next(k for k in dock_wrappers(viewer) if k.startswith("Text heatmap"))
    viewer.window.remove_dock_widget(dock_wrappers(viewer)[key])
    _, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", "Text heatmap")
    QApplication.processEvents()
    assert qt_window.height() <= 600
    assert widget.image_combo.layer().name == "shown"


def _overflow(scroll) -> list[str]:
    """The visible widgets of a dock's scroll area that reach past its viewport's width."""
    from qtpy.QtCore import QPoint
    from qtpy.QtWidgets import QWidget

    inner, width = scroll.widget(), scroll.viewport().width()
    out = []
    if inner.width() > width:
        out.append(f"contents {inner.width()} px in a {width} px viewport")
    for child in inner.findChildren(QWidget):
        if child.isVisibleTo(inner) and child.width() > 0:
            right = child.mapTo(scroll.viewport(), QPoint(child.width(), 0)).x()
            if right > width + 1:
                out.append(f"{type(child).__name__} {child.objectName()!r} ends at {right}")
    return out


def test_no_dock_is_wider_than_its_viewport_at_the_screenshot_width(
    make_napari_viewer, qtbot, tmp_path
):
    """At the screenshots' 540 px dock width, in a tall window and in a short one (where
    the scroll bar shows), nothing of any dock is cut at its right edge."""
    from qtpy.QtWidgets import QScrollArea

    from napari_clipcap._qt.first_view import DOCK_SCROLL_NAME

    viewer = make_napari_viewer(show=True)
    viewer.open_sample("napari-clipcap", "overhead")
    qt_window = viewer.window._qt_window
    for name in _WIDGETS:
        dock, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", name)
        dock.setMinimumWidth(540)
        scroll = widget.findChild(QScrollArea, DOCK_SCROLL_NAME)
        for height in (1040, 640):
            qt_window.resize(1700, height)
            qtbot.wait(150)
            assert not _overflow(scroll), (name, height, _overflow(scroll))
        if name == "Caption":
            qt_window.grab().save(str(tmp_path / "caption_640.png"))
        viewer.window.remove_dock_widget(dock)
