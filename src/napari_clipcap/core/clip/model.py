"""Load CLIP models and encode images and texts.

>>> clip = load_clip("ViT-B-32", "openai")                      # doctest: +SKIP
>>> img = clip.encode_images([rgb_float32_hxwx3])               # doctest: +SKIP
>>> txt = clip.encode_texts(["a river", "a forest"])            # doctest: +SKIP
>>> probs = softmax(clip.logit_scale * img @ txt.T)             # doctest: +SKIP

What ``model`` and ``weights`` may be:

- an open_clip architecture (``"ViT-B-32"``) with an open_clip pretrained tag
  (``"openai"``, ``"laion2b_s34b_b79k"``), an ``hf-hub:org/repo[/file]`` id, a local
  state-dict file (``.safetensors``, ``.pt``, ``.pth``, ``.bin``); ``None`` for its
  published default weights (``openai`` for the OpenAI architectures), ``"none"`` for
  random weights (speed measurements only; a ``RandomWeightsWarning`` says so);
- a path to an open_clip model-config JSON (``{"embed_dim", "vision_cfg", "text_cfg"}``)
  for custom architectures; the architecture is named after the file's stem;
- ``hf-hub:org/repo`` or a local directory in open_clip's own layout
  (``open_clip_config.json`` + weights);
- a transformers CLIP model: hub id (``"flax-community/clip-rsicd-v2"``) or a local
  directory saved with ``save_pretrained``;
- a preset name from :mod:`napari_clipcap.core.registry` (``"RemoteCLIP-ViT-B-32"``).

Loaded models are held in :mod:`napari_clipcap.core.model_cache` under ``"clip"`` per
``(model, weights, device, precision)``; use :func:`unload_clip` to release one and
:func:`unload_all` to release every loaded model (captioners included).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import model_cache
from ..devices import resolve_device, resolve_dtype
from ..jobs import ProgressCallback, batched, check_cancel, report
from ..model_cache import unload_all
from ..registry import RANDOM, ModelSpec
from . import loaders as clip_loaders
from .preprocess import resize_batch, same_shape_groups

__all__ = [
    "ClipModel",
    "load_clip",
    "loaded_models",
    "resolve_clip",
    "unload_all",
    "unload_clip",
]


class ClipModel:
    """A loaded CLIP model with numpy in, numpy out encoders.

    Attributes
    ----------
    name : str
        The model as it was asked for (plus weights).
    backend : str
        ``"open_clip"`` or ``"transformers"``.
    device : str
    dtype : torch.dtype
    embed_dim : int
        Length of the joint embedding.
    image_size : tuple of int
        Model input (height, width) in pixels.
    patch_size : int or None
        ViT patch size; ``None`` for convolutional image towers.
    logit_scale : float
        The learned temperature, already exponentiated (100 for OpenAI CLIP).
    spec : ModelSpec or None
        The resolved model description it was loaded from (set by :func:`load_clip`).
    """

    spec: ModelSpec | None = None

    def __init__(self, built: clip_loaders.Built, name: str, device: str, dtype):
        import torch

        self.name, self.backend = name, built.backend
        self.model, self.tokenizer = built.model, built.tokenizer
        self.device, self.dtype = device, dtype
        self.resize_mode, self.interpolation = built.resize_mode, built.interpolation
        self._mean = torch.tensor(built.mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(built.std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        m = self.model
        if self.backend == "open_clip":
            size = m.visual.image_size
            self.image_size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
            patch = getattr(m.visual, "patch_size", None)
            self.patch_size = int(patch[0]) if isinstance(patch, (tuple, list)) else patch
            self.logit_scale = float(m.logit_scale.detach().float().exp().item())
        else:
            vc = m.config.vision_config
            self.image_size = (vc.image_size, vc.image_size)
            self.patch_size = int(vc.patch_size)
            self.logit_scale = float(m.logit_scale.detach().float().exp().item())
        self.embed_dim = int(self.encode_texts(["a"], normalize=False).shape[1])

    def __repr__(self) -> str:
        return f"ClipModel({self.name!r}, device={self.device!r}, dtype={self.dtype})"

    # ---------------------------------------------------------------- images
    def preprocess(
        self, images: Sequence[np.ndarray] | np.ndarray, resize_mode: str | None = None
    ):
        """Turn HxWx3 float arrays in [0, 1] into a normalised model-input batch.

        Resizing (bicubic, antialiased) and normalisation run in torch on the model's
        device, one call per group of equally sized images. ``resize_mode`` follows the
        model: ``"shortest"`` (resize the short side, centre crop), ``"squash"`` or
        ``"longest"`` (resize the long side, pad); ``resize_mode`` overrides it. NaN
        becomes 0.
        """
        import torch

        out = []
        for g in same_shape_groups(images):
            x = torch.from_numpy(np.ascontiguousarray(g, dtype=np.float32)).to(self.device)
            # channels first: one copy (never the caller's array), cleaned of NaN in place
            x = x.permute(0, 3, 1, 2).clone(memory_format=torch.contiguous_format)
            x = torch.nan_to_num_(x, nan=0.0)
            mode = resize_mode or self.resize_mode
            out.append(resize_batch(x, self.image_size, mode, self.interpolation))
        x = torch.cat(out) if len(out) > 1 else out[0]
        x = (x - self._mean) / self._std
        return x.to(self.dtype)

    @property
    def normalisation(self) -> tuple:
        """``(mean, std)``: the model's per-channel input normalisation, ``(1, 3, 1, 1)``
        float32 tensors on its device (``preprocess`` gives ``(x - mean) / std``)."""
        return self._mean, self._std

    def encode_pixels(self, pixels):
        """Image embeddings (unnormalised, float32 tensor) of a preprocessed batch."""
        import torch

        with torch.inference_mode():
            if self.backend == "open_clip":
                feats = self.model.encode_image(pixels)
            else:
                pooled = self.model.vision_model(pixel_values=pixels).pooler_output
                feats = self.model.visual_projection(pooled)
        return feats.float()

    def encode_images(
        self,
        images: Sequence[np.ndarray] | np.ndarray,
        *,
        normalize: bool = True,
        batch_size: int = 32,
        progress: ProgressCallback | None = None,
        cancel=None,
    ) -> np.ndarray:
        """Embed images.

        Parameters
        ----------
        images : sequence of ndarray or ndarray
            HxWx3 (or HxW grey) float arrays with values in [0, 1], of any sizes, or one
            (N, H, W, 3) array.
        normalize : bool
            L2-normalise each embedding (default). ``False`` gives the raw embeddings
            that ClipCap mapping networks take.
        batch_size : int
            Images per forward pass.
        progress, cancel
            See :mod:`napari_clipcap.core.jobs`; checked between batches.

        Returns
        -------
        ndarray
            (N, D) float32.
        """
        import torch

        n = len(images)
        out = np.empty((n, self.embed_dim), dtype=np.float32)
        for sl in batched(n, batch_size) if n else []:
            check_cancel(cancel)
            feats = self.encode_pixels(self.preprocess(images[sl]))
            if normalize:
                feats = torch.nn.functional.normalize(feats, dim=-1)
            out[sl] = feats.cpu().numpy()
            report(progress, sl.stop, n)
        return out

    # ----------------------------------------------------------------- texts
    def encode_texts(self, texts: Sequence[str], *, normalize: bool = True) -> np.ndarray:
        """Embed texts; returns (N, D) float32, L2-normalised unless ``normalize=False``."""
        import torch

        if isinstance(texts, str):
            texts = [texts]
        texts = [str(t) for t in texts]
        if not texts:
            return np.empty((0, getattr(self, "embed_dim", 0)), dtype=np.float32)
        with torch.inference_mode():
            if self.backend == "open_clip":
                tokens = self.tokenizer(texts).to(self.device)
                feats = self.model.encode_text(tokens)
            else:
                tok = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
                tok = {k: v.to(self.device) for k, v in tok.items()}
                pooled = self.model.text_model(**tok).pooler_output
                feats = self.model.text_projection(pooled)
            feats = feats.float()
            if normalize:
                feats = torch.nn.functional.normalize(feats, dim=-1)
        return feats.cpu().numpy()


def resolve_clip(model: str | ModelSpec, weights: str | None = None) -> ModelSpec:
    """The CLIP model ``(model, weights)`` means, by the one rule of
    :class:`~napari_clipcap.core.registry.ModelSpec` (``docs/models.md``)."""
    if isinstance(model, ModelSpec):
        return model.resolve()
    return ModelSpec.for_clip(str(model), weights).resolve()


def _loader_weights(spec: ModelSpec) -> str | None:
    """What the loaders take: ``None`` for random weights (and for a model holding its own)."""
    return None if spec.weights in (None, RANDOM) else spec.weights


def _precision(dev: str, precision: str) -> str:
    return {"torch.float16": "fp16", "torch.bfloat16": "bf16"}.get(
        str(resolve_dtype(dev, precision)), "fp32"
    )


def load_clip(
    model: str,
    weights: str | None = None,
    device: str = "auto",
    *,
    precision: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> ClipModel:
    """Load (or fetch from the in-memory cache) a CLIP model.

    Parameters
    ----------
    model : str or ModelSpec
        Architecture, config JSON, directory, hub id or preset name (module docstring),
        or a :class:`~napari_clipcap.core.registry.ModelSpec`.
    weights : str or None
        Pretrained tag, ``hf-hub:`` id or local checkpoint file. ``None``: an
        architecture's published default weights (``openai`` for the OpenAI ones), a
        preset's, or what a folder holds; ``"none"``: random weights, with a
        :class:`~napari_clipcap.core.errors.RandomWeightsWarning` (docs/models.md).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda[:N]"`` or ``"mps"``.
    precision : {"auto", "fp32", "fp16", "bf16"}
        ``"auto"``: fp32 on the CPU, bf16/fp16 on GPUs.
    progress : callable, optional
        ``progress(bytes_done, bytes_total)`` during downloads.

    Returns
    -------
    ClipModel

    Raises
    ------
    ModelNotFoundError
        When the model or its weights are not on disk and cannot be downloaded.
    CheckpointFormatError
        When a weights file does not fit the architecture.
    """
    spec = resolve_clip(model, weights)
    model, weights = spec.name, _loader_weights(spec)
    dev = resolve_device(device)
    dtype = resolve_dtype(dev, precision)
    prec = _precision(dev, precision)

    def build() -> ClipModel:
        if clip_loaders.detect_source(model) == "open_clip":
            built, _ = clip_loaders.build_open_clip(model, weights, dev, prec, progress)
        else:
            built = clip_loaders.build_transformers(model, dev, dtype)
        clip = ClipModel(built, spec.label if spec.random else _name(model, weights), dev, dtype)
        clip.spec = spec
        return clip

    clip = model_cache.get_or_load("clip", (model, spec.weights, dev, prec), build, dev)
    spec.warn()  # every time a random model is handed out, not only when it is built
    return clip


def _name(model: str, weights: str | None) -> str:
    return model if weights is None else f"{model} ({weights})"


def loaded_models() -> list[tuple[str, str | None, str, str]]:
    """The ``(model, weights, device, precision)`` keys of CLIP models held in memory."""
    return model_cache.loaded("clip")


def unload_clip(
    model: str, weights: str | None = None, device: str = "auto", precision: str = "auto"
) -> bool:
    """Drop one cached model and release its memory; returns whether it was loaded."""
    spec = resolve_clip(model, weights)
    dev = resolve_device(device)
    return model_cache.unload("clip", (spec.name, spec.weights, dev, _precision(dev, precision)))
