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


def low_data_problems(fraction: float, width: int, height: int, what: str) -> list[str]:
    """Why a result on ``what`` may not be trustworthy, from its fraction of valid pixels
    and its size: empty when there is enough data."""
    problems = []
    if fraction < MIN_VALID_FRACTION:
        problems.append(
            f"{what} holds data in only {fraction:.0%} of its pixels (the rest is NaN or "
            f"nodata); the result may describe the blank area"
        )
    if min(width, height) < MIN_SIDE:
        problems.append(
            f"{what} is {width} x {height} pixels, far smaller than the model's input; the "
            "result describes a blurred enlargement"
        )
    return problems


def data_problems(image: np.ndarray, what: str = "the image") -> list[str]:
    """Why a result on ``image`` may not be trustworthy: empty when there is enough data."""
    a = np.asarray(image)
    h, w = a.shape[:2]
    return low_data_problems(valid_fraction(a), w, h, what)


#: Collects this thread's low-data problems (and every other user warning, e.g. random
#: weights) in a list, for a GUI job that shows them beside its result.
collect_low_data = collect_warnings


def report_low_data(problems: Sequence[str]) -> None:
    """Issue each problem as a :class:`LowDataWarning` and hand it to this thread's
    collectors (:func:`collect_low_data`)."""
    for p in problems:
        warn_user(p, LowDataWarning, stacklevel=3)


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
        report_low_data(problems)
        found.append(problems)
    return found
