"""Loaded models shared by every widget, loaded lazily inside worker threads.

Every loaded model (CLIP models and captioners) is held in the one core cache,
:mod:`napari_clipcap.core.model_cache`; :meth:`ModelStore.unload` frees them all (GPU
memory included, through :func:`napari_clipcap.core.devices.release_memory`). Pure Python:
the widgets call it from their job functions, off the Qt thread.
"""

from __future__ import annotations

from ...core.devices import release_memory, resolve_device
from ...core.jobs import ProgressCallback
from .specs import ModelChoice, captioner_load_args, clip_load_args


class ModelStore:
    """Front of the core model caches, keyed by choice, device and precision."""

    def __init__(self) -> None:
        self._devices: set[str] = set()

    def clip(
        self,
        choice: ModelChoice,
        device: str = "auto",
        precision: str = "auto",
        progress: ProgressCallback | None = None,
    ):
        """Load (or reuse) the CLIP model of ``choice``; downloads report to ``progress``."""
        from ...core.clip.model import load_clip

        args = clip_load_args(choice)
        dev = resolve_device(device)
        self._devices.add(dev)
        return load_clip(
            args["model"], args["weights"], dev, precision=precision, progress=progress
        )

    def captioner(self, choice: ModelChoice, device: str = "auto", precision: str = "auto"):
        """Load (or reuse) the captioner of ``choice``."""
        from ...core.captioning.protocol import load_captioner

        args = captioner_load_args(choice)
        dev = resolve_device(device)
        self._devices.add(dev)
        return load_captioner(args.pop("kind"), args.pop("weights"), device=dev,
                              precision=precision, **args)  # fmt: skip

    def loaded(self) -> list[str]:
        """Names of the models in memory."""
        from ...core.captioning.protocol import loaded_captioners
        from ...core.clip.model import loaded_models

        clips = [m if w is None else f"{m} ({w})" for m, w, _, _ in loaded_models()]
        return clips + [f"{k[0]}:{k[1]}" for k in loaded_captioners()]

    def unload(self) -> int:
        """Drop every loaded model and give memory back; returns how many were dropped."""
        from ...core.model_cache import unload_all

        n = unload_all()
        for dev in self._devices:
            release_memory(dev)
        return n


#: The store every widget of this process shares.
STORE = ModelStore()
