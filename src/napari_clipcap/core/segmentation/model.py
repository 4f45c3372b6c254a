"""Segmenters on transformers' native SAM classes.

:func:`load_segmenter` opens a ``save_pretrained`` folder or a hub id: a SAM 3 folder
(``Sam3Model`` / ``Sam3Processor``) gives a :class:`PhraseSegmenter`, which finds every
instance of a phrase (or of example boxes) in one tile; a SAM folder (``SamModel`` /
``SamProcessor``) or a SAM 2 folder (``Sam2Model`` / ``Sam2Processor``) gives a
:class:`BoxSegmenter`, which turns boxes into masks. Every
folder is checked first and ``trust_remote_code=False`` is passed to every call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..devices import resolve_device, resolve_dtype
from ..errors import CheckpointFormatError, InvalidInputError, ModelNotFoundError
from ..jobs import CancelFlag, check_cancel

__all__ = [
    "BoxSegmenter",
    "PhraseSegmenter",
    "TileInstance",
    "cached_segmenter",
    "load_segmenter",
    "segmenter_source",
]

#: ``model_type`` of the configs each segmenter class loads.
PHRASE_TYPES = ("sam3",)
BOX_TYPES = ("sam", "sam2")


@dataclass
class TileInstance:
    """One instance found in one tile, in that tile's pixels.

    Attributes
    ----------
    mask : ndarray of bool
        ``(h, w)`` of the tile.
    score : float
    phrase : str
        The phrase (or ``"exemplar"``) that found it.
    """

    mask: np.ndarray
    score: float
    phrase: str


def as_uint8(image: np.ndarray) -> np.ndarray:
    """HxWx3 float in [0, 1] (NaN where there is no data) -> uint8, NaN as black."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 1:
        raise InvalidInputError(f"the image must be H x W x 3, got shape {arr.shape}")
    arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class PhraseSegmenter:
    """SAM 3: every instance of each phrase in a tile (one vision pass per tile, shared by
    the phrases).

    Parameters
    ----------
    model, processor
        ``Sam3Model`` and ``Sam3Processor``.
    name : str
    device : str
    dtype : torch.dtype
    """

    kind = "phrase"

    def __init__(self, model, processor, name: str, device: str, dtype):
        self.model, self.processor, self.name = model, processor, name
        self.device, self.dtype = device, dtype

    @property
    def tile_size(self) -> int:
        """The side of the square the processor resizes every tile to (1008 for SAM 3)."""
        size = getattr(self.processor.image_processor, "size", None) or {}
        return int(size.get("height", 1008))

    def _pixels(self, tile: np.ndarray):
        inputs = self.processor(images=tile, return_tensors="pt")
        return inputs["pixel_values"].to(self.device, self.dtype)

    def _prompt(self, phrase: str | None, size, boxes, labels) -> dict:
        """The processor's text (and exemplar box) inputs for one prompt of a tile."""
        kwargs = {"text": [phrase or "visual"], "return_tensors": "pt"}
        if boxes:
            kwargs.update(
                input_boxes=[[[float(v) for v in b] for b in boxes]],
                input_boxes_labels=[[int(v) for v in labels]],
                original_sizes=[list(size)],
            )
        inputs = self.processor(**kwargs)
        inputs.pop("original_sizes", None)
        inputs = inputs.to(self.device)
        if "input_boxes" in inputs:
            inputs["input_boxes"] = inputs["input_boxes"].to(self.dtype)
        return dict(inputs)

    def segment(
        self,
        tile: np.ndarray,
        phrases: Sequence[str],
        *,
        exemplars: Sequence[Sequence[float]] = (),
        exemplar_labels: Sequence[int] = (),
        threshold: float = 0.5,
        mask_threshold: float = 0.5,
        cancel: CancelFlag | None = None,
    ) -> list[TileInstance]:
        """Instances of each phrase in ``tile`` (HxWx3 float in [0, 1]).

        Parameters
        ----------
        tile : ndarray
        phrases : sequence of str
            Each is one prompt; with ``exemplars`` and no phrase, the boxes alone.
        exemplars : sequence of boxes
            ``(x0, y0, x1, y1)`` in the tile's pixels; labels 1 (example) or 0 (counter).
        threshold, mask_threshold : float
            Score an instance needs; mask probability a pixel needs.
        cancel : CancelFlag, optional
            Checked between phrases.
        """
        import torch

        pixels = as_uint8(tile)
        h, w = pixels.shape[:2]
        prompts = list(phrases) or ([None] if exemplars else [])
        found: list[TileInstance] = []
        with torch.inference_mode():
            vision = self.model.get_vision_features(pixel_values=self._pixels(pixels))
            for phrase in prompts:
                check_cancel(cancel)
                labels = list(exemplar_labels) or [1] * len(exemplars)
                prompt = self._prompt(phrase, (h, w), list(exemplars), labels)
                out = self.model(vision_embeds=vision, **prompt)
                found += self.instances(
                    out, (h, w), phrase or "exemplar", threshold, mask_threshold
                )
        return found

    def instances(self, out, size, phrase, threshold, mask_threshold) -> list[TileInstance]:
        """The instances of one model output, masks resized to ``size`` (h, w)."""
        result = self.processor.post_process_instance_segmentation(
            out,
            threshold=float(threshold),
            mask_threshold=float(mask_threshold),
            target_sizes=[tuple(size)],
        )[0]
        masks = np.asarray(result["masks"].cpu().numpy(), dtype=bool)
        scores = result["scores"].float().cpu().numpy()
        return [TileInstance(m, float(s), phrase) for m, s in zip(masks, scores) if m.any()]


class BoxSegmenter:
    """SAM or SAM 2: one mask per box (the mask the model scores best of its three).

    Parameters
    ----------
    model, processor
        ``SamModel`` and ``SamProcessor``, or ``Sam2Model`` and ``Sam2Processor``.
    """

    kind = "boxes"

    def __init__(self, model, processor, name: str, device: str, dtype):
        self.model, self.processor, self.name = model, processor, name
        self.device, self.dtype = device, dtype

    def masks_for_boxes(
        self, image: np.ndarray, boxes: Sequence[Sequence[float]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(N, H, W)`` bool masks and ``(N,)`` scores of ``boxes`` (``x0, y0, x1, y1``
        in ``image``'s pixels; HxWx3 float in [0, 1])."""
        import torch

        pixels = as_uint8(image)
        boxes = [[float(v) for v in b] for b in boxes]
        if not boxes:
            return np.zeros((0, *pixels.shape[:2]), bool), np.zeros(0, np.float32)
        inputs = self.processor(images=pixels, input_boxes=[boxes], return_tensors="pt")
        inputs = inputs.to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        with torch.inference_mode():
            out = self.model(
                pixel_values=inputs["pixel_values"],
                input_boxes=inputs["input_boxes"].to(self.dtype),
                multimask_output=True,
            )
        sizes = [inputs["original_sizes"].cpu()]
        if "reshaped_input_sizes" in inputs:  # SAM pads the resized image; SAM 2 does not
            sizes.append(inputs["reshaped_input_sizes"].cpu())
        masks = self.processor.image_processor.post_process_masks(
            out.pred_masks.float().cpu(), *sizes
        )[0].numpy()  # (N, 3, H, W)
        iou = out.iou_scores.float().cpu().numpy()[0]  # (N, 3)
        best = iou.argmax(axis=1)
        rows = np.arange(len(boxes))
        return masks[rows, best].astype(bool), iou[rows, best].astype(np.float32)


def _model_type(source: str) -> str:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    return str(getattr(config, "model_type", ""))


def _classes(model_type: str):
    import transformers

    if model_type in PHRASE_TYPES:
        return PhraseSegmenter, transformers.Sam3Model, transformers.Sam3Processor
    if model_type == "sam2":
        return BoxSegmenter, transformers.Sam2Model, transformers.Sam2Processor
    if model_type in BOX_TYPES:
        return BoxSegmenter, transformers.SamModel, transformers.SamProcessor
    known = ", ".join((*PHRASE_TYPES, *BOX_TYPES))
    raise CheckpointFormatError(
        f"segmenter model type {model_type!r} is not supported; supported: {known}"
    )


def load_segmenter(weights: str | Path, device: str = "auto", precision: str = "auto"):
    """Load a segmenter from a ``save_pretrained`` folder or a hub id.

    Returns
    -------
    PhraseSegmenter or BoxSegmenter
        SAM 3 folders give phrase segmenters, SAM and SAM 2 folders box segmenters.

    Raises
    ------
    ModelNotFoundError
        Neither a local folder nor in the hub cache (SAM 3's hub weights are gated: accept
        the licence on the hub and ``hf auth login``, or give a local folder).
    CheckpointFormatError
        A folder asking for code from its files, or not a native SAM 3 / SAM 2 / SAM
        folder.
    """
    from ..registry.trust import check_model_source

    source = str(weights)
    path = Path(source).expanduser()
    local = path.is_dir()
    if path.exists() and not local:
        raise InvalidInputError(f"{source!r} is a file; a segmenter is a folder")
    if local:
        source = str(path)
    check_model_source(source)
    dev = resolve_device(device)
    dtype = resolve_dtype(dev, precision)
    try:
        wrapper, model_class, processor_class = _classes(_model_type(source))
        processor = processor_class.from_pretrained(source, trust_remote_code=False)
        model = model_class.from_pretrained(source, dtype=dtype, trust_remote_code=False)
    except OSError as exc:
        where = "as a local folder" if local else "as a local folder or in the hub cache"
        raise ModelNotFoundError(
            f"segmenter {source!r} was not found {where} (offline, or not downloaded; "
            "facebook/sam3 is gated: accept its licence on the hub and run `hf auth login`, "
            "or give a folder saved with save_pretrained). "
            f"({(str(exc).strip().splitlines() or [''])[0]})"
        ) from None
    except CheckpointFormatError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointFormatError(
            f"cannot load a segmenter from {source!r} ({type(exc).__name__}: {first}); it "
            "needs transformers' native SAM 3, SAM 2 or SAM format (save_pretrained of the model "
            "and its processor)"
        ) from exc
    model = model.to(dev).eval()
    name = f"segmenter:{path.name if local else source}"
    return wrapper(model, processor, name, dev, dtype)


def segmenter_source(name: str) -> str:
    """What a ``--segmenter`` value loads: a preset's hub id, or the folder or id itself."""
    from ..registry import get_preset, presets

    if name in {p.name for p in presets("segmenter")}:
        return get_preset(name).model
    return str(name)


def cached_segmenter(name: str, device: str = "auto", precision: str = "auto"):
    """:func:`load_segmenter` of a preset, folder or hub id, kept in the shared model cache."""
    from ..model_cache import get_or_load

    dev = resolve_device(device)
    source = segmenter_source(name)
    return get_or_load(
        "segmenter", (source, dev, precision), lambda: load_segmenter(source, dev, precision), dev
    )
