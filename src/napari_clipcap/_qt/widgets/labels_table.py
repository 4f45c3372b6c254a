"""The region-labels table (sortable by value) and its CSV export."""

from __future__ import annotations

import csv

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QTableWidget, QTableWidgetItem, QWidget


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
    """One row per region: shape, top label, its probability, every label's probability."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 0, parent)
        self.setSortingEnabled(True)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setMinimumHeight(160)

    def show_results(self, results: dict) -> None:
        """Fill the table from the widget's results (``labels`` and ``regions``)."""
        labels = results["labels"]
        self.setSortingEnabled(False)
        self.clear()
        self.setColumnCount(3 + len(labels))
        self.setHorizontalHeaderLabels(["shape", "top label", "p", *labels])
        regions = results["regions"]
        self.setRowCount(len(regions))
        for row, r in enumerate(regions):
            self.setItem(row, 0, NumberItem(r["shape"], str(r["shape"])))
            self.setItem(row, 1, QTableWidgetItem(r["label"]))
            self.setItem(row, 2, NumberItem(r["probability"], f"{r['probability']:.3f}"))
            for col, lab in enumerate(labels, start=3):
                v = r["probabilities"][lab]
                self.setItem(row, col, NumberItem(v, f"{v:.3f}"))
        self.setSortingEnabled(True)
        self.resizeColumnsToContents()


def export_csv(results: dict, path: str) -> None:
    """Write results as CSV: one row per region, its box, top label and every probability."""
    labels = results["labels"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["shape", "x0", "y0", "x1", "y1", "label", "probability", *labels])
        for r in results["regions"]:
            probs = [f"{r['probabilities'][lab]:.6f}" for lab in labels]
            writer.writerow([r["shape"], *r["box"], r["label"], f"{r['probability']:.6f}", *probs])
