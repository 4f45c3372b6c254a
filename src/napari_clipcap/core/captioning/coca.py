"""open_clip CoCa as a captioner.

The model loads through :func:`napari_clipcap.core.clip.model.load_clip` (an
architecture or model-config JSON and weights) and decodes with the shared token loops
of :func:`napari_clipcap.core.decoding.loops.decode` (open_clip's own ``generate``
needs transformers classes that transformers 5 removed).
"""

from __future__ import annotations

import torch

from ..decoding.loops import decode
from ..decoding.options import DecodeOptions
from ..errors import InvalidInputError
from ..jobs import batched, check_cancel, report
from .base import check_images, with_clip

__all__ = ["CoCaCaptioner", "CoCaStepper", "build_coca"]


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
        options: DecodeOptions | None = None,
        batch_size: int = 16,
        progress=None,
        cancel=None,
        **decoding,
    ) -> list[list[str]]:
        """Captions per image; see :class:`~napari_clipcap.core.captioning.base.Captioner`."""
        from open_clip.tokenizer import decode as decode_text

        images = check_images(images)
        opts = DecodeOptions.of(options, **decoding)
        opts = DecodeOptions.of(
            opts, max_tokens=min(opts.max_tokens, self.context - 1), stop_token_ids=(self.EOT,)
        )
        out: list[list[str]] = []
        for sl in batched(len(images), batch_size):
            check_cancel(cancel)
            pixels = self.clip.preprocess(images[sl])
            with torch.inference_mode():
                ids = decode(CoCaStepper(self.clip.model, self.SOT), pixels, opts, cancel=cancel)
            for per_image in ids:
                texts = [
                    decode_text(torch.tensor([t for t in seq if t != self.EOT]))
                    for seq in per_image
                ]
                out.append([t.replace("<start_of_text>", "").strip() for t in texts])
            report(progress, sl.stop, len(images))
        return out


def build_coca(args: dict, defaults: dict, device: str, precision: str) -> CoCaCaptioner:
    """A CoCa captioner: ``clip_model`` the architecture (default: the kind's preset),
    ``weights`` its pretrained tag or file."""
    arch = args.get("clip_model") or defaults.get("clip_model")
    return with_clip(arch, args.get("weights"), device, precision, CoCaCaptioner)
