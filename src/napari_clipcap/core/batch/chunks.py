"""The work of one batch chunk: read files, run the task's model, return table rows.

:func:`run_chunk` is what a local run calls in-process and what a Dask worker runs, so
both produce the same rows. Models are loaded once per process (one model per worker
process) into the one model cache (:mod:`napari_clipcap.core.model_cache`), keyed by
the task's model settings and device; on a machine with several GPUs each Dask worker
takes ``cuda:(worker number % GPU count)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..distributed import run_isolated, worker_device
from ..errors import Cancelled, InvalidInputError, error_line
from ..io.sources import failure_text, read_unit_files
from ..registry import DEFAULT_CLIP, ModelSpec
from .region_rows import (
    ask_rows,
    box_text,
    caption_rows,
    clipped,
    gap_row,
    heatmap_row,
    label_rows,
    scaled_regions,
    segment_row,
)

TASKS = ("caption", "labels", "heatmap", "embed", "ask", "segment")


@dataclass(frozen=True)
class BatchSpec:
    """What a batch run does; saved with the results so a resume does the same.

    Attributes
    ----------
    task : {"caption", "labels", "heatmap", "embed", "ask", "segment"}
    clip_model, clip_weights : str, optional
        CLIP for ``labels``, ``heatmap``, ``embed`` (and the ClipCap encoder; ``None``:
        what the checkpoint recorded), by the one rule of
        :class:`~napari_clipcap.core.registry.ModelSpec` (a name alone means its
        published weights; ``"none"`` random ones). See :attr:`clip` and :attr:`model`.
    captioner, weights, decoder, beam, num, max_tokens
        ``caption`` settings, as ``load_captioner`` and ``caption`` take them.
    labels : tuple of str
        ``labels`` task: the labels scored per region.
    regions : tuple
        ``caption`` and ``labels``: regions of every image (default: the whole image):
        boxes ``(x0, y0, x1, y1)`` or polygons ``((x, y), ...)``, cut by the one crops
        function (:func:`~napari_clipcap.core.tasks.crops.cut_regions`). A region
        reaching past an image's edge is clipped to it; its rows then give the clipped
        box in ``clipped_to`` (else ``""``). A region without any valid pixel gets no
        result; its row says why in ``no_data``.
    template : str
        Text template for labels and heatmap queries.
    query, mode, window, stride
        ``heatmap`` settings, as ``text_heatmap`` takes them.
    question : str, optional
        ``ask`` task: the question asked of every image or region; the vision-language
        model is ``weights`` (a preset, folder or hub id; default the small preset) and
        ``max_tokens`` bounds each answer.
    phrases : tuple of str
        ``segment`` task: the phrases found in every image (or each region); the
        segmenter is ``segmenter`` (a preset, SAM 3 folder or hub id; default ``sam3``;
        ``weights`` names it when ``segmenter`` is not given), one row per image with the
        instance count and the instances as JSON; with ``labels``, each instance's labels
        scored with :attr:`clip` on its outline (``label``, ``probabilities``), as
        ``napari-clipcap segment --labels``.
    segmenter : str, optional
        ``segment`` task: the segmenter. Given, ``captioner``/``weights``/``decoder`` are
        the instance captioner's, as for the ``caption`` task.
    caption_instances : bool
        ``segment`` task: caption each instance on its outline (``caption``), as
        ``napari-clipcap segment --caption``; needs ``segmenter``.
    batch_size : int
        Images per model call.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ...
    """

    task: str
    clip_model: str | None = DEFAULT_CLIP.name
    clip_weights: str | None = DEFAULT_CLIP.weights
    captioner: str = "clipcap"
    weights: str | None = None
    decoder: str | None = None
    beam: int = 1
    num: int = 1
    max_tokens: int = 67
    labels: tuple[str, ...] = ()
    regions: tuple = ()
    template: str = "{}"
    query: str | None = None
    mode: str = "sliding"
    window: int = 224
    stride: int = 112
    question: str | None = None
    phrases: tuple[str, ...] = ()
    segmenter: str | None = None
    caption_instances: bool = False
    batch_size: int = 8
    device: str = "auto"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InvalidInputError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if self.task == "labels" and len(self.labels) < 2:
            raise InvalidInputError("the labels task needs at least two labels")
        if self.task == "heatmap" and not self.query:
            raise InvalidInputError("the heatmap task needs a query")
        if self.task == "ask" and not str(self.question or "").strip():
            raise InvalidInputError("the ask task needs a question (--question)")
        if self.task == "segment" and not any(str(p).strip() for p in self.phrases):
            raise InvalidInputError("the segment task needs phrases (--phrases)")
        if self.caption_instances and self.task != "segment":
            raise InvalidInputError("captioning instances (--caption) is for --task segment")
        if self.caption_instances and not self.segmenter:
            raise InvalidInputError(
                "captioning instances needs the segmenter named with --segmenter "
                "(--weights is then the captioner's, as for --task caption)"
            )
        if self.task == "caption" and not self.weights and self.captioner == "clipcap":
            raise InvalidInputError("the caption task with ClipCap needs --weights")
        # settings that would fail on every file are refused before any file is read
        if int(self.batch_size) < 1:
            raise InvalidInputError(f"batch size must be at least 1, got {self.batch_size}")
        if self.task == "caption" and min(self.beam, self.num, self.max_tokens) < 1:
            raise InvalidInputError("--beam, --num and --max-tokens must be at least 1")
        if self.task in ("labels", "heatmap"):
            from ..clip.prompts import resolve_templates

            resolve_templates(self.template)
        if self.task == "heatmap":
            if self.mode not in ("sliding", "dense"):
                raise InvalidInputError(f"mode must be sliding or dense, not {self.mode!r}")
            if int(self.window) < 1 or int(self.stride) < 1:
                raise InvalidInputError(
                    f"window and stride must be positive, got {self.window}, {self.stride}"
                )
            if int(self.stride) > int(self.window):
                raise InvalidInputError(
                    f"stride {self.stride} is larger than the window {self.window}; use a "
                    "stride no larger than the window"
                )

    @property
    def clip(self) -> ModelSpec | None:
        """The CLIP model, as given (``None``: a captioner's own); resolve for what loads."""
        if self.clip_model is None and self.clip_weights is None:
            return None
        return ModelSpec.for_clip(self.clip_model, self.clip_weights)

    @property
    def segmenter_name(self) -> str | None:
        """The ``segment`` task's segmenter: ``segmenter``, else ``weights`` (its older
        spelling); None: the default one."""
        return self.segmenter or (None if self.task != "segment" else self.weights)

    @property
    def instance_captioner_weights(self) -> str | None:
        """The instance captioner's weights: ``weights`` once ``segmenter`` names the
        segmenter."""
        return self.weights if self.segmenter else None

    @property
    def model(self) -> ModelSpec:
        """The task's model: the captioner (with :attr:`clip`) for ``caption``, else the
        CLIP model (the default one when none is named)."""
        if self.task == "caption":
            return ModelSpec.for_captioner(
                self.captioner, self.weights, decoder=self.decoder, clip=self.clip
            )
        return self.clip or DEFAULT_CLIP

    def to_dict(self) -> dict:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["phrases"] = list(self.phrases)  # as batch.json reads back
        d["regions"] = [np.asarray(r, dtype=float).tolist() for r in self.regions]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> BatchSpec:
        d = dict(d)
        d["labels"] = tuple(d.get("labels", ()))
        d["phrases"] = tuple(d.get("phrases", ()))
        d["regions"] = tuple(_region_tuple(r) for r in d.get("regions", ()))
        return cls(**d)


def _region_tuple(region) -> tuple:
    """A box as 4 ints, a polygon as a tuple of ``(x, y)`` float pairs (hashable)."""
    arr = np.asarray(region, dtype=float)
    if arr.ndim == 1 and arr.size == 4:
        return tuple(round(float(v)) for v in arr)
    return tuple((float(x), float(y)) for x, y in arr.reshape(-1, 2))


def get_model(spec: BatchSpec):
    """The task's model, loaded once per process (held in the one model cache,
    :mod:`napari_clipcap.core.model_cache`, like every other loaded model)."""
    device = worker_device(spec.device)
    if spec.task == "ask":
        from ..tasks.ask import DEFAULT_VLM
        from ..vlm.loading import cached_vlm

        return cached_vlm(spec.weights or DEFAULT_VLM, device)
    if spec.task == "segment":
        from ..segmentation.model import cached_segmenter
        from ..tasks.segment import DEFAULT_SEGMENTER

        return cached_segmenter(spec.segmenter_name or DEFAULT_SEGMENTER, device)
    if spec.task == "caption":
        from ..captioning.protocol import load_captioner

        return load_captioner(
            spec.captioner,
            spec.weights,
            clip_model=spec.clip_model,
            clip_weights=spec.clip_weights,
            decoder=spec.decoder,
            device=device,
        )
    from ..clip.model import load_clip

    return load_clip(spec.model, device=device)


def heatmap_name(path: str, hdu: int | None) -> str:
    """File name of a unit's heatmap, unique per path and HDU."""
    digest = hashlib.sha1(f"{path}\0{hdu}".encode()).hexdigest()[:10]
    return f"{Path(path).stem}-{'' if hdu is None else f'hdu{hdu}-'}{digest}.npy"


def _regions(spec: BatchSpec) -> list:
    return list(spec.regions) or [None]


def _run_task(
    spec: BatchSpec, model, images: list[np.ndarray], factors=None, valids=None
) -> list[list[dict]]:
    """Rows per image (one per region for caption, labels and ask).

    ``factors[i]`` is the stride image ``i`` was read with (above the pixel budget);
    regions, given in full-resolution pixels, are divided by it. ``valids[i]`` is where
    image ``i`` holds data (None: everywhere it is finite).
    """
    factors = factors or [1] * len(images)
    valids = valids or [None] * len(images)
    if spec.task == "embed":
        vecs = model.encode_images(images, batch_size=spec.batch_size)
        return [[{"embedding": v.astype(np.float32)}] for v in vecs]
    if spec.task == "heatmap":
        return [[heatmap_row(spec, model, im, v)] for im, v in zip(images, valids)]
    if spec.task == "ask":
        return [ask_rows(spec, model, im, k, v) for im, k, v in zip(images, factors, valids)]
    if spec.task == "segment":
        return [[segment_row(spec, model, im, k, v)] for im, k, v in zip(images, factors, valids)]
    if spec.task == "caption":
        return caption_rows(spec, model, images, factors, valids)
    from ..tasks.crops import cut_regions

    cuts = [
        cut_regions(im, scaled_regions(spec, k), valid=v)
        for im, k, v in zip(images, factors, valids)
    ]
    results = iter(row for cut in cuts for row in label_rows(spec, model, cut))
    out: list[list[dict]] = []
    for im, k, cut in zip(images, factors, cuts):
        rows = []
        for r, blank, problems in zip(_regions(spec), cut.empty, cut.problems):
            row = {"region": box_text(r), **clipped(r, im, k)}
            row.update(gap_row(spec) if blank else next(results))
            row["no_data"] = problems[0] if blank else ""
            rows.append(row)
        out.append(rows)
    return out


def run_chunk(spec_dict: dict, paths: list[str]) -> list[dict]:
    """Process some files; returns one row per unit (and region), errors as rows.

    A file that cannot be read, for any reason, gives one row with ``error`` set and
    the chunk goes on. Images above the pixel budget are read reduced (``reduced_by``).
    If the model fails on the chunk's images together, each file is retried alone so
    one bad file does not take the others with it.
    """
    spec = BatchSpec.from_dict(spec_dict)
    model = get_model(spec)
    loaded: list[tuple[str, list[tuple]]] = []
    rows: dict[str, list[dict]] = {}
    for path in paths:
        try:
            units = _read_units(path)
            if not units:
                raise InvalidInputError(f"{path}: no image data")
            loaded.append((path, units))
        except Cancelled:
            raise
        except Exception as exc:  # one bad file never stops the run
            rows[path] = [_base(path, None, None, failure_text(path, exc))]
    rows.update(
        run_isolated(
            loaded,
            lambda group: _apply(spec, model, group),
            lambda item, exc: {item[0]: [_base(item[0], None, None, error_line(exc))]},
        )
    )
    return [row for path in paths for row in rows.get(path, [])]


def _read_units(path: str) -> list[tuple]:
    """Every unit of a file as ``(hdu, image, reduced_by, valid)``: the model input and
    where the file holds data (:func:`~napari_clipcap.core.tasks.validity.file_valid_mask`,
    read with the same stride)."""
    from ..tasks.validity import file_valid_mask

    units = []
    for hdu, image in read_unit_files(path):
        valid = file_valid_mask(image)
        k = image.reduced_by
        if valid is not None and k > 1:
            h, w = image.data.shape[:2]
            valid = valid[::k, ::k][:h, :w]
        if valid is not None and valid.shape != image.data.shape[:2]:
            valid = None  # a mask that does not line up is no mask
        units.append((hdu, image.data, k, valid))
    return units


def _base(path: str, hdu: int | None, image: np.ndarray | None, error: str | None) -> dict:
    h, w = (None, None) if image is None else image.shape[:2]
    return {"path": path, "hdu": hdu, "width": w, "height": h, "error": error}


def _apply(spec: BatchSpec, model, loaded) -> dict[str, list[dict]]:
    flat = [(path, *unit) for path, units in loaded for unit in units]
    images, factors, valids = [f[2] for f in flat], [f[3] for f in flat], [f[4] for f in flat]
    results = _run_task(spec, model, images, factors, valids) if flat else []
    out: dict[str, list[dict]] = {}
    for (path, hdu, im, k, _), task_rows in zip(flat, results):
        for r in task_rows:
            row = {**_base(path, hdu, im, None), "reduced_by": k, **r}
            out.setdefault(path, []).append(row)
    return out
