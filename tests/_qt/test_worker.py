"""The worker helper: progress, cancel within one batch, errors as one notification."""

from __future__ import annotations

import threading
import time

import pytest

from napari_clipcap._qt import worker as worker_mod
from napari_clipcap._qt.job_panel import JobPanel
from napari_clipcap._qt.worker import Job, start_job
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.jobs import check_cancel


@pytest.fixture
def errors(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(worker_mod, "show_error", shown.append)
    monkeypatch.setattr(worker_mod, "show_info", lambda msg: None)
    return shown


def batches(n, delay=0.0):
    def fn(progress, cancel):
        done = []
        for i in range(n):
            check_cancel(cancel)
            time.sleep(delay)
            done.append(i)
            progress(i + 1, n)
        return done

    return fn


def test_result_and_progress_reach_the_qt_thread(qtbot, errors):
    results, steps, threads = [], [], []
    job = Job(batches(4), "count")

    def on_progress(done, total):
        steps.append((done, total))
        threads.append(threading.get_ident())

    job.progressed.connect(on_progress)
    job.succeeded.connect(results.append)
    with qtbot.waitSignal(job.ended, timeout=5000):
        job.start()
    assert results == [[0, 1, 2, 3]]
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert set(threads) == {threading.get_ident()}
    assert errors == []


def test_cancel_stops_within_one_batch_and_never_delivers(qtbot, errors):
    results = []
    calls = []

    def fn(progress, cancel):
        for i in range(200):
            check_cancel(cancel)
            calls.append(i)
            time.sleep(0.01)
            progress(i + 1, 200)
        return "finished"

    panel = JobPanel()
    qtbot.addWidget(panel)
    job = panel.watch(start_job(fn, "slow", results.append))
    qtbot.waitUntil(lambda: len(calls) >= 3, timeout=5000)
    with qtbot.waitSignal(job.ended, timeout=5000):
        panel.cancel()
    assert len(calls) < 200  # ended comes after the worker's function returned
    assert results == []
    assert job.was_cancelled
    assert errors == []
    assert panel.status.text() == "Cancelled."


def test_napari_quit_sets_the_cancel_flag(qtbot, errors):
    job = Job(batches(500, delay=0.005), "quit me")
    with qtbot.waitSignal(job.ended, timeout=5000):
        job.start()
        qtbot.wait(30)
        job.worker.quit()
    assert job.cancel_event.is_set() and job.was_cancelled


def test_clipcap_error_becomes_one_notification(qtbot, errors):
    def fn(progress, cancel):
        raise InvalidInputError("labels are empty")

    panel = JobPanel()
    qtbot.addWidget(panel)
    results = []
    job = panel.watch(start_job(fn, "Labels", results.append))
    with qtbot.waitSignal(job.ended, timeout=5000):
        pass
    assert errors == ["Labels: labels are empty"]
    assert results == []
    assert "labels are empty" in panel.status.text()


def test_unexpected_error_names_its_type(qtbot, errors):
    def fn(progress, cancel):
        raise RuntimeError("CUDA out of memory")

    job = Job(fn, "Heatmap")
    with qtbot.waitSignal(job.ended, timeout=5000):
        job.start()
    assert errors == ["Heatmap: RuntimeError: CUDA out of memory"]


def test_progress_shows_in_napari_activity_while_running(qtbot, errors):
    from napari.utils import progress

    job = Job(batches(300, delay=0.005), "Activity check")
    job.start()
    qtbot.waitUntil(lambda: job._pbar is not None and job._pbar.n > 0, timeout=5000)
    assert any(p.desc == "Activity check" for p in progress._all_instances)
    assert job._pbar.total == 300
    with qtbot.waitSignal(job.ended, timeout=10000):
        job.cancel()
    assert not any(p.desc == "Activity check" for p in progress._all_instances)


def test_error_in_result_callback_becomes_one_notification(qtbot, errors):
    """Turning a result into layers runs in a slot: an error there must not escape to
    napari as a raw traceback, but fail the job with one notification."""
    from napari_clipcap.core.errors import InvalidInputError as Bad

    def on_result(result):
        raise Bad("shape 3 was deleted")

    panel = JobPanel()
    qtbot.addWidget(panel)
    with qtbot.captureExceptions() as raised:
        job = panel.watch(start_job(batches(1), "Region labels", on_result))
        with qtbot.waitSignal(job.ended, timeout=5000):
            pass
    assert raised == []
    assert errors == ["Region labels: shape 3 was deleted"]
    assert job.error == "shape 3 was deleted"
    assert "Failed: shape 3 was deleted" in panel.status.text()


def test_job_of_a_deleted_widget_is_cancelled_and_its_progress_closed(qtbot, errors):
    """Closing a dock widget while its job runs: the computation stops within one batch
    and no progress bar is left in napari's activity dock."""
    from napari.utils import progress
    from qtpy.QtWidgets import QWidget

    batches_run = []

    def fn(progress_cb, cancel):
        for i in range(100):
            check_cancel(cancel)
            batches_run.append(i)
            time.sleep(0.02)
            progress_cb(i + 1, 100)
        return "done"

    results = []
    owner = QWidget()
    with qtbot.captureExceptions() as raised:
        job = start_job(fn, "Owned job", results.append, parent=owner)
        qtbot.waitUntil(lambda: len(batches_run) > 2, timeout=5000)
        owner.deleteLater()
        qtbot.waitUntil(lambda: not job.running, timeout=5000)
    assert raised == [] and results == [] and errors == []
    assert job.was_cancelled and len(batches_run) < 100
    assert not any(p.desc == "Owned job" for p in progress._all_instances)


def test_deleting_a_widget_with_its_job_panel_mid_job_raises_nothing(qtbot, errors):
    """The job outlives its widget to cancel itself: the panel's slots must go with the
    panel (a lambda would still call into its deleted status label)."""
    from qtpy.QtWidgets import QVBoxLayout, QWidget

    owner = QWidget()
    panel = JobPanel()
    QVBoxLayout(owner).addWidget(panel)
    with qtbot.captureExceptions() as raised:
        job = panel.watch(start_job(batches(100, delay=0.02), "Panel job", print, parent=owner))
        qtbot.waitUntil(lambda: job._pbar is not None and job._pbar.n > 1, timeout=5000)
        owner.deleteLater()
        qtbot.waitUntil(lambda: not job.running, timeout=5000)
        qtbot.wait(100)
    assert raised == [] and job.was_cancelled
