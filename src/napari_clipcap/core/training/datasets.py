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

import csv
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FileFormatError, InvalidInputError

#: Split names accepted in data files, mapped to the three used here.
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "restval": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
    "all": "all",
}
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
_IMAGE_COLS = ("image", "filename", "file", "path", "filepath", "image_path")
_CAPTION_COLS = ("caption", "text", "sentence", "raw")


@dataclass
class CaptionRecord:
    """One image with its reference captions."""

    image: Path
    captions: list[str]
    split: str = "all"
    label: str | None = None


@dataclass
class CaptionDataset:
    """Image-caption records plus the problems met while reading them."""

    records: list[CaptionRecord]
    source: Path | None = None
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def splits(self) -> list[str]:
        """Split names present, in first-seen order."""
        return list(OrderedDict.fromkeys(r.split for r in self.records))

    def split(self, name: str) -> CaptionDataset:
        """The records of one split (``"all"`` gives every record).

        Raises
        ------
        InvalidInputError
            If no record has that split; the message lists the splits present.
        """
        key = normalize_split(name, where="the requested split")
        if key == "all":
            return self
        records = [r for r in self.records if r.split == key]
        if not records:
            raise InvalidInputError(
                f"dataset {self.source or ''} has no {key!r} split; it has: "
                f"{', '.join(self.splits) or 'no records'}"
            )
        return CaptionDataset(records, self.source, list(self.problems))

    @property
    def images(self) -> list[Path]:
        return [r.image for r in self.records]

    @property
    def labels(self) -> list[str | None]:
        return [r.label for r in self.records]


def normalize_split(value: str | None, *, where: str = "") -> str:
    """Map a split name from a data file to ``train``, ``val``, ``test`` or ``all``."""
    if value is None or str(value).strip() == "":
        return "all"
    key = SPLIT_ALIASES.get(str(value).strip().lower())
    if key is None:
        raise InvalidInputError(
            f"unknown split {value!r}{' in ' + where if where else ''}; "
            "use train, val or test (aliases: validation, dev, restval)"
        )
    return key


def normalize_caption(text: str) -> str:
    """Strip whitespace and end the caption with ``"."`` so decoding learns to stop."""
    text = " ".join(str(text).split())
    if text and text[-1] not in ".!?":
        text += "."
    return text


def _finish(
    records: list[CaptionRecord],
    source: Path,
    problems: list[str],
    strict: bool,
    check_images: bool,
) -> CaptionDataset:
    kept = []
    for rec in records:
        caps = [normalize_caption(c) for c in rec.captions if str(c).strip()]
        if len(caps) < len(rec.captions):
            problems.append(f"{rec.image}: {len(rec.captions) - len(caps)} empty caption(s)")
        if not caps:
            problems.append(f"{rec.image}: no non-empty caption, image skipped")
            continue
        if check_images and not rec.image.is_file():
            problems.append(f"{rec.image}: image file not found, skipped")
            continue
        rec.captions = caps
        kept.append(rec)
    if strict and problems:
        raise InvalidInputError(f"dataset {source}: " + "; ".join(problems[:5]))
    _check_split_overlap(kept, source)
    if not kept:
        detail = f" ({'; '.join(problems[:3])})" if problems else ""
        raise InvalidInputError(f"dataset {source} holds no usable image-caption pairs{detail}")
    return CaptionDataset(kept, source, problems)


def _check_split_overlap(records: list[CaptionRecord], source: Path) -> None:
    seen: dict[Path, str] = {}
    for rec in records:
        other = seen.setdefault(rec.image, rec.split)
        if other != rec.split:
            raise InvalidInputError(
                f"dataset {source}: image {rec.image} is in both the {other!r} and the "
                f"{rec.split!r} split; each image must belong to one split"
            )


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"cannot read {path} as JSON: {exc}") from None


def read_karpathy_json(path, images_dir=None, *, strict=False, check_images=True):
    """Read an RSICD / Karpathy-split JSON file (see the module docstring)."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise FileFormatError(f"{path} has no 'images' list; not a Karpathy-style file")
    root = Path(images_dir) if images_dir else path.parent
    records = []
    for i, item in enumerate(data["images"]):
        name = item.get("filename") or item.get("file_name")
        if not name:
            raise FileFormatError(f"{path}: images[{i}] has no 'filename'")
        image = root / item.get("filepath", "") / name
        captions = [
            s.get("raw", "") if isinstance(s, dict) else str(s) for s in item.get("sentences", [])
        ]
        split = normalize_split(item.get("split"), where=f"{path} images[{i}]")
        records.append(CaptionRecord(image, captions, split, item.get("label")))
    return _finish(records, path, [], strict, check_images)


def read_coco_json(path, images_dir=None, *, split="all", strict=False, check_images=True):
    """Read a COCO captions JSON file; every image gets ``split``."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or "annotations" not in data or "images" not in data:
        raise FileFormatError(f"{path} lacks 'images' or 'annotations'; not a COCO file")
    root = Path(images_dir) if images_dir else path.parent
    split = normalize_split(split)
    by_id: dict = OrderedDict()
    for img in data["images"]:
        by_id[img["id"]] = CaptionRecord(root / img["file_name"], [], split)
    problems = []
    for ann in data["annotations"]:
        rec = by_id.get(ann.get("image_id"))
        if rec is None:
            problems.append(f"annotation {ann.get('id')}: unknown image_id {ann.get('image_id')}")
            continue
        rec.captions.append(ann.get("caption", ""))
    return _finish(list(by_id.values()), path, problems, strict, check_images)


def _pick(row: dict, names: tuple[str, ...], path: Path, what: str) -> str:
    for name in names:
        if name in row:
            return name
    raise FileFormatError(
        f"{path} has no {what} column; expected one of {', '.join(names)} "
        f"(found: {', '.join(row) or 'none'})"
    )


def read_table(path, images_dir=None, *, strict=False, check_images=True):
    """Read a CSV or JSONL file with image, caption and optional split/label columns."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        try:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"{path}: not JSON Lines ({exc})") from None
    else:
        rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise InvalidInputError(f"{path} holds no rows")
    lower = [{str(k).strip().lower(): v for k, v in row.items()} for row in rows]
    icol = _pick(lower[0], _IMAGE_COLS, path, "image")
    ccol = _pick(lower[0], _CAPTION_COLS, path, "caption")
    root = Path(images_dir) if images_dir else path.parent
    by_image: dict[Path, CaptionRecord] = OrderedDict()
    problems = []
    for n, row in enumerate(lower, start=2 if path.suffix.lower() == ".csv" else 1):
        where = f"{path} row {n}"
        if not str(row.get(icol) or "").strip():
            problems.append(f"{where}: no image path")
            continue
        image = root / str(row[icol]).strip()
        split = normalize_split(row.get("split"), where=where)
        rec = by_image.get(image)
        if rec is None:
            rec = by_image[image] = CaptionRecord(image, [], split, row.get("label") or None)
        elif rec.split != split:
            raise InvalidInputError(
                f"{where}: image {image} was given split {rec.split!r} before and "
                f"{split!r} here; each image must belong to one split"
            )
        caption = row.get(ccol)
        if caption is None or not str(caption).strip():
            problems.append(f"{where}: empty caption for {image}")
        rec.captions.append("" if caption is None else str(caption))
    return _finish(list(by_image.values()), path, problems, strict, check_images)


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
        data = _load_json(path)
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
