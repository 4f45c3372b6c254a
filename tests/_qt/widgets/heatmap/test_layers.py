"""Heatmap dock on a real napari viewer: NaN over missing data (FITS-like NaN rows and a
Sentinel-2 nodata wedge), window sizes that follow the image, the colour scale and
colorbar, minimum area, names per source, one plane of a cube, progress in percent, and
the question before a very large job."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.qt_jobs import wait_job
from napari_clipcap._qt.widgets.heatmap.layers import CONTRAST_RULE, colorbar_title, heat_name
from napari_clipcap._qt.widgets.heatmap.widget import LARGE_JOB, HeatmapWidget


@pytest.fixture
def dock(make_napari_viewer, qtbot, tiny_clip_choice, notifications):
    viewer = make_napari_viewer()
    widget = HeatmapWidget(viewer)
    qtbot.addWidget(widget)
    return viewer, widget


def run(qtbot, w, queries="river"):
    w.queries_edit.setPlainText(queries)
    w.run_button.click()
    wait_job(qtbot, w)


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_heat_is_nan_over_nan_pixels_of_a_cube_plane(dock, qtbot, mode):
    viewer, w = dock
    cube = np.random.default_rng(2).random((2, 64, 80)).astype(np.float32)
    cube[1, 20:26] = np.nan  # NaN rows on the plane shown
    cube[1, :, :6] = np.nan
    viewer.add_image(cube, name="cube", metadata={"domain": "astronomy"})
    viewer.dims.set_current_step(0, 1)
    w.mode_combo.setCurrentText(mode)
    run(qtbot, w)
    heat = np.asarray(viewer.layers[heat_name("river", "cube", (1,))].data)[0]
    hole = np.isnan(cube[1])
    assert np.isnan(heat[hole]).all() and np.isfinite(heat[~hole]).all()
    meta = viewer.layers[heat_name("river", "cube", (1,))].metadata["napari_clipcap"]
    assert meta["heatmap"]["valid_fraction"] == pytest.approx(1 - hole.mean())


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_heat_is_nan_over_the_sentinel2_nodata_wedge(dock, qtbot, tmp_path, mode):
    from napari_clipcap._napari.geo_reader import read_geotiff_layers
    from napari_clipcap.core.samples.sentinel2 import write_sample_scene

    viewer, w = dock
    path = write_sample_scene(tmp_path / "s2.tif", size=96)
    for data, kwargs, _ in read_geotiff_layers(str(path)):
        viewer.add_image(data, **kwargs)
    comp = viewer.layers[-1]
    assert "composite" in comp.metadata  # the true-colour layer, 0 where nodata
    w.image_combo.set_layer(comp)
    w.mode_combo.setCurrentText(mode)
    run(qtbot, w)
    heat = np.asarray(viewer.layers[heat_name("river", comp.name)].data)
    y, x = np.mgrid[0:96, 0:96]
    wedge = x + 2 * y < 96 // 3
    assert wedge.any() and np.isnan(heat[wedge]).all() and np.isfinite(heat[~wedge]).all()


def test_window_follows_the_image_until_set(dock, qtbot):
    viewer, w = dock
    viewer.add_image(np.random.default_rng(0).random((300, 300)).astype(np.float32), name="a")
    assert w.auto_check.isChecked()
    assert (w.window_spin.value(), w.stride_spin.value()) == (72, 36)
    viewer.add_image(np.zeros((1000, 1200), np.float32), name="big")
    w.image_combo.set_layer(viewer.layers["big"])
    assert (w.window_spin.value(), w.stride_spin.value()) == (224, 112)
    w.window_spin.setValue(100)  # the user's choice stays
    assert not w.auto_check.isChecked()
    w.image_combo.set_layer(viewer.layers["a"])
    assert w.window_spin.value() == 100
    w.auto_check.setChecked(True)
    assert (w.window_spin.value(), w.stride_spin.value()) == (72, 36)


def test_small_image_gets_a_fine_map(dock, qtbot):
    viewer, w = dock
    viewer.add_image(np.random.default_rng(0).random((300, 300)).astype(np.float32), name="a")
    run(qtbot, w)
    layer = viewer.layers[heat_name("river", "a")]
    assert layer.metadata["napari_clipcap"]["heatmap"]["window"] == 72
    rows = np.unique(np.asarray(layer.data)[:, 150])
    assert len(rows) >= 8  # 224/112 would give 3 values down a column


def test_colorbar_shared_stable_contrast_and_names_per_source(dock, qtbot, scene):
    viewer, w = dock
    viewer.add_image(scene, name="one")
    run(qtbot, w, "river\nforest")
    river, forest = (viewer.layers[heat_name(q, "one")] for q in ("river", "forest"))
    qtbot.waitUntil(lambda: all(colorbar_title(ly) for ly in (river, forest)), timeout=5000)
    for layer in (river, forest):
        meta = layer.metadata["napari_clipcap"]["heatmap"]
        assert layer.colorbar.visible  # titled with its query and source (the layer name)
        assert colorbar_title(layer) == layer.name == heat_name(meta["query"], "one")
        assert tuple(layer.contrast_limits) == pytest.approx(tuple(meta["contrast_limits"]))
        assert meta["contrast"] == CONTRAST_RULE
    # additive maps add up: only the last map of the run (chosen under Map) is shown
    assert forest.visible and not river.visible and w.result_combo.currentText() == forest.name
    both = np.stack([river.data, forest.data])
    assert tuple(river.contrast_limits) == pytest.approx(tuple(np.percentile(both, [2, 98])))
    assert tuple(forest.contrast_limits) == tuple(river.contrast_limits)
    limits = tuple(river.contrast_limits)
    run(qtbot, w, "river\nforest")  # the same queries again: the same scale
    assert tuple(river.contrast_limits) == pytest.approx(limits)
    # another source layer adds maps next to the first ones
    viewer.add_image(scene[::-1].copy(), name="two")
    w.image_combo.set_layer(viewer.layers["two"])
    run(qtbot, w, "river")
    assert heat_name("river", "one") in viewer.layers
    assert heat_name("river", "two") in viewer.layers


def test_colorbars_side_by_side_each_titled_above_its_bar(make_napari_viewer, qtbot, scene):
    """Maps of two sources shown together: two colorbars, each with its own title
    (query and source) right above it on the canvas, none over another."""
    from napari_clipcap._napari.layers import displayed_plane
    from napari_clipcap._qt.widgets.heatmap.layers import show_maps

    viewer = make_napari_viewer(show=True)
    maps = []
    for query, source in (("river", "one"), ("forest", "two")):
        image = viewer.add_image(scene, name=source)
        heat = np.random.default_rng(0).random((1, *scene.shape[:2])).astype(np.float32)
        plane = displayed_plane(viewer, image)
        maps += show_maps(viewer, image, plane, [query], heat, {"mode": "sliding"})
    qtbot.waitUntil(lambda: all(colorbar_title(m) for m in maps), timeout=5000)
    assert [colorbar_title(m) for m in maps] == [heat_name("river", "one"),
                                                 heat_name("forest", "two")]  # fmt: skip
    visuals = getattr(viewer.window._qt_viewer.canvas, "_layer_overlay_to_visual", None)
    if visuals is None:  # where napari draws them is its own business: checked on 0.9
        return
    qtbot.wait(50)
    tops = {}
    for m in maps:
        bar, title = visuals[m][m.colorbar], visuals[m][m.name_overlay]
        bar_y, title_y = bar.node.transform.translate[1], title.node.transform.translate[1]
        assert title_y + title.y_size <= bar_y + 1 < title_y + title.y_size + 25  # just above
        tops[m.name] = (title_y, bar_y + bar.y_size)
    (a0, a1), (b0, b1) = tops.values()
    assert a1 <= b0 or b1 <= a0  # the two titled bars do not overlap


def test_map_of_a_cube_plane_shows_on_that_plane_only(dock, qtbot):
    viewer, w = dock
    viewer.add_image(np.random.default_rng(1).random((3, 40, 50)).astype(np.float32), name="c")
    viewer.dims.set_current_step(0, 2)
    run(qtbot, w)
    layer = viewer.layers[heat_name("river", "c", (2,))]
    assert not layer._slice.empty
    viewer.dims.set_current_step(0, 0)
    assert layer._slice.empty  # napari draws nothing of it on plane 0
    boxes = w.threshold_to("shapes")
    assert boxes.ndim == 3 and all(np.allclose(v[:, 0], 2) for v in boxes.data)
    labels = w.threshold_to("labels")
    assert labels.data.shape == (1, 40, 50)
    np.testing.assert_allclose(labels.data_to_world((0, 3, 4)), layer.data_to_world((0, 3, 4)))


def test_threshold_drops_regions_below_the_minimum_area(dock, qtbot):
    viewer, w = dock
    viewer.add_image(np.random.default_rng(1).random((64, 64)).astype(np.float32), name="s")
    run(qtbot, w)
    layer = viewer.layers[heat_name("river", "s")]
    heat = np.zeros((64, 64), np.float32)
    heat[2:4, 2:4] = 1.0  # 4 px
    heat[20:30, 20:30] = 1.0  # 100 px
    layer.data = heat
    w.threshold_spin.setValue(0.5)
    w.min_area_spin.setValue(1)
    assert w.threshold_to("labels").data.max() == 2
    w.min_area_spin.setValue(16)
    labels = w.threshold_to("labels")
    assert labels.data.max() == 1 and (labels.data > 0).sum() == 100
    assert "1 region found" in w.job_panel.status.text()


def test_progress_shows_a_percentage_of_windows(dock, qtbot):
    viewer, w = dock
    viewer.add_image(np.random.default_rng(1).random((256, 256)).astype(np.float32))
    w.window_spin.setValue(32)
    w.stride_spin.setValue(8)
    w.queries_edit.setPlainText("anything")
    w.run_button.click()
    texts = []
    w.job_panel.job.progressed.connect(lambda d, t: texts.append(w.job_panel.bar.text()))
    wait_job(qtbot, w)
    assert texts and texts[-1] == "841 of 841 windows (100%)"


def test_very_large_job_asks_first(dock, qtbot):
    viewer, w = dock
    viewer.add_image(np.zeros((320, 320), np.float32))
    w.window_spin.setValue(32)
    w.stride_spin.setValue(2)  # 145 x 145 = 21,025 windows
    w.queries_edit.setPlainText("anything")
    asked = []
    w.confirm = lambda text: asked.append(text) or False
    w.run_button.click()
    assert len(asked) == 1 and "21,025 windows" in asked[0]
    assert w.job_panel.job is None and "Not started" in w.job_panel.status.text()
    w.confirm = lambda text: asked.append(text) or True
    w.run_button.click()
    assert w.job_panel.job is not None and 21_025 > LARGE_JOB
    w.job_panel.cancel()
    wait_job(qtbot, w)


def test_colorbar_steps_of_two_runs_take_turns_one_per_step(qtbot):
    """Two jobs ending together: their colorbar and title steps run one at a time, in
    the order asked for, a step apart (the canvas is drawn in between)."""
    import time
    from itertools import pairwise

    from napari_clipcap._qt.widgets.heatmap.layers import run_in_steps

    ran: list = []

    def step(name):
        return lambda: ran.append((name, time.perf_counter()))

    def broken():
        raise RuntimeError("layer gone")

    run_in_steps([step("a1"), broken, step("a2")], step_ms=20)
    run_in_steps([step("b1")], step_ms=20)
    qtbot.waitUntil(lambda: len(ran) == 3, timeout=5000)
    assert [name for name, _ in ran] == ["a1", "a2", "b1"]
    times = [t for _, t in ran]
    assert all(later - earlier >= 0.015 for earlier, later in pairwise(times))


def test_dock_opened_from_the_plugins_menu_titles_its_colorbars(
    make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications
):
    """A dock napari opens for the plugin gets a proxy of the viewer, whose layers are
    new proxies at each access: the colorbar steps still find their layers."""
    viewer = make_napari_viewer()
    viewer.add_image(scene, name="one")
    _, w = viewer.window.add_plugin_dock_widget("napari-clipcap", "Text heatmap")
    run(qtbot, w)
    layer = viewer.layers[heat_name("river", "one")]
    qtbot.waitUntil(lambda: colorbar_title(layer) == layer.name, timeout=5000)
