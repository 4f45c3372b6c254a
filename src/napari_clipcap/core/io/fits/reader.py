"""FITS files -> image arrays, headers and WCS, robust to the files found in the wild.

:func:`read_fits` returns one :class:`FitsImage` per image HDU that holds data. Tables,
empty HDUs and 1D spectra are listed in :attr:`FitsFile.skipped`, not returned.
``BSCALE``/``BZERO``/``BLANK`` are applied, data come back in native byte order, and
NaN/inf are kept. Uncompressed files are memory-mapped and, above
:data:`LAZY_BYTES`, wrapped in a dask array with one chunk per plane, so showing the
first plane of a 4 GB cube reads only that plane. Broken files raise one
:class:`~napari_clipcap.core.errors.FileFormatError` that names the file and the
problem.
"""

from __future__ import annotations

import bz2
import gzip
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FileFormatError
from .._fitshdu import axis_labels as _axis_labels
from .._fitshdu import hdu_label as _hdu_label
from .._fitshdu import safe_label as _safe_label
from .._fitshdu import table_or_empty as _table_or_empty
from .._fitshdu import wcs_of as _wcs
from ..budget import pixel_budget
from .data import image_array, lazy_threshold
from .header import describe_error as _describe
from .header import first_header_problem, lenient_header, primary_over_budget

__all__ = [
    "FITS_SUFFIXES",
    "LAZY_BYTES",
    "FitsFile",
    "FitsImage",
    "FitsWarning",
    "has_fits_suffix",
    "is_fits",
    "read_fits",
]

#: File name endings claimed as FITS (matched case-insensitively).
FITS_SUFFIXES: tuple[str, ...] = tuple(
    base + comp
    for base in (".fits", ".fit", ".fts", ".fz", ".fits.fz", ".fit.fz")
    for comp in ("", ".gz", ".bz2")
)
#: Images whose raw data exceed this many bytes are returned as dask arrays.
LAZY_BYTES = lazy_threshold()
_SIGNATURE = b"SIMPLE  ="


class FitsWarning(UserWarning):
    """Some HDUs of a FITS file could not be read; the others were."""


@dataclass
class FitsImage:
    """One image HDU: data, where it came from, header, WCS and axis names.

    Attributes
    ----------
    data : ndarray or dask array
        The scaled image in native byte order; dask (one chunk per plane) when large.
    name : str
        ``EXTNAME`` (with ``EXTVER`` when above 1), ``PRIMARY``, or ``HDU<n>``.
    index : int
        Position of the HDU in the file (0 is the primary HDU).
    header : astropy.io.fits.Header
        The image header (for tile-compressed HDUs, the uncompressed image's header).
    wcs : astropy.wcs.WCS or None
        The header's WCS when it parses and says something beyond pixel numbers.
    axis_labels : tuple of str
        One label per array axis, in NumPy order, from ``CTYPEn`` (``RA``, ``FREQ``).
    """

    data: Any
    name: str
    index: int
    header: Any
    wcs: Any
    axis_labels: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def lazy(self) -> bool:
        """Whether :attr:`data` is a dask array read on demand."""
        return not isinstance(self.data, np.ndarray)


class FitsFile(list):
    """The images of a FITS file (a list of :class:`FitsImage`) and what was left out.

    Attributes
    ----------
    path : pathlib.Path
    skipped : list of str
        HDUs that hold no image (empty primary, tables, 1D data), one line each.
    problems : list of str
        HDUs that could not be read (truncated data, bad compression), one line each.
    """

    def __init__(self, path: Path, images=(), skipped=(), problems=()):
        super().__init__(images)
        self.path = path
        self.skipped = list(skipped)
        self.problems = list(problems)


def has_fits_suffix(path: str | Path) -> bool:
    """Whether the file name ends like a FITS file (``.fits``, ``.fz``, ``.fits.gz``...)."""
    return str(path).lower().endswith(FITS_SUFFIXES)


def _open_stream(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(3)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if magic == b"BZh":
        return bz2.open(path, "rb")
    return None


def is_fits(path: str | Path) -> bool:
    """Whether the file starts with the FITS signature, ``SIMPLE  =`` then ``T``.

    Reads 80 bytes (decompressed for gzip and bzip2 files); never raises.
    """
    try:
        path = Path(path)
        if not path.is_file():
            return False
        stream = _open_stream(path)
        if stream is None:
            stream = open(path, "rb")
        with stream:
            card = stream.read(80)
    except (OSError, EOFError, ValueError):
        return False
    return card.startswith(_SIGNATURE) and card[9:30].strip() == b"T"


def read_fits(
    path: str | Path,
    *,
    lazy: bool | None = None,
    max_pixels: int | None = None,
    windows: bool = False,
) -> FitsFile:
    """Read every image HDU of a FITS file.

    Parameters
    ----------
    path : str or Path
        The file; any name (``.fits``, ``.fz``, ``.gz``, none) as long as it is FITS.
    lazy : bool, optional
        Force dask arrays (``True``) or in-memory arrays (``False``); by default, data
        larger than :data:`LAZY_BYTES` are lazy. Gzip/bzip2 files are always read whole.
    max_pixels : int, optional
        Pixel budget (default :func:`~napari_clipcap.core.io.budget.pixel_budget`) for
        data read into memory whole: a gzip/bzip2 HDU above it is refused, not read.
    windows : bool
        Uncompressed HDUs are given as :class:`~.data.ScaledRows`, read and scaled only
        where sliced (for tasks that cut windows out of one plane).

    Returns
    -------
    FitsFile
        A list of :class:`FitsImage`; empty when the file holds no image (only a header,
        only tables). HDUs that fail to read are listed in ``problems`` and warned
        about with :class:`FitsWarning`. Header cards astropy cannot parse are fixed
        (or kept as comments) with one :class:`FitsWarning` naming them.

    Raises
    ------
    FileFormatError
        The file is missing, not FITS, or broken so that no image can be read.
    """
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    if not is_fits(path):
        raise FileFormatError(f"{path}: not a FITS file (it does not begin with 'SIMPLE  = T')")
    streamed = _open_stream(path) is not None
    size = path.stat().st_size
    budget = pixel_budget(max_pixels)
    if streamed and (too_big := primary_over_budget(path, _open_stream, budget)):
        raise FileFormatError(f"{path}: HDU 0 'PRIMARY': {too_big}")  # before any scan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(
                path, memmap=False, do_not_scale_image_data=True, lazy_load_hdus=False
            )
        except Exception as exc:  # astropy raises OSError, ValueError, EOFError, ...
            why = first_header_problem(path, _open_stream) or _describe(exc)
            raise FileFormatError(f"{path}: {why}") from exc
    truncated = [str(w.message) for w in caught if "truncated" in str(w.message)]
    result, fixes = FitsFile(path), []
    keep_open = False
    try:
        for index, hdu in enumerate(hdul):
            try:
                header, fixed = lenient_header(hdu.header)
                label = _hdu_label(header, index)
                fixes += [f"HDU {index}: {f}" for f in fixed]
                reason = _table_or_empty(hdu, index, label)
                if reason:
                    result.skipped.append(reason)
                    continue
                data, needs_file = image_array(
                    hdu,
                    path,
                    size,
                    streamed=streamed,
                    lazy=lazy,
                    header=header,
                    max_pixels=budget,
                    windows=windows,
                )
            except Exception as exc:
                result.problems.append(
                    f"HDU {index} {_safe_label(hdu, index)!r}: {_describe(exc)}"
                )
                continue
            keep_open |= needs_file
            result.append(
                FitsImage(
                    data=data,
                    name=label,
                    index=index,
                    header=header.copy(),
                    wcs=_wcs(header, hdul),
                    axis_labels=_axis_labels(header, data.ndim),
                )
            )
    finally:
        if not keep_open:
            hdul.close()
    if not result.problems and truncated and not result:
        result.problems.append(truncated[0])
    if result.problems and not result:
        raise FileFormatError(f"{path}: " + "; ".join(result.problems))
    if fixes:
        warnings.warn(
            f"{path}: header cards astropy cannot parse were repaired: " + "; ".join(fixes),
            FitsWarning,
            stacklevel=2,
        )
    if result.problems:
        warnings.warn(
            f"{path}: some HDUs were skipped: " + "; ".join(result.problems),
            FitsWarning,
            stacklevel=2,
        )
    return result
