"""The one crops function: regions of an image cut for a model, with their data checked.

Every task and every door (dock, command line, Python API, batch) cuts regions here, so
the same shape over the same image is the same crop everywhere:

- regions are boxes ``(x0, y0, x1, y1)``, polygons ``(N, 2)`` of ``(x, y)``,
  :class:`~napari_clipcap.core.coords.regions.Region` objects or region-file shapes
  (:class:`~napari_clipcap.core.coords.region_shapes.FileRegion`); napari shapes become
  regions through :func:`~napari_clipcap.core.coords.region_shapes.shape_region`, which
  gives ellipses and rotated rectangles as their outlines, not their corners' box;
- a polygon's crop is its bounding box with the outside masked (``polygon_mode="mask"``)
  or kept as context (``"context"``);
- which pixels hold data comes from ``valid`` (the source's mask, when the model input
  no longer shows it) or from the crop's NaN pixels; only pixels inside the outline count;
- an image without any valid pixel is refused; a region without any is left out (its
  result is put back as a gap by :meth:`RegionCrops.fill`); a region with little data
  gets a :class:`~napari_clipcap.core.errors.LowDataWarning`
  (:mod:`~napari_clipcap.core.tasks.input_checks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..coords.regions import Region, as_region, crop, crops, is_all_nan, polygon_mask
from ..errors import InvalidInputError
from .input_checks import low_data_problems, report_low_data

__all__ = ["NO_DATA_IMAGE", "RegionCrops", "cut_regions", "region_list"]

#: The message for an image without any valid pixel (every door refuses it so).
NO_DATA_IMAGE = "the image is entirely NaN or nodata; nothing to work on"


@dataclass(frozen=True)
class RegionCrops:
    """Regions cut from one image, with what their data allow.

    Attributes
    ----------
    regions : tuple of Region
        The regions, validated and clipped to the image; empty for the whole image.
    parts : tuple of ndarray
        One crop per region (the whole image when there are no regions).
    empty : ndarray of bool
        Per part: it holds no valid pixel, so it gets no result.
    problems : tuple of tuple of str
        Per part: why its result may not be trustworthy (empty when there is enough
        data); a part in ``empty`` always has one.
    """

    regions: tuple[Region, ...]
    parts: tuple[np.ndarray, ...]
    empty: np.ndarray
    problems: tuple[tuple[str, ...], ...]

    @property
    def kept(self) -> list[np.ndarray]:
        """The parts that hold data, in order: what the model sees."""
        return [p for p, e in zip(self.parts, self.empty) if not e]

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        """Each part's (clipped) pixel box."""
        if not self.regions:
            h, w = self.parts[0].shape[:2]
            return [(0, 0, int(w), int(h))]
        return [r.box for r in self.regions]

    @property
    def warnings(self) -> list[str]:
        """Every problem, in region order."""
        return [p for found in self.problems for p in found]

    def fill(self, results: Sequence[Any], gap: Any = None) -> list[Any]:
        """Put the gaps back: ``results`` of :attr:`kept`, one per part, ``gap`` for the
        parts without data."""
        made = iter(results)
        out = [gap if e else next(made) for e in self.empty]
        if next(made, _END) is not _END:
            raise InvalidInputError("more results than regions with data")
        return out


_END = object()


def region_list(regions: Any) -> list[Any] | None:
    """``regions`` as a list (one box given on its own is one region); None or empty
    means the whole image. Region-file shapes become their regions."""
    if regions is None:
        return None
    if len(regions) == 4 and all(np.isscalar(v) for v in regions):
        regions = [regions]
    out = [r.to_region() if hasattr(r, "to_region") else r for r in regions]
    return out or None


def cut_regions(
    image: np.ndarray,
    regions: Any,
    *,
    valid: np.ndarray | None = None,
    polygon_mode: str = "mask",
    names: Sequence[str] | None = None,
) -> RegionCrops:
    """Cut ``regions`` of ``image`` for a model, after checking their data.

    Parameters
    ----------
    image : ndarray
        ``H x W`` or ``H x W x C`` model input.
    regions : sequence or None
        Boxes, polygons, :class:`Region` objects or region-file shapes; None or empty is
        the whole image.
    valid : ndarray of bool, optional
        ``(H, W)``: where the source holds data, when ``image`` no longer shows it (0
        where a FITS had NaN); without it, the finite pixels of ``image`` count.
    polygon_mode : {"mask", "context"}
        For polygons: paint pixels outside with 0 or keep them as context.
    names : sequence of str, optional
        How warnings name each region (default ``"region i"``, ``"the image"``).

    Returns
    -------
    RegionCrops
        Low-data problems are also issued as
        :class:`~napari_clipcap.core.errors.LowDataWarning`.

    Raises
    ------
    InvalidInputError
        The image holds no valid pixel; a region is malformed, empty or outside the
        image (the message says which one).
    """
    # a lazy model input (ModelInputView) stays lazy: only the regions are read
    img = image if hasattr(image, "reduced") else np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] < 1 or img.shape[1] < 1:
        raise InvalidInputError(f"image must be H x W or H x W x C, got shape {img.shape}")
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != tuple(img.shape[:2]):
            raise InvalidInputError(f"the valid mask is {valid.shape}, the image {img.shape[:2]}")
    asked = region_list(regions)
    if asked is None:
        with_data = _count_present(img, valid)
        if with_data == 0:
            raise InvalidInputError(NO_DATA_IMAGE)
        fraction = with_data / (img.shape[0] * img.shape[1])
        found = low_data_problems(fraction, img.shape[1], img.shape[0], "the image")
        report_low_data(found)
        whole = crops(img, None)[0] if hasattr(img, "reduced") else np.asarray(img)
        return RegionCrops((), (whole,), np.zeros(1, bool), (tuple(found),))
    lazy = hasattr(img, "reduced")  # a lazy model input holds no NaN: nothing to scan
    if (valid is not None and not valid.any()) or (valid is None and not lazy and is_all_nan(img)):
        raise InvalidInputError(NO_DATA_IMAGE)
    names = list(names) if names is not None else [f"region {i}" for i in range(1, len(asked) + 1)]
    placed, parts, empty, problems = [], [], [], []
    for i, (r, name) in enumerate(zip(asked, names)):
        try:
            reg = as_region(r, img.shape)
            part = crop(img, reg, polygon_mode=polygon_mode)
        except InvalidInputError as exc:
            raise InvalidInputError(f"region {i + 1}: {exc}") from None
        x0, y0, x1, y1 = reg.box
        inside = polygon_mask(reg)
        unmasked = part if reg.polygon is None or polygon_mode == "context" else None
        if hasattr(img, "reduced"):  # a lazy model input holds no NaN; its part may be reduced
            present = np.ones((y1 - y0, x1 - x0), dtype=bool)
        else:
            present = _finite(crop(img, reg, polygon_mode="context") if unmasked is None else part)
        if valid is not None:
            present &= valid[y0:y1, x0:x1]
        with_data = int(np.count_nonzero(present & inside))
        fraction = with_data / max(int(np.count_nonzero(inside)), 1)
        found = low_data_problems(fraction, reg.width, reg.height, name)
        report_low_data(found)
        placed.append(reg)
        parts.append(part)
        empty.append(with_data == 0)
        problems.append(tuple(found))
    return RegionCrops(tuple(placed), tuple(parts), np.array(empty, bool), tuple(problems))


def _count_present(image: Any, valid: np.ndarray | None, chunk_rows: int = 512) -> int:
    """How many pixels hold data, a band of rows at a time (no full-size copy)."""
    if hasattr(image, "reduced"):  # a lazy model input holds no NaN: the mask decides
        h, w = image.shape[:2]
        return h * w if valid is None else int(np.count_nonzero(valid))
    total = 0
    for r in range(0, image.shape[0], chunk_rows):
        band = _finite(np.asarray(image[r : r + chunk_rows]))
        if valid is not None:
            band &= valid[r : r + chunk_rows]
        total += int(np.count_nonzero(band))
    return total


def _finite(part: np.ndarray) -> np.ndarray:
    """``(h, w)`` bool: pixels whose every channel is finite (all, for integer data)."""
    if part.dtype.kind not in "fc":
        return np.ones(part.shape[:2], dtype=bool)
    finite = np.isfinite(part)
    return finite if finite.ndim == 2 else finite.all(axis=-1)
