"""Dock results record how they were made; the recorded command recomputes them."""

from __future__ import annotations

import json
import shlex

import numpy as np
from PIL import Image

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.layers import META_KEY
from napari_clipcap._qt.widgets.labels.widget import LabelsWidget
from napari_clipcap.cli import main

RECT = np.array([[10.0, 20.0], [10.0, 60.0], [40.0, 60.0], [40.0, 20.0]])


def _wait(qtbot, widget, timeout=30000):
    wait_job(qtbot, widget, timeout=timeout)


def test_labels_command_reproduces_the_dock_scores(
    make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications, tmp_path, capsys
):
    path = tmp_path / "scene.png"
    Image.fromarray(scene).save(path)
    viewer = make_napari_viewer()
    (image,) = viewer.open(path, plugin="napari")
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    assert not widget.copy_command_button.isEnabled()
    shapes = viewer.add_shapes([RECT], shape_type="rectangle")
    widget.auto_check.setChecked(False)
    widget.image_combo.set_layer(image)
    widget.shapes_combo.set_layer(shapes)
    widget.labels_edit.setPlainText("forest, river, city")
    widget.score()
    _wait(qtbot, widget)
    prov = shapes.metadata[META_KEY]["provenance"]
    assert prov["models"][0]["role"] == "clip" and prov["models"][0]["sha256"]
    assert widget.copy_command_button.isEnabled()
    assert widget.copy_command_button.copy() == prov["command"]
    from qtpy.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == prov["command"]
    words = shlex.split(prov["command"])
    assert words[:2] == ["napari-clipcap", "labels"]
    capsys.readouterr()
    assert main(words[1:]) == 0
    out = json.loads(capsys.readouterr().out)
    (region,) = out["regions"]
    (mine,) = widget.results["regions"]
    assert region["box"] == mine["box"]
    for label, p in mine["probabilities"].items():
        assert abs(region["scores"][label] - p) < 1e-9
    widget.export_csv(str(tmp_path / "labels.csv"))
    side = json.loads((tmp_path / "labels.csv.provenance.json").read_text())
    assert side["command"] == prov["command"]


def test_a_layer_without_a_file_has_no_command(
    make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications
):
    viewer = make_napari_viewer()
    viewer.add_image(scene, name="scene")
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    shapes = viewer.add_shapes([RECT], shape_type="rectangle")
    widget.auto_check.setChecked(False)
    widget.shapes_combo.set_layer(shapes)
    widget.labels_edit.setPlainText("forest, river")
    widget.score()
    _wait(qtbot, widget)
    prov = shapes.metadata[META_KEY]["provenance"]
    assert prov["command"] is None and "not read from a file" in prov["command_unavailable"]
    assert not widget.copy_command_button.isEnabled()
    assert "not read from a file" in widget.copy_command_button.toolTip()


def test_heatmap_command_reproduces_the_dock_map(
    make_napari_viewer,
    qtbot,
    scene,
    tiny_clip_choice,
    notifications,
    tmp_path,
    capsys,
    monkeypatch,
):
    from napari_clipcap._qt.widgets.heatmap.widget import HeatmapWidget

    path = tmp_path / "scene.png"
    Image.fromarray(scene).save(path)
    viewer = make_napari_viewer()
    (image,) = viewer.open(path, plugin="napari")
    widget = HeatmapWidget(viewer)
    qtbot.addWidget(widget)
    widget.image_combo.set_layer(image)
    widget.auto_check.setChecked(False)
    widget.window_spin.setValue(32)
    widget.stride_spin.setValue(16)
    widget.queries_edit.setPlainText("river")
    widget.compute()
    _wait(qtbot, widget)
    (layer,) = widget._last_layers
    prov = layer.metadata[META_KEY]["provenance"]
    assert prov["parameters"]["window"] == 32 and prov["parameters"]["queries"] == ["river"]
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(shlex.split(prov["command"])[1:]) == 0
    heat = np.load(tmp_path / "scene_heatmap.npy")
    np.testing.assert_allclose(heat, np.asarray(layer.data).reshape(heat.shape), atol=1e-6)


def test_caption_command_reproduces_the_dock_caption_and_blank_data_is_flagged(
    make_napari_viewer,
    qtbot,
    scene,
    tiny_clip_choice,
    notifications,
    tmp_path,
    capsys,
    tiny_clip_files,
    gpt2_dir,
    clipcap_mlp_pt,
):
    from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
    from napari_clipcap._qt.models.panel import SharedSettings
    from napari_clipcap._qt.widgets.caption.widget import CaptionWidget

    choice = ModelChoice(
        preset=CUSTOM,
        kind="clipcap",
        decoder=str(gpt2_dir),
        weights=str(clipcap_mlp_pt),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
    )
    SharedSettings.instance().update(captioner=choice)
    path = tmp_path / "scene.png"
    Image.fromarray(scene).save(path)
    viewer = make_napari_viewer()
    (image,) = viewer.open(path, plugin="napari")
    widget = CaptionWidget(viewer)
    qtbot.addWidget(widget)
    widget.max_tokens_spin.setValue(8)
    widget.image_combo.set_layer(image)
    widget.caption_button.click()
    _wait(qtbot, widget)
    prov = image.metadata[META_KEY]["provenance"]
    assert widget.copy_command_button.isEnabled() and "--weights" in prov["command"]
    capsys.readouterr()
    assert main(shlex.split(prov["command"])[1:]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"][0]["regions"][0]["captions"] == widget.results[0]["captions"]
    # a NaN-edged plane: the blank half is not captioned and the status says why
    data = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    data[:, 40:] = np.nan
    viewer.add_image(data, name="edge")
    shapes = viewer.add_shapes(
        [
            np.array([[0, 0], [0, 63], [63, 63], [63, 0]], float),
            np.array([[0, 44], [0, 63], [20, 63], [20, 44]], float),
        ],
        shape_type="rectangle",
    )
    widget.image_combo.set_layer(viewer.layers["edge"])
    widget.scope_combo.setCurrentText("Each shape")
    widget.shapes_combo.set_layer(shapes)
    widget.caption_button.click()
    _wait(qtbot, widget)
    first, second = widget.results
    assert first["captions"] and second["captions"] == []
    status = widget.job_panel.status.text()
    assert "⚠" in status and "holds data in only 0%" in status


def test_dock_ellipse_rotated_box_and_polygon_score_as_their_copied_command(
    make_napari_viewer, qtbot, scene, tiny_clip_choice, notifications, tmp_path, capsys
):
    """The dock scores shapes as their outlines, and its Copy command (the request's
    ``to_argv()``) gives identical scores from the command line."""

    def corners(cx, cy, w, h, deg):
        a = np.deg2rad(deg)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        xy = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [w / 2, h / 2] @ rot.T
        return (xy + np.array([cx, cy]))[:, ::-1]

    path = tmp_path / "scene.png"
    Image.fromarray(scene).save(path)
    viewer = make_napari_viewer()
    (image,) = viewer.open(path, plugin="napari")
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    shapes = viewer.add_shapes(
        [corners(30, 25, 36, 14, 35), corners(45, 30, 20, 10, 20)],
        shape_type=["ellipse", "rectangle"],
    )
    shapes.add_polygons([np.array([[5.0, 40.0], [20.0, 60.0], [30.0, 45.0]])])
    widget.auto_check.setChecked(False)
    widget.image_combo.set_layer(image)
    widget.shapes_combo.set_layer(shapes)
    widget.labels_edit.setPlainText("forest, river, city")
    widget.score()
    _wait(qtbot, widget)
    command = widget.copy_command_button.copy()
    assert command and command.count("--region") == 3
    capsys.readouterr()
    assert main(shlex.split(command)[1:]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["provenance"]["command"] == command
    for theirs, mine in zip(out["regions"], widget.results["regions"]):
        for label, p in mine["probabilities"].items():
            assert theirs["scores"][label] == p  # identical: the same outline, same crop


def test_dock_refuses_a_region_without_data_as_the_cli_does(
    make_napari_viewer, qtbot, tiny_clip_choice, notifications, tmp_path, capsys
):
    """The fourth door of the no-data rule: the same FITS, the same two boxes, the same
    message and NaN scores from the dock as from its copied command."""
    from astropy.io import fits

    data = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    data[:, 32:] = np.nan
    path = tmp_path / "edge.fits"
    fits.PrimaryHDU(data).writeto(path)
    viewer = make_napari_viewer()
    (image,) = viewer.open(path, plugin="napari-clipcap")
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    box = lambda x0, y0, x1, y1: np.array(  # noqa: E731  (napari rectangle, row/col)
        [[y0 - 0.5, x0 - 0.5], [y0 - 0.5, x1 - 0.5], [y1 - 0.5, x1 - 0.5], [y1 - 0.5, x0 - 0.5]]
    )
    shapes = viewer.add_shapes([box(0, 0, 32, 32), box(40, 0, 64, 20)], shape_type="rectangle")
    widget.auto_check.setChecked(False)
    widget.image_combo.set_layer(image)
    widget.shapes_combo.set_layer(shapes)
    widget.labels_edit.setPlainText("river, forest, city")
    widget.score()
    _wait(qtbot, widget)
    mine = widget.results["regions"]
    assert all(np.isnan(p) for p in mine[1]["probabilities"].values())
    assert all(np.isfinite(p) for p in mine[0]["probabilities"].values())
    command = widget.copy_command_button.copy()
    capsys.readouterr()
    assert main([*shlex.split(command)[1:], "--json"] if "--json" not in command
                else shlex.split(command)[1:]) == 0  # fmt: skip
    captured = capsys.readouterr()
    theirs = json.loads(captured.out)["regions"]
    message = "region 2 holds data in only 0%"
    assert theirs[1]["no_data"] and message in captured.err
    assert message in widget.job_panel.job.low_data[0]  # said in amber beside the result
    assert message in widget.job_panel.status.toolTip()


def test_dock_input_reads_the_shown_plane_once_however_often_it_runs(
    make_napari_viewer, monkeypatch
):
    """A dock's request image is the plane shown (as the CLI would read it: valid mask
    included), read once per click even when the request runs per captioner."""
    from napari_clipcap._napari.layers import displayed_plane
    from napari_clipcap._qt.provenance import dock_input

    viewer = make_napari_viewer()
    data = np.ones((2, 12, 16), np.float32)
    data[1, :, :4] = np.nan
    layer = viewer.add_image(data, name="stack")
    viewer.dims.set_current_step(0, 1)
    plane = displayed_plane(viewer, layer, "auto")
    calls: list = []
    real = type(plane).model_input

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(plane), "model_input", counted)
    image = dock_input(layer, plane)
    first, second = image.load(), image.load()
    assert len(calls) == 1 and first.data is second.data
    assert first.data.shape == (12, 16, 3) and not first.valid[:, :4].any()
    assert image.name == "stack" and image.plane == (1,) and image.why_no_command()
