"""The one function that reads image files: :func:`open_image`.

Every caller reads pixels through it: :func:`~napari_clipcap.core.io.images.read_image`
(the command line), :func:`~napari_clipcap.core.io.sources.load_unit` (collections,
batch, training), the napari FITS reader and the search widget's hit opener. It picks
the format (FITS by name or signature, GeoTIFF, plain TIFF, anything Pillow reads),
keeps to the pixel budget of :mod:`~napari_clipcap.core.io.budget`, and turns whatever
a format library raises into one :class:`~napari_clipcap.core.errors.FileFormatError`
line that names the file.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ClipcapError, FileFormatError, InvalidInputError
from .budget import ENV_VAR, over_budget, pixel_budget, reduction_step

__all__ = ["ImageSource", "Pixels", "open_image", "plane_array"]


@dataclass
class Pixels:
    """One image of a file, unscaled: a FITS HDU, a TIFF page series, a picture.

    Attributes
    ----------
    data : ndarray or dask array
        Raw values; FITS data may be lazy (dask) and hold more than two axes.
    kind : str
        ``"fits"``, ``"geotiff"``, ``"tiff"`` or ``"raster"``.
    name, index : str and int, or None
        FITS HDU name and position.
    header, wcs, axis_labels
        FITS header, its WCS (or None) and one label per array axis.
    reduced_by : int
        Every ``reduced_by``-th row and column of the file's image (1: full size).
    """

    data: Any
    kind: str
    name: str | None = None
    index: int | None = None
    header: Any = None
    wcs: Any = None
    axis_labels: tuple[str, ...] = ()
    reduced_by: int = 1

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.data.shape)


class ImageSource(list):
    """The images of one file (a list of :class:`Pixels`) and what was left out."""

    def __init__(self, path: Path, kind: str, images=(), skipped=(), problems=()):
        super().__init__(images)
        self.path, self.kind = path, kind
        self.skipped, self.problems = list(skipped), list(problems)

    def pick(self, hdu: int | str | None = None) -> Pixels:
        """The image ``hdu`` (FITS index or name), or the first one."""
        if not self:
            why = "; ".join(self.skipped + self.problems) or "nothing readable"
            raise FileFormatError(f"{self.path}: no image HDU ({why})")
        if hdu is None:
            return self[0]
        if self.kind != "fits":
            if str(hdu) in ("0", "PRIMARY"):
                return self[0]
            raise InvalidInputError(
                f"{self.path}: HDU {hdu!r} asked for, but this is a {self.kind} image, "
                "which holds one image and no HDUs (only FITS files have them)"
            )
        match = [im for im in self if str(hdu).upper() in (str(im.name).upper(), str(im.index))]
        if not match:
            names = ", ".join(f"{im.index}:{im.name}" for im in self)
            raise InvalidInputError(f"{self.path}: no image HDU {hdu!r}; images: {names}")
        return match[0]


def open_image(
    path: str | Path,
    *,
    reduce: bool = False,
    max_side: int | None = None,
    max_pixels: int | None = None,
    lazy: bool | None = None,
    windows: bool = False,
) -> ImageSource:
    """Read the images of a file, within the pixel budget.

    Parameters
    ----------
    path : str or Path
        FITS (any name with a FITS suffix or signature), GeoTIFF / COG, TIFF, or any
        format Pillow reads (PNG, JPEG, ...).
    reduce : bool
        Read an image above the budget reduced (a stride, an overview, JPEG draft
        decoding) where the format allows it, instead of refusing it.
    max_side : int, optional
        GeoTIFF scenes: read the coarsest overview with at least this many pixels across.
    max_pixels : int, optional
        The pixel budget (default :func:`~napari_clipcap.core.io.budget.pixel_budget`).
    lazy : bool, optional
        FITS: force dask arrays or in-memory ones (default: by size).
    windows : bool
        A plain uncompressed grey TIFF is given as a
        :class:`~napari_clipcap.core.io.filerows.FileRows` that reads only the rows
        sliced out of it (for tasks that read windows), not decoded whole; so is an
        uncompressed FITS HDU (:class:`~napari_clipcap.core.io.fits.data.ScaledRows`).

    Returns
    -------
    ImageSource
        FITS files give one :class:`Pixels` per image HDU (lazy when large); other files
        one in-memory image.

    Raises
    ------
    FileFormatError
        Missing, unreadable or broken file, or an image above the budget that cannot
        be read reduced; one line naming the file.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise FileFormatError(f"{p}: is a folder; give an image file (FITS, PNG, JPEG, TIFF)")
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file")
    budget = pixel_budget(max_pixels)
    try:
        return _open(p, reduce, max_side, budget, lazy, windows)
    except ClipcapError:
        raise
    except MemoryError:
        raise FileFormatError(f"{p}: the image does not fit in memory") from None
    except Exception as exc:  # any format library's own error types
        text = " ".join(str(exc).split())
        raise FileFormatError(f"{p}: cannot read image ({type(exc).__name__}: {text})") from exc


def plane_array(
    image: Pixels,
    *,
    reduce: bool = False,
    max_pixels: int | None = None,
    path: str | Path | None = None,
    windows: bool = False,
) -> Pixels:
    """``image`` with its data in memory, strided to the pixel budget when ``reduce``.

    Only the last two axes count towards the budget (a FITS cube's planes); a lazy
    image above it is read with a stride, so only every ``k``-th row is touched.
    ``path`` names the file in messages; ``windows``: a plane read as rows where sliced
    (``open_image(windows=True)``) stays so when it needs no stride.
    """
    budget = pixel_budget(max_pixels)
    where = " ".join(str(v) for v in (path, image.name and f"[{image.name}]") if v) or "image"
    shape = image.shape
    h, w = (shape[-2], shape[-1]) if image.kind == "fits" else (shape[0], shape[1])
    data, k = image.data, 1
    if h * w > budget:
        if not reduce:
            raise FileFormatError(over_budget(where, h, w, budget, "read it reduced"))
        k = reduction_step(h, w, budget)
        data = data[..., ::k, ::k] if image.kind == "fits" else data[::k, ::k]
    try:
        if not (windows and k == 1 and hasattr(data, "rows")):
            data = in_memory(data)
    except ClipcapError:
        raise
    except Exception as exc:  # a lazy read failing late (corrupt tiles, vanished file)
        raise FileFormatError(f"{where}: cannot read the data ({exc})") from exc
    return replace(image, data=data, reduced_by=image.reduced_by * k)


def in_memory(data: Any) -> np.ndarray:
    """``data`` as a NumPy array; a dask array is stored into one output a chunk at a
    time (``compute`` would hold every chunk and their concatenation, twice the image)."""
    if not hasattr(data, "compute"):
        return np.asarray(data)
    import dask
    import dask.array as da

    out = np.empty(data.shape, dtype=data.dtype)
    with dask.config.set(scheduler="synchronous"):  # one chunk in flight
        da.store(data, out, lock=False)
    return out


def _open(p: Path, reduce: bool, max_side, budget: int, lazy, windows: bool) -> ImageSource:
    from .fits.reader import has_fits_suffix, is_fits

    if has_fits_suffix(p) or is_fits(p):
        return _open_fits(p, budget, lazy, windows)
    if p.suffix.lower() in (".tif", ".tiff"):
        from .geotiff import is_geospatial_tiff

        if is_geospatial_tiff(p):  # georeferenced or multispectral: band composite
            from .geoimage import scene_image

            arr, k = scene_image(
                p, max_side=max_side, max_pixels=budget, reduce=reduce, factor=True
            )
            return ImageSource(p, "geotiff", [Pixels(arr, "geotiff", reduced_by=k)])
        return ImageSource(p, "tiff", [Pixels(_read_tiff(p, budget, windows), "tiff")])
    arr, k = _read_pillow(p, budget, reduce)
    return ImageSource(p, "raster", [Pixels(arr, "raster", reduced_by=k)])


def _open_fits(p: Path, budget: int, lazy, windows: bool = False) -> ImageSource:
    from .fits.reader import read_fits

    images = read_fits(p, lazy=lazy, max_pixels=budget, windows=windows)
    units = [
        Pixels(im.data, "fits", im.name, im.index, im.header, im.wcs, im.axis_labels)
        for im in images
    ]
    return ImageSource(p, "fits", units, images.skipped, images.problems)


def _tiff_plane(p: Path, shape: tuple[int, ...], axes: str, budget: int) -> int:
    """How many trailing axes of a TIFF series make its one image (2, or 3 with colour).

    The whole declared array is budgeted (every page and band it would decode), and a
    stack of pages that is not one image is refused with a message rather than read as
    some other image (a 48-page stack is not a 48 x 4000 picture).

    Raises
    ------
    FileFormatError
        Above the budget, or a stack of several pages.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) == 3 and shape[0] in (3, 4) and shape[2] not in (3, 4):
        ndim, (h, w), bands = 3, shape[1:], 1  # planar RGB(A)
    elif len(shape) >= 3 and axes.endswith("S"):
        ndim, (h, w), bands = 3, shape[-3:-1], (1 if shape[-1] <= 4 else shape[-1])
    else:
        ndim, (h, w), bands = 2, shape[-2:], 1
    pages = math.prod(shape[:-ndim])
    total = pages * bands * h * w
    if total > budget and pages * bands == 1:
        raise FileFormatError(over_budget(p, h, w, budget, "cut it into tiles"))
    if total > budget:
        raise FileFormatError(
            f"{p}: TIFF declaring {pages * bands} planes of {w} x {h} (axes {axes}) = "
            f"{total:,} pixels is above the pixel budget of {budget:,} and is not read "
            f"(raise the budget with {ENV_VAR}=N)"
        )
    if pages > 1:
        raise FileFormatError(
            f"{p}: a TIFF stack of {pages} pages of {w} x {h} (axes {axes}); one image "
            "per file is read: save the page you want as its own file (or the stack as "
            "FITS, whose HDUs are read one at a time)"
        )
    return ndim


def _read_tiff(p: Path, budget: int, windows: bool = False) -> Any:
    import tifffile

    try:
        with tifffile.TiffFile(p) as tif:
            series = tif.series[0]
            ndim = _tiff_plane(p, series.shape, series.axes, budget)
            if windows and (rows := _tiff_rows(p, tif, series, ndim)) is not None:
                return rows
            arr = series.asarray()
    except ClipcapError:
        raise
    except Exception as exc:  # tifffile raises many kinds
        raise FileFormatError(f"{p}: cannot read TIFF: {exc}") from exc
    arr = arr.reshape(arr.shape[arr.ndim - ndim :]) if arr.ndim > ndim else arr  # 1-page axes
    if arr.ndim < 2 or 0 in arr.shape:  # tifffile reads some broken files as empty arrays
        raise FileFormatError(f"{p}: holds no image")
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar RGB
    elif arr.ndim == 3 and arr.shape[2] > 4:
        arr = arr[..., :3]
    return arr


def _tiff_rows(p: Path, tif: Any, series: Any, ndim: int) -> Any:
    """The plane of a grey TIFF stored uncompressed in one run of bytes, as rows read
    where sliced (:class:`~.filerows.FileRows`); None for any other layout."""
    from .filerows import FileRows

    shape = tuple(int(n) for n in series.shape)
    shape = shape[len(shape) - ndim :]
    dtype = np.dtype(series.dtype)
    offset = series.dataoffset
    if ndim != 2 or offset is None or dtype.kind not in "uif" or 0 in shape:
        return None
    rows = FileRows(p, dtype.newbyteorder(tif.byteorder), offset, shape)
    if offset + rows.nbytes > p.stat().st_size:
        return None  # truncated: the whole read says so
    return rows


def _read_pillow(p: Path, budget: int, reduce: bool) -> tuple[np.ndarray, int]:
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the budget rules
        try:
            im = Image.open(p)
        except Image.DecompressionBombError as exc:
            raise FileFormatError(
                f"{p}: above Pillow's decompression-bomb limit and the pixel budget "
                f"of {budget:,} pixels; not read ({exc})"
            ) from None
        except (UnidentifiedImageError, OSError) as exc:
            raise FileFormatError(f"{p}: not an image Pillow can read ({exc})") from exc
        with im:
            w, h = im.size
            k = 1
            if w * h > budget and reduce and im.format == "JPEG":
                scale = next(
                    (s for s in (2, 4, 8) if math.ceil(w / s) * math.ceil(h / s) <= budget), 8
                )
                im.draft(im.mode, (math.ceil(w / scale), math.ceil(h / scale)))  # 1/2 .. 1/8
                k = max(1, round(w / im.size[0]))
            if im.size[0] * im.size[1] > budget:
                raise FileFormatError(over_budget(p, h, w, budget))
            try:
                im.load()
                if im.mode in ("I;16", "I;16B", "I", "F", "L"):
                    return np.asarray(im), k
                return np.asarray(im.convert("RGB")), k
            except OSError as exc:
                raise FileFormatError(f"{p}: not an image Pillow can read ({exc})") from exc
