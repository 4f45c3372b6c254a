"""A vision-language model on transformers' native image-text-to-text classes.

:func:`~napari_clipcap.core.vlm.loading.load_vlm` opens one;
:meth:`VisionLanguageModel.answer` asks one image one question, streams the answer's
text as it is decoded, stops within one token step when cancelled and reads back the
boxes the family writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidInputError
from ..jobs import CancelFlag, check_cancel
from .boxes import parse_boxes, strip_boxes
from .families import Family

__all__ = ["Answer", "Turn", "VisionLanguageModel"]

#: A callback that receives each new piece of an answer's text as it is decoded.
TextCallback = Callable[[str], None]


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation: the question and the answer given."""

    question: str
    answer: str


@dataclass
class Answer:
    """What the model said about one image or region.

    Attributes
    ----------
    text : str
        The answer, location tokens removed.
    raw : str
        The answer as decoded (boxes included in the family's own format).
    boxes : list of Detection
        Boxes the answer points at, in pixels of the full image.
    tokens : int
        New tokens generated.
    shown : (width, height)
        Size of the image the model was given (after any downscaling).
    tiled : bool
        Whether the processor cut it into tiles (SmolVLM's image splitting).
    """

    text: str
    raw: str
    boxes: list = field(default_factory=list)
    tokens: int = 0
    shown: tuple[int, int] = (0, 0)
    tiled: bool = False

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "raw": self.raw,
            "boxes": [d.as_dict() for d in self.boxes],
            "tokens": self.tokens,
            "shown_px": list(self.shown),
            "tiled": self.tiled,
        }


def _as_uint8(image: np.ndarray) -> np.ndarray:
    """HxWx3 float in [0, 1] (NaN where there is no data) -> uint8, NaN as black."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 1:
        raise InvalidInputError(f"the image must be H x W x 3, got shape {arr.shape}")
    arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class _Streamer:
    """transformers' streamer interface: decodes new tokens and hands on the new text."""

    def __init__(self, tokenizer, on_text: TextCallback | None):
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.ids: list[int] = []
        self.text = ""
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:  # generate() first puts the prompt
            self._prompt_seen = True
            return
        self.ids.extend(int(v) for v in value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        new, self.text = text[len(self.text) :], text
        if new and self.on_text is not None:
            self.on_text(new)

    def end(self) -> None:
        pass


class VisionLanguageModel:
    """A loaded vision-language model with its processor.

    Parameters
    ----------
    model, processor
        transformers objects (``AutoModelForImageTextToText`` / ``AutoProcessor``).
    name : str
        What provenance and the docks call it.
    family : Family
    device : str
    dtype : torch.dtype
    """

    def __init__(self, model, processor, name: str, family: Family, device: str, dtype):
        self.model = model
        self.processor = processor
        self.name = name
        self.family = family
        self.device = device
        self.dtype = dtype

    @property
    def tokenizer(self):
        return getattr(self.processor, "tokenizer", self.processor)

    def prompt(self, question: str, history: Sequence[Turn] = ()) -> str:
        """The text the processor takes for ``question`` after ``history``.

        Chat families get their chat template (one image, in the first user turn);
        PaliGemma gets its ``answer en`` prefix, or the question itself when it is one of
        its task prompts (``detect ...``, ``caption en``), and no history.
        """
        question = str(question).strip()
        if not question:
            raise InvalidInputError("the question is empty")
        if not self.family.chat:
            lowered = question.lower()
            tasks = ("detect ", "caption ", "describe ", "ocr", "answer ", "segment ")
            text = question if lowered.startswith(tasks) else f"answer en {question}"
            return f"<image>{text}"
        messages = []
        for i, turn in enumerate(history):
            content = [{"type": "text", "text": turn.question}]
            if i == 0:
                content.insert(0, {"type": "image"})
            messages.append({"role": "user", "content": content})
            messages.append(
                {"role": "assistant", "content": [{"type": "text", "text": turn.answer}]}
            )
        content = [{"type": "text", "text": question}]
        if not history:
            content.insert(0, {"type": "image"})
        messages.append({"role": "user", "content": content})
        return self.processor.apply_chat_template(messages, add_generation_prompt=True)

    def splits(self, image: np.ndarray) -> bool:
        """Whether the processor will cut ``image`` into tiles.

        Images no larger than one tile are given whole: tiling a small crop only repeats
        its pixels at more tokens (and a slower first token).
        """
        option = self.family.split_option
        images = getattr(self.processor, "image_processor", None)
        if option is None or not getattr(images, option, False):
            return False
        tile = (getattr(images, "max_image_size", None) or {}).get("longest_edge")
        return not (tile and max(image.shape[:2]) <= int(tile))

    def _inputs(self, image: np.ndarray, prompt: str):
        options = {}
        if self.family.split_option is not None:
            options[self.family.split_option] = self.splits(image)
        images = [[image]] if self.family.split_option is not None else [image]
        inputs = self.processor(text=[prompt], images=images, return_tensors="pt", **options)
        inputs.pop("labels", None)  # PaliGemma's processor adds training labels
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs

    def _model_size(self, inputs, shown: tuple[int, int]) -> tuple[int, int]:
        """(width, height) the processor resized the image to (Qwen's pixel grid)."""
        grid = inputs.get("image_grid_thw")
        if grid is None:
            return shown
        patch = int(getattr(self.processor.image_processor, "patch_size", 14))
        _, gh, gw = (int(v) for v in grid[0].tolist())
        return gw * patch, gh * patch

    def answer(
        self,
        image: np.ndarray,
        question: str,
        *,
        history: Sequence[Turn] = (),
        max_tokens: int = 256,
        offset: tuple[float, float] = (0.0, 0.0),
        extent: tuple[float, float] | None = None,
        on_text: TextCallback | None = None,
        cancel: CancelFlag | None = None,
    ) -> Answer:
        """Answer ``question`` about ``image`` (greedy decoding, so answers repeat).

        Parameters
        ----------
        image : ndarray
            HxWx3 float32 in [0, 1], NaN where there is no data (shown as black).
        question : str
        history : sequence of Turn
            Earlier exchanges about the same image (ignored by single-turn families).
        max_tokens : int
            At most this many new tokens.
        offset : (x, y)
            Where ``image``'s pixel (0, 0) lies in the full image, for the boxes.
        extent : (width, height), optional
            How many full-image pixels ``image`` covers (when it was downscaled).
        on_text : callable, optional
            Receives each new piece of the answer as it is decoded.
        cancel : CancelFlag, optional
            Checked at every token step; when set, no answer is returned.

        Raises
        ------
        Cancelled
            When ``cancel`` was set: nothing of the answer is kept.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        if int(max_tokens) < 1:
            raise InvalidInputError("max_tokens must be at least 1")
        pixels = _as_uint8(image)
        history = list(history) if self.family.chat else []
        inputs = self._inputs(pixels, self.prompt(question, history))
        check_cancel(cancel)

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                stop = cancel is not None and cancel.is_set()
                return torch.full((input_ids.shape[0],), stop, dtype=torch.bool)

        streamer = _Streamer(self.tokenizer, on_text)
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=int(max_tokens),
                do_sample=False,
                num_beams=1,
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([_Stop()]),
            )
        check_cancel(cancel)
        new = out[0, inputs["input_ids"].shape[1] :]
        raw = self.tokenizer.decode(new, skip_special_tokens=True).strip()
        shown = (pixels.shape[1], pixels.shape[0])
        model_w, model_h = self._model_size(inputs, shown)
        covered = extent or shown  # boxes in full-image pixels: scale by extent / shown
        boxes = parse_boxes(
            raw,
            self.family.box_format,
            shown_size=covered,
            model_size=(model_w * covered[0] / shown[0], model_h * covered[1] / shown[1]),
            offset=offset,
        )
        return Answer(
            strip_boxes(raw, self.family.box_format),
            raw,
            boxes,
            int(new.numel()),
            shown=shown,
            tiled=self.family.split_option is not None and self.splits(pixels),
        )
