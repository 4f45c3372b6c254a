"""Fixtures shared by the command-line tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def clip_args(tiny_clip_files):
    """The CLI flags that select the tiny local CLIP model, on the CPU."""
    return [
        "--clip",
        str(tiny_clip_files.config),
        "--clip-weights",
        str(tiny_clip_files.safetensors),
        "--device",
        "cpu",
    ]
