"""Model folders are data, never code, for every model kind (issue 21 item 3).

Each payload is a model folder whose config (config.json, preprocessor_config.json,
tokenizer_config.json, generation_config.json; ``auto_map``) makes transformers import
``evil.py`` from the folder; ``evil.py`` writes a marker file in the test's tmp folder.
The command runs in a subprocess with "y" on stdin (transformers' "Do you wish to run
the custom code? [y/N]" prompt reads it): it must refuse with the project's message, and
the marker must never appear. A control run with ``trust_remote_code=True`` proves the
payload is live.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures.clip_models import TINY_CLIP_CONFIG

_EVIL = """
import pathlib
pathlib.Path({marker!r}).write_text("code from the model's files ran")
from transformers import PretrainedConfig


class EvilConfig(PretrainedConfig):
    model_type = "evil"
"""
_AUTO_MAP = {
    "AutoConfig": "evil.EvilConfig",
    "AutoImageProcessor": "evil.EvilConfig",
    "AutoTokenizer": ["evil.EvilConfig", None],
    "AutoModel": "evil.EvilConfig",
}
REFUSED = "refused to load the model config"


def _arm(folder: Path, marker: Path, config_name: str = "config.json", drop_type=False):
    """Make ``folder`` ask for its own code in ``config_name``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evil.py").write_text(_EVIL.format(marker=str(marker)))
    path = folder / config_name
    config = json.loads(path.read_text()) if path.is_file() else {}
    config["auto_map"] = _AUTO_MAP
    if drop_type:
        config.pop("model_type", None)
    path.write_text(json.dumps(config))
    return folder


def _copy(src, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


_DRIVER = """
import contextlib, io, json, sys, traceback
from napari_clipcap.cli import main

out = {}
for name, argv in json.loads(sys.argv[1]).items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except BaseException:  # a traceback is a failure: report it
            rc = -1
            err.write("Traceback " + traceback.format_exc())
    out[name] = {"rc": rc, "stderr": err.getvalue()}
print("RESULTS" + json.dumps(out))
"""


def _run_all(runs: dict, tmp_path: Path) -> dict:
    """Run every payload's command in one subprocess (one import of torch), "y" on
    stdin for every prompt transformers might show."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(runs)],
        input="y\n" * 50,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert "RESULTS" in done.stdout, done.stderr[-3000:]
    results = json.loads(done.stdout.split("RESULTS", 1)[1])
    for r in results.values():
        r["prompted"] = "[y/N]" in done.stdout
    return results


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "MARKER"


def _payloads(name, tmp_path, marker, fixtures):
    """``(argv, armed folder)`` of one payload."""
    if name == "clip-json-hf-model-name":
        text_model = _arm(tmp_path / "text-model", marker)
        cfg = json.loads(json.dumps(TINY_CLIP_CONFIG))
        cfg["text_cfg"] = {**cfg["text_cfg"], "hf_model_name": str(text_model)}
        path = tmp_path / "evil-clip.json"
        path.write_text(json.dumps(cfg))
        return ["labels", "IMAGE", "--labels", "a,b", "--clip", str(path),
                "--clip-weights", "none"], text_model  # fmt: skip
    if name == "vit-gpt2-preprocessor":
        folder = _arm(_copy(fixtures["vit_gpt2_dir"], tmp_path / "vg"), marker,
                      "preprocessor_config.json")  # fmt: skip
        return ["caption", "IMAGE", "--captioner", "vit-gpt2", "--weights", str(folder)], folder
    if name in ("blip-no-model-type", "git-no-model-type"):
        kind = name.split("-")[0]
        folder = _arm(_copy(fixtures[f"{kind}_dir"], tmp_path / kind), marker, drop_type=True)
        return ["caption", "IMAGE", "--captioner", kind, "--weights", str(folder)], folder
    if name == "git-generation-config":
        folder = _arm(_copy(fixtures["git_dir"], tmp_path / "gitg"), marker,
                      "generation_config.json")  # fmt: skip
        return ["caption", "IMAGE", "--captioner", "git", "--weights", str(folder)], folder
    clipcap = ["caption", "IMAGE", "--captioner", "clipcap", "--clip",
               str(fixtures["tiny_clip_files"].config), "--clip-weights",
               str(fixtures["tiny_clip_files"].safetensors)]  # fmt: skip
    if name == "decoder-folder":
        decoder = _arm(_copy(fixtures["gpt2_dir"], tmp_path / "dec"), marker,
                       "tokenizer_config.json")  # fmt: skip
        weights = str(fixtures["clipcap_for_tiny_clip"])
        return [*clipcap, "--weights", weights, "--decoder", str(decoder)], decoder
    if name == "clipcap-folder-decoder":
        folder = _copy(fixtures["clipcap_for_tiny_clip"], tmp_path / "shared-clipcap")
        assert (folder / "decoder").is_dir()
        _arm(folder / "decoder", marker)
        return [*clipcap, "--weights", str(folder)], folder / "decoder"
    assert name == "florence2"
    folder = _arm(_copy(fixtures["florence2_dir"], tmp_path / "f2"), marker)
    return ["caption", "IMAGE", "--captioner", "florence2", "--weights", str(folder)], folder


PAYLOADS = (
    "clip-json-hf-model-name",
    "vit-gpt2-preprocessor",
    "blip-no-model-type",
    "git-no-model-type",
    "git-generation-config",
    "decoder-folder",
    "clipcap-folder-decoder",
    "florence2",
)


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory):
    """``payload -> (result, marker, armed folder)``, all run in one subprocess."""
    names = ("vit_gpt2_dir", "blip_dir", "git_dir", "gpt2_dir", "florence2_dir",
             "clipcap_for_tiny_clip", "tiny_clip_files")  # fmt: skip
    fixtures = {n: request.getfixturevalue(n) for n in names}
    root = tmp_path_factory.mktemp("remote-code")
    image = root / "im.png"
    pixels = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype("uint8")
    Image.fromarray(pixels).save(image)
    runs, armed = {}, {}
    for name in PAYLOADS:
        folder = root / name
        folder.mkdir()
        argv, armed[name] = _payloads(name, folder, folder / "MARKER", fixtures)
        runs[name] = [str(image) if a == "IMAGE" else a for a in argv] + ["--device", "cpu"]
    results = _run_all(runs, root)
    return {n: (results[n], root / n / "MARKER", armed[n]) for n in PAYLOADS}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_yes_on_stdin_never_runs_a_model_folders_code(payload, outcomes):
    result, marker, armed = outcomes[payload]
    assert (armed / "evil.py").is_file()
    assert not marker.exists(), f"{payload}: code from the model's files ran"
    assert result["rc"] == 2, result["stderr"][-2000:]
    assert REFUSED in result["stderr"] and "auto_map" in result["stderr"]
    assert "Traceback" not in result["stderr"] and not result["prompted"]


def test_the_payload_is_live(tmp_path, marker):
    """Control: transformers told to trust the folder runs its code (so the test above
    would catch the hole reopening)."""
    folder = _arm(tmp_path / "live", marker)
    code = (
        "from transformers import AutoConfig;"
        f"AutoConfig.from_pretrained({str(folder)!r}, trust_remote_code=True)"
    )
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)
    assert marker.exists()
    marker.unlink()
