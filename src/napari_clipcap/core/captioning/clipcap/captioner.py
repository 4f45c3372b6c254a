"""ClipCap as a captioner: CLIP image encoder + mapping network + GPT-2.

:func:`build_clipcap` resolves what the user gave, what an own-format folder recorded
and the preset's defaults (in that order), fetches hub weights (``hf-hub:org/repo/file``)
through the Hugging Face cache, and loads the checkpoint and its CLIP model.
"""

from __future__ import annotations

from pathlib import Path

from ...decoding.options import DecodeOptions
from ...devices import resolve_dtype
from ...errors import CheckpointFormatError, InvalidInputError
from ...jobs import ProgressCallback, batched, check_cancel, report
from ...registry import ModelSpec
from ...registry.spec import clipcap_clip
from ..base import check_images, with_clip
from .checkpoint import fetch_weights

__all__ = ["ClipCapCaptioner", "build_clipcap"]


class ClipCapCaptioner:
    """CLIP image encoder + ClipCap mapping + GPT-2, decoded in batches with a KV cache."""

    kind = "clipcap"

    def __init__(self, clip, model, name: str):
        if clip.embed_dim != model.mapping_config.clip_dim:
            raise CheckpointFormatError(
                f"the ClipCap mapping takes {model.mapping_config.clip_dim}-d CLIP embeddings "
                f"but {clip.name} gives {clip.embed_dim}-d: pass the CLIP model it was "
                "trained with (clip_model= / --clip)"
            )
        self.clip, self.model, self.name = clip, model, name
        self.device = clip.device

    def caption(
        self,
        images,
        *,
        options: DecodeOptions | None = None,
        batch_size: int = 32,
        progress: ProgressCallback | None = None,
        cancel=None,
        **decoding,
    ) -> list[list[str]]:
        """Captions per image; see :class:`~napari_clipcap.core.captioning.base.Captioner`."""
        import torch

        images = check_images(images)
        opts = DecodeOptions.of(options, **decoding)
        n, out = len(images), []
        emb = self.clip.encode_images(
            images, normalize=False, batch_size=batch_size, cancel=cancel
        )
        emb = torch.from_numpy(emb).to(self.device)
        for sl in batched(n, batch_size):
            check_cancel(cancel)
            out += self.model.generate(emb[sl], opts, cancel=cancel)
            report(progress, sl.stop, n)
        return out


def build_clipcap(args: dict, defaults: dict, device: str, precision: str) -> ClipCapCaptioner:
    """Load a ClipCap captioner.

    Parameters
    ----------
    args : dict
        What the caller gave: ``weights`` (a file, an own-format folder or
        ``hf-hub:org/repo/file``), ``clip_model``, ``clip_weights``, ``decoder``,
        ``normalize_prefix`` (``None``: as the checkpoint's layout was trained), ``name``.
    defaults : dict
        The preset's load arguments; they fill what neither the caller nor the file says.
    device, precision : str
    """
    from .model import is_own_format, load_clipcap_checkpoint

    weights = args.get("weights")
    if weights in (None, ""):
        raise InvalidInputError(
            f"{args.get('name') or 'ClipCap'} needs its checkpoint: weights= (--weights) a "
            ".pt file of the original release or a folder written by napari-clipcap"
        )
    path = fetch_weights(str(weights), args.get("name") or "ClipCap")
    own = is_own_format(path)
    decoder = args.get("decoder") or (None if own else defaults.get("decoder"))
    normalize = args.get("normalize_prefix")
    if normalize is None and not own:
        normalize = defaults.get("normalize_prefix")
    model = load_clipcap_checkpoint(path, decoder, device=device, normalize_prefix=normalize)
    model.to(resolve_dtype(device, precision))
    clip = clipcap_clip_spec(args, defaults, model.meta)
    name = f"clipcap:{Path(str(weights)).name}"
    return with_clip(
        clip.name, clip.weights, device, precision, lambda c: ClipCapCaptioner(c, model, name)
    )


def clipcap_clip_spec(args: dict, defaults: dict, meta: dict) -> ModelSpec:
    """The resolved CLIP of a ClipCap checkpoint: what the caller gave (``clip_model``,
    ``clip_weights``), else what the folder recorded (``meta``), else the preset's; a
    name alone means its published weights, as everywhere (docs/models.md)."""
    recorded = {k: meta.get(k) for k in ("clip_model", "clip_weights") if k in meta}
    name, weights = args.get("clip_model"), args.get("clip_weights")
    given = None
    if name or weights not in (None, ""):
        name = name or recorded.get("clip_model") or defaults.get("clip_model")
        given = ModelSpec.for_clip(name, weights)
    return clipcap_clip(given, recorded, defaults).resolve()
