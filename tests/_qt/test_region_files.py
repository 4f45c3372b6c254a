"""Import DS9 regions over a FITS layer and export shapes with results from the docks."""

from __future__ import annotations

import json

import numpy as np
from astropy.io import fits

from fixtures.fits_files import sky_header, sky_image
from napari_clipcap._qt.region_files import RegionFilesBar, export_kind, export_regions
from napari_clipcap.core.io.region_files import read_region_file

DS9 = """# Region file format: DS9 version 4.1
fk5
circle(150.0,2.0,2") # text={centre star} color=red
box(149.9990,2.0010,4",3",20) # text={a box}
image
polygon(5,5,20,5,12,18) # text={pixel triangle}
point(10,40) # text={a point}
"""


def _fits_layer(viewer, tmp_path):
    path = tmp_path / "sky.fits"
    fits.PrimaryHDU(sky_image(64, 64).astype(">f4"), sky_header(64, 64)).writeto(path)
    (layer,) = viewer.open(path, plugin="napari-clipcap")
    return layer


def test_import_ds9_over_a_fits_layer(make_napari_viewer, tmp_path, notifications):
    viewer = make_napari_viewer()
    image = _fits_layer(viewer, tmp_path)
    reg = tmp_path / "objects.reg"
    reg.write_text(DS9)
    bar = RegionFilesBar(viewer, lambda: image, lambda: None)
    shapes, points = bar.import_file(str(reg))
    assert list(shapes.shape_type) == ["ellipse", "rectangle", "polygon"]
    assert list(shapes.features["text"]) == ["centre star", "a box", "pixel triangle"]
    # sky regions went through the layer's WCS; image regions are 1-based in the file
    wcs = image.metadata["wcs"]
    want = read_region_file(reg, wcs).regions
    for got, w in zip(shapes.data, want):
        np.testing.assert_allclose(got, w.vertices, atol=1e-9)
    np.testing.assert_allclose(shapes.data[2][0], [4, 4])  # DS9 (5, 5) -> napari (4, 4)
    np.testing.assert_allclose(points.data, [[39, 9]])
    assert list(points.features["text"]) == ["a point"]
    assert not notifications


def test_export_writes_sky_ds9_with_results_and_round_trips(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    image = _fits_layer(viewer, tmp_path)
    shapes = viewer.add_shapes(
        [np.array([[10, 10], [10, 30], [25, 30], [25, 10]], float)],
        shape_type=["rectangle"],
        features={"clipcap_text": ["star 0.91"]},
    )
    assert export_kind(image) == "ds9"
    out = export_regions(tmp_path / "out.reg", shapes, image)
    text = out.read_text()
    assert ("fk5" in text or "icrs" in text) and "star 0.91" in text
    (back,) = read_region_file(out, image.metadata["wcs"]).regions
    drawn = np.array([image.world_to_data(v) for v in shapes.data[0]])  # image pixels
    np.testing.assert_allclose(
        back.vertices[np.argsort(back.vertices.sum(1))],
        drawn[np.argsort(drawn.sum(1))],
        atol=1e-6,
    )


def test_export_of_a_georeferenced_layer_is_geojson(make_napari_viewer, tmp_path):
    from fixtures.geotiffs import make_s2_tif

    viewer = make_napari_viewer()
    layers = viewer.open(make_s2_tif(tmp_path), plugin="napari-clipcap")
    image = layers[-1]
    assert export_kind(image) == "geojson"
    shapes = viewer.add_shapes(
        [np.array([[2, 2], [2, 8], [8, 8], [8, 2]], float)],
        shape_type=["rectangle"],
        features={"caption": ["a field"]},
    )
    out = export_regions(tmp_path / "out.geojson", shapes, image)
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection"
    assert doc["features"][0]["properties"]["text"] == "a field"


def test_bad_files_give_one_notification(make_napari_viewer, tmp_path, notifications):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((20, 20), np.float32), name="plain")
    reg = tmp_path / "sky.reg"
    reg.write_text(DS9)
    bar = RegionFilesBar(viewer, lambda: image, lambda: None)
    assert bar.import_file(str(reg)) == []
    assert len(notifications) == 1 and "no celestial WCS" in notifications[0]
    n = len(viewer.layers)
    assert bar.export_file(str(tmp_path / "x.reg")) is None  # no shapes layer chosen
    assert len(viewer.layers) == n and len(notifications) == 2


def test_export_works_on_sample_layers_after_a_result(
    make_napari_viewer, qtbot, tmp_path, tiny_clip_choice, notifications
):
    """A sample layer has no recompute command: export still writes every region."""
    from napari_clipcap._qt.widgets.labels.widget import LabelsWidget

    viewer = make_napari_viewer()
    (_image,) = viewer.open_sample("napari-clipcap", "overhead")
    reg = tmp_path / "objects.reg"
    reg.write_text("image\nbox(50,50,20,20,30) # text={a}\ncircle(100,80,10)\nline(1,1,9,9)\n")
    widget = LabelsWidget(viewer)
    qtbot.addWidget(widget)
    (shapes,) = widget.region_files.import_file(str(reg))
    shapes.add_lines(np.array([[5.0, 5.0], [30.0, 40.0]]))  # a line: left out, said so
    widget.auto_check.setChecked(False)
    widget.shapes_combo.set_layer(shapes)
    widget.labels_edit.setPlainText("river, village")
    widget.score_button.click()
    qtbot.waitUntil(lambda: widget.job_panel.job is not None, timeout=20000)
    qtbot.waitUntil(lambda: not widget.job_panel.busy, timeout=20000)
    assert widget.results["regions"] and not notifications
    out = widget.region_files.export_file(str(tmp_path / "out.reg"))
    assert out is not None and not notifications
    text = out.read_text()
    assert "no recompute command" in text and "left out" in text
    assert len(read_region_file(out, None).regions) == 2


def test_exclude_regions_are_imported_as_excludes_not_scored_and_exported_back(
    make_napari_viewer, tmp_path
):
    from napari_clipcap._napari.layers import shape_regions

    viewer = make_napari_viewer()
    image = _fits_layer(viewer, tmp_path)
    reg = tmp_path / "ex.reg"
    reg.write_text('fk5\ncircle(150.0,2.0,2") # text={first}\n-box(150.0,2.0,8",6",0)\n')
    bar = RegionFilesBar(viewer, lambda: image, lambda: None)
    (shapes,) = bar.import_file(str(reg))
    assert list(shapes.features["exclude"]) == [False, True]
    kept, _, _ = shape_regions(shapes, image)
    assert kept == [0]  # the exclude box is not scored
    shapes.features["label"] = ["galaxy 0.894, star 0.106", ""]
    out = export_regions(tmp_path / "back.reg", shapes, image)
    text = out.read_text()
    assert "text={first: galaxy 0.894, star 0.106}" in text
    assert any(line.startswith("-box(") for line in text.splitlines())
    assert read_region_file(out, image.metadata["wcs"]).frame == "fk5"


def _plain_with_offsets(viewer, tmp_path):
    image = viewer.add_image(np.zeros((40, 50), np.float32), name="plain")
    reg = tmp_path / "elsewhere.reg"
    reg.write_text(
        "image\nbox(10,10,6,6,0) # text={in}\ncircle(900,700,5) # text={far}\n"
        "polygon(-50,-50,-40,-50,-45,-30) # text={before}\npoint(2000,5) # text={far point}\n"
    )
    return image, reg


def test_regions_outside_the_image_are_reported_and_can_be_skipped(
    make_napari_viewer, tmp_path, monkeypatch
):
    from napari_clipcap._qt import worker as worker_mod

    viewer = make_napari_viewer()
    image, reg = _plain_with_offsets(viewer, tmp_path)
    infos: list[str] = []
    monkeypatch.setattr(worker_mod, "show_info", infos.append)
    asked: list[tuple] = []

    def answer(note, outside, total):
        asked.append((note, outside, total))
        return True

    bar = RegionFilesBar(viewer, lambda: image, lambda: None)
    monkeypatch.setattr(bar, "ask_skip_outside", answer)
    (shapes,) = bar.import_file(str(reg))  # no points layer: the only point was outside
    assert asked == [("3 regions fall outside the image", 3, 4)]
    assert list(shapes.features["text"]) == ["in"]
    assert infos == ["elsewhere.reg: 3 regions fall outside the image (skipped)"]
    # kept when the user says so, still with the note
    infos.clear()
    shapes, points = bar.import_file(str(reg), skip_outside=False)
    assert list(shapes.features["text"]) == ["in", "far", "before"]
    assert list(points.features["text"]) == ["far point"]
    assert infos == ["elsewhere.reg: 3 regions fall outside the image (placed outside it)"]


def test_the_skip_question_names_the_count(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    """The question is one plain-text message box; its default answer skips."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QMessageBox

    viewer = make_napari_viewer()
    image, reg = _plain_with_offsets(viewer, tmp_path)
    bar = RegionFilesBar(viewer, lambda: image, lambda: None)
    qtbot.addWidget(bar)
    seen: list[str] = []

    def press_default():
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox))
        seen.append(box.text())
        box.grab().save(str(tmp_path / "skip_question.png"))
        box.defaultButton().click()

    QTimer.singleShot(300, press_default)
    (shapes,) = bar.import_file(str(reg))
    assert seen == ["3 regions fall outside the image: the file may be meant for another image."]
    assert len(shapes.data) == 1
