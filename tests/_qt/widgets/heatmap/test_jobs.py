"""A heatmap job and its layers (issue 23): removing the source mid-job or closing the
dock cancels it and adds nothing; while it runs the button says so and a second click
starts nothing."""

from __future__ import annotations

import threading

import pytest
from qtpy.QtCore import Qt

from fixtures.qt_jobs import wait_job
from napari_clipcap._qt.dock import BUSY_TIP
from napari_clipcap._qt.widgets.heatmap import widget as heatmap_widget
from napari_clipcap._qt.widgets.heatmap.widget import PREFIX, HeatmapWidget


@pytest.fixture
def held(monkeypatch):
    """The heatmap job waits at its start until the test sets the returned event (so the
    test acts while it surely runs); then it computes as usual."""
    gate, entered = threading.Event(), threading.Event()
    real = heatmap_widget.STORE

    class Store:
        def clip(self, *args):
            entered.set()
            gate.wait(30)  # a bound for a hung test only
            return real.clip(*args)

    monkeypatch.setattr(heatmap_widget, "STORE", Store())
    yield gate, entered
    gate.set()


@pytest.fixture
def docked(make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications):
    """The Text heatmap dock in a shown napari window, over one image, ready to run."""
    viewer = make_napari_viewer(show=True)
    widget = HeatmapWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Text heatmap", area="right")
    source = viewer.add_image(scene, name="scene")
    widget.image_combo.set_layer(source)
    widget.window_spin.setValue(32)
    widget.stride_spin.setValue(16)
    widget.queries_edit.setPlainText("river")
    assert widget.run_button.isEnabled(), widget.hint.text()
    return viewer, widget, source


def heat_layers(viewer) -> list:
    return [ly for ly in viewer.layers if ly.name.startswith(PREFIX)]


def test_removing_the_source_mid_job_cancels_and_adds_nothing(docked, held, qtbot):
    viewer, w, source = docked
    gate, entered = held
    w.run_button.click()
    job = w.job_panel.job
    assert entered.wait(10) and w.job_panel.busy
    viewer.layers.remove(source)
    gate.set()
    wait_job(qtbot, w)
    assert job.was_cancelled and job.cancel_event.is_set()
    assert heat_layers(viewer) == []
    assert w.job_panel.status.text() == "Cancelled: 'scene' was removed"


def test_a_result_on_its_way_when_the_source_goes_is_not_added(docked, qtbot, monkeypatch):
    """The maps are computed and the source is removed before their result reaches the
    Qt thread: still nothing is added."""
    from superqt.utils import ensure_main_thread

    import napari_clipcap.core.tasks.heatmap as core_heatmap

    viewer, w, source = docked
    real = core_heatmap.text_heatmap

    def then_source_removed(*args, **kwargs):
        maps = real(*args, **kwargs)
        # in the Qt thread, and waited for: the removal comes before the result
        ensure_main_thread(lambda: viewer.layers.remove(source), await_return=True)()
        return maps

    monkeypatch.setattr(core_heatmap, "text_heatmap", then_source_removed)
    w.run_button.click()
    job = wait_job(qtbot, w)
    assert job.was_cancelled and heat_layers(viewer) == []
    assert source not in viewer.layers


def test_closing_the_dock_mid_job_cancels_it(docked, held, qtbot):
    viewer, w, _ = docked
    gate, entered = held
    w.run_button.click()
    job = w.job_panel.job
    assert entered.wait(10)
    dock = next(d for d in viewer.window._qt_window.findChildren(type(w.parent()))
                if d.widget() is w)  # fmt: skip
    dock.title.close_button.click()  # the dock's own close button, as a user closes it
    assert w.parent() is None
    gate.set()
    qtbot.waitUntil(lambda: job.over, timeout=30000)
    assert job.was_cancelled and heat_layers(viewer) == []


def test_run_shows_busy_and_a_second_click_starts_nothing(docked, held, qtbot):
    from qtpy.QtTest import QTest

    _, w, _ = docked
    gate, entered = held
    assert w.run_button.text() == "Compute heatmap"
    QTest.mouseClick(w.run_button, Qt.MouseButton.LeftButton)
    job = w.job_panel.job
    assert entered.wait(10)
    assert not w.run_button.isEnabled() and w.run_button.text() == "Running…"
    assert w.run_button.toolTip() == BUSY_TIP
    w.queries_edit.setPlainText("forest")  # revalidation while busy keeps it disabled
    assert not w.run_button.isEnabled()
    QTest.mouseClick(w.run_button, Qt.MouseButton.LeftButton)
    w.compute()  # even a direct call is refused while the job runs
    assert w.job_panel.job is job
    gate.set()
    wait_job(qtbot, w)
    assert not job.was_cancelled and w.run_button.isEnabled()
    assert w.run_button.text() == "Compute heatmap"
    assert len(heat_layers(w.viewer)) == 1  # one job ran: one map, of "river"
