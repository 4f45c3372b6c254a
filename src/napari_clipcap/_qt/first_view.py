"""The window's geometry: a screen-sized first window, Caption in front, one sample
shown, and docks that scroll inside so that the window fits any screen.

:func:`arrange` is what ``napari-clipcap view`` does after opening files and samples and
docking the widgets. It changes only window geometry, dock order and layer visibility.
A dock's minimum height is that of everything in it (600-800 px for the model panels and
forms), so a reopened dock could push the window past the screen: every dock calls
:func:`scroll_contents`, then asks for :data:`MIN_DOCK_HEIGHT` at most and scrolls inside.
"""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import QEvent, QSize, Qt
from qtpy.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QScrollArea,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

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
    from .._napari.compass import compass_name

    for layer in viewer.layers:
        layer.visible = layer.name == name
    # a hidden sky layer's compass comes back when the layer is shown
    hidden = {compass_name(ly) for ly in viewer.layers if ly.name != name}
    for compass in [ly for ly in viewer.layers if ly.name in hidden]:
        viewer.layers.remove(compass)
    viewer.layers.selection.active = viewer.layers[name]
    viewer.reset_view()


#: napari titles a plugin's docks "Name (plugin)"; the tabs show the name alone.
_PLUGIN_SUFFIX = " (napari-clipcap)"
#: Tab titles of the docks whose menu names are long: six whole tabs fit the dock width
#: (with the long names the last one was cut under the scroll buttons, "Band c").
TAB_TITLES = {
    "Region labels": "Labels",
    "Text heatmap": "Heatmap",
    "Search collection": "Search",
    "Band composite": "Bands",
}


def _readable_tabs(qt_window, docks) -> None:
    """Tabified docks: short, whole titles, scroll buttons when they do not fit."""
    for dock in docks:
        title = dock.windowTitle()
        if title.endswith(_PLUGIN_SUFFIX):
            title = title.removesuffix(_PLUGIN_SUFFIX)
            dock.setWindowTitle(TAB_TITLES.get(title, title))  # the tab's text
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
    docks = dock_wrappers(viewer)
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


def dock_wrappers(viewer) -> dict[str, QDockWidget]:
    """The docks of ``viewer`` by name, as the Qt dock widgets that hold them (napari's
    public ``dock_widgets`` maps names to the inner widgets)."""
    out = {}
    for name, inner in viewer.window.dock_widgets.items():
        holder = getattr(inner, "native", inner)
        while holder is not None and not isinstance(holder, QDockWidget):
            holder = holder.parentWidget()
        if holder is not None:
            out[name] = holder
    return out


def dock_titles(viewer) -> Sequence[str]:
    """The titles of the tabs of tabified docks, as shown (for tests and screenshots)."""
    return [
        bar.tabText(i)
        for bar in viewer.window._qt_window.findChildren(QTabBar)
        for i in range(bar.count())
    ]


#: Object name of the scroll area that holds a dock's contents.
DOCK_SCROLL_NAME = "clipcap_dock_scroll"
#: The most a dock asks of the window's height, in pixels.
MIN_DOCK_HEIGHT = 240


class _DockScroll(QScrollArea):
    """A vertical scroll area (its bar always shown) as wide as its contents need now
    (plus the bar), and only :data:`MIN_DOCK_HEIGHT` tall at the least."""

    def eventFilter(self, obj, event) -> bool:
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # rows shown or hidden: ask for the new width
        return super().eventFilter(obj, event)

    def minimumSizeHint(self) -> QSize:
        inner = self.widget()
        width = inner.minimumSizeHint().width() if inner is not None else 0
        return QSize(width + self.verticalScrollBar().sizeHint().width(), MIN_DOCK_HEIGHT)


def scroll_contents(dock: QWidget) -> QScrollArea:
    """Put ``dock``'s layout (and the widgets in it) inside a vertical scroll area.

    Call it once, at the end of the dock's ``__init__``; the dock's attributes keep
    pointing at the same widgets. Returns the scroll area.
    """
    inner = QWidget()
    inner.setObjectName("clipcap_dock_contents")
    inner.setLayout(dock.layout())  # Qt moves the layout and reparents its widgets
    area = _DockScroll()
    area.setObjectName(DOCK_SCROLL_NAME)
    area.setWidget(inner)
    inner.installEventFilter(area)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # the vertical bar always takes its place: shown only as needed, it left the
    # contents at the width from before it appeared (their right edge cut under it),
    # or stayed shown with nothing to scroll when the contents just fit without it
    area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
    area.setMinimumHeight(MIN_DOCK_HEIGHT)
    outer = QVBoxLayout(dock)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(area)
    return area
