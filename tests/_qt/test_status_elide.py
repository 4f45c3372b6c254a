"""Status lines that show a long path: one line cut in the middle, the full text as tooltip;
the Search hit grid takes the height the dock leaves."""

from __future__ import annotations

from qtpy.QtCore import QPoint

from napari_clipcap._qt.job_panel import JobPanel

LONG = "Loaded: /data/" + "/".join(f"very-long-folder-name-{i}" for i in range(12)) + "/clip.pt"


def test_loaded_path_is_elided_in_the_middle_with_the_full_path_as_tooltip(qtbot, tmp_path):
    panel = JobPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 60)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_status(LONG, elide=True)
    shown = panel.status.text()
    assert shown.startswith("Loaded: /data/") and shown.endswith("clip.pt") and "…" in shown
    assert panel.status.toolTip() == LONG and panel.status.full_text == LONG
    assert panel.status.minimumSizeHint().width() < 400  # never widens the dock
    assert panel.status.fontMetrics().horizontalAdvance(shown) <= panel.status.width()
    panel.grab().save(str(tmp_path / "loaded.png"))
    panel.resize(900, 60)
    qtbot.waitUntil(lambda: len(panel.status.text()) > len(shown))
    panel.set_status("Failed: a message that wraps", error=True)  # back to wrapped text
    assert panel.status.text() == "Failed: a message that wraps" and not panel.status.toolTip()


def test_search_hit_grid_takes_the_height_left(make_napari_viewer, qtbot, tmp_path):
    from qtpy.QtWidgets import QScrollArea

    from napari_clipcap._qt.first_view import DOCK_SCROLL_NAME

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1700, 1040)
    dock, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", "Search collection")
    dock.setMinimumWidth(540)
    qtbot.wait(300)
    scroll = widget.findChild(QScrollArea, DOCK_SCROLL_NAME)
    viewport = scroll.viewport()
    bottom = widget.grid.mapTo(viewport, QPoint(0, widget.grid.height())).y()
    assert widget.grid.height() > 220 and viewport.height() - bottom < 30
    viewer.window._qt_window.grab().save(str(tmp_path / "search.png"))
