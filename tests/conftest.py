"""Shared test set-up: no network, small local models from tests/fixtures."""

from __future__ import annotations

import os

# Nothing in the tests may wait on a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# Fixture modules (small models built and saved locally) are registered here.
from fixtures.text_models import *  # noqa: F401,F403, E402
from fixtures.captioner_models import *  # noqa: F401,F403, E402
from fixtures.clip_models import *  # noqa: F401,F403, E402
