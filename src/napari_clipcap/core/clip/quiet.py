"""Silencing open_clip's log line about random weights: the project says it once, loudly,
as a :class:`~napari_clipcap.core.errors.RandomWeightsWarning` (``load_clip``), so the
root-logger line "No pretrained weights loaded" is neither the only sign nor a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_random_init"]


@contextmanager
def quiet_random_init() -> Iterator[None]:
    """Drop open_clip's "No pretrained weights loaded" log line (load_clip warns)."""

    def quiet(record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith("No pretrained weights loaded")

    root = logging.getLogger()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)
