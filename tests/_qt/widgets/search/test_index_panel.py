"""Search dock: building and updating the collection from the dock (progress, cancel),
and opening a hit leaves the query image alone."""

from __future__ import annotations

import threading

import pytest

from fixtures.collection_data import colour_image, make_image_folder, write_png
from fixtures.qt_jobs import wait_job
from napari_clipcap._qt.widgets.search import index_panel as ip
from napari_clipcap._qt.widgets.search.widget import SearchWidget


@pytest.fixture
def widget(make_napari_viewer, qtbot, tiny_clip_choice, notifications):
    viewer = make_napari_viewer()
    w = SearchWidget(viewer)
    qtbot.addWidget(w)
    return viewer, w


def run_index(qtbot, w):
    w.index_panel.index_button.click()
    job = w.job_panel.job
    seen: list[tuple[int, int]] = []
    job.progressed.connect(lambda d, t: seen.append((d, t)))
    wait_job(qtbot, w)
    return seen


def test_index_is_built_then_updated_from_the_dock(widget, qtbot, tmp_path, monkeypatch):
    _, w = widget
    images = make_image_folder(tmp_path / "images", per_colour=1)
    folder = str(tmp_path / "col")
    w.folder_edit.setText(folder)
    assert not w.open_collection(folder) and "Index" in w.info.text()
    assert not w.index_panel.index_button.isEnabled()
    assert "image folders" in w.index_panel.index_button.toolTip()
    monkeypatch.setattr(ip.QFileDialog, "getExistingDirectory", lambda *a, **k: str(images))
    w.index_panel.add_button.click()
    w.index_panel.add_button.click()  # the same folder twice is listed once
    assert w.index_panel.paths() == [str(images)]
    seen = run_index(qtbot, w)
    assert seen and seen[-1][0] == seen[-1][1] == 6  # 5 PNG files and one FITS file
    assert w.collection is not None and len(w.collection) == 7
    assert "7 images" in w.info.text()
    assert w.job_panel.status.text().startswith("Indexed: 7 images")
    # one more picture: an update embeds only it
    write_png(images / "red" / "red_9.png", colour_image("red", seed=99))
    run_index(qtbot, w)
    rep = w.index_panel.report
    assert (rep.added, rep.unchanged, rep.items) == (1, 6, 8)
    assert "8 images" in w.info.text()
    # and the dock searches it
    w.text_edit.setText("red")
    w.search_button.click()
    qtbot.waitUntil(lambda: not w.job_panel.busy and bool(w.hits), timeout=20000)


def test_indexing_can_be_cancelled(widget, qtbot, tmp_path, monkeypatch, notifications):
    _, w = widget
    images = make_image_folder(tmp_path / "images", per_colour=1)
    gate = threading.Event()
    real = ip.STORE

    class Store:
        def clip(self, *args):
            gate.wait(10)
            return real.clip(*args)

    monkeypatch.setattr(ip, "STORE", Store())
    w.folder_edit.setText(str(tmp_path / "col"))
    w.index_panel.add_folder(str(images))
    w.index_panel.index_button.click()
    assert w.job_panel.busy and w.job_panel.cancel_button.isEnabled()
    w.job_panel.cancel()
    gate.set()
    wait_job(qtbot, w)
    assert w.job_panel.status.text() == "Cancelled." and notifications == []
    assert w.index_panel.report is None


def test_opening_a_hit_keeps_the_query_image(widget, qtbot, tmp_path):
    viewer, w = widget
    images = make_image_folder(tmp_path / "images", per_colour=1)
    w.folder_edit.setText(str(tmp_path / "col"))
    w.index_panel.add_folder(str(images))
    run_index(qtbot, w)
    query = colour_image("blue", seed=20)
    viewer.add_image(query, name="query", rgb=True)
    w.mode_combo.setCurrentText("Image layer")
    w.image_combo.set_layer(viewer.layers["query"])

    def search():
        w.search_button.click()
        wait_job(qtbot, w, timeout=20000)
        return [(h.item.path, h.item.hdu) for h in w.hits]

    first = search()
    hit = next(i for i, h in enumerate(w.hits) if not h.item.path.endswith("blue_0.png"))
    opened = w.open_hit(hit)
    assert viewer.layers.selection.active is opened  # napari selects the new layer...
    assert w.image_combo.layer() is viewer.layers["query"]  # ...the query stays
    assert search() == first


def test_the_dock_shows_which_model_embeds_and_offline_says_so_before_the_click(
    widget, qtbot, tmp_path, monkeypatch, tiny_clip_choice
):
    from napari_clipcap._napari.models.specs import ModelChoice
    from napari_clipcap._qt.models.panel import SharedSettings

    _, w = widget
    assert w.models is not None and w.models.show_captioner is False
    w.folder_edit.setText(str(tmp_path / "new"))
    w.index_panel.add_folder(str(make_image_folder(tmp_path / "images", per_colour=1)))
    assert "new collection is embedded with it" in w.model_line.text()
    assert tiny_clip_choice.label in w.model_line.text()
    assert w.index_panel.index_button.isEnabled()
    # a preset that is not downloaded, with the hub offline: Index says so at once
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    SharedSettings.instance().update(clip=ModelChoice(preset="ViT-B-32/openai"))
    w.validate()
    assert "ViT-B-32/openai" in w.model_line.text()
    assert not w.index_panel.index_button.isEnabled()
    why = w.index_panel.index_button.toolTip()
    assert "not downloaded" in why and "--" not in why and "napari-clipcap" not in why


def test_copied_index_command_indexes_the_same_items(widget, qtbot, tmp_path, capsys):
    """The Index button runs the dock's IndexRequest; its Copy command, run through the
    CLI into a fresh folder, holds the same items and finds the same hits."""
    import json
    import shlex

    from napari_clipcap.cli import main
    from napari_clipcap.core.collection.store import Collection

    _, w = widget
    images = make_image_folder(tmp_path / "images", per_colour=1)
    folder = str(tmp_path / "col")
    w.folder_edit.setText(folder)
    w.index_panel.add_folder(str(images))
    run_index(qtbot, w)
    command = w.copy_command_button.copy()
    assert command, (w.copy_command_button.record, w.job_panel.status.text())
    words = shlex.split(command)
    assert words[:2] == ["napari-clipcap", "index"]
    assert words[words.index("--index") + 1] == folder
    words[words.index("--index") + 1] = str(tmp_path / "again")
    capsys.readouterr()
    assert main(words[1:]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == 7

    def items(where):
        with Collection(where) as col:
            return sorted((i.path, i.hdu) for i in col.items()), col.model_spec

    assert items(tmp_path / "again") == items(folder)
    w.text_edit.setText("red")
    w.search_button.click()
    wait_job(qtbot, w)
    words = shlex.split(w.copy_command_button.copy())
    words[words.index("--index") + 1] = str(tmp_path / "again")
    assert main(words[1:]) == 0
    again = json.loads(capsys.readouterr().out)["hits"]
    assert [(h["path"], h["hdu"]) for h in again] == [(h.item.path, h.item.hdu) for h in w.hits]
    assert [h["score"] for h in again] == pytest.approx([h.score for h in w.hits], abs=1e-5)
