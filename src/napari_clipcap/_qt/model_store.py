"""Loaded models shared by every widget, loaded lazily inside worker threads.

CLIP models are cached by :func:`napari_clipcap.core.clip.load_clip` itself; this store
adds the captioners and one :meth:`ModelStore.unload` that frees both (GPU memory
included, through :func:`napari_clipcap.core.devices.release_memory`). Pure Python:
the widgets call it from their job functions, off the Qt thread.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from ..core.devices import release_memory, resolve_device
from ..core.jobs import ProgressCallback
from .model_specs import ModelChoice, captioner_load_args, clip_load_args


class ModelStore:
    """Captioners and CLIP models held in memory, keyed by choice, device and precision."""

    def __init__(self) -> None:
        self._captioners: dict[tuple, Any] = {}
        self._lock = threading.Lock()
        self._devices: set[str] = set()

    def clip(
        self,
        choice: ModelChoice,
        device: str = "auto",
        precision: str = "auto",
        progress: ProgressCallback | None = None,
    ):
        """Load (or reuse) the CLIP model of ``choice``; downloads report to ``progress``."""
        from ..core.clip import load_clip

        args = clip_load_args(choice)
        dev = resolve_device(device)
        self._devices.add(dev)
        return load_clip(
            args["model"], args["weights"], dev, precision=precision, progress=progress
        )

    def captioner(
        self,
        choice: ModelChoice,
        device: str = "auto",
        precision: str = "auto",
        progress: ProgressCallback | None = None,
    ):
        """Load (or reuse) the captioner of ``choice``."""
        from ..core.captioning import load_captioner

        args = captioner_load_args(choice)
        dev = resolve_device(device)
        key = (choice.key(), dev, precision)
        with self._lock:
            if key in self._captioners:
                return self._captioners[key]
        accepted = inspect.signature(load_captioner).parameters
        extra = {"precision": precision, "progress": progress}
        kwargs = {k: v for k, v in extra.items() if k in accepted}
        kind = args.pop("kind")
        weights = args.pop("weights")
        model = load_captioner(kind, weights, device=dev, **args, **kwargs)
        with self._lock:
            self._captioners[key] = model
            self._devices.add(dev)
        return model

    def loaded(self) -> list[str]:
        """Names of the models in memory."""
        from ..core.clip import loaded_models

        with self._lock:
            caps = [ModelChoice.from_dict(dict(k[0])).label for k in self._captioners]
        return [m if w is None else f"{m} ({w})" for m, w, _, _ in loaded_models()] + caps

    def unload(self) -> int:
        """Drop every loaded model and give memory back; returns how many were dropped."""
        from ..core.clip import unload_all

        with self._lock:
            n = len(self._captioners)
            self._captioners.clear()
        n += unload_all()
        for dev in self._devices:
            release_memory(dev)
        return n


#: The store every widget of this process shares.
STORE = ModelStore()
