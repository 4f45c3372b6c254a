"""Widget-test set-up: a private settings folder and the tiny CLIP chosen in the panel."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
from napari_clipcap._qt import worker as worker_mod
from napari_clipcap._qt.models.panel import SharedSettings


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_CLIPCAP_CACHE", str(tmp_path / "cache"))
    SharedSettings.reset()
    yield
    SharedSettings.reset()


@pytest.fixture
def notifications(monkeypatch):
    """Error notifications raised by jobs, as a list of messages."""
    shown: list[str] = []
    monkeypatch.setattr(worker_mod, "show_error", shown.append)
    monkeypatch.setattr(worker_mod, "show_info", lambda msg: None)
    return shown


@pytest.fixture
def tiny_clip_choice(tiny_clip_files):
    """Point the shared model panel at the tiny open_clip model on the CPU."""
    choice = ModelChoice(
        preset=CUSTOM,
        kind="clip",
        model=str(tiny_clip_files.config),
        weights=str(tiny_clip_files.safetensors),
    )
    SharedSettings.instance().update(clip=choice, device="cpu", precision="fp32")
    return choice


@pytest.fixture
def scene():
    """A 96 x 128 RGB test image with a bright square and a dark band."""
    rng = np.random.default_rng(0)
    img = (rng.random((96, 128, 3)) * 60).astype(np.uint8)
    img[10:40, 20:60] = 230
    img[60:80, :, 2] = 200
    return img
