"""Sky images open north up as in DS9, with a compass; a toggle; data coordinates kept."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from fixtures.fits_files import sky_header, sky_image
from napari_clipcap._napari.layers import shape_regions
from napari_clipcap._qt.orientation import compass_name, set_north_up
from napari_clipcap._qt.widgets.caption.widget import CaptionWidget


def _open(viewer, tmp_path, header=None):
    path = tmp_path / "sky.fits"
    fits.PrimaryHDU(sky_image(64, 48).astype(">f4"), header or sky_header(64, 48)).writeto(path)
    (layer,) = viewer.open(path, plugin="napari-clipcap")
    return layer


def test_sky_images_open_north_up_and_plain_images_do_not(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    layer = _open(viewer, tmp_path)
    assert layer.metadata["north_up"]
    # row 0 is drawn at the bottom: its world row is the largest
    np.testing.assert_allclose(layer.data_to_world((0, 0)), (63, 0))
    np.testing.assert_allclose(layer.data_to_world((63, 47)), (0, 47))
    plain = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.zeros((8, 8), ">f4")).writeto(plain)
    (flat,) = viewer.open(plain, plugin="napari-clipcap")
    assert "north_up" not in flat.metadata and tuple(flat.scale) == (1, 1)


def test_opt_out_with_the_environment(make_napari_viewer, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_CLIPCAP_NORTH_UP", "0")
    layer = _open(make_napari_viewer(), tmp_path)
    assert tuple(layer.scale) == (1, 1) and "north_up" not in layer.metadata


def test_compass_points_north_up_and_east_left(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    layer = _open(viewer, tmp_path)  # a standard WCS: RA grows to the left
    set_north_up(viewer, layer, True)
    compass = viewer.layers[compass_name(layer)]
    north, east = (np.diff(np.asarray(v), axis=0)[0] for v in compass.data)
    assert north[0] < 0 and abs(north[1]) < 1e-6 * abs(north[0]) + 1e-9  # up on screen
    assert east[1] < 0 and abs(east[0]) < 1e-6 * abs(east[1]) + 1e-9  # left on screen
    assert list(compass.features["direction"]) == ["N", "E"]
    set_north_up(viewer, layer, False)  # napari's way: north now points down
    north = np.diff(np.asarray(viewer.layers[compass_name(layer)].data[0]), axis=0)[0]
    assert north[0] > 0 and tuple(layer.scale) == (1, 1)


def test_shapes_over_a_north_up_image_keep_their_pixels(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    layer = _open(viewer, tmp_path)
    # a rectangle drawn on screen over the bottom-left corner covers data rows 0..9
    rect = np.array([[63.5, -0.5], [63.5, 9.5], [53.5, 9.5], [53.5, -0.5]])
    shapes = viewer.add_shapes([rect], shape_type="rectangle")
    kept, boxes, _ = shape_regions(shapes, layer)
    assert kept == [0] and boxes == [(0, 0, 10, 10)]


def test_caption_dock_toggle(make_napari_viewer, qtbot, tmp_path, tiny_clip_choice):
    viewer = make_napari_viewer()
    layer = _open(viewer, tmp_path)
    dock = CaptionWidget(viewer)
    qtbot.addWidget(dock)
    dock.image_combo.set_layer(layer)
    check = dock.north_up_check
    assert check.isEnabled() and check.isChecked()
    check.setChecked(False)
    assert not layer.metadata["north_up"] and tuple(layer.scale) == (1, 1)
    check.setChecked(True)
    assert tuple(layer.scale) == (-1, 1)
    plain = viewer.add_image(np.zeros((8, 8)), name="plain")
    dock.image_combo.set_layer(plain)
    assert not check.isEnabled()


def test_first_view_draws_the_compass_when_the_sky_is_shown(make_napari_viewer):
    from napari_clipcap.cli.view import populate

    viewer = populate(make_napari_viewer(), [], ["overhead", "sky"])
    sky = next(ly for ly in viewer.layers if ly.metadata.get("north_up"))
    assert not sky.visible and compass_name(sky) not in viewer.layers
    sky.visible = True
    assert viewer.layers[compass_name(sky)].visible
    sky.visible = False
    assert not viewer.layers[compass_name(sky)].visible


def test_compass_on_file_open_and_viewer_open(make_napari_viewer, tmp_path):
    """A north-up FITS opened after start-up (File > Open reads it through the manifest,
    as viewer.open(..., plugin=...) does) gets its N/E arrows at once, no toggle needed."""
    viewer = make_napari_viewer(show=True)
    layer = _open(viewer, tmp_path)
    assert layer.metadata.get("north_up") and compass_name(layer) in viewer.layers
    other = tmp_path / "other.fits"
    other.write_bytes((tmp_path / "sky.fits").read_bytes())
    viewer.open(other, plugin="napari-clipcap")  # what File > Open reaches for a .fits
    (opened,) = [
        ly
        for ly in viewer.layers
        if ly.name.startswith("other") and ly.ndim == 2 and ly._type_string == "image"
    ]
    compass = viewer.layers[compass_name(opened)]
    assert compass.visible and len(compass.data) == 2
    viewer.screenshot(str(tmp_path / "compass.png"), canvas_only=False)
