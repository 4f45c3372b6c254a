"""Downloads with bytes done of total and cancel, on a fake hub (no network here)."""

from __future__ import annotations

import threading

import pytest

from napari_clipcap._napari.models.download import download_choices, plan
from napari_clipcap._napari.models.specs import ModelChoice
from napari_clipcap._qt.models import actions
from napari_clipcap._qt.models.hub_probe import HubProbe
from napari_clipcap._qt.models.panel import SharedSettings
from napari_clipcap.core.clip.hub import download_files, repo_folder
from napari_clipcap.core.errors import Cancelled

CHUNK = 64 * 1024
BLIP = "Salesforce/blip-image-captioning-base"
LISTING = [("config.json", 2 * CHUNK), ("model.safetensors", 16 * CHUNK),
           ("pytorch_model.bin", 16 * CHUNK), ("tf_model.h5", 16 * CHUNK)]  # fmt: skip


@pytest.fixture
def hub(tmp_path, monkeypatch):
    path = tmp_path / "hub"
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(path))
    return path


def fake_fetch(cancel_after: int | None = None, cancel: threading.Event | None = None):
    """Writes ``<blobs>/<name>.incomplete`` chunk by chunk, as huggingface_hub does,
    moving it in place when whole; sets ``cancel`` after ``cancel_after`` chunks."""
    sizes = dict(LISTING)
    count = [0]

    def fetch(repo_id, filename, tqdm_class):
        blobs = repo_folder(repo_id) / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        part = blobs / f"{filename}.incomplete"
        bar = tqdm_class(total=sizes[filename])
        with part.open("wb") as f:
            for _ in range(sizes[filename] // CHUNK):
                f.write(b"x" * CHUNK)
                count[0] += 1
                if cancel_after is not None and count[0] == cancel_after:
                    cancel.set()
                bar.update(CHUNK)  # checks the cancel flag
        part.rename(blobs / filename)
        return str(blobs / filename)

    return fetch


def test_download_reports_bytes_of_the_total_and_skips_other_frameworks(hub):
    files = plan([(ModelChoice(preset="blip-base"), "captioner")], lambda repo: LISTING)
    assert [f for _, f, _ in files] == ["config.json", "model.safetensors"]
    seen = []
    download_files(files, lambda d, t: seen.append((d, t)), None, fake_fetch())
    assert seen[-1] == (18 * CHUNK, 18 * CHUNK) and len(seen) > 10
    assert all(d <= t for d, t in seen) and seen == sorted(seen)


def test_cancel_stops_within_a_chunk_and_leaves_no_partial_file(hub):
    cancel = threading.Event()
    seen = []
    with pytest.raises(Cancelled):
        download_choices(
            [(ModelChoice(preset="blip-base"), "captioner")],
            lambda d, t: seen.append((d, t)),
            cancel,
            list_files=lambda repo: LISTING,
            fetch=fake_fetch(cancel_after=5, cancel=cancel),
        )
    blobs = repo_folder(BLIP) / "blobs"
    assert list(blobs.glob("*.incomplete")) == []
    assert [p.name for p in blobs.iterdir()] == ["config.json"]  # the whole file stays
    assert seen[-1][0] == 4 * CHUNK // 1024 and seen[-1][1] == 18 * CHUNK // 1024  # KiB


def test_load_button_shows_bytes_and_cancel_removes_the_partial_file(
    make_napari_viewer, qtbot, hub, monkeypatch, notifications
):
    from napari_clipcap._qt.widgets.caption.widget import CaptionWidget

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr("napari_clipcap.core.clip.hub.hub_reachable", lambda *a, **k: True)
    HubProbe.reset()
    HubProbe.instance().start(ask=lambda: True)
    gate, formats = threading.Event(), []

    def slow_fetch(repo_id, filename, tqdm_class):
        bar = tqdm_class(total=LISTING[1][1])
        part = repo_folder(repo_id) / "blobs" / "abc.incomplete"
        part.parent.mkdir(parents=True, exist_ok=True)
        with part.open("wb") as f:
            for _ in range(10_000):
                f.write(b"x" * CHUNK)
                bar.update(CHUNK)
                gate.set()
                threading.Event().wait(0.01)
        return str(part)

    def fake_download(choices, progress, cancel):
        listing = LISTING[1:2]
        return download_choices(
            choices[:1], progress, cancel, list_files=lambda repo: listing, fetch=slow_fetch
        )

    monkeypatch.setattr(actions, "download_choices", fake_download)
    SharedSettings.instance().update(captioner=ModelChoice(preset="blip-base", kind="blip"))
    viewer = make_napari_viewer()
    widget = CaptionWidget(viewer)
    qtbot.addWidget(widget)
    panel = widget.models
    panel.load_button.click()
    qtbot.waitUntil(gate.is_set, timeout=10000)
    qtbot.waitUntil(lambda: " of " in panel.job_panel.bar.format(), timeout=10000)
    formats.append(panel.job_panel.bar.format())
    panel.job_panel.cancel_button.click()
    qtbot.waitUntil(lambda: not panel.job_panel.busy, timeout=10000)
    assert (formats[0].endswith("of 1.0 MB (%p%)") and "KB" in formats[0]) or "MB" in formats[0]
    assert "Cancelled" in panel.job_panel.status.text()
    assert list((repo_folder(BLIP) / "blobs").glob("*.incomplete")) == []
    HubProbe.reset()
