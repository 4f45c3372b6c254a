"""The Search dock's hits: a grid of thumbnails, one page at a time.

A search may return hundreds of hits from a collection of millions; only the page on
screen has its thumbnails read (one SQLite query) and decoded, so the first page shows
at once whatever ``k`` is, and paging reads a page's thumbnails when it is shown.

Thumbnails come from the collection's database, which may have been received from
someone else: they are decoded off the Qt thread (the search job decodes page one, a
small job each later page) and only after their header declares a size the project
writes (:func:`~napari_clipcap.core.io.sources.decode_thumbnail`); an 8000 x 8000
"thumbnail" shows as its name, and the dock stays responsive.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtGui import QIcon, QImage, QPixmap
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ....core.io.sources import decode_thumbnails
from ...worker import start_job

#: Hits per page.
PAGE = 24
THUMB = 96

Fetch = Callable[[list[int]], dict[int, bytes]]


def _icon(rgb) -> QIcon | None:
    """A decoded ``H x W x 3`` uint8 thumbnail as an icon (a cheap copy, Qt thread)."""
    if rgb is None:
        return None
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QIcon(QPixmap.fromImage(image))


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
        self._thumbs: dict = {}  # item id -> decoded thumbnail (None: refused or none)
        self._pending: set[int] = set()
        self._hits_shown = 0  # counts set_hits calls: older jobs' thumbnails are dropped
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setWordWrap(True)
        self.list.setMinimumHeight(220)
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.page_label = QLabel("")
        self.page_label.setTextFormat(Qt.TextFormat.PlainText)
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

    def set_hits(self, hits: list, thumbs: dict, fetch: Fetch) -> None:
        """Show ``hits`` from page one.

        ``thumbs`` holds thumbnails already decoded off the Qt thread (item id ->
        ``H x W x 3`` uint8 or None), ``fetch(ids)`` reads the stored bytes of other
        pages' thumbnails; a job decodes those when their page is shown.
        """
        self.hits, self._thumbs, self._fetch = list(hits), dict(thumbs), fetch
        self._pending = set()
        self._hits_shown += 1
        self.show_page(0)

    def show_page(self, page: int) -> None:
        """Fill the grid with page ``page`` (0-based, clipped to the pages there are)."""
        self.page = max(0, min(int(page), self.pages - 1))
        start = self.page * PAGE
        shown = self.hits[start : start + PAGE]
        known = self._thumbs.keys() | self._pending
        missing = [h.item.id for h in shown if h.item.id not in known]
        if missing:
            self._decode_later(missing)
        self.list.clear()
        for i, hit in enumerate(shown, start):
            self.list.addItem(self._entry(i, hit))
        self._update_controls()

    def _decode_later(self, ids: list[int]) -> None:
        """Read and decode ``ids``' thumbnails in a job; icons appear when it is done."""
        fetch, shown = self._fetch, self._hits_shown
        self._pending |= set(ids)

        def job(progress, cancel):
            got = fetch(ids)
            return {i: None for i in ids} | decode_thumbnails(got)

        start_job(job, "Thumbnails", lambda got: self._show_thumbnails(got, shown), parent=self)

    def _show_thumbnails(self, decoded: dict, shown: int) -> None:
        """Put decoded thumbnails on the entries of the page shown (Qt thread)."""
        if shown != self._hits_shown:
            return  # thumbnails of hits replaced since
        self._pending -= set(decoded)
        self._thumbs.update(decoded)
        for row in range(self.list.count()):
            entry = self.list.item(row)
            hit = self.hits[int(entry.data(Qt.ItemDataRole.UserRole))]
            icon = _icon(decoded.get(hit.item.id))
            if icon is not None:
                entry.setIcon(icon)

    def _entry(self, index: int, hit) -> QListWidgetItem:
        it = hit.item
        where = Path(it.path).name + (f" [{it.hdu}]" if it.hdu is not None else "")
        entry = QListWidgetItem(f"{hit.score:.3f}\n{where}")
        icon = _icon(self._thumbs.get(it.id))
        if icon is not None:
            entry.setIcon(icon)
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
