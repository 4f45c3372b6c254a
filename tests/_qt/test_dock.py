"""The Dock base: its skeleton, and the rules of a dock's job for every dock."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qtpy.QtWidgets import QFormLayout

from fixtures.qt_jobs import wait_job
from napari_clipcap._qt.dock import BUSY_TIP, Dock
from napari_clipcap._qt.first_view import DOCK_SCROLL_NAME


class _Echo(Dock):
    """A dock whose job waits for the test, then returns its source's name."""

    def __init__(self, viewer):
        super().__init__(viewer, run_text="Echo", ready_tip="Echo the image's name")
        self.form = QFormLayout()
        self.form.addRow("Image", self.image_combo)
        self.body = self.skeleton(self.form)
        self.gate = threading.Event()
        self.delivered: list[str] = []
        self.run_button.clicked.connect(self.run)
        self.validate()

    def problem(self) -> str:
        return "" if self.image_combo.layer() is not None else "Open an image first."

    def run(self) -> None:
        if not self.validate():
            return
        image = self.image_combo.layer()

        def job(progress, cancel):
            self.gate.wait(30)  # a bound for a hung test only
            return image.name

        self.start(job, "Echo", self.delivered.append, sources=[image])


@pytest.fixture
def echo(make_napari_viewer, notifications):
    viewer = make_napari_viewer()
    dock = _Echo(viewer)
    viewer.window.add_dock_widget(dock, name="Echo")
    image = viewer.add_image(np.zeros((8, 8)), name="scene")
    yield viewer, dock, image
    dock.gate.set()


def test_the_skeleton_holds_the_shared_parts(echo):
    _, dock, _ = echo
    # the skeleton's layout holds them, inside the dock's scroll area (f6e6bdf)
    held = {dock.body.itemAt(i).widget() for i in range(dock.body.count())}
    assert {dock.hint, dock.job_panel} <= held
    assert all(dock.isAncestorOf(part) for part in (dock.hint, dock.job_panel))
    outer = dock.layout()
    assert outer.count() == 1
    assert outer.itemAt(0).widget().objectName() == DOCK_SCROLL_NAME
    assert dock.run_button.isEnabled() and dock.run_button.toolTip() == "Echo the image's name"


def test_the_run_button_is_busy_until_the_job_is_over(echo, qtbot):
    _, dock, _ = echo
    dock.run_button.click()
    assert dock.run_button.text() == "Running…" and not dock.run_button.isEnabled()
    assert dock.run_button.toolTip() == BUSY_TIP
    dock.gate.set()
    wait_job(qtbot, dock)
    assert dock.delivered == ["scene"]
    assert dock.run_button.text() == "Echo" and dock.run_button.isEnabled()


def test_removing_the_source_cancels_and_delivers_nothing(echo, qtbot):
    viewer, dock, image = echo
    dock.run_button.click()
    viewer.layers.remove(image)
    dock.gate.set()
    job = wait_job(qtbot, dock)
    assert job.was_cancelled and dock.delivered == []
    assert dock.job_panel.status.text() == "Cancelled: 'scene' was removed"


def test_removing_another_layer_lets_the_job_finish(echo, qtbot):
    viewer, dock, _ = echo
    other = viewer.add_image(np.ones((4, 4)), name="other")
    dock.image_combo.set_layer(viewer.layers["scene"])
    dock.run_button.click()
    viewer.layers.remove(other)
    dock.gate.set()
    job = wait_job(qtbot, dock)
    assert not job.was_cancelled and dock.delivered == ["scene"]


def test_closing_the_dock_cancels_its_job(echo, qtbot):
    viewer, dock, _ = echo
    dock.run_button.click()
    viewer.window.remove_dock_widget(dock)
    dock.gate.set()
    job = wait_job(qtbot, dock)
    assert job.was_cancelled and dock.delivered == []
    assert dock.job_panel.status.text() == "Cancelled: the dock was closed"
