"""The job runner inside a real napari window, where napari's progress bar runs the event
loop (``processEvents``) each time it is created or moved: progress still arrives in
order with the end last, and clicks queued meanwhile start one job, not two."""

from __future__ import annotations

import threading

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QPushButton

from napari_clipcap._qt.job_panel import JobPanel
from napari_clipcap._qt.worker import Job


def test_quick_progress_arrives_in_order_and_the_end_last(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    assert viewer.window._qt_window.isVisible()
    seen: list = []

    def six_quick_steps(progress, cancel):
        for i in range(1, 7):
            progress(i, 6)
        return "done"

    job = Job(six_quick_steps, "Six steps")
    job.progressed.connect(lambda done, total: seen.append((done, total)))
    job.succeeded.connect(lambda result: seen.append(result))
    job.ended.connect(lambda: seen.append("ended"))
    with qtbot.waitSignal(job.ended, timeout=10000):
        job.start()
    assert seen == [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (6, 6), "done", "ended"]


def test_progress_older_than_what_was_shown_is_dropped(make_napari_viewer, qtbot):
    make_napari_viewer()
    seen: list = []

    def back_and_forth(progress, cancel):
        for done in (1, 3, 2, 3, 4):
            progress(done, 4)

    job = Job(back_and_forth, "Out of order")
    job.progressed.connect(lambda done, total: seen.append(done))
    with qtbot.waitSignal(job.ended, timeout=10000):
        job.start()
    assert seen == [1, 3, 4]


def test_two_queued_clicks_start_one_job(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    panel = JobPanel()
    button = QPushButton("Run")
    viewer.window.add_dock_widget(panel)
    started: list[int] = []
    release = threading.Event()

    def job(progress, cancel):
        started.append(threading.get_ident())
        release.wait(10)
        progress(1, 1)
        return "ok"

    results: list = []
    clicks: list = []
    button.clicked.connect(lambda: clicks.append(panel.run(job, "Once", results.append)))
    QTimer.singleShot(0, button.click)  # both wait in the event queue: the second runs
    QTimer.singleShot(0, button.click)  # while the first creates napari's progress bar
    qtbot.waitUntil(lambda: len(clicks) == 2 and len(started) == 1, timeout=10000)
    # the second click ran inside the first (napari's bar runs the event loop) and found
    # the panel busy: one job, and one refusal
    assert [c is None for c in clicks].count(True) == 1
    release.set()
    qtbot.waitUntil(lambda: not panel.busy, timeout=10000)
    assert len(started) == 1 and results == ["ok"]


def test_napari_bar_is_made_with_its_total_never_indeterminate(
    make_napari_viewer, qtbot, monkeypatch
):
    """An indeterminate napari bar animates, repainting the window all the time it is
    shown: the job makes it at its first progress report, with the total."""
    from napari_clipcap._qt import worker as worker_mod

    make_napari_viewer(show=True)
    made: list = []
    real = worker_mod.napari_progress

    def recorded(*args, **kwargs):
        made.append(kwargs.get("total"))
        return real(*args, **kwargs)

    monkeypatch.setattr(worker_mod, "napari_progress", recorded)
    release = threading.Event()

    def steps(progress, cancel):
        release.wait(10)
        progress(1, 3)
        progress(3, 3)

    job = Job(steps, "Three steps")
    job.start()
    app_events_ran = []
    QTimer.singleShot(0, lambda: app_events_ran.append(1))
    qtbot.waitUntil(lambda: bool(app_events_ran), timeout=5000)  # the loop ran: no bar yet
    assert made == []
    release.set()
    qtbot.waitUntil(lambda: job.over, timeout=10000)
    assert made in ([3], [])  # made with its total (none when the job ended first)


def test_a_docks_job_shows_in_its_panel_not_in_napari_activity(make_napari_viewer, qtbot):
    """A dock's job has its bar and Cancel button in the dock: no napari activity bar
    too, whose spinner repaints the whole window as long as the job runs."""
    from napari.utils import progress as napari_progress

    viewer = make_napari_viewer(show=True)
    panel = JobPanel()
    viewer.window.add_dock_widget(panel)
    release = threading.Event()

    def steps(progress, cancel):
        progress(1, 3)
        release.wait(10)
        progress(3, 3)

    job = panel.run(steps, "Panel steps", print)
    qtbot.waitUntil(lambda: panel.bar.value() == 1, timeout=5000)
    qtbot.wait(150)  # past the napari bar's interval: it would exist by now
    assert not any(p.desc == "Panel steps" for p in napari_progress._all_instances)
    assert job._pbar is None and panel.bar.maximum() == 3
    release.set()
    qtbot.waitUntil(lambda: job.over, timeout=10000)
