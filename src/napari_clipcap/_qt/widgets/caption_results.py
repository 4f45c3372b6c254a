"""The caption results view: a tree of regions, captioners and captions, with copy
buttons, and a row of clickable words for the selected caption."""

from __future__ import annotations

import html
import re

from qtpy.QtCore import Signal
from qtpy.QtGui import QGuiApplication
from qtpy.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

LINK_COLOUR = "#8ab4f8"  # readable on napari's dark and light themes
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")


class CaptionResults(QWidget):
    """Results list; emits ``word_clicked(result_index, caption_index, word)``."""

    word_clicked = Signal(int, int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Region", "Captioner", "Caption", ""])
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        self.tree.setMinimumHeight(150)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for col, mode in enumerate(
            (QHeaderView.ResizeMode.ResizeToContents,
             QHeaderView.ResizeMode.Interactive,
             QHeaderView.ResizeMode.Stretch,
             QHeaderView.ResizeMode.ResizeToContents)
        ):  # fmt: skip
            header.setSectionResizeMode(col, mode)
        header.resizeSection(1, 110)
        self.copy_all_button = QPushButton("Copy all")
        self.copy_all_button.setToolTip("Copy every caption as tab-separated text")
        self.copy_all_button.clicked.connect(self.copy_all)
        self.words = QLabel()
        self.words.setWordWrap(True)
        self.words.setToolTip("Click a word to see where the image supports it")
        self.words.linkActivated.connect(self._on_link)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        row.addWidget(self.words, 1)
        row.addWidget(self.copy_all_button)
        layout.addLayout(row)
        self.tree.currentItemChanged.connect(self._show_words)
        self.results: list[dict] = []
        self.words_enabled = True

    def set_results(self, results: list[dict]) -> None:
        """Show results: dicts with ``region``, ``captioner`` and ``captions``."""
        self.results = results
        self.tree.clear()
        for ri, r in enumerate(results):
            for ci, caption in enumerate(r["captions"]):
                item = QTreeWidgetItem([r["region"], r["captioner"], caption, ""])
                item.setData(0, 256, (ri, ci))
                item.setToolTip(2, caption)
                self.tree.addTopLevelItem(item)
                button = QToolButton()
                button.setText("Copy")
                button.setToolTip("Copy this caption")
                button.clicked.connect(lambda _=False, text=caption: self.copy(text))
                self.tree.setItemWidget(item, 3, button)
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        else:
            self.words.setText("")

    def captions_text(self) -> str:
        """All results as tab-separated lines: region, captioner, caption."""
        return "\n".join(
            f"{r['region']}\t{r['captioner']}\t{c}" for r in self.results for c in r["captions"]
        )

    @staticmethod
    def copy(text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    def copy_all(self) -> None:
        self.copy(self.captions_text())

    def _show_words(self, item: QTreeWidgetItem | None, _previous=None) -> None:
        if item is None or not self.words_enabled:
            self.words.setText("")
            return
        ri, ci = item.data(0, 256)
        caption = self.results[ri]["captions"][ci]
        links = [
            f'<a href="{ri}:{ci}:{html.escape(w)}" style="color: {LINK_COLOUR};">'
            f"{html.escape(w)}</a>"
            for w in WORD.findall(caption)
        ]
        self.words.setText("Relevance of: " + " ".join(links))

    def _on_link(self, href: str) -> None:
        ri, ci, word = href.split(":", 2)
        self.word_clicked.emit(int(ri), int(ci), html.unescape(word))
