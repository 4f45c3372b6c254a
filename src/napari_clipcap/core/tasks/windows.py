"""Where the windows of a heatmap lie, and a window size that suits the image.

:func:`auto_window` is the rule the heatmap dock uses when the user has not set a
window: the window is a quarter of the shorter image side, rounded down to a multiple
of 8 and kept between 32 and 224 pixels, and the stride is half the window. An image of
896 pixels or more on its shorter side gets the API default (224 / 112); a 300 px image
gets 72 / 36 (eight windows a side) instead of the 3 x 3 block map 224 / 112 would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError

#: Window size used by the Python API and the command line unless one is given.
DEFAULT_WINDOW, DEFAULT_STRIDE = 224, 112
#: Smallest window :func:`auto_window` proposes (CLIP sees little in fewer pixels).
MIN_AUTO_WINDOW = 32
#: A map with fewer cells than this along a side is called coarse.
MIN_CELLS = 8


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start offsets of windows along an axis of length ``n``; the last one is flush."""
    w = min(window, n)
    starts = list(range(0, n - w + 1, stride))
    if starts[-1] + w < n:
        starts.append(n - w)
    return np.asarray(starts, dtype=np.int64)


def auto_window(height: int, width: int) -> tuple[int, int]:
    """Window and stride (pixels) for an image of ``height`` x ``width`` (module rule).

    Parameters
    ----------
    height, width : int
        Image size in pixels.

    Returns
    -------
    (int, int)
        ``(window, stride)``, with ``stride == window // 2``.
    """
    side = max(1, min(int(height), int(width)))
    window = (side // 4) // 8 * 8
    window = int(min(DEFAULT_WINDOW, max(MIN_AUTO_WINDOW, window)))
    return window, window // 2


@dataclass(frozen=True)
class WindowGrid:
    """Where the windows of an image lie."""

    height: int
    width: int
    wh: int
    ww: int
    ys: np.ndarray
    xs: np.ndarray

    @classmethod
    def of(cls, height: int, width: int, window: int, stride: int) -> WindowGrid:
        """The grid of ``window`` px windows every ``stride`` px over an image."""
        if int(window) < 1 or int(stride) < 1:
            raise InvalidInputError(f"window and stride must be positive, got {window}, {stride}")
        if int(stride) > int(window):
            raise InvalidInputError(
                f"stride {stride} is larger than the window {window}: pixels between "
                "windows would get no value; use a stride no larger than the window"
            )
        return cls(
            height,
            width,
            min(int(window), height),
            min(int(window), width),
            window_starts(height, int(window), int(stride)),
            window_starts(width, int(window), int(stride)),
        )

    @property
    def count(self) -> int:
        """Number of windows (forward passes)."""
        return len(self.ys) * len(self.xs)

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column edges of the cells the window borders cut the image into."""
        by = np.unique(np.concatenate([self.ys, self.ys + self.wh]))
        bx = np.unique(np.concatenate([self.xs, self.xs + self.ww]))
        return by, bx

    @property
    def cells(self) -> tuple[int, int]:
        """Cells (distinct map values) along the rows and the columns of the map."""
        by, bx = self.edges()
        return len(by) - 1, len(bx) - 1

    def positions(self) -> list[tuple[int, int]]:
        """``(y, x)`` of every window's top-left pixel, row by row."""
        return [(int(y), int(x)) for y in self.ys for x in self.xs]

    def cut(
        self,
        image: np.ndarray,
        positions: Sequence[tuple[int, int]],
        valid: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Copy one batch of windows out of the image.

        Non-finite pixels become 0 and are cleared in ``valid`` (an ``(H, W)`` bool
        mask updated in place) when it is given.

        Returns
        -------
        windows : ndarray
            ``(B, wh, ww, 3)`` float32.
        has_data : ndarray
            ``(B,)`` bool: whether the window holds at least one valid pixel.
        """
        out = np.empty((len(positions), self.wh, self.ww, 3), dtype=np.float32)
        has_data = np.ones(len(positions), dtype=bool)
        for i, (y, x) in enumerate(positions):
            win = image[y : y + self.wh, x : x + self.ww]
            out[i] = win[..., None] if win.ndim == 2 else win[..., :3]
            if out.dtype.kind == "f" and image.dtype.kind in "fc":
                bad = ~np.isfinite(out[i]).all(axis=-1)
                if bad.any():
                    out[i][bad] = 0.0
                    if valid is not None:
                        valid[y : y + self.wh, x : x + self.ww] &= ~bad
            if valid is not None:
                has_data[i] = bool(valid[y : y + self.wh, x : x + self.ww].any())
        if image.dtype == np.uint8:
            out /= 255.0
        return out, has_data
