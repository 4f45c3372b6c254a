"""core.io.reading: the one reader of image files, its pixel budget and its messages."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from astropy.io import fits

from fixtures.bad_images import write_bomb_png
from fixtures.geotiffs import make_s2_tif
from napari_clipcap.core.errors import FileFormatError, InvalidInputError
from napari_clipcap.core.io import budget
from napari_clipcap.core.io.fits.reader import read_fits
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.io.reading import open_image
from napari_clipcap.core.io.sources import load_unit


@pytest.fixture
def small_budget(monkeypatch):
    """A 1,000-pixel budget (about 31 x 31), set the way users set it."""
    monkeypatch.setenv(budget.ENV_VAR, "1000")
    return 1000


def _png(path, shape=(40, 50, 3)):
    from PIL import Image

    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


def test_budget_from_env_default_and_bad_values(monkeypatch):
    monkeypatch.delenv(budget.ENV_VAR, raising=False)
    assert budget.pixel_budget() == budget.DEFAULT_MAX_PIXELS
    assert budget.pixel_budget(5) == 5
    monkeypatch.setenv(budget.ENV_VAR, "2_000")
    assert budget.pixel_budget() == 2000
    monkeypatch.setenv(budget.ENV_VAR, "lots")
    with pytest.raises(InvalidInputError, match=budget.ENV_VAR):
        budget.pixel_budget()


def test_reduction_step_fits_the_budget():
    for h, w, b in [(40, 50, 1000), (10_000, 10_001, 10**6), (7, 3, 1)]:
        k = budget.reduction_step(h, w, b)
        assert -(-h // k) * -(-w // k) <= b
        assert k == 1 or -(-h // (k - 1)) * -(-w // (k - 1)) > b


def test_decompression_bomb_png_is_a_clear_error_not_a_crash(tmp_path):
    bomb = write_bomb_png(tmp_path / "bomb.png")
    for read in (read_image, load_unit, open_image):
        with pytest.raises(FileFormatError, match="decompression-bomb limit") as err:
            read(bomb)
        assert str(bomb) in str(err.value) and "\n" not in str(err.value)


def test_png_above_the_budget_is_refused_with_the_sizes(tmp_path, small_budget):
    png = _png(tmp_path / "a.png")
    with pytest.raises(FileFormatError, match=r"50 x 40 = 2,000 pixels.*budget of 1,000"):
        read_image(png)
    with pytest.raises(FileFormatError, match=budget.ENV_VAR):
        read_image(png, reduce=True)  # a PNG cannot be decoded in part


def test_jpeg_above_the_budget_is_read_reduced_when_asked(tmp_path, small_budget):
    jpg = _png(tmp_path / "a.jpg", (64, 64, 3))
    with pytest.raises(FileFormatError, match="budget"):
        read_image(jpg)
    img = read_image(jpg, reduce=True)
    assert img.reduced_by == 4 and img.data.shape == (16, 16, 3)


def test_tiff_above_the_budget_is_refused(tmp_path, small_budget):
    import tifffile

    tifffile.imwrite(tmp_path / "a.tif", np.zeros((40, 40), np.uint16))
    with pytest.raises(FileFormatError, match="40 x 40 = 1,600 pixels"):
        read_image(tmp_path / "a.tif")


def test_tiff_stacks_are_budgeted_whole_and_refused_as_stacks(tmp_path, monkeypatch):
    """Issue 21.6: a 48-page stack is budgeted as 48 pages, never read as a 48-row image."""
    import tifffile

    monkeypatch.setenv(budget.ENV_VAR, "100000")
    bomb = tmp_path / "bomb.tif"  # 48 x 400 x 400 = 7.7 M pixels declared, tiny on disk
    tifffile.imwrite(bomb, np.zeros((48, 400, 400), np.uint8), compression="zlib")
    assert bomb.stat().st_size < 200_000
    calls = []
    monkeypatch.setattr(
        tifffile.TiffPageSeries, "asarray", lambda *a, **k: calls.append(1) / 0
    )  # never decoded
    with pytest.raises(FileFormatError, match=r"48 planes of 400 x 400.*7,680,000 pixels"):
        read_image(bomb)
    assert calls == []
    monkeypatch.undo()
    small = tmp_path / "stack.tif"  # within the budget, still a stack: refused by name
    tifffile.imwrite(small, np.zeros((5, 20, 30), np.uint16))
    with pytest.raises(FileFormatError, match=r"stack of 5 pages of 30 x 20"):
        read_image(small)
    rgb_pages = tmp_path / "rgb-pages.tif"
    tifffile.imwrite(rgb_pages, np.zeros((2, 20, 30, 3), np.uint8), photometric="rgb")
    with pytest.raises(FileFormatError, match="stack of 2 pages"):
        read_image(rgb_pages)
    for shape, kw in (((20, 30), {}), ((20, 30, 3), {"photometric": "rgb"}),
                      ((3, 20, 30), {"photometric": "rgb", "planarconfig": "separate"}),
                      ((1, 20, 30), {})):  # fmt: skip
        tifffile.imwrite(tmp_path / "one.tif", np.ones(shape, np.uint8), **kw)
        assert read_image(tmp_path / "one.tif").data.shape[:2] == (20, 30)


def test_fits_above_the_budget_refused_or_strided(tmp_path, small_budget):
    data = np.arange(64 * 48, dtype=np.float32).reshape(64, 48)
    fits.PrimaryHDU(data).writeto(tmp_path / "a.fits")
    with pytest.raises(FileFormatError, match="48 x 64 = 3,072 pixels") as err:
        read_image(tmp_path / "a.fits")
    assert str(err.value).startswith(f"{tmp_path / 'a.fits'} [PRIMARY]: image of")
    img = read_image(tmp_path / "a.fits", reduce=True)
    assert img.reduced_by == 2 and img.data.shape == (32, 24, 3)
    assert load_unit(tmp_path / "a.fits", max_side=100).shape == (32, 24, 3)
    with pytest.raises(FileFormatError, match="budget"):
        load_unit(tmp_path / "a.fits", max_side=None)  # full size asked for: refused
    (lazy,) = open_image(tmp_path / "a.fits")  # opening for display reads nothing whole
    assert lazy.shape == (64, 48)


def test_gzip_fits_above_the_budget_is_refused_before_decompressing(
    tmp_path, small_budget, monkeypatch
):
    """The small twin of a 3 MB .fits.gz that expands to gigabytes."""
    raw = tmp_path / "big.fits"
    fits.PrimaryHDU(np.zeros((64, 64), np.float32)).writeto(raw)
    gz = tmp_path / "big.fits.gz"
    gz.write_bytes(gzip.compress(raw.read_bytes()))
    touched = []
    prop = fits.PrimaryHDU.data  # astropy's lazy property: reading it decompresses
    monkeypatch.setattr(
        fits.PrimaryHDU,
        "data",
        property(lambda self: touched.append(1) or prop.__get__(self), prop.__set__),
    )
    with pytest.raises(FileFormatError, match=r"gzip/bzip2-compressed.*decompress it") as err:
        read_fits(gz)
    assert "4,096 pixels" in str(err.value) and touched == []
    with pytest.raises(FileFormatError, match="pixel budget"):
        read_image(gz, reduce=True)
    monkeypatch.setenv(budget.ENV_VAR, "5000")
    assert read_fits(gz)[0].shape == (64, 64) and touched  # the probe does see reads


def test_geotiff_above_the_budget_refused_or_strided(tmp_path, monkeypatch):
    path = make_s2_tif(tmp_path)
    full = read_image(path)
    h, w = full.data.shape[:2]
    monkeypatch.setenv(budget.ENV_VAR, str(h * w // 3))
    with pytest.raises(FileFormatError, match="budget"):
        read_image(path)
    img = read_image(path, reduce=True)
    assert img.reduced_by == 2 and img.data.shape == (-(-h // 2), -(-w // 2), 3)


def test_any_library_error_becomes_one_file_format_line(tmp_path, monkeypatch):
    from PIL import Image

    png = _png(tmp_path / "a.png")

    def explode(self, *args, **kwargs):
        raise struct_error("unpack requires a buffer of 4 bytes")

    struct_error = type("error", (Exception,), {})
    monkeypatch.setattr(Image.Image, "load", explode)
    with pytest.raises(FileFormatError, match=r"a.png: cannot read image \(error: unpack") as err:
        open_image(png)
    assert "\n" not in str(err.value)


def test_hdu_choice_and_empty_files(tmp_path):
    from fixtures.fits_files import write_hst_like, write_tables_only

    source = open_image(write_hst_like(tmp_path / "hst.fits"))
    assert [im.name for im in source] == ["SCI", "ERR", "DQ"] and source.kind == "fits"
    assert source.pick("err").index == 2 and source.pick(3).name == "DQ"
    with pytest.raises(InvalidInputError, match="no image HDU 'X'"):
        source.pick("X")
    with pytest.raises(FileFormatError, match=r"no image HDU.*EVENTS"):
        open_image(write_tables_only(tmp_path / "t.fits")).pick()


def test_gzip_fits_is_refused_from_its_primary_header_alone(tmp_path, small_budget, monkeypatch):
    """No scan of the whole stream: only the primary header is read."""
    raw = tmp_path / "big.fits"
    fits.PrimaryHDU(np.zeros((64, 64), np.float32)).writeto(raw)
    gz = tmp_path / "big.fits.gz"
    gz.write_bytes(gzip.compress(raw.read_bytes()))

    def no_open(*args, **kwargs):
        raise AssertionError("fits.open scans the stream")

    monkeypatch.setattr(fits, "open", no_open)
    with pytest.raises(FileFormatError, match=r"4,096 pixels.*decompress it"):
        read_fits(gz)
