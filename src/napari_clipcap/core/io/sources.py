"""Image files as collection units: discovery, FITS HDUs, content hashes, thumbnails.

A *unit* is one image a collection or a batch run handles: ``(path, hdu)`` where ``hdu``
is the FITS extension index holding the image, or ``None`` for PNG, JPEG and TIFF files.
A FITS file yields one unit per HDU with 2-D (or larger) image data, so an empty primary
HDU followed by SCI and ERR extensions gives two units.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError, InvalidInputError
from .fits.reader import FITS_SUFFIXES, has_fits_suffix

#: File name endings that hold images, lower case.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", *FITS_SUFFIXES)
#: Images larger than this (pixels per side) are shrunk before encoding, bounding memory.
MAX_SIDE = 2048
#: The largest thumbnail side the project writes; a stored thumbnail declaring more (a
#: "thumbnail bomb" in a received collection) is never decoded.
THUMB_MAX_SIDE = 512


def is_image_file(path: str | os.PathLike) -> bool:
    """True when the file name ends in one of :data:`IMAGE_SUFFIXES`."""
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def find_images(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Expand files and folders (searched recursively) into sorted absolute image paths.

    Raises
    ------
    InvalidInputError
        If a path does not exist.
    """
    found: set[str] = set()
    for p in paths:
        path = Path(p).expanduser()
        if path.is_dir():
            found.update(
                str(f.resolve()) for f in path.rglob("*") if f.is_file() and is_image_file(f)
            )
        elif path.is_file():
            found.add(str(path.resolve()))
        else:
            raise InvalidInputError(f"{p}: no such file or folder")
    return sorted(found)


def file_hash(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """BLAKE2b content hash of a file (hex), read in chunks."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def list_units(path: str | os.PathLike) -> list[int | None]:
    """The image units of a file: FITS HDU indices with image data, else ``[None]``.

    FITS files are opened through :func:`~napari_clipcap.core.io.reading.open_image`
    (lazily: no pixel is read), so a broken file fails here with its one-line message.
    """
    if not has_fits_suffix(path):
        return [None]
    from .reading import open_image

    return [image.index for image in open_image(path, lazy=True)]


def load_unit(
    path: str | os.PathLike, hdu: int | None = None, max_side: int | None = MAX_SIDE
) -> np.ndarray:
    """Read one unit as the ``H x W x 3`` float32 array in ``[0, 1]`` that models take.

    FITS data get the astronomy scaling (zscale); 8-bit images become value/255.
    Images larger than ``max_side`` pixels (default :data:`MAX_SIDE`) are shrunk (area
    average) to bound memory, those above the pixel budget
    (:mod:`~napari_clipcap.core.io.budget`) read reduced first; ``max_side=None`` keeps
    the full size, so an image above the budget is then refused.
    """
    from .images import read_image

    try:
        image = read_image(path, hdu=hdu, max_side=max_side, reduce=max_side is not None).data
    except InvalidInputError as exc:
        raise FileFormatError(f"{path}: cannot read image: {exc}") from exc
    return image if max_side is None else shrink(image, max_side)


def read_unit_files(path: str | os.PathLike) -> list[tuple[int | None, Any]]:
    """Every unit of a file as ``(hdu, ImageFile)``, read for a model at full size, or
    reduced above the pixel budget (``ImageFile.reduced_by``)."""
    from .images import read_image

    units = []
    for hdu in list_units(path):
        try:
            units.append((hdu, read_image(path, hdu=hdu, reduce=True)))
        except InvalidInputError as exc:
            raise FileFormatError(f"{path}: cannot read image: {exc}") from exc
    return units


def read_units(
    path: str | os.PathLike, max_side: int | None = None
) -> list[tuple[int | None, np.ndarray, int]]:
    """Every unit of a file as ``(hdu, image, reduced_by)``, read for a model.

    Images above the pixel budget are read with a stride (``reduced_by`` > 1) where
    the format allows it, as :func:`load_unit` does; ``max_side`` also shrinks them.
    """
    from .images import read_image

    units = []
    for hdu in list_units(path):
        try:
            image = read_image(path, hdu=hdu, max_side=max_side, reduce=True)
        except InvalidInputError as exc:
            raise FileFormatError(f"{path}: cannot read image: {exc}") from exc
        data = image.data if max_side is None else shrink(image.data, max_side)
        units.append((hdu, data, image.reduced_by))
    return units


def failure_text(path: str | os.PathLike, exc: BaseException) -> str:
    """One line saying why ``path`` could not be read, whatever raised ``exc``.

    The package's own errors already name the file; anything else (a loader's bug, a
    library's error type) gets the path and the exception's type in front.
    """
    from ..errors import ClipcapError, error_line

    if isinstance(exc, ClipcapError):
        return error_line(exc)
    return f"{path}: cannot read image ({error_line(exc)})"


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downsample an ``H x W x 3`` float image so neither side exceeds ``max_side``."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    from PIL import Image

    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    channels = [
        np.asarray(Image.fromarray(image[..., c]).resize(size, Image.Resampling.BOX))
        for c in range(3)
    ]
    return np.ascontiguousarray(np.stack(channels, axis=-1), dtype=np.float32)


def thumbnail_png(image: np.ndarray, size: int = 128) -> bytes:
    """PNG bytes of a thumbnail (longest side ``size``, at most :data:`THUMB_MAX_SIDE`)
    of a ``[0, 1]`` RGB image."""
    from PIL import Image

    if not 1 <= int(size) <= THUMB_MAX_SIDE:
        raise InvalidInputError(f"thumbnail size must be 1 to {THUMB_MAX_SIDE}, got {size}")
    rgb = (np.clip(np.nan_to_num(image), 0, 1) * 255 + 0.5).astype(np.uint8)
    im = Image.fromarray(rgb)
    im.thumbnail((size, size), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def declared_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` that PNG or JPEG bytes declare in their header, undecoded.

    Returns None for anything else (or a header too short to say).
    """
    data = bytes(data[:65536])
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 <= len(data):  # JPEG: walk the marker segments to a start-of-frame
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:
            at += 1
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _JPEG_SOF:
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(
                data[at + 5 : at + 7], "big"
            )
        at += 2 + length
    return None


def decode_thumbnail(data: bytes, max_side: int = THUMB_MAX_SIDE) -> np.ndarray | None:
    """Decode stored thumbnail bytes to ``H x W x 3`` uint8, or None when refused.

    The size the header declares is checked before any decoding: a PNG or JPEG larger
    than ``max_side`` on a side (which the project never writes), anything that is not
    PNG or JPEG, and bytes that do not decode, give None (the dock shows the name).
    Run it off the Qt thread: even a small thumbnail is work.
    """
    from PIL import Image

    size = declared_size(data) if data else None
    if size is None or not (0 < size[0] <= max_side and 0 < size[1] <= max_side):
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("PNG", "JPEG") or max(im.size) > max_side:
                return None
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def decode_thumbnails(thumbs: dict[int, bytes]) -> dict[int, np.ndarray | None]:
    """:func:`decode_thumbnail` of each item's bytes, by item id."""
    return {i: decode_thumbnail(b) for i, b in thumbs.items()}


def decode_png(data: bytes) -> np.ndarray:
    """Decode thumbnail PNG bytes to an ``H x W x 3`` uint8 array."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))
