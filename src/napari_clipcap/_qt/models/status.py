"""How the model panel shows its rows and states: a scroll area that never squeezes
the rows, and each choice coloured by its cache state."""

from __future__ import annotations

from qtpy.QtCore import QEvent, QObject, QSize, Qt
from qtpy.QtGui import QColor
from qtpy.QtWidgets import QComboBox, QFrame, QLabel, QScrollArea, QSizePolicy, QWidget

from ..._napari.models.specs import CUSTOM, ModelChoice, cache_status

STATUS_COLOURS = {"ready": "#4caf50", "download": "#e0a030", "missing": "#e05050"}
#: The least height of the rows' scroll area (px) when the dock is short.
MIN_ROWS_HEIGHT = 170


class ScrollRows(QScrollArea):
    """The panel's rows: as tall as they ask when there is room, scrolled when not."""

    def __init__(self, body: QWidget):
        super().__init__()
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        body.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # rows shown or hidden: ask for the new height
        return super().eventFilter(obj, event)

    def sizeHint(self) -> QSize:
        body = self.widget().sizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(body.width() + bar, body.height() + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:
        return QSize(80, min(MIN_ROWS_HEIGHT, self.sizeHint().height()))


def mark_combo(combo: QComboBox, kind: str) -> None:
    """Colour every preset of ``combo`` by its state (cached, will download, ...) and
    say it in the item's tooltip."""
    for i in range(combo.count()):
        name = combo.itemText(i)
        if name == CUSTOM:
            continue
        state, text = cache_status(ModelChoice(preset=name), kind)
        combo.setItemData(i, f"{name}: {text}", Qt.ItemDataRole.ToolTipRole)
        colour = STATUS_COLOURS.get(state)
        if colour:
            combo.setItemData(i, QColor(colour), Qt.ItemDataRole.ForegroundRole)


def show_status(label: QLabel, choice: ModelChoice, kind: str) -> None:
    """Show the cache state of ``choice`` in ``label`` ("● cached", in its colour)."""
    state, text = cache_status(choice, kind)
    colour = STATUS_COLOURS.get(state, "")
    label.setText(f"● {text}")
    label.setStyleSheet(f"color: {colour};" if colour else "")
    label.setToolTip(f"{choice.label}: {text}")
