"""Boxes written by vision-language models, read back into the pixels of the image asked.

Qwen2-VL and Qwen2.5-VL write JSON objects ``{"bbox_2d": [x0, y0, x1, y1], "label": ...}``
in pixels of the image as the processor resized it; Qwen3-VL writes the same JSON on a
0-1000 grid; PaliGemma writes four ``<locYYYY>`` tokens (``y0 x0 y1 x1`` in 1024 bins of
its square input) before each phrase, entries separated by ``;``. All of them come back
as :class:`~napari_clipcap.core.coords.detections.Detection` in the pixel coordinates of
the image the model was shown, moved by the crop's offset, so that the Grounding dock's
placement code puts them over any layer.
"""

from __future__ import annotations

import json
import re

from ..coords.detections import Detection

__all__ = ["parse_boxes", "strip_boxes"]

_LOC = re.compile(r"((?:<loc\d{4}>){4})\s*([^<;]*)")
_LOC_VALUE = re.compile(r"<loc(\d{4})>")
_JSON_BLOCK = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_OBJECT = re.compile(r"\{[^{}]*\"bbox_2d\"[^{}]*\}", re.S)


def _qwen_objects(text: str) -> list[dict]:
    blocks = _JSON_BLOCK.findall(text) or [text]
    found = []
    for block in blocks:
        try:
            data = json.loads(block)
            items = data if isinstance(data, list) else [data]
        except ValueError:
            items = []
            for match in _OBJECT.findall(block):
                try:
                    items.append(json.loads(match))
                except ValueError:
                    continue
        found.extend(i for i in items if isinstance(i, dict) and "bbox_2d" in i)
    return found


def _clipped(box, width: float, height: float):
    x0, y0, x1, y1 = box
    x0, x1 = sorted((min(max(x0, 0.0), width), min(max(x1, 0.0), width)))
    y0, y1 = sorted((min(max(y0, 0.0), height), min(max(y1, 0.0), height)))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def parse_boxes(
    text: str,
    box_format: str | None,
    *,
    shown_size: tuple[int, int],
    model_size: tuple[int, int] | None = None,
    offset: tuple[float, float] = (0.0, 0.0),
) -> list[Detection]:
    """The boxes in an answer, in pixels of the image asked about.

    Parameters
    ----------
    text : str
        The answer as decoded (location tokens kept).
    box_format : str or None
        The family's :attr:`~napari_clipcap.core.vlm.families.Family.box_format`.
    shown_size : (width, height)
        Size of the image (or crop) the model was shown, in its own pixels.
    model_size : (width, height), optional
        Size the processor resized it to (``"qwen-absolute"`` boxes are in these pixels).
    offset : (x, y)
        Where the shown image's pixel (0, 0) lies in the full image (a crop's corner).

    Returns
    -------
    list of Detection
        Boxes ``(x0, y0, x1, y1)`` with their phrase (``score`` is None: these models give
        none), clipped to the shown image; malformed entries are skipped.
    """
    if not box_format or not text:
        return []
    width, height = map(float, shown_size)
    if box_format == "paligemma-loc":
        raw = []
        for locs, phrase in _LOC.findall(text):
            y0, x0, y1, x1 = (int(v) / 1024.0 for v in _LOC_VALUE.findall(locs))
            raw.append(((x0 * width, y0 * height, x1 * width, y1 * height), phrase.strip()))
    else:
        if box_format == "qwen-relative":
            sx, sy = width / 1000.0, height / 1000.0
        else:
            mw, mh = model_size or shown_size
            sx, sy = width / float(mw), height / float(mh)
        raw = []
        for obj in _qwen_objects(text):
            box = obj.get("bbox_2d")
            if not (isinstance(box, list) and len(box) == 4):
                continue
            try:
                x0, y0, x1, y1 = (float(v) for v in box)
            except (TypeError, ValueError):
                continue
            label = obj.get("label", "")
            raw.append(((x0 * sx, y0 * sy, x1 * sx, y1 * sy), str(label).strip()))
    dx, dy = offset
    out = []
    for box, phrase in raw:
        clipped = _clipped(box, width, height)
        if clipped is None:
            continue
        x0, y0, x1, y1 = clipped
        out.append(Detection(phrase or "object", (x0 + dx, y0 + dy, x1 + dx, y1 + dy), phrase))
    return out


def strip_boxes(text: str, box_format: str | None) -> str:
    """The answer with PaliGemma's location tokens removed (JSON answers are kept)."""
    if box_format == "paligemma-loc":
        return re.sub(r"\s+", " ", _LOC_VALUE.sub("", text)).strip(" ;")
    return text.strip()
