"""Tasks read only the windows they need (issue 21 item 15): no whole-image float32
copy of a large image, held by tracemalloc peaks and a spy on the row reader."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from napari_clipcap.core.io.filerows import FileRows
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.tasks.crops import cut_regions

SIDE = 1500  # uint16: 4.5 MB raw; its float32 H x W x 3 model input would be 27 MB


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    import tifffile

    path = tmp_path_factory.mktemp("win") / "scene.tif"
    rng = np.random.default_rng(0)
    tifffile.imwrite(path, rng.integers(0, 4000, (SIDE, SIDE), dtype=np.uint16))
    return path


def _peak_mb(fn) -> tuple[float, object]:
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1] / 2**20, out
    finally:
        tracemalloc.stop()


def test_a_region_of_a_plain_tiff_reads_only_its_rows(scene, monkeypatch):
    read: list[tuple[int, int]] = []
    original = FileRows.rows

    def spy(self, start, stop):
        read.append((start, stop))
        return original(self, start, stop)

    monkeypatch.setattr(FileRows, "rows", spy)
    img = read_image(scene, lazy=True)
    assert isinstance(img.data.plane, FileRows)  # not decoded whole
    peak, cut = _peak_mb(lambda: cut_regions(img.data, [(100, 200, 300, 400)]))
    assert cut.parts[0].shape == (200, 200, 3)
    assert read and all(start >= 200 and start < 400 for start, _ in read)
    assert peak < 12  # one band (<= 32 MB of rows; here 1500 rows x 3 kB) + the crop
    whole = read_image(scene).data  # the eager path gives the same pixels
    np.testing.assert_array_equal(cut.parts[0], whole[200:400, 100:300])


def test_the_whole_image_is_read_reduced_not_scaled_whole(scene, monkeypatch):
    from napari_clipcap.core.coords import regions

    monkeypatch.setattr(regions, "LARGE_CROP_PIXELS", 256 * 256)
    monkeypatch.setattr(regions, "REDUCED_SHORT_SIDE", 256)
    img = read_image(scene, lazy=True)
    peak, cut = _peak_mb(lambda: cut_regions(img.data, None))
    assert cut.parts[0].shape[0] < SIDE  # block-averaged while read
    assert peak < 15, f"{peak:.1f} MB: a whole-image float32 copy is 27 MB"


def test_a_fits_image_is_read_into_its_array_without_a_second_copy(tmp_path, monkeypatch):
    from astropy.io import fits

    sky = np.random.default_rng(1).normal(100, 5, (SIDE, SIDE)).astype(np.float32)
    fits.PrimaryHDU(sky).writeto(tmp_path / "sky.fits")  # big-endian on disk

    def no_map(*args, **kwargs):  # a map's pages stay resident beside the copy
        raise AssertionError("FITS data read through a memory map")

    monkeypatch.setattr(np, "memmap", no_map)
    peak, img = _peak_mb(lambda: read_image(tmp_path / "sky.fits", lazy=True))
    np.testing.assert_array_equal(img.data.plane, sky)
    # the native plane (8.6 MB), its valid mask (2.1 MB), zscale's sampling and one
    # 2 MB band; a whole swapped copy beside the plane would add 8.6 MB more
    assert peak < 2 * 8.6 + 2.1


def test_file_rows_slices_like_the_array(tmp_path):
    arr = np.arange(40 * 30, dtype=">u2").reshape(40, 30)
    path = tmp_path / "raw.bin"
    path.write_bytes(b"x" * 16 + arr.tobytes())
    rows = FileRows(path, arr.dtype, 16, arr.shape)
    for key in (np.s_[3:9, 2:5], np.s_[::3, ::2], np.s_[7], np.s_[..., 4], np.s_[35:99]):
        np.testing.assert_array_equal(rows[key], arr[key])
    np.testing.assert_array_equal(np.asarray(rows), arr)
    path.write_bytes(b"x" * 16)  # truncated under it
    with pytest.raises(OSError):
        FileRows(path, arr.dtype, 16, arr.shape).rows(0, 2)


def test_ask_reads_a_large_window_a_band_of_blocks_at_a_time(scene, monkeypatch):
    """The VLM's view of a window of a lazy input equals the eager one (same blocks
    averaged, NaN where there is no data), without the window whole in float32."""
    from napari_clipcap.core.tasks.ask import regions as ask_regions
    from napari_clipcap.core.tasks.ask.regions import _shown, _shown_window

    monkeypatch.setattr(ask_regions, "MAX_SIDE", 500)  # the VLM sees at most 500 px
    lazy = read_image(scene, lazy=True).data
    valid = np.ones((SIDE, SIDE), dtype=bool)
    valid[:40, :70] = False
    box = (10, 5, 1490, 1400)
    peak, shown = _peak_mb(lambda: _shown_window(lazy, valid, box))
    whole = read_image(scene).data[5:1400, 10:1490]
    eager = _shown(np.where(valid[5:1400, 10:1490][..., None], whole, np.nan))
    np.testing.assert_allclose(shown, eager, rtol=1e-6, equal_nan=True)
    assert shown.shape == eager.shape and np.isnan(shown[0, 0]).all()
    assert peak < 12, f"{peak:.1f} MB: the window whole in float32 is 23 MB"
