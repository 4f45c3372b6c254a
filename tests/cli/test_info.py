from __future__ import annotations

import json
import subprocess
import sys

from napari_clipcap.cli import main


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["versions"]["napari-clipcap"]
    assert any(d["name"] == "cpu" for d in data["devices"])
    assert data["presets"] and "cache_dir" in data
    assert data["captioner_kinds"] == [
        "clipcap", "blip", "vit-gpt2", "git", "coca", "florence2", "vlm"
    ]  # fmt: skip
    assert {"smolvlm2-256m", "qwen2.5-vl-3b"} <= {p["name"] for p in data["presets"]}
    coco = next(p for p in data["presets"] if p["name"] == "clipcap-coco-mlp")
    assert (coco["source"], coco["weights"]) == ("hf_hub", "coco_weights.pt")
    assert data["hub_offline"] is True


def test_info_text(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "devices:" in out and "presets:" in out
    assert "captioner kinds:  clipcap, blip" in out


def test_module_entry_point_and_console_script():
    out = subprocess.run(
        [sys.executable, "-m", "napari_clipcap", "info", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["default_device"]


def test_bad_device_is_one_line_error(capsys):
    import pytest

    from napari_clipcap.cli._common import parse_box
    from napari_clipcap.core.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="x0,y0,x1,y1"):
        parse_box("1,2,3")
    assert parse_box("1,2,3.4,5") == (1, 2, 3, 5)
