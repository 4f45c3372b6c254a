"""Set-up for the npe2 glue tests: a private cache folder for the sample data."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_CLIPCAP_CACHE", str(tmp_path / "cache"))
