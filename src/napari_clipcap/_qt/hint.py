"""A widget's "why can't I run this?" line: the reason shown under the form, and the
action button disabled with the same reason as its tooltip."""

from __future__ import annotations

from qtpy.QtCore import Qt
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


#: A visible frame for text boxes: napari's dark theme draws none around them.
TEXT_BOX_FRAME = "QPlainTextEdit { border: 1px solid #7a828c; border-radius: 3px; }"


def framed(edit):
    """Give a text box (Labels, Queries) a frame that shows on the dark theme."""
    edit.setStyleSheet(TEXT_BOX_FRAME)
    return edit
