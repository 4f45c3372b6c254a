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
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError
from ._fitsdata import image_array, lazy_threshold

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
#: EXTNAMEs of HDUs that hold WCS distortion corrections (HST), not images.
_LOOKUP_TABLES = frozenset({"D2IMARR", "WCSDVARR"})


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


def _hdu_label(hdu: Any, index: int) -> str:
    name = str(hdu.header.get("EXTNAME", "")).strip() or (
        "PRIMARY" if index == 0 else f"HDU{index}"
    )
    ver = hdu.header.get("EXTVER", 1)
    return f"{name},{ver}" if isinstance(ver, int) and ver > 1 else name


def _axis_labels(header: Any, ndim: int) -> tuple[str, ...]:
    labels = []
    for k in range(ndim, 0, -1):
        ctype = str(header.get(f"CTYPE{k}", "")).strip()
        short = re.split(r"-{2,}|-(?=[A-Z]{3}$)", ctype)[0].strip("-") if ctype else ""
        labels.append(short or f"axis{k}")
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label}{seen[label]}")
    return tuple(unique)


def _wcs(header: Any, hdul: Any) -> Any:
    """The header's WCS, with lookup-table distortions from the file (HST), or None."""
    from astropy.wcs import WCS

    wcs = None
    for fobj in (hdul, None):  # lookup-table distortions need the file's other HDUs
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wcs = WCS(header, fobj=fobj)
            break
        except Exception:
            continue
    if wcs is None or wcs.naxis == 0 or not any(wcs.wcs.ctype):
        return None
    return wcs


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "END card" in text:
        return "the header has no END card (the file is cut short or not FITS)"
    if "Empty or corrupt" in text:
        return "the header is cut short or corrupt (no complete 2880-byte header block)"
    if "SIMPLE" in text:
        return f"not a valid FITS file ({text})"
    if isinstance(exc, EOFError) or "ended before" in text:
        return f"the compressed file is cut short ({text})"
    return text


def _table_or_empty(hdu: Any, index: int, label: str) -> str | None:
    from astropy.io import fits

    if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
        return f"HDU {index} {label!r}: table ({type(hdu).__name__}), not an image"
    if isinstance(hdu, fits.GroupsHDU):
        return f"HDU {index} {label!r}: random groups, not an image"
    if not isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        return f"HDU {index} {label!r}: {type(hdu).__name__}, not an image"
    if label.split(",")[0] in _LOOKUP_TABLES:
        return f"HDU {index} {label!r}: WCS distortion lookup table, not an image"
    shape = hdu.shape
    if len(shape) == 0 or math.prod(shape) == 0:
        return f"HDU {index} {label!r}: header only, no data"
    if len(shape) < 2:
        return f"HDU {index} {label!r}: 1D data of length {shape[0]}, not an image"
    return None


def read_fits(path: str | Path, *, lazy: bool | None = None) -> FitsFile:
    """Read every image HDU of a FITS file.

    Parameters
    ----------
    path : str or Path
        The file; any name (``.fits``, ``.fz``, ``.gz``, none) as long as it is FITS.
    lazy : bool, optional
        Force dask arrays (``True``) or in-memory arrays (``False``); by default, data
        larger than :data:`LAZY_BYTES` are lazy. Gzip/bzip2 files are always read whole.

    Returns
    -------
    FitsFile
        A list of :class:`FitsImage`; empty when the file holds no image (only a header,
        only tables). HDUs that fail to read are listed in ``problems`` and warned
        about with :class:`FitsWarning`.

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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(
                path, memmap=False, do_not_scale_image_data=True, lazy_load_hdus=False
            )
        except Exception as exc:  # astropy raises OSError, ValueError, EOFError, ...
            raise FileFormatError(f"{path}: {_describe(exc)}") from exc
    truncated = [str(w.message) for w in caught if "truncated" in str(w.message)]
    result = FitsFile(path)
    keep_open = False
    try:
        for index, hdu in enumerate(hdul):
            label = _hdu_label(hdu, index)
            reason = _table_or_empty(hdu, index, label)
            if reason:
                result.skipped.append(reason)
                continue
            try:
                data, needs_file = image_array(hdu, path, size, streamed=streamed, lazy=lazy)
            except Exception as exc:
                result.problems.append(f"HDU {index} {label!r}: {_describe(exc)}")
                continue
            keep_open |= needs_file
            result.append(
                FitsImage(
                    data=data,
                    name=label,
                    index=index,
                    header=hdu.header.copy(),
                    wcs=_wcs(hdu.header, hdul),
                    axis_labels=_axis_labels(hdu.header, data.ndim),
                )
            )
    finally:
        if not keep_open:
            hdul.close()
    if not result.problems and truncated and not result:
        result.problems.append(truncated[0])
    if result.problems and not result:
        raise FileFormatError(f"{path}: " + "; ".join(result.problems))
    if result.problems:
        warnings.warn(
            f"{path}: some HDUs were skipped: " + "; ".join(result.problems),
            FitsWarning,
            stacklevel=2,
        )
    return result
