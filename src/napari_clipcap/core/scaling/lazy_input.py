"""Model input computed for the pixels asked for: :class:`ModelInputView`.

:func:`~napari_clipcap.core.scaling.model_input.to_model_input` turns a plane into a
float32 ``H x W x 3`` array, 12 bytes a pixel: a 20000 x 20000 uint16 scene (800 MB)
becomes 4.8 GB before a task cuts the one window it needs. A :class:`ModelInputView`
holds the raw plane and the scaling chosen for the whole plane (interval limits, a
fitted stretch) and scales only what is sliced out of it, so a task's memory is the raw
plane plus the windows it reads. Slices give exactly the values the whole array would
hold; :meth:`ModelInputView.reduced` block-averages a large region while reading it a
band of rows at a time, for crops that a model shrinks to its input size anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy import visualization as av

from .intervals import normalize
from .sampling import finite_values
from .stretches import BaseStretch, HistEqStretch

__all__ = ["ModelInputView"]

#: Rows scaled per step when a whole view or a reduced region is read.
BAND_ROWS = 256


def _apply(stretch: Any, unit: np.ndarray) -> np.ndarray:
    if isinstance(stretch, av.BaseStretch):  # astropy's API: stretch in place
        return stretch(unit, clip=True, out=unit)
    return stretch(unit, clip=True)


def fitted_stretch(stretch: Any, values: np.ndarray, limits: tuple[float, float]) -> Any:
    """``stretch`` made independent of the values it is called on.

    A :class:`HistEqStretch` without reference data fits itself to whatever it is given;
    called on windows one by one it would fit each window. It is fitted here to the
    whole normalised plane, as a call on the whole plane fits it.
    """
    if isinstance(stretch, HistEqStretch) and stretch.data is None:
        unit = normalize(values, *limits, clip=True)
        ref = np.sort(finite_values(unit, stretch.n_samples))
        if ref.size >= 2:
            return HistEqStretch._fitted(ref)
    return stretch


class ModelInputView:
    """A read-only float32 ``H x W x 3`` array in ``[0, 1]``, scaled on slicing.

    Parameters
    ----------
    plane : ndarray
        The raw ``H x W`` (grey) or ``H x W x 3`` (colour) plane.
    limits : sequence of (float, float)
        One ``(vmin, vmax)`` for the plane, or three (one per colour channel).
    stretches : sequence of stretch
        One per entry of ``limits``, already fitted (:func:`fitted_stretch`).
    """

    dtype = np.dtype(np.float32)
    ndim = 3

    def __init__(
        self,
        plane: np.ndarray,
        limits: Sequence[tuple[float, float]],
        stretches: Sequence[BaseStretch],
    ):
        self.plane = plane
        self.limits = [tuple(map(float, lim)) for lim in limits]
        self.stretches = list(stretches)
        self.shape = (int(plane.shape[0]), int(plane.shape[1]), 3)

    def __len__(self) -> int:
        return self.shape[0]

    def scale(self, block: np.ndarray) -> np.ndarray:
        """The model input of a raw block (``h x w`` or ``h x w x 3``)."""
        block = np.asarray(block)
        if block.dtype.kind == "b":
            block = block.astype(np.uint8) * 255
        layers = [block[..., c] for c in range(3)] if len(self.limits) == 3 else [block]
        out = np.empty((*block.shape[:2], 3), dtype=np.float32)
        for c, (values, lim, stretch) in enumerate(zip(layers, self.limits, self.stretches)):
            unit = _apply(stretch, normalize(values, *lim, clip=True))
            if values.dtype.kind == "f":
                unit[~np.isfinite(values)] = 0.0
            if unit.ndim == 3:
                out[...] = unit
            elif len(layers) == 3:
                out[..., c] = unit
            else:
                out[...] = unit[..., None]
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            if len(key) != 2 or key[0] is not Ellipsis:
                raise IndexError("a ModelInputView takes [rows, cols] or [..., channels]")
            return np.asarray(self)[key]
        spatial, rest = key[:2], key[2:]
        drop = tuple(i for i, k in enumerate(spatial) if isinstance(k, (int, np.integer)))
        spatial = tuple(
            slice(int(k) % self.shape[i], int(k) % self.shape[i] + 1) if i in drop else k
            for i, k in enumerate(spatial)
        )
        out = self.scale(self.plane[spatial])
        if drop:
            out = out.squeeze(axis=drop)
        return out[(Ellipsis, *rest)] if rest else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(self.shape, dtype=np.float32)
        for r in range(0, self.shape[0], BAND_ROWS):
            out[r : r + BAND_ROWS] = self.scale(self.plane[r : r + BAND_ROWS])
        return out if dtype is None else out.astype(dtype, copy=False)

    def reduced(self, y0: int, y1: int, x0: int, x1: int, step: int) -> np.ndarray:
        """The box ``[y0:y1, x0:x1]`` averaged over ``step x step`` blocks.

        Read a band of ``step`` rows at a time: memory beyond the result is one band.
        Blocks at the bottom and right edges may be smaller (their own mean).
        """
        step = max(1, int(step))
        rows = -(-(y1 - y0) // step)
        cols = np.arange(x0, x1, step) - x0
        out = np.empty((rows, len(cols), 3), dtype=np.float32)
        for i, r in enumerate(range(y0, y1, step)):
            band = self.scale(self.plane[r : min(r + step, y1), x0:x1])
            sums = np.add.reduceat(band.sum(axis=0, dtype=np.float64), cols, axis=0)
            widths = np.diff(np.append(cols, x1 - x0))[:, None]
            out[i] = sums / (widths * band.shape[0])
        return out
