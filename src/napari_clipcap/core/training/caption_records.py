"""Image-caption records and datasets, and the split and caption spellings they use."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInputError

__all__ = [
    "SPLIT_ALIASES",
    "CaptionDataset",
    "CaptionRecord",
    "normalize_caption",
    "normalize_split",
]

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
