"""Provenance records: weight hashes, model sources, JSON-ready values, header lines."""

from __future__ import annotations

import json
from pathlib import Path

from napari_clipcap.core import provenance


def test_file_digest_of_files_and_folders(tmp_path):
    a = tmp_path / "a.safetensors"
    a.write_bytes(b"weights one")
    digest = provenance.file_digest(a)
    assert len(digest) == provenance.DIGEST_LENGTH
    a.write_bytes(b"weights two")
    assert provenance.file_digest(a) != digest  # content, not name, decides
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"w")
    (folder / "config.json").write_text("{}")
    (folder / "notes.txt").write_text("ignored")
    d1 = provenance.file_digest(folder)
    (folder / "notes.txt").write_text("still ignored")
    assert provenance.file_digest(folder) == d1
    (folder / "config.json").write_text('{"n": 1}')
    assert provenance.file_digest(folder) != d1
    assert provenance.file_digest(tmp_path / "missing") is None


def test_model_entry_sources(tmp_path):
    w = tmp_path / "w.pt"
    w.write_bytes(b"x")
    local = provenance.model_entry("clip", "ViT-B-32", str(w))
    assert local["source"] == "file" and local["sha256"] == provenance.file_digest(w)
    assert Path(local["weights"]).is_absolute()
    assert provenance.model_entry("clip", "ViT-B-32", "openai")["source"] == "tag"
    assert provenance.model_entry("clip", "x", "hf-hub:laion/CLIP")["source"] == "hub"
    assert provenance.model_entry("clip", "ViT-B-32", None)["source"] == "none"


def test_record_is_json_ready_and_summarised():
    prov = provenance.record(
        command=provenance.command_line(["labels", "my image.png", "--labels", "a,b"]),
        models=[{"role": "clip", "name": "ViT-B-32", "weights": "/w.pt", "sha256": "abc"}],
        device="cpu",
        precision="fp32",
        parameters={"window": 224, "region": [(0, 0, 5, 5)], "out": Path("/x.npy")},
    )
    assert json.loads(json.dumps(prov)) == prov
    assert prov["command"] == "napari-clipcap labels 'my image.png' --labels a,b"
    assert prov["parameters"]["region"] == [[0, 0, 5, 5]]
    lines = provenance.summary_lines(prov, width=40)
    assert all(len(line) <= 40 for line in lines)
    assert any("sha256:abc" in line for line in lines)
    assert "".join(line.strip() for line in lines).count("labels") >= 1


def test_a_record_without_a_command_is_summarised():
    prov = provenance.record(command="", device="cpu")
    prov["command"] = None
    prov["command_unavailable"] = "layer 'sample' was not read from a file"
    lines = provenance.summary_lines(prov)
    assert lines[-1].startswith("no recompute command")
    assert "not read from a file" in " ".join(lines)
