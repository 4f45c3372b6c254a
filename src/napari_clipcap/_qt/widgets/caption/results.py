"""The caption results view: a row of clickable words for the selected caption right
above a table of regions, captioners and captions (wrapped; every cell's full text on
hover), with copy buttons."""

from __future__ import annotations

import html
import re

from qtpy.QtCore import QRect, QSize, Qt, Signal
from qtpy.QtGui import QGuiApplication
from qtpy.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

LINK_COLOUR = "#8ab4f8"  # readable on napari's dark and light themes
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
#: What the word row says before a caption is selected.
WORDS_HINT = "Select a caption, then click one of its words to map where the image shows it."


CAPTION_COLUMN = 2


class _WrapDelegate(QStyledItemDelegate):
    """Rows as tall as the caption wrapped at its column's width (QTreeView alone
    keeps one line per row and cuts the rest)."""

    def __init__(self, tree: QTreeWidget):
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option, index) -> QSize:
        hint = super().sizeHint(option, index)
        if index.column() != CAPTION_COLUMN:
            return hint
        width = max(self.tree.header().sectionSize(CAPTION_COLUMN) - 10, 40)
        text = str(index.data() or "")
        flags = int(Qt.TextFlag.TextWordWrap.value)
        rect = option.fontMetrics.boundingRect(QRect(0, 0, width, 100000), flags, text)
        return QSize(hint.width(), max(hint.height(), rect.height() + 6))


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
        # long one-word names (a captioner's checkpoint) keep both ends; captions wrap
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setUniformRowHeights(False)
        self.tree.setItemDelegate(_WrapDelegate(self.tree))
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
        # re-wrap the captions when the dock or a column is resized
        header.sectionResized.connect(lambda *_: self.tree.scheduleDelayedItemsLayout())
        self.copy_all_button = QPushButton("Copy all")
        self.copy_all_button.setToolTip("Copy every caption as tab-separated text")
        self.copy_all_button.clicked.connect(self.copy_all)
        self.words = QLabel(WORDS_HINT)
        self.words.setTextFormat(Qt.TextFormat.RichText)  # links; every word is escaped
        self.words.setObjectName("clipcap_caption_words")
        self.words.setWordWrap(True)
        self.words.setToolTip("Click a word to see where the image supports it")
        self.words.linkActivated.connect(self._on_link)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.words, 1)
        row.addWidget(self.copy_all_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)
        layout.addWidget(self.tree, 1)
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
                for col, text in enumerate((r["region"], r["captioner"], caption)):
                    item.setToolTip(col, text)
                self.tree.addTopLevelItem(item)
                button = QToolButton()
                button.setText("Copy")
                button.setToolTip("Copy this caption")
                button.clicked.connect(lambda _=False, text=caption: self.copy(text))
                self.tree.setItemWidget(item, 3, button)
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        else:
            self.words.setText(WORDS_HINT)

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
