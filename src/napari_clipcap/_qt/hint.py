"""A widget's "why can't I run this?" line: the reason shown under the form, and the
action button disabled with the same reason as its tooltip."""

from __future__ import annotations

from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QAbstractButton, QLabel, QWidget


class HintLabel(QLabel):
    """An amber line, hidden while there is nothing to explain."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)  # reasons quote paths and names
        self.setWordWrap(True)
        self.setStyleSheet("color: #e0a030;")

    def explain(self, button: QAbstractButton, why: str, ready_tip: str) -> bool:
        """Enable ``button`` (tooltip ``ready_tip``) when ``why`` is empty; otherwise
        disable it and show ``why`` here and as its tooltip. Returns whether it can run."""
        button.setEnabled(not why)
        button.setToolTip(why or ready_tip)
        self.setText(why)
        self.setVisible(bool(why))
        return not why


class StatusLabel(QLabel):
    """A plain-text status line: wrapped, or with :meth:`set_elided` one line cut in
    the middle to the width it has (a long path keeps its start and its file name),
    the full text as tooltip."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)  # messages quote paths
        self.setWordWrap(True)
        self.full_text = ""
        self._elided = False

    def setText(self, text: str) -> None:
        """Show ``text`` wrapped (and no tooltip)."""
        self.full_text, self._elided = text, False
        self.setWordWrap(True)
        self.setToolTip("")
        super().setText(text)

    def set_elided(self, text: str) -> None:
        """Show ``text`` on one line, elided in the middle; the tooltip holds it all."""
        self.full_text, self._elided = text, True
        self.setWordWrap(False)
        self.setToolTip(text)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        if not self.isVisible() or width <= 0:  # laid out later: elided on resize
            super().setText(self.full_text)
            return
        middle = Qt.TextElideMode.ElideMiddle
        super().setText(self.fontMetrics().elidedText(self.full_text, middle, width))

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(40, hint.height()) if self._elided else hint

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(40, hint.height()) if self._elided else hint

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._elided:
            self._elide()


#: A visible frame for text boxes: napari's dark theme draws none around them.
TEXT_BOX_FRAME = "QPlainTextEdit { border: 1px solid #7a828c; border-radius: 3px; }"


def framed(edit):
    """Give a text box (Labels, Queries) a frame that shows on the dark theme."""
    edit.setStyleSheet(TEXT_BOX_FRAME)
    return edit
