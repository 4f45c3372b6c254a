"""Captions made elsewhere (``evaluate captions --predictions``) matched to the images of
a dataset by their path, never by file name alone.

A prediction's ``image`` is a path as the user wrote it: relative to the images folder
(``a/001.png``), absolute, or a bare name. It matches the dataset image whose path ends
with the same components. A name that fits two images (``001.png`` in ``a/`` and ``b/``)
is refused with both paths, so one caption is never scored against two images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from ..errors import InvalidInputError

__all__ = ["match_predictions"]


def _parts(path: str | Path) -> tuple[str, ...]:
    text = str(path).replace("\\", "/")
    return tuple(p for p in PurePosixPath(text).parts if p not in ("/", "."))


def match_predictions(
    given: Mapping[str, str], images: Sequence[Path], source: str = "--predictions"
) -> list[str]:
    """The caption of each of ``images`` from ``given`` (image path as written -> caption).

    Raises
    ------
    InvalidInputError
        A prediction whose path fits several images, two predictions for one image, or
        an image with no prediction.
    """
    by_name: dict[str, list[int]] = {}
    image_parts = [_parts(Path(p).resolve()) for p in images]
    for i, parts in enumerate(image_parts):
        by_name.setdefault(parts[-1] if parts else "", []).append(i)
    found: dict[int, tuple[str, str]] = {}
    for written, caption in given.items():
        key = _parts(written)
        if not key:
            continue
        fits = [i for i in by_name.get(key[-1], ()) if image_parts[i][-len(key) :] == key]
        if len(fits) > 1:
            shown = ", ".join(str(images[i]) for i in fits[:3])
            raise InvalidInputError(
                f"{source}: {written!r} fits {len(fits)} images ({shown}); give each "
                "image's path relative to the images folder"
            )
        if not fits:
            continue  # an image outside the split
        if fits[0] in found:
            raise InvalidInputError(
                f"{source}: two captions for {images[fits[0]]} "
                f"({found[fits[0]][0]!r} and {written!r})"
            )
        found[fits[0]] = (written, caption)
    missing = [str(images[i]) for i in range(len(images)) if i not in found]
    if missing:
        raise InvalidInputError(
            f"{source} has no caption for {len(missing)} image(s) of the split, e.g. {missing[0]}"
        )
    return [found[i][1] for i in range(len(images))]
