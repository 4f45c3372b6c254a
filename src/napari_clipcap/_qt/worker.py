"""Run core computations in a napari thread worker with progress and cancel.

A job is a plain function ``fn(progress, cancel) -> result`` that calls core functions
with those two arguments. :class:`Job` runs it in a napari thread worker (a
:class:`~napari_clipcap._qt.job_panel.JobPanel` starts it with
:meth:`~napari_clipcap._qt.job_panel.JobPanel.run`, marking itself busy first):

- each ``progress(done, total)`` call from the worker thread crosses to the Qt thread
  as a queued signal; :attr:`Job.progressed` is emitted at once, in order (a value
  older than one already emitted is dropped), and napari's
  :class:`napari.utils.progress` bar in the activity dock (for a job made with
  ``activity=True``, the default) is updated last, at most every
  :data:`BAR_INTERVAL_MS`, from its own timer: napari's bar calls
  ``processEvents()``, which must never run inside the slot that emits progress (it
  delivered later values first, and the end before them). A dock's job
  (:meth:`~napari_clipcap._qt.job_panel.JobPanel.run`) has no napari bar: the dock's
  own bar and Cancel button show it, and napari's bar keeps an animated spinner in the
  status bar that repaints the whole window (the canvas included) many times a second
  for as long as the job runs: on a machine without a GPU that took 17 ms of every
  50 ms of the Qt thread and slowed the job itself;
- :meth:`Job.cancel` (the widgets' Cancel button, or napari's own task-cancel button,
  which calls ``worker.quit``) sets the job's :class:`threading.Event`; core functions
  check it between batches and raise :class:`~napari_clipcap.core.errors.Cancelled`,
  so the job stops within one batch and its result callback is never called: no
  partial layer is ever made, even when the result was already on its way;
- any other error becomes one napari error notification with the message of the
  :class:`~napari_clipcap.core.errors.ClipcapError` (or the exception type and text).

Results reach the Qt thread only through the worker's ``returned`` signal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from napari.qt.threading import FunctionWorker, create_worker
from napari.utils import progress as napari_progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, QTimer, Signal

from .._napari._compat import guard_triton
from ..core.errors import Cancelled, ClipcapError, error_line
from ..core.jobs import ProgressCallback

log = logging.getLogger(__name__)

JobFunction = Callable[[ProgressCallback, threading.Event], Any]
#: Napari's activity bar is repainted at most this often (each repaint runs the event loop).
BAR_INTERVAL_MS = 100


class _CancellableWorker(FunctionWorker):
    """A function worker whose ``quit()`` also sets the job's cancel flag."""

    cancel_event: threading.Event | None = None

    def quit(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()
        super().quit()


def describe_error(exc: BaseException) -> str:
    """One-line message for a failed job (:func:`~napari_clipcap.core.errors.error_line`)."""
    return error_line(exc)


class Job(QObject):
    """One background computation: its worker, progress bar and cancel flag.

    Signals
    -------
    progressed(int, int)
        ``(done, total)`` after each batch, in the Qt thread.
    succeeded(object)
        The result, in the Qt thread.
    failed(str)
        The error message (not emitted for a cancelled job).
    cancelled()
        The job stopped because it was cancelled.
    ended()
        The job is over, whatever the outcome.
    """

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()
    _progress_from_thread = Signal(int, int)

    #: Started jobs not yet over: they live on whatever happens to their owner.
    _live: ClassVar[set[Job]] = set()

    def __init__(
        self,
        fn: JobFunction,
        label: str,
        parent: QObject | None = None,
        *,
        activity: bool = True,
    ):
        # not a Qt child of ``parent``: a dock widget deleted while the job runs would
        # take the job's slots with it, leaving its worker computing and its progress
        # bar stuck in the activity dock; the job cancels itself instead
        super().__init__()
        if parent is not None:
            parent.destroyed.connect(self.cancel)
        self.label = label
        self.activity = activity  # shown in napari's activity dock too
        self.cancel_event = threading.Event()
        self.error: str | None = None
        self.low_data: list[str] = []  # results on too little data, said beside them
        self.was_cancelled = False
        self.running = False
        self.over = False  # True once ended was emitted
        self._settled = False  # succeeded, failed or cancelled was emitted
        self._pbar: napari_progress | None = None
        self._latest: tuple[int, int] | None = None  # the last (done, total) emitted
        self._bar_timer = QTimer(self)
        self._bar_timer.setSingleShot(True)
        self._bar_timer.setInterval(BAR_INTERVAL_MS)
        self._bar_timer.timeout.connect(self._update_bar)
        self._fn = fn
        # queued across threads: the slot runs in the thread that owns this object
        self._progress_from_thread.connect(self._on_progress)
        self.worker = create_worker(
            self._run,
            _worker_class=_CancellableWorker,
            _ignore_errors=True,
            _start_thread=False,
        )
        self.worker.cancel_event = self.cancel_event
        self.worker.returned.connect(self._on_returned)
        self.worker.errored.connect(self._on_errored)
        self.worker.finished.connect(self._on_finished)

    # -- worker thread ------------------------------------------------------------
    def _run(self) -> Any:
        from ..core.tasks.input_checks import collect_low_data

        def progress(done: int, total: int) -> None:
            self._progress_from_thread.emit(int(done), int(total))

        with collect_low_data() as found:  # shown beside the result by the job panel
            self.low_data = found
            return self._fn(progress, self.cancel_event)

    # -- Qt thread ----------------------------------------------------------------
    def start(self) -> Job:
        """Start the worker (once); returns ``self``.

        The job counts as running before anything can run the event loop: a click
        queued meanwhile finds it running. Napari's activity bar is made at the first
        progress report, with its total: an indeterminate napari bar animates
        (repaints the window) all the time it is shown.
        """
        if self.running or self.over:
            return self
        guard_triton()
        self.running = True
        Job._live.add(self)
        if self.cancel_event.is_set():  # cancelled before it began: nothing runs
            self._mark_cancelled()
            self._on_finished()
            return self
        self.worker.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop after the current batch."""
        self.cancel_event.set()
        if self.running and not self.over:
            self.worker.quit()

    def _on_progress(self, done: int, total: int) -> None:
        latest = self._latest
        if latest is not None and total == latest[1] and done <= latest[0]:
            return  # stale or repeated: the panel already shows a later value
        self._latest = (done, total)
        self.progressed.emit(done, total)
        if (
            self.activity and not self._bar_timer.isActive()
        ):  # napari's bar last, outside this slot
            self._bar_timer.start()

    def _update_bar(self) -> None:
        latest = self._latest
        if latest is None or self.over:
            return
        done, total = latest
        if self._pbar is None:
            self._pbar = napari_progress(total=total, desc=self.label)  # runs the loop
            if self.over:  # the job ended meanwhile: the bar goes with it
                self._pbar.close()
                self._pbar = None
                return
        bar = self._pbar
        if bar.total != total:
            bar.total = total
        if done != bar.n:
            bar.update(done - bar.n)  # runs the event loop: nothing may follow here

    def _on_returned(self, result: Any) -> None:
        if self.cancel_event.is_set():
            self._mark_cancelled()
            return
        self._settled = True
        self.succeeded.emit(result)

    def _on_errored(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled) or self.cancel_event.is_set():
            self._mark_cancelled()
            return
        self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        """Report ``exc`` as this job's failure: one notification and ``failed``."""
        self._settled = True
        self.error = error_line(exc)
        if not isinstance(exc, ClipcapError):
            log.error("%s failed", self.label, exc_info=exc)
        show_error(f"{self.label}: {self.error}")
        self.failed.emit(self.error)

    def _mark_cancelled(self) -> None:
        self._settled = True
        self.was_cancelled = True
        show_info(f"{self.label}: cancelled")
        self.cancelled.emit()

    def _on_finished(self) -> None:
        if self.over:
            return
        if not self._settled and self.cancel_event.is_set():
            # quit() before the function returned: napari's worker drops the result
            # without a word (no returned, no aborted), so the job says it here
            self._mark_cancelled()
        self.running = False
        self.over = True
        self._bar_timer.stop()
        bar, self._pbar = self._pbar, None
        if bar is not None:
            bar.close()
        self.ended.emit()
        Job._live.discard(self)


def start_job(
    fn: JobFunction,
    label: str,
    on_result: Callable[[Any], None],
    *,
    parent: QObject | None = None,
) -> Job:
    """Run ``fn(progress, cancel)`` in a thread worker and hand its result to ``on_result``.

    Parameters
    ----------
    fn : callable
        The computation; it runs off the Qt thread and must not touch Qt or napari.
    label : str
        Shown in the activity dock and in notifications.
    on_result : callable
        Called in the Qt thread with the result, only when the job succeeded; an
        error it raises (turning the result into layers) fails the job like one
        raised by ``fn``.
    parent : QObject, optional
        The widget that started the job: the job is cancelled when it is destroyed.

    Returns
    -------
    Job
    """
    return make_job(fn, label, on_result, parent=parent).start()


def make_job(
    fn: JobFunction,
    label: str,
    on_result: Callable[[Any], None],
    *,
    parent: QObject | None = None,
    activity: bool = True,
) -> Job:
    """The :class:`Job` :func:`start_job` starts, not started yet (see
    :meth:`~napari_clipcap._qt.job_panel.JobPanel.run`); ``activity``: shown in
    napari's activity dock as well."""
    job = Job(fn, label, parent=parent, activity=activity)

    def deliver(result: Any) -> None:
        # an exception escaping a slot would reach napari as a raw traceback
        try:
            on_result(result)
        except Exception as exc:
            job.fail(exc)

    job.succeeded.connect(deliver)
    return job
