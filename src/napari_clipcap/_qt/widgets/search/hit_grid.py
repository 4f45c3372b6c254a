"""The Search dock's hits: a grid of thumbnails, one page at a time.

A search may return hundreds of hits from a collection of millions; only the page on
screen has its thumbnails read (one SQLite query) and decoded, so the first page shows
at once whatever ``k`` is, and paging reads a page's thumbnails when it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtGui import QIcon, QPixmap
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: Hits per page.
PAGE = 24
THUMB = 96

Fetch = Callable[[list[int]], dict[int, bytes]]


class HitGrid(QWidget):
    """Thumbnails with scores, :data:`PAGE` at a time, with Previous / Next.

    ``list`` is the grid (a ``QListWidget``); each entry holds its hit's index in
    ``hits`` under ``Qt.UserRole``. ``opened(index)`` is emitted when one is clicked.
    """

    opened = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.hits: list = []
        self.page = 0
        self._fetch: Fetch = lambda ids: {}
        self._thumbs: dict[int, bytes] = {}
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setWordWrap(True)
        self.list.setMinimumHeight(220)
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.page_label = QLabel("")
        row = QHBoxLayout()
        row.addWidget(self.prev_button)
        row.addWidget(self.page_label, 1, Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        self.prev_button.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next_button.clicked.connect(lambda: self.show_page(self.page + 1))
        self.list.itemClicked.connect(
            lambda e: self.opened.emit(int(e.data(Qt.ItemDataRole.UserRole)))
        )
        self._update_controls()

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.hits) // PAGE))

    def set_hits(self, hits: list, thumbs: dict[int, bytes], fetch: Fetch) -> None:
        """Show ``hits`` from page one; ``thumbs`` holds thumbnails already read (by item
        id), ``fetch(ids)`` reads those of other pages."""
        self.hits, self._thumbs, self._fetch = list(hits), dict(thumbs), fetch
        self.show_page(0)

    def show_page(self, page: int) -> None:
        """Fill the grid with page ``page`` (0-based, clipped to the pages there are)."""
        self.page = max(0, min(int(page), self.pages - 1))
        start = self.page * PAGE
        shown = self.hits[start : start + PAGE]
        missing = [h.item.id for h in shown if h.item.id not in self._thumbs]
        if missing:
            got = self._fetch(missing)
            self._thumbs.update({i: got.get(i, b"") for i in missing})
        self.list.clear()
        for i, hit in enumerate(shown, start):
            self.list.addItem(self._entry(i, hit))
        self._update_controls()

    def _entry(self, index: int, hit) -> QListWidgetItem:
        it = hit.item
        where = Path(it.path).name + (f" [{it.hdu}]" if it.hdu is not None else "")
        entry = QListWidgetItem(f"{hit.score:.3f}\n{where}")
        png = self._thumbs.get(it.id)
        if png:
            pix = QPixmap()
            pix.loadFromData(png, "PNG")
            entry.setIcon(QIcon(pix))
        entry.setToolTip(
            f"#{hit.rank}  {it.path}"
            + (f"\nHDU {it.hdu}" if it.hdu is not None else "")
            + f"\n{it.width} x {it.height}, score {hit.score:.4f}"
        )
        entry.setData(Qt.ItemDataRole.UserRole, index)
        return entry

    def _update_controls(self) -> None:
        many = len(self.hits) > PAGE
        for w in (self.prev_button, self.next_button, self.page_label):
            w.setVisible(many)
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < self.pages - 1)
        first = self.page * PAGE + 1
        last = min(len(self.hits), first + PAGE - 1)
        self.page_label.setText(
            f"hits {first}–{last} of {len(self.hits)} (page {self.page + 1} of {self.pages})"
        )
