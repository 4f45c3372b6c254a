"""Is there enough data for a trustworthy result? Checks on images and regions.

Models answer confidently whatever they are shown: an all-NaN FITS cut-out is captioned
"a dense dark green forest" and a 1 x 1 pixel region gets a label probability. Before a
model sees an image or region:

- no valid pixel at all (every pixel NaN or nodata): refused
  (:class:`~napari_clipcap.core.errors.InvalidInputError` from the task);
- fewer than :data:`MIN_VALID_FRACTION` of its pixels valid: a warning;
- a side shorter than :data:`MIN_SIDE` pixels (models take 224 px inputs, so such a
  region is magnified more than 7 times): a warning.

Warnings are :class:`~napari_clipcap.core.errors.LowDataWarning` (Python's ``warnings``):
the API shows them as usual, the command line prints them on stderr and lists them in
``--json`` under ``warnings``, the widgets show them beside the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import LowDataWarning, collect_warnings, warn_user

#: Below this fraction of valid (finite) pixels, a result gets a warning.
MIN_VALID_FRACTION = 0.5
#: Below this many pixels on a side, a result gets a warning.
MIN_SIDE = 32


def valid_fraction(image: np.ndarray) -> float:
    """The fraction of pixels whose every channel is finite."""
    a = np.asarray(image)
    if a.size == 0:
        return 0.0
    if a.dtype == bool:  # a validity mask: True where there is data
        return float(a.mean() if a.ndim == 2 else a.all(axis=-1).mean())
    finite = np.isfinite(a) if a.ndim == 2 else np.isfinite(a).all(axis=-1)
    return float(finite.mean())


def data_problems(image: np.ndarray, what: str = "the image") -> list[str]:
    """Why a result on ``image`` may not be trustworthy: empty when there is enough data."""
    a = np.asarray(image)
    problems = []
    h, w = a.shape[:2]
    frac = valid_fraction(a)
    if frac < MIN_VALID_FRACTION:
        problems.append(
            f"{what} holds data in only {frac:.0%} of its pixels (the rest is NaN or "
            f"nodata); the result may describe the blank area"
        )
    if min(h, w) < MIN_SIDE:
        problems.append(
            f"{what} is {w} x {h} pixels, far smaller than the model's input; the result "
            "describes a blurred enlargement"
        )
    return problems


#: Collects this thread's low-data problems (and every other user warning, e.g. random
#: weights) in a list, for a GUI job that shows them beside its result.
collect_low_data = collect_warnings


def warn_low_data(images: Sequence[np.ndarray], names: Sequence[str] | None = None) -> list:
    """Issue a :class:`LowDataWarning` for each image with too little data.

    Returns
    -------
    list of list of str
        The problems of each image (empty lists where there are none).
    """
    names = (
        list(names) if names is not None else [f"region {i}" for i in range(1, len(images) + 1)]
    )
    found = []
    for img, name in zip(images, names):
        problems = data_problems(img, name)
        for p in problems:
            warn_user(p, LowDataWarning, stacklevel=3)
        found.append(problems)
    return found


def checked_crops(
    image: np.ndarray,
    regions: Sequence | None,
    *,
    valid: np.ndarray | None = None,
    polygon_mode: str = "mask",
) -> tuple[list[np.ndarray], np.ndarray]:
    """Crop ``regions`` of ``image`` for a model, after checking their data.

    Parameters
    ----------
    image : ndarray
        ``H x W`` or ``H x W x C`` model input.
    regions : sequence or None
        Boxes and polygons (:func:`~napari_clipcap.core.coords.regions.crops`); None is
        the whole image.
    valid : ndarray of bool, optional
        ``(H, W)``: where the source holds data, when ``image`` no longer shows it (0
        where a FITS had NaN); without it, the NaN pixels of ``image`` count.

    Returns
    -------
    crops : list of ndarray
    empty : ndarray of bool
        Regions without any valid pixel (their results should be left out).

    Raises
    ------
    InvalidInputError
        The image holds no valid pixel at all.
    """
    from ..coords.regions import crops, is_all_nan
    from ..errors import InvalidInputError

    if is_all_nan(image) or (valid is not None and not np.any(valid)):
        raise InvalidInputError("the image is entirely NaN or nodata; nothing to work on")
    parts = crops(image, regions, polygon_mode=polygon_mode)
    if valid is not None:  # crops of the mask itself (bool): no full-size float copy
        checked = crops(np.asarray(valid, bool), regions, polygon_mode=polygon_mode, fill=True)
        empty = np.array([not c.any() for c in checked], dtype=bool)
    else:
        checked = parts
        empty = np.array([is_all_nan(c) for c in checked], dtype=bool)
    warn_low_data(checked, ["the image"] if not regions else None)
    return parts, empty
