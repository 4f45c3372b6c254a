"""transformers captioners behind the ``caption()`` protocol.

BLIP (``BlipForConditionalGeneration``), ViT-GPT2 (``VisionEncoderDecoderModel``) and
GIT (``GitForCausalLM``): a hub id or a local folder saved with ``save_pretrained``
holding the model, its image processor and tokenizer. open_clip CoCa lives in
:mod:`~napari_clipcap.core.captioning.coca`.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..decoding.options import DecodeOptions
from ..devices import resolve_dtype
from ..errors import CheckpointFormatError, ModelNotFoundError
from ..jobs import batched, check_cancel, report
from ..registry.trust import NO_REMOTE_CODE, check_model_source
from .base import check_images

__all__ = ["HF_CLASSES", "HFCaptioner", "build_hf_captioner"]

#: kind -> transformers class that generates captions.
HF_CLASSES = {
    "blip": "BlipForConditionalGeneration",
    "vit-gpt2": "VisionEncoderDecoderModel",
    "git": "GitForCausalLM",
}


@contextmanager
def _seeded(seed, device):
    """Seed torch's generators inside the block only (transformers samples with them)."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[device] if str(device).startswith("cuda") else []):
        torch.manual_seed(int(seed))
        yield


class HFCaptioner:
    """A transformers image-to-text model (BLIP, ViT-GPT2, GIT)."""

    def __init__(self, kind: str, source: str, device: str, dtype):
        import transformers

        self.kind, self.name, self.device, self.dtype = kind, f"{kind}:{source}", device, dtype
        if Path(source).expanduser().is_file():
            raise CheckpointFormatError(
                f"the {kind} captioner needs a folder saved with save_pretrained (model, "
                f"image processor, tokenizer) or a hub id, but {source!r} is a file; pass "
                "weights= (--weights) the folder that holds it"
            )
        check_model_source(source)  # never code from the model's files, whatever it says
        try:
            self.processor = transformers.AutoImageProcessor.from_pretrained(
                source, **NO_REMOTE_CODE
            )
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **NO_REMOTE_CODE)
            cls = getattr(transformers, HF_CLASSES[kind])
            net = cls.from_pretrained(source, dtype=dtype, **NO_REMOTE_CODE)
            self.model = net.to(device).eval()
        except OSError as exc:
            raise ModelNotFoundError(
                f"{kind} captioner {source!r} was not found as a local folder or on the "
                "Hugging Face hub; pass weights= (--weights) a folder saved with "
                f"save_pretrained (model, image processor, tokenizer). ({exc})"
            ) from None
        except Exception as exc:  # a broken local folder: bad weights, missing tokenizer
            if not Path(source).expanduser().is_dir():
                raise
            first = (str(exc).strip().splitlines() or [""])[0]
            raise CheckpointFormatError(
                f"cannot load the {kind} captioner in {source!r} ({type(exc).__name__}: "
                f"{first}); it needs the files save_pretrained writes (model, image "
                "processor, tokenizer), complete"
            ) from exc

    def pixels(self, images) -> torch.Tensor:
        """Model-input pixels of HxWx3 float images in [0, 1]."""
        arrays = [np.asarray(im, dtype=np.float32) for im in images]
        px = self.processor(images=arrays, return_tensors="pt", do_rescale=False)
        return px["pixel_values"].to(self.device, self.dtype)

    def caption(
        self,
        images,
        *,
        options: DecodeOptions | None = None,
        batch_size: int = 16,
        progress=None,
        cancel=None,
        **decoding,
    ) -> list[list[str]]:
        """Captions per image; see :class:`~napari_clipcap.core.captioning.base.Captioner`."""
        images = check_images(images)
        o = DecodeOptions.of(options, **decoding)
        num_captions = o.num_captions
        opts = {"max_new_tokens": o.max_tokens, "num_return_sequences": num_captions}
        if o.strategy == "sample":
            opts.update(do_sample=True, top_p=o.top_p, temperature=o.temperature, num_beams=1)
        elif o.strategy == "beam":
            width = max(o.beam_size, num_captions)
            opts.update(do_sample=False, num_beams=width, length_penalty=o.length_penalty)
        else:
            opts.update(do_sample=False, num_beams=1)
        out: list[list[str]] = []
        with torch.inference_mode(), _seeded(o.seed, self.device):
            for sl in batched(len(images), batch_size):
                check_cancel(cancel)
                ids = self.model.generate(pixel_values=self.pixels(images[sl]), **opts)
                texts = [
                    t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)
                ]
                out += [texts[i : i + num_captions] for i in range(0, len(texts), num_captions)]
                report(progress, sl.stop, len(images))
        return out


def build_hf_captioner(args: dict, defaults: dict, device: str, precision: str) -> HFCaptioner:
    """A BLIP / ViT-GPT2 / GIT captioner from ``args["weights"]`` (a hub id or a folder)."""
    return HFCaptioner(
        args["kind"], str(args["weights"]), device, resolve_dtype(device, precision)
    )
