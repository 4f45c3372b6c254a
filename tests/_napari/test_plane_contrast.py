"""FITS cubes in a real viewer: the slider covers the whole cube and the contrast limits
suit the plane on screen (DS9's zscale of the current plane), until the user sets some."""

from __future__ import annotations

import npe2
import numpy as np
import pytest
from astropy.io import fits

from napari_clipcap._napari.plane_contrast import plane_limits


@pytest.fixture(scope="module", autouse=True)
def _plugins():
    npe2.PluginManager.instance().discover()


def _arange_cube(tmp_path):
    """Like astropy's arange.fits: 7 planes of 10 x 11, plane k holds 110k .. 110k+109."""
    path = tmp_path / "arange.fits"
    fits.PrimaryHDU(np.arange(7 * 10 * 11, dtype=np.int16).reshape(7, 10, 11)).writeto(path)
    return path


def test_cube_slider_covers_the_cube_and_limits_follow_the_plane(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(_arange_cube(tmp_path), plugin="napari-clipcap")
    assert tuple(layer.contrast_limits_range) == (0.0, 769.0)
    for plane in (0, 6, 2):
        viewer.dims.set_current_step(0, plane)
        lo, hi = layer.contrast_limits
        assert 110 * plane <= lo < hi <= 110 * plane + 109, (plane, lo, hi)
    viewer.dims.set_current_step(0, 0)
    assert tuple(layer.contrast_limits) == plane_limits(np.asarray(layer.data[0]))


def test_user_limits_are_kept_until_zscale_is_asked_for(make_napari_viewer, tmp_path):
    from napari._app_model import get_app_model

    viewer = make_napari_viewer()
    (layer,) = viewer.open(_arange_cube(tmp_path), plugin="napari-clipcap")
    layer.contrast_limits = (5.0, 700.0)
    viewer.dims.set_current_step(0, 4)
    assert tuple(layer.contrast_limits) == (5.0, 700.0)
    get_app_model().commands.execute_command("napari-clipcap.zscale_plane").result()
    assert 440 <= layer.contrast_limits[0] < layer.contrast_limits[1] <= 549
    viewer.dims.set_current_step(0, 1)  # following again
    assert 110 <= layer.contrast_limits[0] < layer.contrast_limits[1] <= 219
