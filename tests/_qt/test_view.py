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
    assert len(viewer.layers) == 2
    docked = set(viewer.window._dock_widgets)
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
