"""The search widget opens hits with the package's one image reader (no reader of its own)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixtures.bad_images import write_bomb_png
from napari_clipcap._qt.widgets.search.widget import hit_layer_data
from napari_clipcap.core.errors import FileFormatError
from napari_clipcap.core.io import reading


def test_hits_are_read_by_open_image(tmp_path, monkeypatch):
    import tifffile
    from astropy.io import fits

    seen = []
    real = reading.open_image
    monkeypatch.setattr(reading, "open_image", lambda p, **k: seen.append(Path(p).name) or real(p))
    planar = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    tifffile.imwrite(tmp_path / "p.tif", planar, photometric="rgb", planarconfig="separate")
    data, kwargs = hit_layer_data(str(tmp_path / "p.tif"), None)
    assert data.shape == (4, 5, 3) and kwargs["rgb"]  # planar RGB shown as RGB
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((4, 4), np.float32))]).writeto(
        tmp_path / "s.fits"
    )
    data, kwargs = hit_layer_data(str(tmp_path / "s.fits"), 1)
    assert data.shape == (4, 4) and kwargs["metadata"]["fits_hdu"] == 1
    assert seen == ["p.tif", "s.fits"]


def test_a_bomb_hit_is_one_clear_error(tmp_path):
    bomb = write_bomb_png(tmp_path / "bomb.png")
    with pytest.raises(FileFormatError, match="decompression-bomb"):
        hit_layer_data(str(bomb), None)
