"""Shared test set-up: no network, small local models from tests/fixtures."""

from __future__ import annotations

import os

# Nothing in the tests may wait on a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import sys

import pytest

# torch's compiler stack (triton, pulled in by torchvision) bundles its own LLVM; loading
# it after a napari viewer has mapped Mesa's libLLVM crashes the process. Loading it first,
# as the command line does, keeps the suite independent of test order (see _qt/_compat.py
# for the guard the widgets use inside napari).
import torchvision  # noqa: F401

from fixtures.captioner_models import *  # noqa: F403
from fixtures.clip_models import *  # noqa: F403
from fixtures.florence2_models import *  # noqa: F403
from fixtures.segmenter_models import *  # noqa: F403

# Fixture modules (small models built and saved locally) are registered here.
from fixtures.text_models import *  # noqa: F403
from fixtures.threads import *  # noqa: F403
from fixtures.vlm_models import *  # noqa: F403
from napari_clipcap.core import model_cache

#: Process-wide objects of the Qt layer, forgotten between tests (only once imported:
#: tests of core and the CLI never load Qt for this).
_QT_SINGLETONS = (
    ("napari_clipcap._qt.models.shared", "SharedSettings"),
    ("napari_clipcap._qt.models.hub_probe", "HubProbe"),
)


def _forget_process_state() -> None:
    model_cache.reset()  # loaded models and every registered memo
    for module, name in _QT_SINGLETONS:
        if module in sys.modules:
            getattr(sys.modules[module], name).reset()


@pytest.fixture(autouse=True)
def _independent_of_order():
    """Every test starts as in a fresh process: no model loaded by an earlier test, no
    cached reachability, digests or scaled inputs, no shared dock settings."""
    _forget_process_state()
    yield
    _forget_process_state()


def pytest_collection_finish(session) -> None:
    """Move every object alive after collection (torch, transformers, napari and the test
    modules: millions of objects) out of the garbage collector's sight: the collections
    napari's viewer fixture runs at every teardown then visit only what tests create
    (1.2-1.8 s less per viewer test on this machine)."""
    import gc

    gc.collect()
    gc.freeze()
