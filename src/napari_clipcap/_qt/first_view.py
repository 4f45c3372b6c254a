"""The first window a user sees: a screen-sized window, Caption in front, one sample shown.

:func:`arrange` is what ``napari-clipcap view`` does after opening files and samples and
docking the widgets. It changes only window geometry, dock order and layer visibility.
"""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QTabBar

#: The smallest window that shows the canvas beside readable docks, where the screen allows.
MIN_SIZE = (1600, 1000)
#: Width of the right-hand dock area, in pixels, when the window is at least MIN_SIZE wide.
DOCK_WIDTH = 520


def window_size(available: tuple[int, int]) -> tuple[int, int]:
    """The window size for a screen area ``(width, height)``: at least ``MIN_SIZE``, at
    most the screen."""
    return min(max(MIN_SIZE[0], int(available[0] * 0.9)), available[0]), min(
        max(MIN_SIZE[1], int(available[1] * 0.9)), available[1]
    )


def show_only(viewer, name: str | None) -> None:
    """Make ``name`` the only visible layer and select it; ``None`` changes nothing."""
    if name is None or name not in viewer.layers:
        return
    for layer in viewer.layers:
        layer.visible = layer.name == name
    viewer.layers.selection.active = viewer.layers[name]
    viewer.reset_view()


#: napari titles a plugin's docks "Name (plugin)"; the tabs show the name alone.
_PLUGIN_SUFFIX = " (napari-clipcap)"


def _readable_tabs(qt_window, docks) -> None:
    """Tabified docks: short, whole titles, scroll buttons when they do not fit."""
    for dock in docks:
        title = dock.windowTitle()
        if title.endswith(_PLUGIN_SUFFIX):
            dock.setWindowTitle(title.removesuffix(_PLUGIN_SUFFIX))  # the tab's text
    for bar in qt_window.findChildren(QTabBar):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)
        bar.setExpanding(False)


def arrange(viewer, front: str, *, visible_layer: str | None = None) -> None:
    """Size the window to the screen, bring dock ``front`` to the front, show one layer.

    Parameters
    ----------
    viewer : napari.Viewer
    front : str
        Display name of the dock to raise (as in napari.yaml, e.g. ``"Caption"``).
    visible_layer : str, optional
        The one layer left visible (and selected); the others stay in the layer list,
        hidden, a click away.
    """
    qt_window = viewer.window._qt_window
    screen = qt_window.screen() or QApplication.primaryScreen()
    area = screen.availableGeometry()
    width, height = window_size((area.width(), area.height()))
    qt_window.resize(width, height)
    docks = viewer.window._dock_widgets
    chosen = [dock for key, dock in docks.items() if key.split(" (")[0] == front]
    if chosen:
        chosen[0].show()
        chosen[0].raise_()
        if width >= MIN_SIZE[0]:
            qt_window.resizeDocks([chosen[0]], [DOCK_WIDTH], Qt.Orientation.Horizontal)
    _readable_tabs(qt_window, docks.values())
    show_only(viewer, visible_layer)
    from .orientation import follow_visibility

    for layer in list(viewer.layers):
        if (layer.metadata or {}).get("north_up"):
            follow_visibility(viewer, layer)


def dock_titles(viewer) -> Sequence[str]:
    """The titles of the tabs of tabified docks, as shown (for tests and screenshots)."""
    return [
        bar.tabText(i)
        for bar in viewer.window._qt_window.findChildren(QTabBar)
        for i in range(bar.count())
    ]
