"""A row with a progress bar, a Cancel button and a status line, for one job at a time.

:meth:`JobPanel.run` is how a widget starts a job: the panel counts as busy before the
job starts (anything that runs the event loop meanwhile, a queued second click
included, finds it busy), and ``busy_changed`` tells the widget to show its run button
as busy until the job is over. The panel's own bar and Cancel button show the job; it
is not also listed in napari's activity dock (see :mod:`napari_clipcap._qt.worker`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout, QWidget

from .hint import StatusLabel
from .worker import Job, JobFunction, make_job


class JobPanel(QWidget):
    """Shows the running :class:`~napari_clipcap._qt.worker.Job` and lets the user cancel it.

    Signals
    -------
    busy_changed(bool)
        True when a job is taken on (before it starts), False once it is over.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.job: Job | None = None
        self.unit = ""
        self._why = ""  # why the job was cancelled, when not by the user
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setMaximumHeight(18)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop the running job after the current batch")
        self.cancel_button.clicked.connect(self.cancel)
        self.status = StatusLabel()  # plain text: messages quote paths
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
        """True from the moment a job is taken on until it is over."""
        return self.job is not None and not self.job.over

    def run(
        self,
        fn: JobFunction,
        label: str,
        on_result: Callable[[Any], None],
        *,
        unit: str = "",
        parent: QObject | None = None,
    ) -> Job | None:
        """Start ``fn(progress, cancel)`` as this panel's job; None while one runs.

        Parameters
        ----------
        fn, label, on_result, parent
            As :func:`~napari_clipcap._qt.worker.start_job`.
        unit : str
            What the bar counts ("regions", "windows").

        Returns
        -------
        Job or None
            The started job, or None when the panel was busy (nothing started).
        """
        if self.busy:
            return None
        # this panel's bar and Cancel button show the job: no napari activity bar,
        # whose spinner repaints the whole window all the time the job runs
        job = self.watch(make_job(fn, label, on_result, parent=parent, activity=False), unit)
        return job.start()

    def watch(self, job: Job, unit: str = "") -> Job:
        """Follow ``job``: progress, cancel button and final status.

        With a ``unit`` ("regions", "windows") the bar reads "12 of 40 regions (30%)".
        """
        was_busy = self.busy
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
        if not was_busy:
            self.busy_changed.emit(True)
        return job

    def cancel(self, why: str = "") -> None:
        """Cancel the running job, if any; ``why`` is said in the status line."""
        if self.busy:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.set_status(f"Cancelling: {why}" if why else "Cancelling…")
            self._why = why

    def set_status(self, text: str, *, error: bool = False, elide: bool = False) -> None:
        """Show a status line (red for errors); with ``elide`` on one line, cut in the
        middle to fit (a long path), the full text as tooltip."""
        if elide:
            self.status.set_elided(text)
        else:
            self.status.setText(text)
        self.status.setStyleSheet("color: #e05050;" if error else "")

    def _on_failed(self, message: str) -> None:
        self.set_status(f"Failed: {message}", error=True)

    def _on_cancelled(self) -> None:
        why, self._why = self._why, ""
        self.set_status(f"Cancelled: {why}" if why else "Cancelled.")

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
            if self.unit:
                self.bar.setFormat(f"{done} of {total} {self.unit} (%p%)")

    def _on_ended(self) -> None:
        if self.sender() is not None and self.sender() is not self.job:
            return  # a job this panel no longer follows
        self.busy_changed.emit(False)
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
