"""The rows a batch task writes per image and region: regions scaled to reduced reads,
``clipped_to``, label, caption and answer columns, the columns of a region without data.
Caption, ask and segment rows are their requests' runs (the CLI's path) on the pixels
batch read."""

from __future__ import annotations

import numpy as np


def scaled_regions(spec, k: int) -> list | None:
    regions = [scaled(r, k) for r in spec.regions]
    return regions or None


def label_rows(spec, model, cut) -> list[dict]:
    """One row of label probabilities per region of ``cut`` that holds data, scored as
    ``labels`` scores them (:func:`~napari_clipcap.core.tasks.labels.score_crops`)."""
    from ..tasks.labels import score_crops

    probs = score_crops(cut, list(spec.labels), model, template=spec.template)
    rows = []
    for p in probs[~cut.empty]:
        row = {"label": spec.labels[int(np.argmax(p))], "probability": float(np.max(p))}
        row.update({f"p:{lab}": float(v) for lab, v in zip(spec.labels, p)})
        rows.append(row)
    return rows


def _pixels(image: np.ndarray, valid) -> object:
    """The pixels a batch read (model input and valid mask) as a request's image."""
    from ..tasks.requests.base import ImageInput

    return ImageInput(pixels=lambda: (image, valid), name="image")


def caption_rows(spec, model, images: list, factors: list, valids: list) -> list[list[dict]]:
    """Rows per image, one per region: the first caption and all of them as JSON, from
    the :class:`~napari_clipcap.core.tasks.requests.CaptionRequest` ``napari-clipcap
    caption`` runs (images read with the same stride captioned as one batch); a region
    without data says why in ``no_data``."""
    import json

    from ..distributed import worker_device
    from ..tasks.requests import CaptionRequest

    out: list[list[dict]] = [[] for _ in images]
    for k in dict.fromkeys(factors):  # regions are scaled by the stride of each read
        index = [i for i, f in enumerate(factors) if f == k]
        regions = scaled_regions(spec, k)
        request = CaptionRequest(
            images=tuple(_pixels(images[i], valids[i]) for i in index),
            captioner=spec.model,
            decoding={"beam_size": spec.beam, "num_captions": spec.num,
                      "max_tokens": spec.max_tokens},
            regions=None if regions is None else tuple(regions),
            batch_size=spec.batch_size,
            device=worker_device(spec.device),
        )  # fmt: skip
        result = request.run(captioner=model)
        for i, entry, problems in zip(index, result.data["images"], result.extra["problems"]):
            for r, found, why in zip(list(spec.regions) or [None], entry["regions"], problems):
                caps = found["captions"]
                row = {"region": box_text(r), **clipped(r, images[i], k)}
                row.update(caption=caps[0] if caps else "", captions=json.dumps(caps))
                blank = found.get("no_data")
                row["no_data"] = (why[0] if why else "no valid data") if blank else ""
                out[i].append(row)
    return out


def ask_rows(spec, model, image: np.ndarray, k: int, valid) -> list[dict]:
    """One row per region: the answer and the boxes it points at, as JSON, from the
    :class:`~napari_clipcap.core.tasks.ask.AskRequest` ``napari-clipcap ask`` runs."""
    import json

    from ..distributed import worker_device
    from ..tasks.ask import DEFAULT_VLM, AskRequest

    regions = scaled_regions(spec, k)
    request = AskRequest(
        image=_pixels(image, valid),
        question=spec.question,
        vlm=spec.weights or DEFAULT_VLM,
        regions=None if regions is None else tuple(regions),
        max_tokens=spec.max_tokens,
        device=worker_device(spec.device),
    )
    answers = request.run(vlm=model).answers
    rows = []
    for r, a in zip(list(spec.regions) or [None], answers):
        row = {"region": box_text(r), **clipped(r, image, k)}
        row.update(answer="" if a is None else a.text, no_data="" if a else "no valid data")
        row["boxes"] = json.dumps([] if a is None else [d.as_dict() for d in a.boxes])
        rows.append(row)
    return rows


def segment_row(spec, model, image: np.ndarray, k: int, valid) -> dict:
    """One row per image: the instance count and the instances (id, phrase, score,
    area_px and box in full-resolution pixels; with ``labels``, each instance's label and
    probabilities, and with ``caption_instances`` its caption, made on its outline) as
    JSON, from the :class:`~napari_clipcap.core.tasks.segment.SegmentRequest`
    ``napari-clipcap segment`` runs."""
    import json

    from ..distributed import worker_device
    from ..tasks.segment import DEFAULT_SEGMENTER, InstanceTasks, SegmentRequest

    areas = scaled_regions(spec, k)
    if areas is not None:
        from ..coords.regions import as_region

        areas = tuple(as_region(r, image.shape).box for r in areas)
    tasks = InstanceTasks(
        labels=spec.labels,
        template=spec.template,
        clip=spec.clip,
        caption=spec.caption_instances,
        captioner=spec.captioner,
        captioner_weights=spec.instance_captioner_weights,
        decoder=spec.decoder,
        max_tokens=spec.max_tokens,
    )
    request = SegmentRequest(
        image=_pixels(image, valid),
        phrases=tuple(spec.phrases),
        segmenter=spec.segmenter_name or DEFAULT_SEGMENTER,
        regions=areas,
        device=worker_device(spec.device),
        instance_tasks=tasks,
    )
    rows = request.run(segmenter=model).rows
    keep = ("id", "phrase", "score", "area_px", "box")
    keep += ("label", "probabilities") if spec.labels else ()
    keep += ("caption",) if spec.caption_instances else ()
    for r in rows:  # back to full-resolution pixels of a file read with a stride
        r["box"] = [int(v) * k for v in r["box"]]
        r["area_px"] = int(r["area_px"]) * k * k
    return {"count": len(rows), "instances": json.dumps([{c: r[c] for c in keep} for r in rows])}


def gap_row(spec) -> dict:
    """The label columns of a region without data."""
    gap = {"label": "", "probability": float("nan")}
    gap.update({f"p:{lab}": float("nan") for lab in spec.labels})
    return gap


def heatmap_row(spec, model, image: np.ndarray, valid) -> dict:
    from ..tasks.heatmap import text_heatmap

    m = np.asarray(
        text_heatmap(
            image,
            spec.query,
            model,
            mode=spec.mode,
            window=spec.window,
            stride=spec.stride,
            template=spec.template,
            valid=valid,
        ),
        dtype=np.float32,
    )
    y, x = np.unravel_index(int(np.nanargmax(m)), m.shape)
    return {
        "heatmap_array": m,
        "max": float(np.nanmax(m)),
        "mean": float(np.nanmean(m)),
        "argmax_x": int(x),
        "argmax_y": int(y),
    }


def box_text(region) -> str:
    if region is None:
        return ""
    from ..coords.regions import region_text

    return region_text(region)


def scaled(region, k: int):
    """A full-resolution region in the pixels of an image read with stride ``k``."""
    if region is None or k == 1:
        return region
    arr = np.asarray(region, dtype=float)
    if arr.ndim == 2:
        return arr / k
    x0, y0, x1, y1 = (int(v) for v in region)
    return (x0 // k, y0 // k, max(x0 // k + 1, -(-x1 // k)), max(y0 // k + 1, -(-y1 // k)))


def clipped(region, image: np.ndarray, k: int = 1) -> dict:
    """``clipped_to``: the part of a region inside the image, "" when the region fits.

    For an image read with stride ``k`` the full-resolution extent is ``k`` times its.
    """
    if region is None:
        return {}
    from ..coords.regions import as_region

    shape = (image.shape[0] * k, image.shape[1] * k)
    fitted = as_region(region, shape).box
    arr = np.asarray(region, dtype=float)
    if arr.ndim == 2:  # a polygon: its pixels' bounding box, unclipped
        (x0, y0), (x1, y1) = np.floor(arr.min(axis=0)), np.ceil(arr.max(axis=0))
        asked = (int(x0), int(y0), int(x1), int(y1))
    else:
        asked = tuple(int(v) for v in region)
    return {"clipped_to": "" if fitted == asked else box_text(fitted)}
