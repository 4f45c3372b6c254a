"""FITS HDUs described: names, axis labels, WCS, and whether an HDU holds an image."""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

from .fits.header import lenient_header

#: EXTNAMEs of HDUs that hold WCS distortion corrections (HST), not images.
_LOOKUP_TABLES = frozenset({"D2IMARR", "WCSDVARR"})


def hdu_label(header: Any, index: int) -> str:
    name = str(header.get("EXTNAME", "")).strip() or ("PRIMARY" if index == 0 else f"HDU{index}")
    ver = header.get("EXTVER", 1)
    return f"{name},{ver}" if isinstance(ver, int) and ver > 1 else name


def safe_label(hdu: Any, index: int) -> str:
    try:
        return hdu_label(lenient_header(hdu.header)[0], index)
    except Exception:  # a header too broken to name
        return "PRIMARY" if index == 0 else f"HDU{index}"


def axis_labels(header: Any, ndim: int) -> tuple[str, ...]:
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


def wcs_of(header: Any, hdul: Any) -> Any:
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


def table_or_empty(hdu: Any, index: int, label: str) -> str | None:
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
