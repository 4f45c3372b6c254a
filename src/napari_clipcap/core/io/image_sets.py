"""Read the images of a dataset: many files, each for a model, the unreadable ones listed.

Training and evaluation both read their datasets through :func:`load_images`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import FileFormatError
from ..jobs import check_cancel, report

__all__ = ["load_image", "load_images"]


def load_image(path) -> np.ndarray:
    """Read one dataset image as ``H x W x 3`` float32 in ``[0, 1]``.

    FITS files go through the astronomy model-input scaling (first HDU with image data);
    other formats are value/255.
    """
    from .sources import load_unit

    return load_unit(path, None, max_side=1024)


def load_images(
    paths: Sequence, *, strict: bool = False, progress=None, cancel=None
) -> tuple[list[np.ndarray], list[int], list[str]]:
    """Read images, skipping the unreadable ones unless ``strict``.

    Returns
    -------
    images : list of ndarray
    kept : list of int
        Indices into ``paths`` of the images that were read.
    problems : list of str
        One message per unreadable image, naming its path.
    """
    images, kept, problems = [], [], []
    for i, p in enumerate(paths):
        check_cancel(cancel)
        try:
            images.append(load_image(p))
            kept.append(i)
        except (FileFormatError, OSError) as exc:
            if strict:
                raise FileFormatError(f"cannot read image {p}: {exc}") from exc
            problems.append(f"{p}: unreadable image skipped ({exc})")
        report(progress, i + 1, len(paths))
    return images, kept, problems
