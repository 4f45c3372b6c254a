"""The model panel's device list: found off the Qt thread, so docks open at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from qtpy.QtCore import QEvent
from qtpy.QtWidgets import QApplication

from napari_clipcap._napari.models.specs import load_settings
from napari_clipcap._qt.models import device_list
from napari_clipcap._qt.models.device_list import DeviceProbe
from napari_clipcap._qt.models.panel import ModelPanel, SharedSettings


class FakeDevices:
    """A stand-in for :func:`list_devices` that answers when ``gate`` is set."""

    def __init__(self, names=("auto", "cuda:0", "cpu"), error: Exception | None = None):
        self.names, self.error = list(names), error
        self.gate = threading.Event()
        self.calls: list[str] = []

    def __call__(self) -> list[str]:
        self.calls.append(threading.current_thread().name)
        assert self.gate.wait(30), "the test never let the probe answer"
        if self.error is not None:
            raise self.error
        return self.names


@pytest.fixture
def fake_devices(monkeypatch):
    fake = FakeDevices()
    monkeypatch.setattr(device_list, "list_devices", fake)
    DeviceProbe.reset()
    yield fake
    fake.gate.set()  # never leave a probe thread waiting
    thread = DeviceProbe.instance()._thread
    if thread is not None:
        thread.join(30)
    DeviceProbe.reset()


def _items(panel: ModelPanel) -> list[str]:
    return [panel.device_combo.itemText(i) for i in range(panel.device_combo.count())]


def test_opening_a_dock_does_not_import_torch(tmp_path):
    """torch's import takes seconds: the caption dock must appear without it and list
    the devices (those torch sees, no others) once a background thread has them."""
    code = r"""
import json, sys, threading, time

imported_by = []


class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not imported_by:
            imported_by.append(threading.current_thread() is threading.main_thread())


sys.meta_path.insert(0, Spy())
import napari
from qtpy.QtWidgets import QApplication

viewer = napari.Viewer(show=False)
from napari_clipcap._qt.widgets.caption.widget import CaptionWidget

widget = CaptionWidget(viewer)
torch_at_once = "torch" in sys.modules
combo = widget.models.device_combo
first = [combo.itemText(i) for i in range(combo.count())]
deadline = time.monotonic() + 120
while not getattr(widget.models, "devices_ready", True) and time.monotonic() < deadline:
    QApplication.processEvents()
    time.sleep(0.01)
from napari_clipcap.core.devices import available_devices

print(json.dumps({
    "torch_at_once": torch_at_once,
    "first": first,
    "ready": getattr(widget.models, "devices_ready", True),
    "items": [combo.itemText(i) for i in range(combo.count())],
    "expected": ["auto", *[d.name for d in available_devices()]],
    "imported_on_qt_thread": imported_by[:1] == [True],
}))
viewer.close()
"""
    env = {**os.environ, "NAPARI_CLIPCAP_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["torch_at_once"] is False
    assert result["first"] == ["auto", "cpu"]
    assert result["ready"] and result["items"] == result["expected"]
    assert result["imported_on_qt_thread"] is False


def test_saved_gpu_choice_is_restored_once_the_devices_are_found(qtbot, fake_devices):
    SharedSettings.instance().update(device="cuda:0", precision="bf16")
    SharedSettings.reset()  # a new napari session reads the saved file
    panel = ModelPanel()
    qtbot.addWidget(panel)
    assert _items(panel) == ["auto", "cpu"] and not panel.devices_ready
    assert "looking for GPUs" in panel.device_combo.toolTip()
    # the choice is kept (and shown in the summary) while the list is not complete
    assert panel.settings.device == "cuda:0" and "cuda:0" in panel.summary.text()
    assert load_settings().device == "cuda:0"
    saves: list[int] = []
    panel.shared.changed.connect(lambda: saves.append(1))
    fake_devices.gate.set()
    qtbot.waitUntil(lambda: panel.devices_ready, timeout=10000)
    assert _items(panel) == ["auto", "cuda:0", "cpu"]
    assert panel.device_combo.currentText() == "cuda:0"
    assert panel.precision_combo.currentText() == "bf16"
    assert "looking" not in panel.device_combo.toolTip()
    assert saves == [] and load_settings().device == "cuda:0"  # filling is no choice
    assert fake_devices.calls == ["napari-clipcap-devices"]  # off the Qt thread
    later = ModelPanel(show_captioner=False)  # the next dock lists them at once
    qtbot.addWidget(later)
    assert later.devices_ready and _items(later) == ["auto", "cuda:0", "cpu"]
    assert later.device_combo.currentText() == "cuda:0"
    later.device_combo.setCurrentText("cpu")
    assert panel.device_combo.currentText() == "cpu" and load_settings().device == "cpu"
    assert len(fake_devices.calls) == 1  # found once per process


def test_a_choice_made_before_the_list_is_complete_is_kept(qtbot, fake_devices):
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.device_combo.setCurrentText("cpu")
    assert panel.settings.device == "cpu"
    fake_devices.gate.set()
    qtbot.waitUntil(lambda: panel.devices_ready, timeout=10000)
    assert panel.device_combo.currentText() == "cpu" and load_settings().device == "cpu"


def test_devices_arrive_in_the_qt_thread(qtbot, fake_devices):
    panel = ModelPanel()
    qtbot.addWidget(panel)
    seen: list[bool] = []
    panel._probe.found.connect(
        lambda names: seen.append(threading.current_thread() is threading.main_thread())
    )
    fake_devices.gate.set()
    qtbot.waitUntil(lambda: panel.devices_ready, timeout=10000)
    assert seen == [True]


def test_failed_probe_keeps_auto_and_cpu(qtbot, fake_devices):
    fake_devices.error = RuntimeError("CUDA driver too old")
    panel = ModelPanel()
    qtbot.addWidget(panel)
    fake_devices.gate.set()
    qtbot.waitUntil(lambda: panel.devices_ready, timeout=10000)
    assert _items(panel) == ["auto", "cpu"]
    assert "CUDA driver too old" in panel.device_combo.toolTip()


def test_a_dock_closed_before_the_devices_are_found(qtbot, fake_devices):
    gone = ModelPanel()
    gone.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    kept = ModelPanel(show_captioner=False)
    qtbot.addWidget(kept)
    fake_devices.gate.set()
    qtbot.waitUntil(lambda: kept.devices_ready, timeout=10000)
    assert _items(kept) == ["auto", "cuda:0", "cpu"]
    assert len(fake_devices.calls) == 1
