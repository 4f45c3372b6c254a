"""The region-labels table (sortable by value) and its CSV export."""

from __future__ import annotations

import csv

from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import QTableWidget, QTableWidgetItem, QWidget

from ....core.io.atomic import atomic_file

#: Up to this many labels the table has a column per label; beyond, a row per label.
MAX_LABEL_COLUMNS = 3
#: Background of each region's top probability.
TOP_BACKGROUND = "#2f6f3e"


class NumberItem(QTableWidgetItem):
    """A table cell that sorts by value, not by text."""

    def __init__(self, value: float, text: str):
        super().__init__(text)
        self.setData(Qt.ItemDataRole.UserRole, float(value))

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        if mine is None or theirs is None:
            return super().__lt__(other)
        return float(mine) < float(theirs)


class LabelsTable(QTableWidget):
    """The probabilities of every region for every label, sortable by value.

    Up to :data:`MAX_LABEL_COLUMNS` labels, one row per region (its shape number, top
    label, that probability, then one column per label); with more labels, and no more
    regions than labels, the table is transposed to fit a narrow dock: one row per label
    and one column per region, headed by its shape number. Either way each region's top
    probability is highlighted, and the numbers are the shapes' numbers on the canvas.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 0, parent)
        self.setSortingEnabled(True)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setMinimumHeight(160)
        self.verticalHeader().setVisible(False)  # row counts are not shape numbers
        self.transposed = False

    def show_results(self, results: dict) -> None:
        """Fill the table from the widget's results (``labels`` and ``regions``)."""
        labels, regions = results["labels"], results["regions"]
        self.setSortingEnabled(False)
        self.clear()
        self.transposed = len(labels) > MAX_LABEL_COLUMNS and len(regions) <= len(labels)
        if self.transposed:
            self._by_label(labels, regions)
        else:
            self._by_region(labels, regions)
        self.setSortingEnabled(True)
        self.resizeColumnsToContents()

    def _by_region(self, labels: list[str], regions: list[dict]) -> None:
        self.setColumnCount(3 + len(labels))
        self.setHorizontalHeaderLabels(["shape", "top label", "p", *labels])
        self.setRowCount(len(regions))
        for row, r in enumerate(regions):
            self.setItem(row, 0, NumberItem(r["shape"], str(r["shape"])))
            self.setItem(row, 1, QTableWidgetItem(r["label"]))
            self.setItem(row, 2, NumberItem(r["probability"], f"{r['probability']:.3f}"))
            for col, lab in enumerate(labels, start=3):
                v = r["probabilities"][lab]
                self.setItem(row, col, _cell(v, lab == r["label"]))
        self.horizontalHeaderItem(0).setToolTip("The shape's number on the canvas")

    def _by_label(self, labels: list[str], regions: list[dict]) -> None:
        self.setColumnCount(1 + len(regions))
        self.setHorizontalHeaderLabels(["label", *(f"shape {r['shape']}" for r in regions)])
        self.setRowCount(len(labels))
        for row, lab in enumerate(labels):
            self.setItem(row, 0, QTableWidgetItem(lab))
            for col, r in enumerate(regions, start=1):
                v = r["probabilities"][lab]
                self.setItem(row, col, _cell(v, lab == r["label"]))
        for col, r in enumerate(regions, start=1):
            self.horizontalHeaderItem(col).setToolTip(
                f"Shape {r['shape']} (its number on the canvas): top label {r['label']}"
            )

    def is_highlighted(self, row: int, col: int) -> bool:
        """Whether the cell is marked as its region's top probability."""
        item = self.item(row, col)
        return item is not None and item.font().bold()


def _cell(value: float, top: bool) -> NumberItem:
    item = NumberItem(value, f"{value:.3f}")
    if top:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        item.setBackground(QBrush(QColor(TOP_BACKGROUND)))
        item.setForeground(QBrush(QColor("white")))
        item.setToolTip("This region's most probable label")
    return item


def export_csv(results: dict, path: str) -> None:
    """Write results as CSV: one row per region, its box, top label and every probability."""
    labels = results["labels"]
    with atomic_file(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["shape", "x0", "y0", "x1", "y1", "label", "probability", *labels])
        for r in results["regions"]:
            probs = [f"{r['probabilities'][lab]:.6f}" for lab in labels]
            writer.writerow([r["shape"], *r["box"], r["label"], f"{r['probability']:.6f}", *probs])
