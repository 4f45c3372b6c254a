"""Pieces of the model panel: the settings all panels share, a path field, a label that
never widens the dock, and the error line with its "Details" toggle."""

from __future__ import annotations

import logging

from qtpy.QtCore import QObject, QSize, Qt, Signal
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..._napari.models.specs import PanelSettings, load_settings, save_settings
from ..process_singleton import ProcessSingleton

log = logging.getLogger(__name__)
#: Widest a path field or elided label asks to be (px): long paths never widen the dock.
NARROW = 120


class SharedSettings(ProcessSingleton, QObject):
    """The one :class:`PanelSettings` of this process, with a ``changed`` signal (a new
    one, after :meth:`reset`, re-reads the saved file)."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.settings: PanelSettings = load_settings()

    def update(self, **changes) -> None:
        """Set fields of the settings, save them and tell every panel."""
        for name, value in changes.items():
            setattr(self.settings, name, value)
        save_settings(self.settings)
        self.changed.emit()


class ElidedLabel(QLabel):
    """One line of text cut with "…" to the width it gets; the whole text on hover."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)  # a path is never markup
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        """The whole text (not the elided one shown)."""
        return self._full

    def sizeHint(self) -> QSize:
        return QSize(NARROW, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(20, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 20)
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width)
        super().setText(shown)


class PathEdit(QWidget):
    """A line edit with a browse button (file or folder); the full path on hover and the
    end of a long path (its file name) in view, without widening the dock."""

    def __init__(self, placeholder: str, folder: bool = False):
        super().__init__()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setMinimumWidth(40)
        self.edit.textChanged.connect(self._show_path)
        button = QToolButton()
        button.setText("…")
        button.setToolTip("Browse for a folder" if folder else "Browse for a file")
        button.clicked.connect(self._browse)
        self._folder = folder
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(button)

    def sizeHint(self) -> QSize:
        return QSize(NARROW, super().sizeHint().height())

    def _show_path(self, text: str) -> None:
        self.edit.setToolTip(text or self.edit.placeholderText())
        if not self.edit.hasFocus():
            self.edit.setCursorPosition(len(text))  # the file name, not the root folders

    def _browse(self) -> None:
        if self._folder:
            path = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a model file")
        if path:
            self.edit.setText(path)
            self.edit.editingFinished.emit()


class ErrorLine(QWidget):
    """A red message of two lines at most, with a "Details" toggle for the full text.

    ``owner`` is what the error belongs to (the choices that failed to load): the
    panel clears the line once they change.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.owner: object = None
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #e05050;")
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setAutoRaise(True)
        self.details_button.setToolTip("Show the full message (it is also in the log)")
        self.detail = QLabel()
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setStyleSheet("color: #a0a8b0;")
        self.detail.hide()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.message, 1)
        top.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.detail)
        self.details_button.toggled.connect(self.detail.setVisible)
        self.hide()

    def show_error(self, short: str, detail: str, owner: object = None) -> None:
        """Show ``short`` (two lines at most) and keep ``detail`` behind "Details"."""
        self.owner = owner
        self.message.setText(short)
        self.message.setToolTip(detail)
        self.detail.setText(detail)
        self.details_button.setVisible(bool(detail) and detail != short)
        self.details_button.setChecked(False)
        self.show()
        log.warning("%s", detail or short)

    def clear(self) -> None:
        """Hide the line and forget its owner."""
        self.owner = None
        self.message.clear()
        self.detail.clear()
        self.details_button.setChecked(False)
        self.hide()
