"""Pieces of the model panel: the settings all panels share, and a path field."""

from __future__ import annotations

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QToolButton, QWidget

from ..process_singleton import ProcessSingleton
from .specs import PanelSettings, load_settings, save_settings


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


class PathEdit(QWidget):
    """A line edit with a browse button (file or folder)."""

    def __init__(self, placeholder: str, folder: bool = False):
        super().__init__()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        button = QToolButton()
        button.setText("…")
        button.setToolTip("Browse for a folder" if folder else "Browse for a file")
        button.clicked.connect(self._browse)
        self._folder = folder
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(button)

    def _browse(self) -> None:
        if self._folder:
            path = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a model file")
        if path:
            self.edit.setText(path)
            self.edit.editingFinished.emit()
