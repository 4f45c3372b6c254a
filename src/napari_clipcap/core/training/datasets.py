"""Image-caption and image-classification datasets in the common layouts.

Caption datasets (:func:`read_caption_dataset`):

``karpathy``
    RSICD, UCM-captions, Sydney-captions and the COCO Karpathy split:
    ``{"images": [{"filename", "filepath"?, "split", "sentences": [{"raw"}]}]}``.
``coco``
    COCO captions: ``{"images": [{"id", "file_name"}], "annotations": [{"image_id",
    "caption"}]}``; it has no split, so every image gets ``split`` (default ``"all"``).
``csv`` / ``jsonl``
    one row per image-caption pair with columns ``image`` (or ``filename``, ``file``,
    ``path``, ``filepath``), ``caption`` (or ``text``, ``sentence``) and optional
    ``split`` and ``label``; several rows may share an image.

Classification datasets (:func:`read_image_folder`): one sub-folder per class, as in
EuroSAT. Image paths are relative to the data file's folder unless ``images_dir`` is
given. Missing images and empty captions are collected in ``problems`` (with their paths
or rows) and skipped, unless ``strict=True``, which raises on the first report.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInputError
from .caption_files import read_coco_json, read_json, read_karpathy_json, read_table
from .caption_records import (
    SPLIT_ALIASES,
    CaptionDataset,
    CaptionRecord,
    normalize_caption,
    normalize_split,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "SPLIT_ALIASES",
    "CaptionDataset",
    "CaptionRecord",
    "detect_format",
    "normalize_caption",
    "normalize_split",
    "read_caption_dataset",
    "read_coco_json",
    "read_image_folder",
    "read_karpathy_json",
    "read_table",
]

IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".bmp",
    ".webp",
    ".fits",
    ".fit",
    ".fts",
    ".fits.gz",
)


def detect_format(path) -> str:
    """Guess the layout of a dataset path: karpathy, coco, csv, jsonl or folder."""
    path = Path(path)
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise InvalidInputError(f"dataset {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        data = read_json(path)
        if isinstance(data, dict) and "annotations" in data:
            return "coco"
        return "karpathy"
    raise InvalidInputError(
        f"cannot tell the layout of {path}; give a .json (Karpathy/RSICD or COCO), "
        ".csv, .jsonl file or an image folder with one sub-folder per class"
    )


def read_caption_dataset(
    path, *, images_dir=None, format="auto", split=None, strict=False, check_images=True
) -> CaptionDataset:
    """Read an image-caption dataset in any supported layout.

    Parameters
    ----------
    path : str or Path
        The data file (or, for ``format="folder"``, a folder per class).
    images_dir : str or Path, optional
        Folder the image paths are relative to; default: the data file's folder.
    format : {"auto", "karpathy", "coco", "csv", "jsonl", "folder"}
    split : str, optional
        Keep only this split (``train``, ``val``, ``test``).
    strict : bool
        Raise on the first missing image or empty caption instead of skipping it.
    check_images : bool
        Check that every image file exists.

    Returns
    -------
    CaptionDataset
    """
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "karpathy":
        ds = read_karpathy_json(path, images_dir, strict=strict, check_images=check_images)
    elif fmt == "coco":
        ds = read_coco_json(path, images_dir, strict=strict, check_images=check_images)
    elif fmt in ("csv", "jsonl"):
        ds = read_table(path, images_dir, strict=strict, check_images=check_images)
    elif fmt == "folder":
        ds = read_image_folder(path)
    else:
        raise InvalidInputError(f"unknown dataset format {format!r}")
    return ds.split(split) if split else ds


def read_image_folder(root, *, split: str = "all") -> CaptionDataset:
    """Read a classification dataset with one sub-folder of images per class (EuroSAT).

    Each record's ``label`` is its folder name (underscores become spaces) and its one
    caption is that label.
    """
    root = Path(root)
    if not root.is_dir():
        raise InvalidInputError(f"{root} is not a folder")
    records = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = folder.name.replace("_", " ")
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.name.lower().endswith(IMAGE_SUFFIXES):
                records.append(CaptionRecord(f, [label], normalize_split(split), label))
    if not records:
        raise InvalidInputError(
            f"{root} holds no images in class sub-folders (expected e.g. {root}/Forest/1.jpg)"
        )
    return CaptionDataset(records, root, [])
