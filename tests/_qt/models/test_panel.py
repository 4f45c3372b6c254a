"""The model panel: shared, persisted choices, cache status, load and unload."""

from __future__ import annotations

import pytest

from fixtures.qt_jobs import wait_job
from napari_clipcap._napari.models.specs import (
    CUSTOM,
    ModelChoice,
    cache_status,
    captioner_load_args,
    clip_load_args,
    settings_path,
)
from napari_clipcap._napari.models.store import STORE
from napari_clipcap._qt.models.panel import ModelPanel, SharedSettings
from napari_clipcap.core.errors import InvalidInputError


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_CLIPCAP_CACHE", str(tmp_path / "cache"))
    SharedSettings.reset()
    yield
    SharedSettings.reset()


def test_choices_are_shared_between_panels_and_persist(qtbot):
    a, b = ModelPanel(), ModelPanel(show_captioner=False)
    qtbot.addWidget(a)
    qtbot.addWidget(b)
    a.clip_combo.setCurrentText("RemoteCLIP-ViT-B-32")
    a.domain_combo.setCurrentText("astronomy")
    assert b.clip_combo.currentText() == "RemoteCLIP-ViT-B-32"
    assert b.domain_combo.currentText() == "astronomy"
    assert settings_path().is_file()
    SharedSettings.reset()  # a new napari session reads the file
    c = ModelPanel()
    qtbot.addWidget(c)
    assert c.clip_combo.currentText() == "RemoteCLIP-ViT-B-32"
    assert c.settings.domain == "astronomy"


def test_custom_rows_and_status_follow_the_choice(qtbot, tmp_path):
    panel = ModelPanel(show_captioner=False)
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.clip_weights.isVisible()
    assert not panel.captioner_combo.isVisible()
    panel.clip_combo.setCurrentText(CUSTOM)
    assert panel.clip_weights.isVisible()
    missing = tmp_path / "nope.safetensors"
    panel.clip_weights.edit.setText(str(missing))
    panel.clip_weights.edit.editingFinished.emit()
    assert "not found" in panel.clip_status.text()
    missing.write_bytes(b"x")
    panel.refresh()
    assert "local files" in panel.clip_status.text()
    assert "nope.safetensors" in panel.summary.text() and "auto" in panel.summary.text()
    panel.toggle.click()  # collapse to the one-line summary
    assert not panel.clip_combo.isVisible() and panel.summary.isVisible()
    panel.toggle.click()
    assert panel.clip_combo.isVisible()


def test_offline_preset_reports_not_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    state, text = cache_status(ModelChoice(preset="blip-base"), "captioner")
    assert state == "missing" and "offline" in text


def test_cached_hub_model_is_ready_and_marked_in_the_combo(qtbot, monkeypatch, tmp_path):
    from qtpy.QtCore import Qt

    hub = tmp_path / "hub"
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    # the layout huggingface_hub writes: models--org--name/{refs/main, snapshots/<rev>/file}
    repo = hub / "models--Salesforce--blip-image-captioning-base"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    assert cache_status(ModelChoice(preset="blip-base"), "captioner") == ("ready", "cached")
    panel = ModelPanel()
    qtbot.addWidget(panel)
    i = panel.captioner_combo.findText("blip-base")
    assert panel.captioner_combo.itemData(i, Qt.ItemDataRole.ToolTipRole) == "blip-base: cached"
    j = panel.captioner_combo.findText("blip-large")
    assert "offline" in panel.captioner_combo.itemData(j, Qt.ItemDataRole.ToolTipRole)


def test_load_args_for_presets_and_custom_files():
    assert clip_load_args(ModelChoice(preset="ViT-B-32/openai")) == {
        "model": "ViT-B-32",
        "weights": "openai",
    }
    args = captioner_load_args(ModelChoice(preset="clipcap-coco-mlp", weights="/m/coco.pt"))
    assert args["kind"] == "clipcap" and args["weights"] == "/m/coco.pt"
    assert args["clip_model"] == "ViT-B-32" and args["decoder"] == "gpt2"
    assert captioner_load_args(ModelChoice(preset="blip-base"))["weights"] == (
        "Salesforce/blip-image-captioning-base"
    )
    # one click: the COCO preset's weights come from the hub; the transformer's do not
    hub = captioner_load_args(ModelChoice(preset="clipcap-coco-mlp"))
    assert hub["weights"] == "hf-hub:akhaliq/CLIP-prefix-captioning-COCO-weights/coco_weights.pt"
    with pytest.raises(InvalidInputError, match="checkpoint"):
        captioner_load_args(ModelChoice(preset="clipcap-coco-transformer"))
    tr = captioner_load_args(ModelChoice(preset="clipcap-coco-transformer", weights="/m/t.pt"))
    assert tr["clip_model"] == "RN50x4" and tr["normalize_prefix"] is True
    with pytest.raises(InvalidInputError):
        clip_load_args(ModelChoice(preset=CUSTOM))


def test_load_then_unload_a_local_clip(qtbot, tiny_clip_files):
    panel = ModelPanel(show_captioner=False)
    qtbot.addWidget(panel)
    panel.shared.update(
        clip=ModelChoice(
            preset=CUSTOM,
            model=str(tiny_clip_files.config),
            weights=str(tiny_clip_files.safetensors),
        ),
        device="cpu",
    )
    STORE.unload()
    panel.load_models()
    with qtbot.waitSignal(panel.job_panel.job.ended, timeout=20000):
        pass
    assert "Loaded" in panel.job_panel.status.text()
    assert any("clipcap-tiny-vit" in n for n in STORE.loaded())
    loaded = panel.job_panel.job
    panel.unload_button.click()  # in a worker: it may have to wait for a load
    wait_job(qtbot, panel, timeout=20000, before=loaded)
    assert STORE.loaded() == []
    assert "Unloaded" in panel.job_panel.status.text()


def test_unload_during_a_load_does_not_freeze_napari(qtbot):
    """A model loading in a worker holds the model cache lock (for minutes when it
    downloads); Unload must wait for it off the Qt thread."""
    import threading

    import napari_clipcap.core.model_cache as core_cache

    panel = ModelPanel(show_captioner=False)
    qtbot.addWidget(panel)
    held, release, released = threading.Event(), threading.Event(), threading.Event()

    def load_in_progress():
        with core_cache._LOCK:  # as load_clip holds it while it builds a model
            held.set()
            release.wait(30)  # until the test lets go (30 s: only if the click hung)
        released.set()

    loading = threading.Thread(target=load_in_progress)
    loading.start()
    assert held.wait(10)
    panel.unload_button.click()  # had it waited for the lock, the load would be over
    assert not released.is_set(), "Unload waited for the load on the Qt thread"
    assert not panel.load_button.isEnabled()  # one load or unload at a time
    job = panel.job_panel.job
    assert job is not None and not job.over
    release.set()
    loading.join()
    with qtbot.waitSignal(job.ended, timeout=20000):
        pass
    assert "Unloaded" in panel.job_panel.status.text() and panel.load_button.isEnabled()


def test_preset_cache_status_needs_no_open_clip_import(tmp_path):
    """Docking a widget must not stall napari importing open_clip (seconds) for the
    cache marks: presets carry their hub repository as data."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from napari_clipcap._napari.models.specs import ModelChoice, cache_status\n"
        "from napari_clipcap.core.registry import presets\n"
        "for p in presets('clip') + presets('coca'):\n"
        "    cache_status(ModelChoice(preset=p.name), 'clip')\n"
        "print('open_clip' in sys.modules)\n"
    )
    env = {**__import__("os").environ, "HF_HUB_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_open_clip_preset_cached_through_its_known_hub_repo(monkeypatch, tmp_path):
    hub = tmp_path / "hub"
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    assert cache_status(ModelChoice(preset="ViT-B-32/openai"), "clip")[0] != "ready"
    repo = hub / "models--timm--vit_base_patch32_clip_224.openai"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "open_clip_model.safetensors").write_bytes(b"x")
    assert cache_status(ModelChoice(preset="ViT-B-32/openai"), "clip") == ("ready", "cached")
