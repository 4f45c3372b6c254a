"""RA/Dec of the pixel under the cursor in napari's status bar, and reader errors in the GUI."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.wcs import WCS

from fixtures.fits_files import sky_header, write_broken, write_cube, write_hst_like
from napari_clipcap._napari.status import add_world_status, install_world_status
from napari_clipcap.core.coords.worldcoords import format_world

#: RA/Dec of pixel (32, 32) of sky_header(64, 64): half a pixel off its reference point.
PIXEL = "RA 09h59m59.97s Dec +02°00'00.5\""


def _world(viewer, position):
    """``position`` in data coordinates of the active (or first) layer, as world
    coordinates: sky images open north up, their rows flipped on screen."""
    layer = viewer.layers.selection.active or viewer.layers[0]
    return tuple(layer.data_to_world(position))


def _status_at(viewer, position):
    viewer.mouse_over_canvas = True
    viewer.cursor.position = _world(viewer, position)
    status, _tooltip = viewer._calc_status_from_cursor()
    return status


def test_fits_layer_opened_through_the_reader_shows_ra_dec(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    layers = viewer.open(write_hst_like(tmp_path / "hst.fits"), plugin="napari-clipcap")
    assert [layer.name for layer in layers] == ["hst [SCI]", "hst [ERR]", "hst [DQ]"]
    viewer.layers.selection.active = layers[0]
    status = _status_at(viewer, (31.6, 31.7))
    assert status["coordinates"].startswith("[32, 32]: ")  # napari's pixel and value
    assert status["coordinates"].endswith(f" | {PIXEL}")  # that pixel's centre
    assert format_world(layers[0].metadata, 32, 32) == PIXEL
    # a layer without WCS keeps napari's own text
    viewer.layers.selection.active = layers[1]
    assert "RA" not in _status_at(viewer, (32, 32))["coordinates"]


def test_status_bar_label_shows_ra_dec_through_napari_status_checker(
    make_napari_viewer, qtbot, tmp_path
):
    viewer = make_napari_viewer()
    viewer.open(write_hst_like(tmp_path / "hst.fits"), plugin="napari-clipcap")
    viewer.layers.selection.active = viewer.layers["hst [SCI]"]
    viewer.mouse_over_canvas = True
    viewer.cursor.position = _world(viewer, (32, 32))
    # make_napari_viewer stops napari's status thread; run its computation directly
    viewer.window._qt_window.status_thread.calculate_status()
    label = viewer.window._status_bar._coordinates

    def shows_radec():
        assert label.text() == f"[32, 32]: 5e+03 | {PIXEL}"

    qtbot.waitUntil(shows_radec, timeout=5000)


def test_cube_plane_and_multi_selection(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    path, _ = write_cube(tmp_path / "cube.fits", (4, 64, 64))
    (cube,) = viewer.open(path, plugin="napari-clipcap")
    viewer.dims.set_current_step(0, 2)
    text = _status_at(viewer, (2, 32, 32))["coordinates"]
    assert PIXEL in text
    # several layers selected: napari lists each layer's value after one coordinate
    other = viewer.add_image(np.zeros((4, 64, 64)), name="plain")
    viewer.layers.selection = {cube, other}
    assert _status_at(viewer, (2, 32, 32)).endswith(
        f"cube [PRIMARY]: 1.03e+04 | FREQ 1.402e+09 Hz | {PIXEL}"
    )


def test_layers_added_later_and_install_is_idempotent(make_napari_viewer):
    viewer = make_napari_viewer()
    install_world_status(viewer)
    install_world_status(viewer)
    layer = viewer.add_image(np.zeros((64, 64), np.float32), metadata={"wcs": WCS(sky_header())})
    add_world_status(layer)  # a second wrap must not repeat the text
    text = _status_at(viewer, (32, 32))["coordinates"]
    assert text.count("RA ") == 1 and PIXEL in text


def test_contrast_slider_reaches_the_bright_stars(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    (sci, *_) = viewer.open(write_hst_like(tmp_path / "hst.fits"), plugin="napari-clipcap")
    finite = sci.data[np.isfinite(sci.data)]
    lo, hi = sci.contrast_limits
    assert finite.min() <= lo < hi < 200 < finite.max()  # zscale limits around the sky level...
    assert tuple(sci.contrast_limits_range) == (finite.min(), finite.max())  # ...full slider


def test_broken_wcs_metadata_never_breaks_the_status(make_napari_viewer):
    viewer = make_napari_viewer()
    install_world_status(viewer)
    viewer.add_image(np.zeros((8, 8)), metadata={"wcs": "garbage"})
    assert "RA" not in _status_at(viewer, (3, 3))["coordinates"]


def test_broken_file_in_the_gui_is_one_notification_and_others_open(
    make_napari_viewer, tmp_path, monkeypatch
):
    import napari.utils.notifications as notes

    shown = []
    monkeypatch.setattr(notes, "show_error", shown.append)
    viewer = make_napari_viewer()
    bad = write_broken(tmp_path / "bad.fits", "truncated_data")
    assert viewer.open(bad, plugin="napari-clipcap") == []
    assert len(shown) == 1 and shown[0].startswith(str(bad)) and "truncated" in shown[0]
    good = viewer.open(write_hst_like(tmp_path / "hst.fits"), plugin="napari-clipcap")
    assert len(good) == 3


@pytest.mark.parametrize("name", ["sky", "overhead"])
def test_sample_data_opens_in_the_viewer(make_napari_viewer, name):
    viewer = make_napari_viewer()
    (layer,) = viewer.open_sample("napari-clipcap", name)
    if name == "sky":
        cy, cx = (n / 2 for n in layer.data.shape)
        assert "RA " in _status_at(viewer, (cy, cx))["coordinates"]
    else:
        assert layer.rgb and layer.data.dtype == np.uint8


def test_cube_status_shows_the_world_value_of_the_plane(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    path, _ = write_cube(tmp_path / "cube.fits", (4, 64, 64))
    viewer.open(path, plugin="napari-clipcap")
    viewer.dims.set_current_step(0, 2)
    text = _status_at(viewer, (2, 32, 32))["coordinates"]
    assert "FREQ 1.402e+09 Hz" in text and PIXEL in text  # plane 2: CRVAL3 + 2 * CDELT3
    stokes, _ = write_cube(tmp_path / "stokes.fits", (2, 3, 64, 64))
    viewer.layers.clear()
    viewer.open(stokes, plugin="napari-clipcap")
    text = _status_at(viewer, (1, 2, 32, 32))["coordinates"]
    assert "STOKES Q" in text and "FREQ 1.402e+09 Hz" in text
