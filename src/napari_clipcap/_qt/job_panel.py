"""A row with a progress bar, a Cancel button and a status line, for one job at a time."""

from __future__ import annotations

from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from .worker import Job


class JobPanel(QWidget):
    """Shows the running :class:`~napari_clipcap._qt.worker.Job` and lets the user cancel it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.job: Job | None = None
        self.unit = ""
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setMaximumHeight(18)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop the running job after the current batch")
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.bar.hide()
        self.cancel_button.hide()

    @property
    def busy(self) -> bool:
        """True while a job runs."""
        return self.job is not None and self.job.running

    def watch(self, job: Job, unit: str = "") -> Job:
        """Follow ``job``: progress, cancel button and final status.

        With a ``unit`` ("regions", "windows") the bar reads "12 of 40 regions (30%)".
        """
        self.job = job
        self.unit = unit
        self.bar.setFormat("%p%")
        self.bar.setRange(0, 0)
        self.bar.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.set_status(f"{job.label}…")
        job.progressed.connect(self._on_progress)
        # bound methods, not lambdas: Qt drops them if this panel is deleted first
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        job.ended.connect(self._on_ended)
        return job

    def cancel(self) -> None:
        """Cancel the running job, if any."""
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.set_status("Cancelling…")

    def set_status(self, text: str, *, error: bool = False) -> None:
        """Show one line of status text (red for errors)."""
        self.status.setText(text)
        self.status.setStyleSheet("color: #e05050;" if error else "")

    def _on_failed(self, message: str) -> None:
        self.set_status(f"Failed: {message}", error=True)

    def _on_cancelled(self) -> None:
        self.set_status("Cancelled.")

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
            if self.unit:
                self.bar.setFormat(f"{done} of {total} {self.unit} (%p%)")

    def _on_ended(self) -> None:
        self.bar.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(False)
        if self.job is not None and not (self.job.error or self.job.was_cancelled):
            if self.status.text().endswith("…"):
                self.set_status("Done.")
            low = list(dict.fromkeys(getattr(self.job, "low_data", ())))
            if low:  # results on too little data: said beside them, in amber
                more = f" (and {len(low) - 2} more)" if len(low) > 2 else ""
                self.status.setText(self.status.text() + "\n⚠ " + "\n⚠ ".join(low[:2]) + more)
                self.status.setStyleSheet("color: #e0a030;")
                self.status.setToolTip("\n".join(low))
