"""``napari-clipcap view`` opens the samples, the files with the right reader, and docks
every widget."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from PIL import Image

from napari_clipcap.cli.view import _WIDGETS, populate, sample_keys


def test_samples_and_all_widgets(make_napari_viewer):
    assert set(sample_keys()) >= {"sky", "overhead", "sentinel2"}
    viewer = populate(make_napari_viewer(), [], ["sky", "overhead"])
    images = [layer for layer in viewer.layers if layer._type_string == "image"]
    assert len(images) == 2
    # the sky sample is shown first here: its compass is the only other layer
    assert [layer.name for layer in viewer.layers if layer not in images] == ["M13 (DSS) compass"]
    docked = set(viewer.window.dock_widgets)
    for name in _WIDGETS:
        assert any(name in key for key in docked), (name, docked)


def test_files_open_with_the_right_reader(make_napari_viewer, tmp_path):
    png = tmp_path / "scene.png"
    Image.fromarray(np.zeros((8, 9, 3), np.uint8)).save(png)
    sky = tmp_path / "sky.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((6, 7), ">f4"), name="SCI")]).writeto(
        sky
    )
    viewer = populate(make_napari_viewer(), [str(png), str(sky)])
    names = [layer.name for layer in viewer.layers]
    assert len(names) == 2 and any("SCI" in n for n in names), names


def test_first_view_caption_in_front_one_sample_shown_window_fits_screen(make_napari_viewer):
    from qtpy.QtWidgets import QApplication

    from napari_clipcap._qt.first_view import MIN_SIZE, dock_titles, dock_wrappers, window_size
    from napari_clipcap.cli.view import DEFAULT_SAMPLES

    viewer = populate(make_napari_viewer(), [])
    QApplication.processEvents()
    # the default samples, only the first shown and selected, and no band slider
    assert len(viewer.layers) == len(DEFAULT_SAMPLES)
    shown = [layer.name for layer in viewer.layers if layer.visible]
    assert shown == [viewer.layers.selection.active.name] and len(shown) == 1
    assert viewer.dims.ndim == 2
    # Caption is the dock in front of its tab group, with full tab titles
    qt_window = viewer.window._qt_window
    caption = next(d for k, d in dock_wrappers(viewer).items() if k.startswith("Caption"))
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QTabBar

    bars = [b for b in qt_window.findChildren(QTabBar) if b.count() > 1]
    assert len(bars) == 1 and bars[0].tabText(bars[0].currentIndex()).startswith("Caption")
    assert caption.isVisible() or not qt_window.isVisible()
    titles = dock_titles(viewer)
    assert {"Caption", "Labels", "Bands"} <= {t.split(" (")[0] for t in titles}
    # every tab whole, none under the scroll buttons (the last one read "Band c")
    from napari_clipcap._qt.first_view import DOCK_WIDTH

    (bar,) = bars
    assert sum(bar.tabRect(i).width() for i in range(bar.count())) <= DOCK_WIDTH

    assert all(
        bar.elideMode() == Qt.TextElideMode.ElideNone for bar in qt_window.findChildren(QTabBar)
    )
    # the window uses the screen: at least 1600 x 1000 where the screen allows
    area = qt_window.screen().availableGeometry()
    expected = window_size((area.width(), area.height()))
    assert (qt_window.width(), qt_window.height()) == expected
    assert expected[0] >= min(MIN_SIZE[0], area.width())
    assert expected[1] >= min(MIN_SIZE[1], area.height())
    # a first-steps hint in the Caption dock
    assert "Caption" in caption.widget().first_steps.text()


def test_window_size_uses_the_screen():
    from napari_clipcap._qt.first_view import window_size

    assert window_size((2560, 1440)) == (2304, 1296)
    assert window_size((1920, 1080)) == (1728, 1000)
    assert window_size((1280, 1024)) == (1280, 1000)
    assert window_size((1024, 768)) == (1024, 768)
