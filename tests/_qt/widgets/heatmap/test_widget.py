"""Text heatmap widget on the tiny CLIP: placement, in-place update, stacks, threshold,
cancel, and the Qt event loop ticking while a job runs."""

from __future__ import annotations

import time

import numpy as np
import pytest
from napari.layers import Labels, Shapes

from fixtures.qt_jobs import wait_job
from napari_clipcap._qt.widgets.heatmap.layers import heat_name
from napari_clipcap._qt.widgets.heatmap.widget import PREFIX, HeatmapWidget


@pytest.fixture
def heatmap(make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications):
    viewer = make_napari_viewer()
    widget = HeatmapWidget(viewer)
    qtbot.addWidget(widget)
    widget.window_spin.setValue(32)
    widget.stride_spin.setValue(16)
    return viewer, widget


def same_world(a, b, pixel_a, pixel_b):
    np.testing.assert_allclose(a.data_to_world(pixel_a)[-2:], b.data_to_world(pixel_b)[-2:])


def test_heatmap_lies_over_source_and_updates_in_place(heatmap, qtbot, scene):
    viewer, w = heatmap
    assert not w.run_button.isEnabled() and "image" in w.run_button.toolTip()
    src = viewer.add_image(scene, name="scene", scale=(2.0, 3.0), translate=(10.0, -5.0))
    assert "query" in w.run_button.toolTip()
    w.queries_edit.setPlainText("river\nforest")
    w.run_button.click()
    wait_job(qtbot, w)
    layer = viewer.layers[heat_name("river", "scene")]
    assert heat_name("forest", "scene") in viewer.layers
    assert layer.data.dtype == np.float32 and layer.data.shape == scene.shape[:2]
    assert tuple(layer.scale) == tuple(src.scale)
    assert tuple(layer.translate) == tuple(src.translate)
    np.testing.assert_allclose(layer.affine.affine_matrix, src.affine.affine_matrix)
    same_world(layer, src, (5, 7), (5, 7))
    assert layer.metadata["napari_clipcap"]["heatmap"]["query"] == "river"
    first = np.array(layer.data)
    # second run with other windows: the same layer object gets the new data
    w.mode_combo.setCurrentText("dense")
    w.run_button.click()
    wait_job(qtbot, w)
    assert viewer.layers[heat_name("river", "scene")] is layer
    assert len([ly for ly in viewer.layers if ly.name.startswith(PREFIX)]) == 2
    assert not np.allclose(first, layer.data)
    assert layer.metadata["napari_clipcap"]["heatmap"]["mode"] == "dense"
    # display options restyle existing maps
    w.colormap_combo.setCurrentText("viridis")
    w.opacity_slider.setValue(30)
    assert layer.colormap.name == "viridis" and layer.opacity == pytest.approx(0.3)


def test_threshold_to_labels_and_shapes(heatmap, qtbot, scene):
    viewer, w = heatmap
    src = viewer.add_image(scene, name="scene", scale=(0.5, 0.5))
    w.queries_edit.setPlainText("bright square")
    w.run_button.click()
    wait_job(qtbot, w)
    heat = np.asarray(viewer.layers[heat_name("bright square", "scene")].data)
    w.threshold_spin.setValue(float(np.percentile(heat, 80)))
    w.min_area_spin.setValue(1)  # every region, however small
    labels = w.threshold_to("labels")
    assert isinstance(labels, Labels) and labels.data.shape == heat.shape
    assert (labels.data > 0).sum() == (heat >= w.threshold_spin.value()).sum()
    assert tuple(labels.scale) == tuple(src.scale)
    boxes = w.threshold_to("shapes")
    assert isinstance(boxes, Shapes) and len(boxes.data) == labels.data.max()


def test_displayed_plane_of_a_stack(heatmap, qtbot):
    viewer, w = heatmap
    stack = np.zeros((3, 48, 64), np.float32)
    stack[2, 10:30, 10:40] = 1.0
    src = viewer.add_image(stack, name="stack", scale=(5.0, 2.0, 2.0))
    viewer.dims.set_current_step(0, 2)
    w.queries_edit.setPlainText("a square")
    w.run_button.click()
    wait_job(qtbot, w)
    layer = viewer.layers[heat_name("a square", "stack", (2,))]
    # the map of plane 2 is a one-plane stack on plane 2: shown there, not on planes 0, 1
    assert layer.data.shape == (1, 48, 64) and layer.ndim == 3
    np.testing.assert_allclose(layer.data_to_world((0, 4, 9)), src.data_to_world((2, 4, 9)))
    assert layer.metadata["napari_clipcap"]["heatmap"]["plane"] == [2]


def test_cancel_mid_job_leaves_no_layer(heatmap, qtbot):
    viewer, w = heatmap
    viewer.add_image(np.random.default_rng(0).random((320, 320)).astype(np.float32))
    w.window_spin.setValue(32)
    w.stride_spin.setValue(4)
    w.queries_edit.setPlainText("anything")
    w.run_button.click()
    job = w.job_panel.job
    seen = []
    job.progressed.connect(lambda d, t: seen.append(d))
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=30000)
    w.job_panel.cancel_button.click()
    wait_job(qtbot, w)
    assert job.was_cancelled and seen[-1] < 6561
    assert not [ly for ly in viewer.layers if ly.name.startswith(PREFIX)]
    assert w.job_panel.status.text() == "Cancelled."


def test_event_loop_keeps_ticking_during_a_job(heatmap, qtbot):
    from qtpy.QtCore import QTimer

    viewer, w = heatmap
    viewer.add_image(np.random.default_rng(1).random((256, 256)).astype(np.float32))
    w.window_spin.setValue(32)
    w.stride_spin.setValue(4)  # 3249 windows: a job of a few seconds
    w.queries_edit.setPlainText("anything")
    ticks: list[float] = []
    arrived: list[float] = []
    show = w._show

    def timed_show(*args):
        arrived.append(time.perf_counter())
        show(*args)

    w._show = timed_show
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    started = time.perf_counter()
    w.run_button.click()
    wait_job(qtbot, w)
    timer.stop()
    # the job: from the click until its result reaches the Qt thread
    ended = arrived[0]
    during = [started] + [t for t in ticks if started <= t <= ended] + [ended]
    assert ended - started > 0.3, "the job should run long enough to probe"
    gaps = np.diff(during)
    assert len(during) > 10 and gaps.max() < 0.1, f"longest gap {gaps.max() * 1000:.0f} ms"


def test_heatmap_over_georeferenced_scene_keeps_map_coordinates(heatmap, qtbot, scene):
    from napari_clipcap.core.coords.worldcoords import format_world

    viewer, w = heatmap
    geo = {
        "crs": "EPSG:32633",
        "epsg": 32633,
        "shape": scene.shape[:2],
        "transform": (10.0, 0.0, 500000.0, 0.0, -10.0, 5200000.0),
        "band_names": ["r"],
    }
    viewer.add_image(scene, name="scene", metadata=geo)
    w.queries_edit.setPlainText("river")
    w.run_button.click()
    wait_job(qtbot, w)
    layer = viewer.layers[heat_name("river", "scene")]
    assert layer.metadata["transform"] == geo["transform"] and "band_names" not in layer.metadata
    assert format_world(layer.metadata, 4, 5) == format_world(geo, 4, 5) is not None
