"""An array on a file's bytes that reads only what is sliced: :class:`FileRows`.

A memory map looks free, but every page it touches stays resident (and counts towards
the process's memory) until the kernel needs it back: scaling a mapped FITS image into
a native array holds the file's pages *and* the copy, twice the image. A
:class:`FileRows` reads the rows a slice needs with plain reads and keeps one band of
rows (:attr:`FileRows.BAND_BYTES`), so a reader filling its output a band at a time holds
the output plus one band, and a task reading windows of a raw TIFF plane holds the
windows plus one band instead of the whole plane.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FileRows", "FiniteRows"]


class FileRows:
    """A read-only C-order array stored at ``offset`` in ``path``, read when sliced.

    Parameters
    ----------
    path : str or Path
        The file (opened for each read; nothing stays open).
    dtype : dtype
        The stored dtype (any byte order).
    offset : int
        Where the array starts in the file, in bytes.
    shape : tuple of int
        The array's shape.
    """

    #: Rows read ahead per read (about this many bytes), kept until a read outside them:
    #: windows cut along one band of rows (a heatmap's) are served by one read.
    BAND_BYTES = 32 * 2**20

    def __init__(self, path: str | Path, dtype: Any, offset: int, shape: tuple[int, ...]):
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.offset = int(offset)
        self.shape = tuple(int(n) for n in shape)
        self.ndim = len(self.shape)
        self._band: tuple[int, int, np.ndarray] | None = None

    def _row_bytes(self) -> int:
        return self.dtype.itemsize * math.prod(self.shape[1:])

    def band(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start:stop]`` (read-only), served from the last band read when it
        holds them, else read with up to :attr:`BAND_BYTES` of rows ahead."""
        start, stop = max(0, int(start)), min(self.shape[0], int(stop))
        if stop <= start:
            return np.empty((0, *self.shape[1:]), dtype=self.dtype)
        held = self._band
        if held is None or not held[0] <= start or stop > held[1]:
            ahead = max(stop, start + self.BAND_BYTES // max(1, self._row_bytes()))
            block = self.rows(start, ahead)
            block.flags.writeable = False
            held = self._band = (start, start + len(block), block)
        return held[2][start - held[0] : stop - held[0]]

    @property
    def nbytes(self) -> int:
        return self.dtype.itemsize * math.prod(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Entries ``[start:stop]`` of the first axis, read from the file."""
        start, stop = max(0, int(start)), min(self.shape[0], int(stop))
        inner = self.shape[1:]
        count = max(0, stop - start) * math.prod(inner)
        row_bytes = self._row_bytes()
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * row_bytes)
            out = np.fromfile(f, dtype=self.dtype, count=count)
        if out.size != count:
            raise OSError(f"{self.path}: the file ends before its data do")
        return out.reshape((max(0, stop - start), *inner))

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        if first is Ellipsis:
            return self.rows(0, self.shape[0])[key]
        if isinstance(first, (int, np.integer)):
            i = int(first) % self.shape[0] if self.shape[0] else 0
            return self.band(i, i + 1)[(0, *rest)]
        if isinstance(first, slice):
            start, stop, step = first.indices(self.shape[0])
            if step < 0:
                return np.asarray(self)[key]
            block = self.band(start, max(start, stop))
            return block[(slice(None, None, step), *rest)]
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.rows(0, self.shape[0])
        return out if dtype is None else out.astype(dtype, copy=False)


class FiniteRows:
    """Where a 2D plane read where sliced is finite: a bool mask computed on slicing.

    Parameters
    ----------
    plane : array-like
        ``H x W``, with ``rows(start, stop)`` and slicing (a :class:`FileRows` or a
        scaled view of one); a slice of the mask reads the same slice of the plane.
    band_rows : int
        Rows read per step by :meth:`any` and ``np.asarray``.
    """

    dtype = np.dtype(bool)
    ndim = 2

    def __init__(self, plane: Any, band_rows: int = 256):
        self.plane = plane
        self.shape = (int(plane.shape[0]), int(plane.shape[1]))
        self.band_rows = int(band_rows)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """The mask of rows ``[start:stop]``."""
        return np.isfinite(np.asarray(self.plane.rows(start, stop)))

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.isfinite(np.asarray(self.plane[key]))

    def any(self) -> bool:
        """Whether any pixel is finite (read a band of rows at a time)."""
        steps = range(0, self.shape[0], self.band_rows)
        return any(bool(self.rows(r, r + self.band_rows).any()) for r in steps)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(self.shape, dtype=bool)
        for r in range(0, self.shape[0], self.band_rows):
            out[r : r + self.band_rows] = self.rows(r, r + self.band_rows)
        return out if dtype is None else out.astype(dtype, copy=False)
