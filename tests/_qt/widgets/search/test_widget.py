"""Search dock widget on a small collection built with the tiny CLIP."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.collection_data import make_image_folder
from fixtures.qt_jobs import wait_job
from napari_clipcap._qt.widgets.search.widget import SearchWidget, hit_layer_data
from napari_clipcap.core.collection.indexing import index_paths


@pytest.fixture(scope="module")
def collection(tmp_path_factory, tiny_clip_files):
    from napari_clipcap.core.clip.model import load_clip

    model, weights = str(tiny_clip_files.config), str(tiny_clip_files.safetensors)
    root = tmp_path_factory.mktemp("search_widget")
    images = make_image_folder(root / "images", per_colour=1)
    clip = load_clip(model, weights, "cpu")
    index_paths(root / "col", [images], clip, model=model, weights=weights)
    return root / "col", images


@pytest.fixture
def widget(make_napari_viewer, qtbot, tiny_clip_choice, notifications, collection):
    viewer = make_napari_viewer()
    w = SearchWidget(viewer)
    qtbot.addWidget(w)
    assert w.open_collection(str(collection[0]))
    return viewer, w


def run_search(qtbot, w):
    w.search_button.click()
    wait_job(qtbot, w, timeout=20000)


def test_text_query_fills_the_thumbnail_grid(widget, qtbot):
    _, w = widget
    assert "7 images" in w.info.text()
    w.text_edit.setText("a red field")
    w.k_spin.setValue(4)
    run_search(qtbot, w)
    assert w.results.count() == 4 and len(w.hits) == 4
    first = w.results.item(0)
    assert not first.icon().isNull()
    assert first.text().startswith(f"{w.hits[0].score:.3f}")
    assert [h.rank for h in w.hits] == [1, 2, 3, 4]


def test_image_layer_query_finds_the_fits_hdu_and_opens_it(widget, qtbot, collection):
    viewer, w = widget
    sky = str(collection[1] / "sky.fits")
    data, kwargs = hit_layer_data(sky, 2)
    viewer.add_image(data, **kwargs)
    w.mode_combo.setCurrentText("Image layer")
    assert w.text_edit.isHidden() and not w.image_combo.isHidden()
    run_search(qtbot, w)
    top = w.hits[0]
    assert (top.item.path, top.item.hdu) == (sky, 2) and top.score == pytest.approx(1, abs=1e-4)
    n = len(viewer.layers)
    w.results.itemClicked.emit(w.results.item(0))
    assert len(viewer.layers) == n + 1
    opened = viewer.layers[-1]
    assert np.array_equal(np.asarray(opened.data), np.asarray(data))
    assert "ERR" in opened.name


def test_region_query_uses_the_drawn_box(widget, qtbot, collection):
    viewer, w = widget
    blue, red = (
        hit_layer_data(str(collection[1] / c / f"{c}_0.png"), None)[0] for c in ("blue", "red")
    )
    viewer.add_image(np.concatenate([red, blue], axis=1), name="pair", rgb=True)
    shapes = viewer.add_shapes([[[0, 24], [24, 48]]], shape_type="rectangle")
    w.mode_combo.setCurrentText("Drawn region")
    w.image_combo.set_layer(viewer.layers["pair"])
    w.shapes_combo.set_layer(shapes)
    run_search(qtbot, w)
    assert w.hits[0].item.path.endswith("blue_0.png")
    assert w.hits[0].score == pytest.approx(1, abs=1e-3)
    layer = w.open_hit(0)
    assert layer.rgb and layer.data.shape == (24, 24, 3)


def test_problems_are_shown_not_raised(widget, tmp_path):
    _, w = widget
    w.mode_combo.setCurrentText("Drawn region")
    w.search()
    assert "image layer" in w.job_panel.status.text()
    assert not w.open_collection(str(tmp_path))
    assert "not a collection" in w.info.text()


def test_hit_whose_file_became_unreadable_is_a_message(widget, qtbot, tmp_path):
    """Files can change after indexing; a TIFF or picture reader's own error types
    (tifffile raises a ValueError) must not reach napari as a traceback."""
    import dataclasses

    viewer, w = widget
    w.text_edit.setText("red")
    run_search(qtbot, w)
    n = len(viewer.layers)
    cases = (("not-a.tif", b"junk"), ("broken.tif", b"II*\x00garbage"), ("bad.png", b"junk"))
    for name, junk in cases:
        bad = tmp_path / name
        bad.write_bytes(junk)
        hit = w.hits[0]
        w.hits[0] = dataclasses.replace(hit, item=dataclasses.replace(hit.item, path=str(bad)))
        with qtbot.captureExceptions() as raised:
            assert w.open_hit(0) is None
        assert raised == [] and len(viewer.layers) == n
        assert f"Cannot open {bad}" in w.job_panel.status.text()


def test_opening_another_folder_during_a_search_lets_it_finish(
    widget, qtbot, tmp_path, monkeypatch, notifications
):
    import threading

    import napari_clipcap._qt.widgets.search.widget as sw

    gate = threading.Event()
    real = sw.STORE

    class Store:
        def clip(self, *args):
            gate.wait(10)
            return real.clip(*args)

    monkeypatch.setattr(sw, "STORE", Store())
    _, w = widget
    w.text_edit.setText("a red field")
    w.search_button.click()
    qtbot.waitUntil(lambda: w.job_panel.busy, timeout=5000)
    assert not w.open_collection(str(tmp_path))  # not a collection: the old one goes
    gate.set()
    wait_job(qtbot, w)
    assert notifications == [] and len(w.hits) > 0


def test_search_uses_the_device_chosen_when_it_was_started(widget, qtbot, monkeypatch):
    """The shared settings are one mutable object: the worker must not read them late."""
    import threading

    import napari_clipcap._qt.widgets.search.widget as sw
    from napari_clipcap._qt.models.panel import SharedSettings

    _, w = widget
    gate, devices = threading.Event(), []
    real_run, real_store = w.job_panel.run, sw.STORE

    def late_run(fn, *args, **kwargs):
        def held(progress, cancel):
            gate.wait(10)
            return fn(progress, cancel)

        return real_run(held, *args, **kwargs)

    class Store:
        def clip(self, choice, device, precision):
            devices.append(device)
            return real_store.clip(choice, "cpu", precision)

    monkeypatch.setattr(w.job_panel, "run", late_run)
    monkeypatch.setattr(sw, "STORE", Store())
    w.text_edit.setText("a red field")
    w.search_button.click()
    SharedSettings.instance().settings.device = "cuda:7"  # changed while it waits
    gate.set()
    wait_job(qtbot, w)
    assert devices == ["cpu"]


def _cli_json(capsys, command: str) -> dict:
    import json
    import shlex

    from napari_clipcap.cli import main

    words = shlex.split(command)
    assert words[:2] == ["napari-clipcap", "search"]
    capsys.readouterr()
    assert main(words[1:]) == 0
    return json.loads(capsys.readouterr().out)


def _hits(w) -> list:
    return [(h.item.path, h.item.hdu, h.score) for h in w.hits]


def _cli_hits(data) -> list:
    return [(h["path"], h["hdu"], h["score"]) for h in data["hits"]]


def test_copied_search_commands_return_the_dock_hits(widget, qtbot, tmp_path, capsys):
    """Text, image-file and drawn-region queries: the dock runs its SearchRequest and
    the Copy command (``request.to_argv()``) gives the same hits through the CLI."""
    viewer, w = widget
    assert not w.copy_command_button.isEnabled()  # nothing found yet
    w.text_edit.setText("a red field")
    w.k_spin.setValue(5)
    run_search(qtbot, w)
    command = w.copy_command_button.copy()
    assert command == w.copy_command_button.record["command"]
    assert _cli_hits(_cli_json(capsys, command)) == pytest.approx(_hits(w))

    from fixtures.collection_data import colour_image, write_png

    query = write_png(tmp_path / "blue.png", colour_image("blue", size=64, seed=5))
    (pair,) = viewer.open(query, plugin="napari")  # read from a file: a command
    assert pair.rgb
    shapes = viewer.add_shapes([[[4, 6], [50, 40]]], shape_type="ellipse")
    w.mode_combo.setCurrentText("Drawn region")
    w.image_combo.set_layer(pair)
    w.shapes_combo.set_layer(shapes)
    run_search(qtbot, w)
    command = w.copy_command_button.copy()
    assert "--image" in command and "--region" in command
    assert _cli_hits(_cli_json(capsys, command)) == pytest.approx(_hits(w))


def test_a_layer_without_a_file_searches_its_pixels_and_has_no_command(widget, qtbot, collection):
    viewer, w = widget
    data = hit_layer_data(str(collection[1] / "red" / "red_0.png"), None)[0]
    viewer.add_image(data, name="pixels", rgb=True)
    w.mode_combo.setCurrentText("Image layer")
    run_search(qtbot, w)
    assert w.hits[0].item.path.endswith("red_0.png")
    assert not w.copy_command_button.isEnabled()
    assert "not read from a file" in w.copy_command_button.toolTip()
