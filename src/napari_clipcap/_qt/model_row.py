"""The model row of the docks whose model is one preset, folder or hub id (Ask, Segment):
an editable list of a kind's presets and a *Folder…* button."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QPushButton, QWidget

from ..core.registry import presets


class ModelRow(QWidget):
    """``combo`` (the kind's presets; any folder or hub id may be typed) and
    ``folder_button`` (picks a ``save_pretrained`` folder into the combo)."""

    def __init__(self, kind: str, default: str, tip: str, folder_title: str, parent=None):
        super().__init__(parent)
        self.folder_title = folder_title
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItems([p.name for p in presets(kind)])
        self.combo.setCurrentText(default)
        self.combo.setToolTip(tip)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.clicked.connect(self.choose_folder)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.folder_button)

    def choose_folder(self) -> None:
        """Pick a local model folder (``save_pretrained`` output)."""
        folder = QFileDialog.getExistingDirectory(self, self.folder_title)
        if folder:
            self.combo.setCurrentText(folder)
