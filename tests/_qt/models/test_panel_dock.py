"""The model panel in a napari dock: rows never squeezed, errors owned by their
choice, offline presets explained before a click, downloads with bytes and cancel."""

from __future__ import annotations

import time

import numpy as np
import pytest
from qtpy.QtWidgets import QLabel, QScrollArea

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
from napari_clipcap._qt.first_view import DOCK_SCROLL_NAME
from napari_clipcap._qt.models import actions
from napari_clipcap._qt.models.hub_probe import HubProbe
from napari_clipcap._qt.models.panel import SharedSettings
from napari_clipcap._qt.widgets.caption.widget import CaptionWidget
from napari_clipcap._qt.widgets.labels.widget import LabelsWidget

OFFLINE_TEXT = "blip-base is not downloaded and the hub is offline"


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """HF_HUB_OFFLINE and an empty hub cache: no preset is downloaded."""
    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    HubProbe.reset()
    yield hub
    HubProbe.reset()


@pytest.fixture
def caption_dock(make_napari_viewer, qtbot, empty_hub, notifications):
    SharedSettings.instance().update(
        captioner=ModelChoice(preset="blip-base", kind="blip"), device="cpu"
    )
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((64, 64, 3), np.uint8), name="scene")
    widget = CaptionWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Caption", area="right")
    viewer.window._qt_window.resize(1100, 620)  # a laptop screen: the dock is short
    qtbot.waitExposed(widget)
    return viewer, widget


def _load_and_wait(qtbot, panel, timeout=20000):
    panel.load_button.click()
    wait_job(qtbot, panel, timeout=timeout)


def test_rows_keep_their_height_after_an_error(caption_dock, qtbot):
    _viewer, w = caption_dock
    panel = w.models
    _load_and_wait(qtbot, panel)
    assert panel.errors.isVisible()
    qtbot.wait(50)
    rows = [panel.captioner_combo, panel.clip_combo, panel.device_combo, panel.domain_combo,
            panel.load_button, panel.unload_button, panel.errors.message]  # fmt: skip
    for row in rows:
        assert row.isVisible()
        assert row.height() >= row.sizeHint().height(), (row, row.height())
    # the panel scrolls instead: what follows it in the dock stays whole, and the dock
    # (not the window) scrolls to it when the window is short
    copy = w.results_view.copy_all_button
    assert copy.isVisible() and copy.height() >= copy.sizeHint().height()
    dock_area = w.findChild(QScrollArea, DOCK_SCROLL_NAME)
    dock_area.ensureWidgetVisible(copy)
    qtbot.wait(20)
    viewport = dock_area.viewport()
    bottom = copy.mapTo(viewport, copy.rect().bottomLeft()).y()
    assert 0 < bottom <= viewport.height()
    assert _viewer.window._qt_window.height() <= 620


def test_long_local_path_does_not_widen_the_dock(caption_dock, qtbot, tmp_path):
    _viewer, w = caption_dock
    width = w.width()
    deep = tmp_path / ("a-very-long-folder-name-" * 8) / "weights.safetensors"
    SharedSettings.instance().update(
        clip=ModelChoice(preset=CUSTOM, model="ViT-B-32", weights=str(deep))
    )
    qtbot.wait(50)
    assert w.width() == width
    status = w.models.clip_status
    assert str(deep) in status.toolTip() and str(deep) in status.text()
    shown = QLabel.text(status)  # what is drawn: cut in the middle to the label's width
    assert "…" in shown and status.fontMetrics().horizontalAdvance(shown) <= status.width()
    assert w.models.clip_weights.edit.toolTip() == str(deep)


def test_offline_preset_disables_the_dock_button_with_its_reason(caption_dock, tmp_path):
    _viewer, w = caption_dock
    assert not w.caption_button.isEnabled()
    assert OFFLINE_TEXT in w.caption_button.toolTip()
    assert w.hint.isVisible() and OFFLINE_TEXT in w.hint.text()
    assert "Local file or folder" in w.hint.text() and "BLIP folder" in w.hint.text()
    # a choice that is available enables it again
    SharedSettings.instance().update(
        captioner=ModelChoice(preset=CUSTOM, kind="blip", weights=str(tmp_path / "no-blip"))
    )
    assert not w.caption_button.isEnabled() and "no-blip was not found" in w.hint.text()
    (tmp_path / "blip").mkdir()  # a local choice that exists enables it again
    SharedSettings.instance().update(
        captioner=ModelChoice(preset=CUSTOM, kind="blip", weights=str(tmp_path / "blip"))
    )
    assert w.caption_button.isEnabled() and not w.hint.isVisible()


def test_load_offline_fails_at_once_with_a_short_message_and_details(caption_dock, qtbot):
    _viewer, w = caption_dock
    panel = w.models
    t0 = time.perf_counter()
    _load_and_wait(qtbot, panel)
    assert time.perf_counter() - t0 < 5
    assert OFFLINE_TEXT in panel.errors.message.text()
    assert panel.errors.message.text().count(".") <= 2
    assert not panel.errors.detail.isVisible()
    panel.errors.details_button.click()
    assert panel.errors.detail.isVisible()
    assert "HF_HUB_OFFLINE" in panel.errors.detail.text()
    assert str(panel.errors.detail.text()).count("Salesforce/blip-image-captioning-base")


def test_error_is_cleared_when_the_choice_changes(caption_dock, qtbot):
    _viewer, w = caption_dock
    panel = w.models
    _load_and_wait(qtbot, panel)
    assert not panel.errors.isHidden()
    panel.device_combo.setCurrentText("auto")  # not the choice that failed: kept
    assert panel.errors.isVisible()
    panel.captioner_combo.setCurrentText("blip-large")
    assert not panel.errors.isVisible()


def test_error_is_cleared_by_a_later_successful_load(
    make_napari_viewer, qtbot, tiny_clip_choice, monkeypatch, notifications
):
    from napari_clipcap.core.errors import ModelNotFoundError

    viewer = make_napari_viewer()
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    panel = widget.models
    real, calls = actions.STORE.clip, []

    def flaky(*args, **kwargs):  # the disk was unplugged at the first try
        calls.append(1)
        if len(calls) == 1:
            raise ModelNotFoundError("the weights file could not be read. A long story.")
        return real(*args, **kwargs)

    monkeypatch.setattr(actions.STORE, "clip", flaky)
    _load_and_wait(qtbot, panel)
    assert not panel.errors.isHidden()
    assert panel.errors.message.text() == "Could not load: the weights file could not be read."
    _load_and_wait(qtbot, panel)  # the same choice, loaded this time
    assert panel.errors.isHidden() and "Loaded" in panel.job_panel.status.text()


def test_unreachable_hub_disables_the_button_without_a_click(
    make_napari_viewer, qtbot, empty_hub, monkeypatch
):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    HubProbe.reset()
    HubProbe.instance().start(ask=lambda: False)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((32, 32), np.float32))
    shapes = viewer.add_shapes([[[2.0, 2.0], [2.0, 20.0], [20.0, 20.0], [20.0, 2.0]]])
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    widget.auto_check.setChecked(False)
    widget.shapes_combo.set_layer(shapes)
    qtbot.waitUntil(lambda: HubProbe.instance().reachable is False, timeout=5000)
    widget.labels_edit.setPlainText("forest, river")
    widget.validate()
    assert not widget.score_button.isEnabled()
    assert "ViT-B-32/openai is not downloaded and the hub cannot be reached" in (
        widget.score_button.toolTip()
    )
