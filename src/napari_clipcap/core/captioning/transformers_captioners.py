"""Captioners other than ClipCap, behind the same ``caption()`` protocol.

* BLIP (``BlipForConditionalGeneration``), ViT-GPT2 (``VisionEncoderDecoderModel``) and
  GIT (``GitForCausalLM``) from transformers: a hub id or a local folder saved with
  ``save_pretrained`` holding the model, its image processor and tokenizer;
* open_clip CoCa: an architecture (or model-config JSON) and weights, loaded through
  :func:`napari_clipcap.core.clip.model.load_clip`, decoded by
  :func:`napari_clipcap.core.decoding.loops.decode` (open_clip's own ``generate`` needs
  transformers classes that transformers 5 removed).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from ..decoding.loops import decode
from ..devices import resolve_dtype
from ..errors import CheckpointFormatError, InvalidInputError, ModelNotFoundError
from ..jobs import batched, check_cancel, report
from .protocol import check_images

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
        try:
            self.processor = transformers.AutoImageProcessor.from_pretrained(source)
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source)
            cls = getattr(transformers, HF_CLASSES[kind])
            self.model = cls.from_pretrained(source, dtype=dtype).to(device).eval()
        except OSError as exc:
            raise ModelNotFoundError(
                f"{kind} captioner {source!r} was not found as a local folder or on the "
                "Hugging Face hub; pass weights= (--weights) a folder saved with "
                f"save_pretrained (model, image processor, tokenizer). ({exc})"
            ) from None
        except Exception as exc:  # a broken local folder: bad weights, missing tokenizer
            from pathlib import Path

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
        beam_size=1,
        num_captions=1,
        max_tokens=67,
        length_penalty=1.0,
        top_p=None,
        temperature=1.0,
        seed=None,
        batch_size: int = 16,
        progress=None,
        cancel=None,
    ) -> list[list[str]]:
        images = check_images(images)
        opts = {"max_new_tokens": int(max_tokens), "num_return_sequences": int(num_captions)}
        if top_p is not None:
            opts.update(
                do_sample=True, top_p=float(top_p), temperature=float(temperature), num_beams=1
            )
        elif beam_size > 1 or num_captions > 1:
            opts.update(
                do_sample=False,
                num_beams=max(beam_size, num_captions),
                length_penalty=float(length_penalty),
            )
        else:
            opts.update(do_sample=False, num_beams=1)
        out: list[list[str]] = []
        with torch.inference_mode(), _seeded(seed, self.device):
            for sl in batched(len(images), batch_size):
                check_cancel(cancel)
                ids = self.model.generate(pixel_values=self.pixels(images[sl]), **opts)
                texts = [
                    t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)
                ]
                out += [texts[i : i + num_captions] for i in range(0, len(texts), num_captions)]
                report(progress, sl.stop, len(images))
        return out


class CoCaStepper:
    """CoCa's multimodal text decoder as a :class:`~napari_clipcap.core.decoding.loops.Stepper`
    (re-runs the text tower over the tokens so far; CoCa has no KV cache)."""

    def __init__(self, model, sot: int):
        self.model, self.sot = model, sot

    def _logits(self):
        _, token_embs = self.model._encode_text(self.tokens)
        return self.model.text_decoder(self.embs, token_embs)[:, -1].float()

    def start(self, pixels):
        _, self.embs = self.model._encode_image(pixels)
        self.tokens = torch.full((pixels.shape[0], 1), self.sot, device=pixels.device)
        return self._logits()

    def step(self, tokens):
        self.tokens = torch.cat((self.tokens, tokens[:, None]), dim=1)
        return self._logits()

    def repeat(self, n):
        self.embs = self.embs.repeat_interleave(n, 0)
        self.tokens = self.tokens.repeat_interleave(n, 0)

    def reorder(self, index):
        self.embs, self.tokens = self.embs[index], self.tokens[index]


class CoCaCaptioner:
    """open_clip CoCa with the shared decoding loops."""

    kind = "coca"
    SOT, EOT = 49406, 49407

    def __init__(self, clip):
        if not hasattr(clip.model, "text_decoder"):
            raise InvalidInputError(f"{clip.name} is not a CoCa model (no text decoder)")
        self.clip, self.name, self.device = clip, f"coca:{clip.name}", clip.device
        self.context = int(clip.model.text.num_pos) - 1

    def caption(
        self,
        images,
        *,
        beam_size=1,
        num_captions=1,
        max_tokens=67,
        batch_size: int = 16,
        progress=None,
        cancel=None,
        **options,
    ) -> list[list[str]]:
        from open_clip.tokenizer import decode as decode_text

        images = check_images(images)
        steps = min(int(max_tokens), self.context - 1)
        out: list[list[str]] = []
        for sl in batched(len(images), batch_size):
            check_cancel(cancel)
            pixels = self.clip.preprocess(images[sl])
            with torch.inference_mode():
                ids = decode(
                    CoCaStepper(self.clip.model, self.SOT),
                    pixels,
                    max_tokens=steps,
                    stop_token_ids=[self.EOT],
                    beam_size=beam_size,
                    num_captions=num_captions,
                    cancel=cancel,
                    **options,
                )
            for per_image in ids:
                texts = [
                    decode_text(torch.tensor([t for t in seq if t != self.EOT]))
                    for seq in per_image
                ]
                out.append([t.replace("<start_of_text>", "").strip() for t in texts])
            report(progress, sl.stop, len(images))
        return out


def build_hf_captioner(kind: str, weights, clip_model, device: str, precision: str):
    """Build a BLIP / ViT-GPT2 / GIT / CoCa captioner (see the module docstring)."""
    if kind == "coca":
        from .protocol import with_clip

        arch = clip_model or "coca_ViT-L-14"
        return with_clip(arch, weights, device, precision, CoCaCaptioner)
    if kind not in HF_CLASSES:
        raise InvalidInputError(f"unknown captioner kind {kind!r}")
    return HFCaptioner(kind, str(weights), device, resolve_dtype(device, precision))
