"""Shared test set-up: no network, small local models from tests/fixtures."""

from __future__ import annotations

import os

# Nothing in the tests may wait on a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# Fixture modules (small models built and saved locally) are registered here.
