"""The Text heatmap dock with a drawn shape as the query ("more like this"): the map is
named after the region, peaks on it, and its copied command and the Python API give the
same map (sliding and dense)."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from PIL import Image

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.layers import META_KEY
from napari_clipcap._qt.widgets.heatmap.layers import heat_name
from napari_clipcap._qt.widgets.heatmap.widget import HeatmapWidget
from napari_clipcap.cli import main
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.tasks.heatmap import region_heatmap

#: The exemplar's box (x0, y0, x1, y1) and the same rectangle as napari (row, col) corners.
BOX = (32, 64, 64, 96)
RECT = np.array([[64.0, 32.0], [64.0, 64.0], [96.0, 64.0], [96.0, 32.0]])


@pytest.fixture
def exemplar_png(tmp_path):
    """128 x 128: smooth gradient with one grid patch at ``BOX`` (nothing else like it)."""
    image = np.full((128, 128, 3), 50, np.uint8)
    image[..., 2] = np.linspace(25, 100, 128).astype(np.uint8)[None, :]
    x0, y0, x1, y1 = BOX
    image[y0:y1:4, x0:x1, 0] = 255
    image[y0:y1, x0:x1:4, 1] = 255
    path = tmp_path / "tiles.png"
    Image.fromarray(image).save(path)
    return path


@pytest.mark.parametrize("mode", ["sliding", "dense"])
def test_a_drawn_shape_is_the_query_and_its_command_gives_the_same_map(
    make_napari_viewer,
    qtbot,
    exemplar_png,
    tiny_clip_choice,
    tiny_clip,
    notifications,
    tmp_path,
    monkeypatch,
    capsys,
    mode,
):
    viewer = make_napari_viewer()
    (image,) = viewer.open(exemplar_png, plugin="napari")
    shapes = viewer.add_shapes([RECT], shape_type="rectangle", name="examples")
    widget = HeatmapWidget(viewer)
    qtbot.addWidget(widget)
    widget.image_combo.set_layer(image)
    assert "query" in widget.run_button.toolTip()  # no text yet
    widget.region_check.setChecked(True)
    assert widget.run_button.isEnabled() and not widget.queries_edit.isEnabled()
    widget.shapes_combo.set_layer(shapes)
    widget.auto_check.setChecked(False)
    widget.window_spin.setValue(32)
    widget.stride_spin.setValue(32)
    widget.mode_combo.setCurrentText(mode)
    widget.compute()
    wait_job(qtbot, widget)
    assert not notifications
    layer = viewer.layers[heat_name("like 32,64,64,96", image.name)]
    heat = np.asarray(layer.data)
    there = np.zeros(heat.shape, bool)
    there[64:96, 32:64] = True
    assert heat[there].min() > heat[~there].max()
    prov = layer.metadata[META_KEY]["provenance"]
    assert "--query-region 32,64,64,96" in prov["command"] and "--query " not in prov["command"]
    # the copied command ...
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(shlex.split(prov["command"])[1:]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "tiles_heatmap.npy"), heat, atol=1e-5)
    # ... and the Python API
    api = region_heatmap(
        read_image(exemplar_png).data, [BOX], tiny_clip, mode=mode, window=32, stride=32
    )
    np.testing.assert_allclose(api[0], heat, atol=1e-5)


def test_the_selected_shape_is_the_query_and_none_is_refused(
    make_napari_viewer, qtbot, exemplar_png, tiny_clip_choice, notifications
):
    viewer = make_napari_viewer()
    (image,) = viewer.open(exemplar_png, plugin="napari")
    widget = HeatmapWidget(viewer)
    qtbot.addWidget(widget)
    widget.region_check.setChecked(True)
    assert not widget.run_button.isEnabled() and "Shapes" in widget.run_button.toolTip()
    shapes = viewer.add_shapes(
        [RECT, np.array([[0.0, 0.0], [0.0, 31.0], [21.0, 31.0], [21.0, 0.0]])],
        shape_type="rectangle",
    )
    widget.shapes_combo.set_layer(shapes)
    widget.image_combo.set_layer(image)
    assert [tuple(r) for r in widget.query_regions()] == [(0, 0, 31, 21)]  # the last one
    shapes.selected_data = {0}
    assert [tuple(r) for r in widget.query_regions()] == [BOX]
    shapes.data = [np.array([[500.0, 500.0], [500.0, 530.0], [520.0, 530.0], [520.0, 500.0]])]
    widget.compute()
    assert "overlaps" in widget.job_panel.status.text()
