"""Readers of caption data files: Karpathy/RSICD and COCO JSON, CSV and JSON Lines.

See :mod:`napari_clipcap.core.training.datasets` for the layouts; these readers check
every record and collect what they skip in the dataset's ``problems``.
"""

from __future__ import annotations

import csv
import json
from collections import OrderedDict
from pathlib import Path

from ..errors import FileFormatError, InvalidInputError
from .caption_records import CaptionDataset, CaptionRecord, normalize_split

__all__ = ["read_coco_json", "read_json", "read_karpathy_json", "read_table"]

_IMAGE_COLS = ("image", "filename", "file", "path", "filepath", "image_path")
_CAPTION_COLS = ("caption", "text", "sentence", "raw")


def _finish(
    records: list[CaptionRecord],
    source: Path,
    problems: list[str],
    strict: bool,
    check_images: bool,
) -> CaptionDataset:
    kept = []
    for rec in records:
        # kept as written (metrics and exact match compare against them); training ends
        # each with "." itself when it tokenizes (normalize_caption)
        caps = [str(c).strip() for c in rec.captions if str(c).strip()]
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


def read_json(path: Path):
    """The JSON content of ``path``; a missing or broken file is a FileFormatError."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"cannot read {path} as JSON: {exc}") from None


def read_karpathy_json(path, images_dir=None, *, strict=False, check_images=True):
    """Read an RSICD / Karpathy-split JSON file (see the module docstring)."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise FileFormatError(f"{path} has no 'images' list; not a Karpathy-style file")
    root = Path(images_dir) if images_dir else path.parent
    records = []
    for i, item in enumerate(data["images"]):
        if not isinstance(item, dict):
            raise FileFormatError(f"{path}: images[{i}] is not an object")
        name = item.get("filename") or item.get("file_name")
        if not name:
            raise FileFormatError(f"{path}: images[{i}] has no 'filename'")
        folder = item.get("filepath", "")
        for key, value in (("filename", name), ("filepath", folder)):
            if not isinstance(value, str):
                raise FileFormatError(
                    f"{path}: images[{i}].{key} is {value!r}, not a file name (text)"
                )
        sentences = item.get("sentences", [])
        if not isinstance(sentences, list):
            raise FileFormatError(f"{path}: images[{i}].sentences is not a list")
        image = root / folder / name
        captions = [s.get("raw", "") if isinstance(s, dict) else str(s) for s in sentences]
        split = normalize_split(item.get("split"), where=f"{path} images[{i}]")
        records.append(CaptionRecord(image, captions, split, item.get("label")))
    return _finish(records, path, [], strict, check_images)


def read_coco_json(path, images_dir=None, *, split="all", strict=False, check_images=True):
    """Read a COCO captions JSON file; every image gets ``split``."""
    path = Path(path)
    data = read_json(path)
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
