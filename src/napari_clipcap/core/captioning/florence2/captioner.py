"""Florence-2 (transformers' native ``Florence2ForConditionalGeneration``) as a captioner.

Behind the shared ``caption()`` protocol it captions whole images or crops at three levels
of detail (``detail="caption" | "detailed" | "more_detailed"``). :meth:`Florence2Captioner.run`
runs any Florence-2 task prompt and :meth:`Florence2Captioner.locate` parses the boxes
the location tasks write; :mod:`~napari_clipcap.core.captioning.florence2.tasks` builds
region captions, phrase grounding and tiled open-vocabulary detection on them.

Weights: a folder written by ``save_pretrained`` (model + ``Florence2Processor``) or a hub
id (``florence-community/Florence-2-base`` / ``-large``) through the hub cache. Loading
never runs code from model files (no ``trust_remote_code``); safetensors come first.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ...devices import resolve_device, resolve_dtype
from ...errors import CheckpointFormatError, InvalidInputError, ModelNotFoundError
from ...jobs import ProgressCallback, batched, check_cancel, report
from ...registry.trust import NO_REMOTE_CODE, check_model_source
from .locations import parse_locations, strip_locations

__all__ = ["DEFAULT_WEIGHTS", "DETAIL_TASKS", "Florence2Captioner", "build_florence2"]

#: The weights used when none are given.
DEFAULT_WEIGHTS = "florence-community/Florence-2-base"
#: ``detail`` -> Florence-2 task token.
DETAIL_TASKS = {
    "caption": "<CAPTION>",
    "detailed": "<DETAILED_CAPTION>",
    "more_detailed": "<MORE_DETAILED_CAPTION>",
}


def check_rgb(images) -> list[np.ndarray]:
    """HxWx3 float arrays in [0, 1] (a single array is one image)."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = [images]
    images = [np.asarray(im, dtype=np.float32) for im in images]
    if not images:
        raise InvalidInputError("no images given")
    for i, a in enumerate(images):
        if a.ndim != 3 or a.shape[2] != 3 or min(a.shape[:2]) < 1:
            raise InvalidInputError(f"image {i} must be H x W x 3, got shape {a.shape}")
    return images


@contextmanager
def _seeded(seed, device: str):
    import torch

    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[device] if str(device).startswith("cuda") else []):
        torch.manual_seed(int(seed))
        yield


def generation_options(
    beam_size: int = 1,
    num_captions: int = 1,
    max_tokens: int = 67,
    *,
    top_p: float | None = None,
    temperature: float = 1.0,
    length_penalty: float = 1.0,
    min_tokens: int | None = None,
) -> dict:
    """``generate()`` keyword arguments: nucleus sampling with ``top_p``, beam search when
    ``beam_size`` or ``num_captions`` > 1, greedy otherwise."""
    if int(max_tokens) < 1 or int(num_captions) < 1 or int(beam_size) < 1:
        raise InvalidInputError("max_tokens, num_captions and beam_size must be at least 1")
    opts: dict = {"max_new_tokens": int(max_tokens), "num_return_sequences": int(num_captions)}
    if min_tokens:
        opts["min_new_tokens"] = int(min_tokens)
    if top_p is not None:
        opts.update(do_sample=True, top_p=float(top_p), temperature=float(temperature))
        opts["num_beams"] = 1
    elif beam_size > 1 or num_captions > 1:
        opts.update(do_sample=False, num_beams=max(int(beam_size), int(num_captions)))
        opts["length_penalty"] = float(length_penalty)
    else:
        opts.update(do_sample=False, num_beams=1)
    return opts


class Florence2Captioner:
    """Florence-2 behind the ``caption()`` protocol, with its task prompts."""

    kind = "florence2"

    def __init__(self, model, processor, name: str, device: str, dtype):
        self.model, self.processor, self.name = model, processor, name
        self.device, self.dtype = device, dtype
        self.tokenizer = processor.tokenizer

    # ---- inputs -------------------------------------------------------------------
    def prompt_text(self, task: str, text: str = "") -> str:
        """The prompt the model reads for a task token and its input (the processor's
        own table, e.g. ``<CAPTION>`` -> "What does the image describe?")."""
        proc = self.processor
        if task in proc.task_prompts_with_input:
            return proc.task_prompts_with_input[task].format(input=str(text).strip())
        if task in proc.task_prompts_without_inputs:
            if text:
                raise InvalidInputError(f"the Florence-2 task {task} takes no text input")
            return proc.task_prompts_without_inputs[task]
        raise InvalidInputError(f"unknown Florence-2 task {task!r}")

    def encode(self, images: Sequence[np.ndarray], prompts: Sequence[str]) -> dict:
        """Model inputs for ``(image, prompt)`` pairs; an image object repeated in
        ``images`` (many prompts on one image) is resized and normalised once."""
        proc, tok = self.processor, self.tokenizer
        unique: dict[int, int] = {}
        for im in images:
            unique.setdefault(id(im), len(unique))
        firsts = list({id(im): im for im in images}.values())
        px = proc.image_processor(images=firsts, return_tensors="pt", do_rescale=False)
        pixels = px["pixel_values"][[unique[id(im)] for im in images]]
        head = proc.image_token * proc.num_image_tokens + tok.bos_token
        texts = [head + p + tok.eos_token for p in prompts]
        ids = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        return {
            "input_ids": ids["input_ids"].to(self.device),
            "attention_mask": ids["attention_mask"].to(self.device),
            "pixel_values": pixels.to(self.device, self.dtype),
        }

    # ---- generation ---------------------------------------------------------------
    def run(
        self,
        images,
        tasks: Sequence[tuple[str, str]],
        *,
        beam_size: int = 1,
        num_captions: int = 1,
        max_tokens: int = 67,
        keep_special: bool = False,
        seed: int | None = None,
        batch_size: int = 8,
        progress: ProgressCallback | None = None,
        cancel=None,
        **options,
    ) -> list[list[str]]:
        """Run one task per image: ``tasks[i] = (task token, text input)``.

        Returns ``num_captions`` texts per image: plain text, or with ``keep_special`` the
        location tokens and tags kept for
        :func:`~napari_clipcap.core.captioning.florence2.locations.parse_locations`.
        """
        import torch

        images = list(images)
        if len(images) != len(tasks):
            raise InvalidInputError(f"{len(images)} images but {len(tasks)} task prompts")
        prompts = [self.prompt_text(task, text) for task, text in tasks]
        opts = generation_options(beam_size, num_captions, max_tokens, **options)
        n, out = len(images), []
        with torch.inference_mode(), _seeded(seed, self.device):
            for sl in batched(n, batch_size):
                check_cancel(cancel)
                ids = self.model.generate(**self.encode(images[sl], prompts[sl]), **opts)
                texts = self.tokenizer.batch_decode(ids, skip_special_tokens=not keep_special)
                texts = [t.strip() if keep_special else strip_locations(t) for t in texts]
                k = opts["num_return_sequences"]
                out += [texts[i : i + k] for i in range(0, len(texts), k)]
                report(progress, sl.stop, n)
        return out

    def caption(
        self,
        images,
        *,
        beam_size: int = 1,
        num_captions: int = 1,
        max_tokens: int = 67,
        detail: str = "caption",
        progress: ProgressCallback | None = None,
        cancel=None,
        options=None,
        **more,
    ) -> list[list[str]]:
        """Captions of HxWx3 float images in [0, 1] (whole images or crops).

        Parameters
        ----------
        detail : {"caption", "detailed", "more_detailed"}
            Florence-2's ``<CAPTION>``, ``<DETAILED_CAPTION>`` or ``<MORE_DETAILED_CAPTION>``.
        options : DecodeOptions, optional
            The shared decoding settings; they replace the keywords above when given.
        **more
            ``top_p``, ``temperature``, ``length_penalty``, ``seed``, ``batch_size``.
        """
        if options is not None:
            beam_size, num_captions = options.beam_size, options.num_captions
            max_tokens = options.max_tokens
            more = {
                "top_p": options.top_p,
                "temperature": options.temperature,
                "length_penalty": options.length_penalty,
                "seed": options.seed,
                **more,
            }
        options = more
        if detail not in DETAIL_TASKS:
            raise InvalidInputError(
                f"unknown caption detail {detail!r}; use one of {', '.join(DETAIL_TASKS)}"
            )
        images = check_rgb(images)
        tasks = [(DETAIL_TASKS[detail], "")] * len(images)
        return self.run(
            images,
            tasks,
            beam_size=beam_size,
            num_captions=num_captions,
            max_tokens=max_tokens,
            progress=progress,
            cancel=cancel,
            **options,
        )

    def locate(self, images, tasks, **options) -> list[list[tuple[str, np.ndarray]]]:
        """Run location tasks (grounding, detection); per image, ``(phrase, bins)`` pairs
        of the best sequence with location bins ``(K, 4)`` relative to that image.

        Empty phrases are kept: open-vocabulary detection may write boxes only."""
        texts = self.run(images, tasks, keep_special=True, num_captions=1, **options)
        return [parse_locations(t[0], allow_empty=True) for t in texts]


def build_florence2(
    weights: str | None = None, device: str = "auto", precision: str = "auto"
) -> Florence2Captioner:
    """Load Florence-2 from a ``save_pretrained`` folder or a hub id.

    Parameters
    ----------
    weights : str, optional
        Local folder (model + processor) or hub id (default :data:`DEFAULT_WEIGHTS`).
    device, precision : str
        See :mod:`napari_clipcap.core.devices`.

    Raises
    ------
    ModelNotFoundError
        Neither a local folder nor in the hub cache (or downloadable).
    CheckpointFormatError
        A folder that does not hold a complete native Florence-2 model and processor.
    """
    import transformers

    source = str(weights or DEFAULT_WEIGHTS)
    dev = resolve_device(device)
    dtype = resolve_dtype(dev, precision)
    local = Path(source).expanduser().is_dir()
    check_model_source(source)  # never code from the model's files, whatever it says
    try:
        processor = transformers.Florence2Processor.from_pretrained(source, **NO_REMOTE_CODE)
        model = transformers.Florence2ForConditionalGeneration.from_pretrained(
            source, dtype=dtype, **NO_REMOTE_CODE
        )
    except OSError as exc:
        where = (
            "as a local folder" if local else "as a local folder or in the Hugging Face hub cache"
        )
        raise ModelNotFoundError(
            f"Florence-2 model {source!r} was not found {where} (offline, or not downloaded); "
            "pass weights= (--weights) a folder saved with save_pretrained (model and "
            "Florence2Processor), e.g. a download of florence-community/Florence-2-base. "
            f"({(str(exc).strip().splitlines() or [''])[0]})"
        ) from None
    except Exception as exc:  # a config or folder that is not a native Florence-2
        first = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointFormatError(
            f"cannot load Florence-2 from {source!r} ({type(exc).__name__}: {first}); it needs "
            "the native transformers format (the florence-community conversions, or "
            "save_pretrained of Florence2ForConditionalGeneration and Florence2Processor); "
            "remote-code checkpoints such as microsoft/Florence-2-base are not run"
        ) from exc
    model = model.to(dev).eval()
    name = f"florence2:{Path(source).name if local else source}"
    return Florence2Captioner(model, processor, name, dev, dtype)
