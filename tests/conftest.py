"""Shared test set-up: no network, small local models from tests/fixtures."""

from __future__ import annotations

import os

# Nothing in the tests may wait on a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# torch's compiler stack (triton, pulled in by torchvision) bundles its own LLVM; loading
# it after a napari viewer has mapped Mesa's libLLVM crashes the process. Loading it first,
# as the command line does, keeps the suite independent of test order (see _qt/_compat.py
# for the guard the widgets use inside napari).
import torchvision  # noqa: F401

from fixtures.captioner_models import *  # noqa: F403
from fixtures.clip_models import *  # noqa: F403
from fixtures.florence2_models import *  # noqa: F403

# Fixture modules (small models built and saved locally) are registered here.
from fixtures.text_models import *  # noqa: F403
from fixtures.vlm_models import *  # noqa: F403
