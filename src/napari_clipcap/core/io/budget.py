"""The pixel budget: how large an image the readers decode into memory.

An image whose plane has more pixels than the budget is never decoded whole. Where the
format can be read in part (memory-mapped or tile-compressed FITS, GeoTIFF overviews,
JPEG draft decoding) it is read reduced when the caller asks for that (``batch``,
``index``, training); otherwise it is refused with a :class:`FileFormatError` that
names the size, the budget and how to raise it. The budget is
:data:`DEFAULT_MAX_PIXELS`, or the ``NAPARI_CLIPCAP_MAX_PIXELS`` environment variable.
Pillow's decompression-bomb limit is treated as the same signal, not as a crash.
"""

from __future__ import annotations

import math
import os

from ..errors import InvalidInputError

__all__ = ["DEFAULT_MAX_PIXELS", "ENV_VAR", "over_budget", "pixel_budget", "reduction_step"]

#: Default pixel budget per image plane: 100 megapixels (a 10,000 x 10,000 image).
DEFAULT_MAX_PIXELS = 100_000_000
#: Environment variable that overrides :data:`DEFAULT_MAX_PIXELS`.
ENV_VAR = "NAPARI_CLIPCAP_MAX_PIXELS"


def pixel_budget(max_pixels: int | None = None) -> int:
    """The pixel budget: ``max_pixels`` if given, else the environment or the default.

    Raises
    ------
    InvalidInputError
        When the environment variable is not a positive whole number.
    """
    if max_pixels is not None:
        return int(max_pixels)
    text = os.environ.get(ENV_VAR, "").strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInputError(f"{ENV_VAR}={text!r} must be a positive number of pixels")
    return value


def reduction_step(height: int, width: int, budget: int) -> int:
    """The smallest stride ``k`` such that every ``k``-th row and column fit ``budget``."""
    k = max(1, math.ceil(math.sqrt(height * width / max(1, budget))))
    while math.ceil(height / k) * math.ceil(width / k) > budget:
        k += 1
    return k


def over_budget(path: object, height: int, width: int, budget: int, hint: str = "") -> str:
    """The one-line message that refuses an image above the budget."""
    pixels = height * width
    text = (
        f"{path}: image of {width} x {height} = {pixels:,} pixels is above the pixel "
        f"budget of {budget:,} and is not read whole"
    )
    if hint:
        text += f"; {hint}"
    return text + f" (raise the budget with {ENV_VAR}=N)"


def over_budget_text(shape: tuple[int, ...], max_pixels: int, streamed: bool) -> str:
    """Why data of ``shape`` (numpy order) are refused: the size, the budget, what to do."""
    dims = " x ".join(map(str, shape[::-1]))
    why = (
        "a gzip/bzip2-compressed file cannot be read in part: decompress it so it can be "
        "memory-mapped"
        if streamed
        else "read it lazily"
    )
    return (
        f"{dims} = {math.prod(shape):,} pixels would be read into memory whole, above "
        f"the pixel budget of {max_pixels:,}; {why} (or raise {ENV_VAR})"
    )
