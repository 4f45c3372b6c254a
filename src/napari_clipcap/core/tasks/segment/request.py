"""The one request of the Segment task, shared by every door.

The Segment dock fills :class:`SegmentRequest` from its widgets, ``napari-clipcap
segment`` from its flags, ``batch --task segment`` from its spec;
:meth:`SegmentRequest.to_argv` is the command provenance records.
"""

from __future__ import annotations

import argparse
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...jobs import CancelFlag, ProgressCallback, report
from ..requests.base import ImageInput, flag
from .instances import InstanceTasks

__all__ = ["DEFAULT_SEGMENTER", "SegmentRequest", "SegmentResult", "segment"]

#: The segmenter used when none is named (gated on the hub: log in or give a folder).
DEFAULT_SEGMENTER = "sam3"
#: The :func:`segment` options that go to :class:`~.instances.InstanceTasks`.
INSTANCE_OPTIONS = (
    "labels",
    "template",
    "templates",
    "clip",
    "clip_weights",
    "caption",
    "captioner",
    "captioner_weights",
    "decoder",
)


@dataclass
class SegmentResult:
    """Instances of one :class:`SegmentRequest`: the label image and the table."""

    request: SegmentRequest
    model: str
    labels: np.ndarray
    instances: list
    rows: list[dict]
    warnings: list[str] = field(default_factory=list)
    image_file: Any = None
    geo: dict | None = None
    models: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        """The ``--json`` payload: ``instances`` with ``id``, ``phrase``, ``score``,
        ``area_px``, ``box`` and the world measures."""
        out = {
            "image": self.request.image.path,
            "phrases": list(self.request.phrases),
            "model": self.model,
            "shape": [int(v) for v in self.labels.shape],
            "count": len(self.rows),
            "instances": [dict(r) for r in self.rows],
        }
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def _boxes(values) -> tuple | None:
    """Boxes as tuples of int (``x0,y0,x1,y1`` texts parsed), or None for none."""
    if not values:
        return None
    from ...coords.regions import parse_region

    parsed = (parse_region(b) if isinstance(b, str) else b for b in values)
    return tuple(tuple(int(v) for v in b) for b in parsed)


@dataclass(frozen=True)
class SegmentRequest:
    """Everything one Segment needs; built by the dock, the CLI and batch alike.

    Attributes
    ----------
    image : ImageInput
        The image and how it is read and scaled, as for every task (a path is taken
        as that file, read with the default scaling).
    phrases : tuple of str
        What to find ("storage tank", "ship"); may be empty with exemplars or boxes.
    segmenter : str
        Preset name, ``save_pretrained`` folder or hub id (default ``sam3``).
    exemplars : tuple of boxes, optional
        SAM 3 example boxes ``(x0, y0, x1, y1)``.
    exemplar_labels : tuple of int, optional
        One per exemplar: 1 an example ("find more like it"), 0 a counter-example ("not
        like this"); None: all examples. Kept with the examples first (the order
        ``--exemplar``/``--negative-exemplar`` give back).
    boxes : tuple of boxes, optional
        Boxes to turn into masks with a SAM (v1) segmenter.
    regions : tuple of boxes, optional
        Areas to segment (drawn shapes, the view); None for the whole image.
    tile, overlap : int, optional
        Tile side (default the model's, 1008 for SAM 3) and overlap (default tile / 8).
    threshold, merge_iou : float
    out, out_regions, out_table : str, optional
        Label image (.tif/.fits/.npy), outlines (.reg/.crtf/.geojson), table (.csv).
    device, precision : str
        As for every task.
    instance_tasks : InstanceTasks
        Labels scored and captions made per instance (``--labels``, ``--caption``),
        each instance's outline its polygon region (:mod:`.instances`).
    """

    image: ImageInput
    phrases: tuple = ()
    segmenter: str = DEFAULT_SEGMENTER
    exemplars: tuple | None = None
    exemplar_labels: tuple | None = None
    boxes: tuple | None = None
    regions: tuple | None = None
    tile: int | None = None
    overlap: int | None = None
    threshold: float = 0.5
    merge_iou: float = 0.5
    out: str | None = None
    out_regions: str | None = None
    out_table: str | None = None
    device: str = "auto"
    precision: str = "auto"
    instance_tasks: InstanceTasks = field(default_factory=InstanceTasks)

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", ImageInput.of(self.image))
        phrases = tuple(p.strip() for p in self.phrases if str(p).strip())
        object.__setattr__(self, "phrases", phrases)
        if not phrases and not self.exemplars and not self.boxes:
            raise InvalidInputError("give --phrases, --exemplar boxes or --box boxes")
        self._order_exemplars()
        if self.boxes and (phrases or self.exemplars):
            raise InvalidInputError("--box (boxes to masks) goes without --phrases/--exemplar")
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise InvalidInputError(f"--threshold must be in [0, 1], not {self.threshold}")
        if not 0.0 < float(self.merge_iou) <= 1.0:
            raise InvalidInputError(f"--merge-iou must be in (0, 1], not {self.merge_iou}")
        if self.tile is not None and int(self.tile) < 16:
            raise InvalidInputError(f"--tile must be at least 16 px, not {self.tile}")
        if self.out and Path(self.out).suffix.lower() not in _label_suffixes():
            raise InvalidInputError(f"--out must end in one of {', '.join(_label_suffixes())}")
        if self.out_table and Path(self.out_table).suffix.lower() != ".csv":
            raise InvalidInputError("--out-table must end in .csv")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SegmentRequest:
        """The request the ``napari-clipcap segment`` flags describe (boxes parsed)."""
        phrases = tuple(p for p in str(args.phrases or "").split(","))
        return cls(
            image=ImageInput.from_args(args),
            phrases=phrases,
            segmenter=args.segmenter or DEFAULT_SEGMENTER,
            **_exemplar_fields(args.exemplar, getattr(args, "negative_exemplar", None)),
            boxes=_boxes(args.box),
            regions=_boxes(args.region),
            tile=args.tile,
            overlap=args.overlap,
            threshold=args.threshold,
            merge_iou=args.merge_iou,
            out=args.out,
            out_regions=args.out_regions,
            out_table=args.out_table,
            device=args.device,
            precision=args.precision,
            instance_tasks=InstanceTasks.from_args(args),
        )

    def _order_exemplars(self) -> None:
        """Check the exemplar labels (0 or 1, one per box) and put the examples first;
        counter-examples alone find nothing, so they need a phrase or an example."""
        if self.exemplar_labels is None:
            return
        boxes, labels = tuple(self.exemplars or ()), tuple(int(v) for v in self.exemplar_labels)
        if len(labels) != len(boxes):
            raise InvalidInputError(
                f"{len(labels)} exemplar labels for {len(boxes)} exemplar boxes"
            )
        if set(labels) - {0, 1}:
            raise InvalidInputError("exemplar labels are 1 (example) or 0 (counter-example)")
        if boxes and 1 not in labels and not self.phrases:
            raise InvalidInputError(
                "counter-examples (--negative-exemplar) need a phrase or an example box"
            )
        order = sorted(range(len(boxes)), key=lambda i: -labels[i])  # stable: examples first
        object.__setattr__(self, "exemplars", tuple(boxes[i] for i in order) or None)
        object.__setattr__(self, "exemplar_labels", tuple(labels[i] for i in order) or None)

    def _exemplars_labelled(self, label: int) -> tuple:
        """The exemplar boxes with ``label`` (1: examples, 0: counter-examples)."""
        labels = self.exemplar_labels or (1,) * len(self.exemplars or ())
        return tuple(b for b, v in zip(self.exemplars or (), labels) if v == label)

    def check_outputs(self) -> None:
        """Raise :class:`InvalidInputError` for an output path that cannot be written
        (called before any model runs)."""
        for name, value in (
            ("--out", self.out),
            ("--out-regions", self.out_regions),
            ("--out-table", self.out_table),
        ):
            if not value:
                continue
            path = Path(value).expanduser()
            parent = path.parent if str(path.parent) else Path(".")
            if path.is_dir() or (parent.exists() and not os.access(parent, os.W_OK)):
                raise InvalidInputError(f"cannot write {name} {value}: not a writable file path")

    def run(
        self,
        *,
        segmenter: Any = None,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
    ) -> SegmentResult:
        """Read the image, load the segmenter (or use ``segmenter``), segment every tile
        and merge; warnings are kept in the result as well as raised."""
        from ...segmentation.measure import instance_table
        from ...segmentation.model import cached_segmenter
        from ...segmentation.tiling import paint_labels

        self.check_outputs()
        img = self.image.load(lazy=True)  # each tile is read and scaled when it is run
        model = segmenter or cached_segmenter(self.segmenter, self.device, self.precision)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            instances = self._instances(model, img.data, img.valid, progress, cancel)
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        geo = None
        if img.kind == "geotiff":
            from ...io.geoexport import geo_metadata_of

            geo = geo_metadata_of(img.file.path)
        labels = paint_labels(instances, img.data.shape[:2])
        rows = instance_table(instances, geo=geo, wcs=img.wcs)
        messages = [str(w.message) for w in caught]
        models: list[dict] = []
        if self.instance_tasks.active:
            rows, models, more = self.instance_tasks.run(
                self.image, img, labels, rows, device=self.device, precision=self.precision,
                progress=progress, cancel=cancel,
            )  # fmt: skip
            messages = list(dict.fromkeys([*messages, *more]))
        result = SegmentResult(self, model.name, labels, instances, rows, messages, img.file, geo)
        result.models = models
        return result

    def _instances(self, model, image, valid, progress, cancel) -> list:
        from ...segmentation.tiling import segment_tiles

        if self.boxes:
            return _box_instances(model, image, self.boxes, valid, progress)
        if getattr(model, "kind", "") != "phrase":
            raise InvalidInputError(
                f"{model.name} turns boxes into masks (--box); phrases and exemplars need "
                "SAM 3 (--segmenter sam3 or a SAM 3 folder)"
            )
        return segment_tiles(
            model,
            image,
            self.phrases,
            tile=self.tile,
            overlap=self.overlap,
            areas=self.regions,
            exemplars=self.exemplars or (),
            exemplar_labels=self.exemplar_labels,
            threshold=self.threshold,
            merge_iou=self.merge_iou,
            valid=valid,
            progress=progress,
            cancel=cancel,
        )

    def models(self) -> list[dict]:
        """Provenance entries of the model this request names (resolved, not loaded)."""
        from ...provenance import model_entry

        return [model_entry("segmenter", self.segmenter)]

    def parameters(self) -> dict:
        """What provenance records of the request besides its command."""

        def boxes(values):
            return None if values is None else [list(map(int, b)) for b in values]

        return {
            "phrases": list(self.phrases),
            "segmenter": self.segmenter,
            "exemplars": boxes(self.exemplars),
            "exemplar_labels": list(self.exemplar_labels or ()) or None,
            "boxes": boxes(self.boxes),
            "regions": boxes(self.regions),
            "tile": self.tile,
            "overlap": self.overlap,
            "threshold": float(self.threshold),
            "merge_iou": float(self.merge_iou),
            "instance_tasks": (
                self.instance_tasks.parameters() if self.instance_tasks.active else None
            ),
        }

    def inputs(self) -> dict:
        """The image read (file, layer name, plane)."""
        img = self.image
        return {"image": img.path, "layer": img.name, "plane": list(img.plane)}

    def why_no_command(self) -> str | None:
        """Why no command line can recompute this request (None when one can)."""
        return self.image.why_no_command()

    def to_argv(self) -> list[str]:
        """The ``napari-clipcap segment ...`` command that recomputes this request."""
        argv = ["napari-clipcap", "segment", *self.image.to_argv()]
        if self.phrases:
            argv += ["--phrases", ",".join(self.phrases)]
        if self.segmenter != DEFAULT_SEGMENTER:
            argv += ["--segmenter", self.segmenter]
        for name, boxes in (
            ("--exemplar", self._exemplars_labelled(1)),
            ("--negative-exemplar", self._exemplars_labelled(0)),
            ("--box", self.boxes),
            ("--region", self.regions),
        ):
            for box in boxes or ():
                argv += [name, ",".join(str(int(v)) for v in box)]
        argv += flag("--tile", self.tile) + flag("--overlap", self.overlap)
        argv += flag("--threshold", self.threshold, 0.5)
        argv += flag("--merge-iou", self.merge_iou, 0.5)
        for name, path in (
            ("--out", self.out),
            ("--out-regions", self.out_regions),
            ("--out-table", self.out_table),
        ):
            if path:
                argv += [name, os.path.abspath(path)]
        return argv + self.instance_tasks.to_argv()


def _exemplar_fields(examples, counter_examples) -> dict:
    """``exemplars`` and ``exemplar_labels`` of ``--exemplar`` and ``--negative-exemplar``
    boxes (no labels when every box is an example)."""
    positive, negative = _boxes(examples) or (), _boxes(counter_examples) or ()
    if not negative:
        return {"exemplars": positive or None, "exemplar_labels": None}
    labels = (1,) * len(positive) + (0,) * len(negative)
    return {"exemplars": positive + negative, "exemplar_labels": labels}


def _label_suffixes() -> tuple[str, ...]:
    from .exports import LABEL_SUFFIXES

    return LABEL_SUFFIXES


def _box_instances(model, image, boxes, valid, progress) -> list:
    """SAM masks of ``boxes`` as instances (phrase ``"box"``), one pass for all boxes."""
    from ...segmentation.tiling import Instance, merge_instances

    if getattr(model, "kind", "") != "boxes":
        raise InvalidInputError(
            f"--box needs a SAM or SAM 2 segmenter (sam-vit-base, sam2.1-hiera-tiny), "
            f"not {model.name}"
        )
    pixels = np.asarray(image, dtype=np.float32)
    masks, scores = model.masks_for_boxes(pixels, boxes)
    found = []
    h, w = pixels.shape[:2]
    for mask, score in zip(masks, scores):
        if valid is not None:
            mask = mask & np.asarray(valid, bool)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size:
            box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
            cut = mask[box[1] : box[3], box[0] : box[2]].copy()
            found.append(Instance(box, cut, float(score), "box", [(0, 0, w, h)]))
    report(progress, 1, 1)
    return merge_instances(found, 1.0)


def segment(image: Any, phrases: Any = (), segmenter: Any = DEFAULT_SEGMENTER, **options):
    """Segment every instance of ``phrases`` in an image file.

    Parameters
    ----------
    image : str or path
        A PNG, JPEG, TIFF/GeoTIFF or FITS file.
    phrases : str or sequence of str
        ``"storage tank, ship"`` or a list.
    segmenter : str or loaded segmenter
        Preset, folder or hub id, or a model from
        :func:`~napari_clipcap.core.segmentation.model.load_segmenter`.
    **options
        Any :class:`SegmentRequest` field (``exemplars`` with ``exemplar_labels``: 1 an
        example, 0 a counter-example; ``boxes``, ``regions``, ``tile``, ``overlap``,
        ``threshold``, ``merge_iou``, ``device``...), how the image is read
        (``hdu``, ``domain``, ``interval``, ``stretch``), what is done per instance
        (``labels``, ``caption``, ``template``, ``clip``, ``clip_weights``, ``captioner``,
        ``captioner_weights``, ``decoder``: :class:`~.instances.InstanceTasks`), plus
        ``progress`` and ``cancel``.

    Returns
    -------
    SegmentResult
        ``labels`` (int32, one id per instance) and ``rows`` (the table).
    """
    progress, cancel = options.pop("progress", None), options.pop("cancel", None)
    if isinstance(phrases, str):
        phrases = phrases.split(",")
    loaded = None if isinstance(segmenter, str) else segmenter
    name = segmenter if isinstance(segmenter, str) else DEFAULT_SEGMENTER
    for key in ("exemplars", "boxes", "regions"):
        if options.get(key) is not None:
            options[key] = _boxes(options[key])
    reading = {k: options.pop(k, None) for k in ("hdu", "domain", "interval", "stretch")}
    tasks = {k: options.pop(k) for k in INSTANCE_OPTIONS if k in options}
    if tasks:
        if isinstance(tasks.get("clip"), str):
            from ...registry import ModelSpec

            tasks["clip"] = ModelSpec.for_clip(tasks["clip"], tasks.pop("clip_weights", None))
        tasks.pop("clip_weights", None)
        options["instance_tasks"] = InstanceTasks(**tasks)
    request = SegmentRequest(ImageInput.of(image, **reading), tuple(phrases), name, **options)
    return request.run(segmenter=loaded, progress=progress, cancel=cancel)
