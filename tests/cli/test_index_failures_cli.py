"""``napari-clipcap index`` output when files fail, with the tiny CLIP model."""

from __future__ import annotations

import json

from fixtures.collection_data import colour_image, make_image_folder, write_png
from napari_clipcap.cli import main


def test_failed_file_is_reported_on_every_run_until_fixed(tmp_path, tiny_clip_files, capsys):
    images = make_image_folder(tmp_path / "images", per_colour=1)
    broken = images / "broken.png"
    broken.write_bytes(b"not a png")
    bad, col = str(broken.resolve()), str(tmp_path / "col")
    clip = ["--clip", str(tiny_clip_files.config)]
    clip += ["--clip-weights", str(tiny_clip_files.safetensors)]
    argv = ["index", str(images), "--index", col, *clip, "--device", "cpu"]

    def run_json():
        assert main([*argv, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    first = run_json()
    assert (first["files"], first["added"], first["unchanged"], first["items"]) == (7, 6, 0, 7)
    assert [(f["path"], f["unchanged"]) for f in first["failed"]] == [(bad, False)]
    again = run_json()
    assert (again["added"], again["unchanged"], again["embedded"]) == (0, 6, 0)
    assert [(f["path"], f["unchanged"]) for f in again["failed"]] == [(bad, True)]
    assert "not an image" in again["failed"][0]["error"]

    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "unchanged 6, removed 0, failed 1;" in text
    assert f"failed: {bad}: " in text and "(unchanged since last failure)" in text

    write_png(broken, colour_image("red", seed=3))
    fixed = run_json()
    assert (fixed["added"], fixed["unchanged"], fixed["failed"], fixed["items"]) == (1, 6, [], 8)
