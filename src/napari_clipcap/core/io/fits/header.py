"""FITS headers read leniently, and checked before their data are touched.

Files in the wild carry cards that astropy refuses to parse (the DSS ``SKEW`` card, a
``CONTINUE`` card after a non-string value, ``CRPIX1 = NaN``, junk text). DS9 opens
them, so this reader does too: :func:`lenient_header` fixes what astropy's
``verify("fix")`` can fix and turns the rest into ``COMMENT`` cards, listing what it
changed. :func:`structure_problem` and :func:`tile_problem` name, in one line, the
header values that would otherwise surface as a ``TypeError`` or a lazy ``IndexError``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

#: Keywords that must hold integers for the data to be located at all.
_INTEGER_KEYS = ("BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "ZBITPIX", "ZNAXIS", "BLANK")
_INDEXED_INTEGER_KEYS = ("NAXIS", "ZNAXIS", "ZTILE")
_FLOAT_KEYS = ("BSCALE", "BZERO")


def _parses(card: Any) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            card.value  # noqa: B018 - parsing is the check
        return True
    except Exception:  # astropy raises VerifyError, ValueError, ...
        return False


def _raw_cards(card: Any) -> list[str]:
    """The card's 80-character images as read from the file (several for CONTINUE)."""
    raw = getattr(card, "_image", None)  # astropy keeps the text it parsed
    if not raw:
        try:
            raw = card.image
        except Exception:  # unparsable and no original text: keep the keyword only
            raw = f"COMMENT unparsable card {card.keyword}"
    return [raw[i : i + 80] for i in range(0, len(raw), 80)]


def lenient_header(header: Any) -> tuple[Any, list[str]]:
    """Return ``(header, fixes)``: a header whose every card parses, and what changed.

    Parameters
    ----------
    header : astropy.io.fits.Header
        As read from the file (not modified).

    Returns
    -------
    header : astropy.io.fits.Header
        ``header`` itself when every card parses; else a repaired copy.
    fixes : list of str
        One short line per card that was fixed or kept only as a comment.
    """
    from astropy.io import fits

    if all(_parses(card) for card in header.cards):
        return header, []
    fixes: list[str] = []
    images: list[str] = []
    for card in header.cards:
        subs = _raw_cards(card)
        if len(subs) > 1 and not _parses(card):  # CONTINUE after a non-string value
            images.append(subs[0])
            for sub in subs[1:]:
                images.append(f"COMMENT orphan {sub[:70]}".ljust(80)[:80])
            fixes.append(f"{card.keyword}: orphan CONTINUE card kept as a comment")
        else:
            images.extend(subs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = fits.Header.fromstring("".join(s.ljust(80) for s in images))
    for i, card in enumerate(fixed.cards):
        if _parses(card):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                card.verify("silentfix")
            except Exception:  # unfixable: keep the text, drop the value
                pass
        if _parses(card):
            fixes.append(f"{card.keyword}: unparsable value fixed ({card.value!r})")
        else:
            text = _raw_cards(card)[0].strip()
            fixed[i] = ("COMMENT", f"unparsable card: {text}"[:72])
            fixes.append(f"{card.keyword}: unparsable card kept as a comment")
    return fixed, fixes


def structure_problem(header: Any) -> str | None:
    """One line naming a header value that makes the data unlocatable, or ``None``."""
    keys = list(_INTEGER_KEYS)
    for stem in _INDEXED_INTEGER_KEYS:
        n = header.get(stem if stem != "ZTILE" else "ZNAXIS", 0)
        if isinstance(n, int) and 0 < n < 1000:
            keys += [f"{stem}{k}" for k in range(1, n + 1)]
    for key in keys:
        if key in header:
            value = header[key]
            if not isinstance(value, int) or isinstance(value, bool):
                return f"{key} = {value!r} is not an integer"
    for key in _FLOAT_KEYS:
        if key in header:
            value = header[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"{key} = {value!r} is not a number"
            if not math.isfinite(value):
                return f"{key} = {value!r} is not a finite number"
    return None


def tile_problem(hdu: Any) -> str | None:
    """For a tile-compressed HDU: whether its tiles fit the image its header describes.

    A ``ZNAXISn`` edited without rewriting the tiles otherwise fails only when a plane
    is first looked at, as an ``IndexError`` deep inside astropy.
    """
    try:
        table = hdu._bintable if hasattr(hdu, "_bintable") else None
        header = table.header if table is not None else hdu._header
        rows = int(header["NAXIS2"])
        naxis = int(header["ZNAXIS"])
        sizes_keys = range(1, naxis + 1)
        sizes = [int(header[f"ZNAXIS{k}"]) for k in sizes_keys]
        tiles = [
            int(header.get(f"ZTILE{k}", 1 if k > 1 else sizes[0])) for k in range(1, naxis + 1)
        ]
    except Exception as exc:  # missing or non-integer keywords
        return f"tile-compressed HDU with an unreadable tile layout ({exc})"
    if any(t < 1 for t in tiles) or any(s < 0 for s in sizes):
        return f"tile-compressed HDU with tile sizes {tiles} for an image of {sizes}"
    expected = math.prod(math.ceil(s / t) for s, t in zip(sizes, tiles))
    if expected != rows:
        shape = " x ".join(map(str, sizes))
        return (
            f"tile-compressed HDU is corrupt: its header describes a {shape} image in "
            f"{expected} tiles but the file holds {rows} tiles (ZNAXIS/ZTILE do not match)"
        )
    return None


def first_header_problem(path: Any, open_stream: Any) -> str | None:
    """Why the primary header cannot locate the data (``BITPIX = 'x'``), or ``None``.

    Used when astropy fails to open a file with a bare ``TypeError``: the raw primary
    header is read again on its own and its structural keywords checked.
    """
    from astropy.io import fits

    try:
        stream = open_stream(path) or open(path, "rb")
        with stream, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = fits.Header.fromfile(stream)
            header_end = stream.tell()
            compressed = hasattr(stream, "peek")  # gzip and bz2 streams have peek()
            after = _remaining(stream) if compressed else None
        header = lenient_header(header)[0]
        problem = structure_problem(header)
        if problem is None:
            if after is None:
                after = max(0, Path(path).stat().st_size - header_end)
            problem = layout_problem(header, after)
    except Exception:  # the header itself is unreadable: the caller describes that
        return None
    return f"HDU 0 'PRIMARY': {problem}" if problem else None


def _remaining(stream: Any, cap: int = 1 << 30) -> int:
    """Bytes left in a decompressing stream (counted up to ``cap``, never kept)."""
    total = 0
    while total < cap and (block := stream.read(1 << 20)):
        total += len(block)
    return total


#: BITPIX values the FITS standard defines.
_BITPIX = (8, 16, 32, 64, -32, -64)


def layout_problem(header: Any, bytes_after_header: int) -> str | None:
    """Why a primary header's data layout cannot be right, or ``None``.

    Checks what astropy otherwise reports as a missing ``END`` card or an
    ``[Errno 22]``: a ``BITPIX`` the standard does not define, a negative ``NAXIS``
    or axis length, data declared larger than the file, or bytes after a header
    that declares no data (``NAXIS = 0``) that do not start another HDU.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The primary header (all structural keywords integers).
    bytes_after_header : int
        How many bytes of the file follow the header's last block.
    """
    bitpix, naxis = header.get("BITPIX"), header.get("NAXIS")
    if bitpix not in _BITPIX:
        return f"BITPIX = {bitpix!r} is not a FITS data type (one of {_BITPIX})"
    if not isinstance(naxis, int) or naxis < 0 or naxis > 999:
        return f"NAXIS = {naxis!r} is not a number of axes (0 to 999)"
    sizes = [header.get(f"NAXIS{k}", 0) for k in range(1, naxis + 1)]
    for k, n in enumerate(sizes, 1):
        if not isinstance(n, int) or n < 0:
            return f"NAXIS{k} = {n!r} is not an axis length (a whole number, 0 or more)"
    if naxis == 0:
        if bytes_after_header >= 2880:
            return (
                f"NAXIS = 0 declares no data, but {bytes_after_header:,} bytes follow the "
                "header and they are not another HDU (is NAXIS wrong?)"
            )
        return None
    pixels = math.prod(sizes) * int(header.get("GCOUNT", 1) or 1)
    declared = abs(bitpix) // 8 * pixels
    if declared > bytes_after_header:
        dims = " x ".join(map(str, sizes))
        return (
            f"the header declares {dims} pixels of BITPIX {bitpix} = {declared:,} bytes of "
            f"data, but only {bytes_after_header:,} bytes follow it (the file is cut "
            "short, or NAXISn are wrong)"
        )
    return None


def primary_over_budget(path: Any, open_stream: Any, max_pixels: int) -> str | None:
    """For a gzip/bzip2 file: why its primary data are too big to read, or ``None``.

    Reads only the primary header, so a 3 MB ``.fits.gz`` that expands to gigabytes
    is refused at once instead of after decompressing it all to find further HDUs
    (which a stream reaches only through the primary data: decompress the file first).
    """
    from astropy.io import fits

    from ..budget import over_budget_text

    try:
        with open_stream(path) as stream, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = lenient_header(fits.Header.fromfile(stream))[0]
        if structure_problem(header):
            return None
        shape = tuple(int(header[f"NAXIS{k}"]) for k in range(int(header["NAXIS"]), 0, -1))
    except Exception:  # unreadable here: the reader says why
        return None
    if not shape or math.prod(shape) <= max_pixels:
        return None
    return over_budget_text(shape, max_pixels, True)


def describe_error(exc: BaseException) -> str:
    """One line for an exception raised while reading a FITS file or HDU."""
    from ...errors import ClipcapError, error_line

    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ClipcapError):
        return error_line(exc)
    if "END card" in text:
        return "the header has no END card (the file is cut short or not FITS)"
    if "Empty or corrupt" in text:
        return "the header is cut short or corrupt (no complete 2880-byte header block)"
    if "SIMPLE" in text:
        return f"not a valid FITS file ({text})"
    if isinstance(exc, EOFError) or "ended before" in text:
        return f"the compressed file is cut short ({text})"
    if isinstance(exc, MemoryError):
        return "the data do not fit in memory"
    if isinstance(exc, (TypeError, IndexError, KeyError, AttributeError)):
        return f"the header does not describe the data consistently ({type(exc).__name__}: {text})"
    if type(exc).__name__ == "VerifyError":
        return f"a header card cannot be parsed ({text})"
    return text
