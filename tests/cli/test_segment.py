"""``napari-clipcap segment`` on the tiny SAM 3 and SAM folders: JSON instances, the
label image, and the recorded command reproducing it."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from PIL import Image

from napari_clipcap.cli import main


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "scene.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(path)
    return path


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_lists_instances_and_the_command_reproduces_the_labels(
    png, sam3_dir, tmp_path, capsys
):
    out = tmp_path / "labels.npy"
    argv = [
        "segment",
        str(png),
        "--phrases",
        "storage tank,ship",
        "--segmenter",
        str(sam3_dir),
        "--tile",
        "56",
        "--threshold",
        "0",
        "--out",
        str(out),
        "--out-table",
        str(tmp_path / "table.csv"),
        "--device",
        "cpu",
        "--json",
    ]
    data = _json(capsys, argv)
    labels = np.load(out)
    assert labels.dtype == np.int32 and labels.shape == (96, 128)
    assert data["count"] == len(data["instances"]) > 0
    for entry in data["instances"]:
        assert {"id", "phrase", "score", "area_px", "box"} <= set(entry)
        assert entry["phrase"] in ("storage tank", "ship")
    painted = {int(v) for v in np.unique(labels)} - {0}
    assert painted <= {e["id"] for e in data["instances"]}
    for ident in painted:
        assert int((labels == ident).sum()) <= data["instances"][ident - 1]["area_px"]
    command = shlex.split(data["provenance"]["command"])
    assert command[:2] == ["napari-clipcap", "segment"]
    first = labels.copy()
    out.unlink()
    assert main([*command[1:], "--device", "cpu", "--json"]) == 0
    capsys.readouterr()
    assert np.array_equal(np.load(out), first)


@pytest.mark.parametrize("folder", ["sam_dir", "sam2_dir"])
def test_boxes_to_masks_with_sam(png, folder, request, capsys):
    data = _json(
        capsys,
        [
            "segment",
            str(png),
            "--segmenter",
            str(request.getfixturevalue(folder)),
            "--box",
            "10,10,50,40",
            "60,20,120,90",
            "--device",
            "cpu",
            "--json",
        ],
    )
    assert all(e["phrase"] == "box" for e in data["instances"])
    assert len(data["instances"]) <= 2


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "--phrases"),
        (["--phrases", "a", "--out", "labels.png"], "--out must end"),
        (["--phrases", "a", "--tile", "4"], "--tile"),
    ],
)
def test_bad_input_is_one_line(png, extra, message, capsys):
    assert main(["segment", str(png), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_phrases_with_a_box_segmenter_are_refused(png, sam_dir, capsys):
    argv = ["segment", str(png), "--phrases", "tank", "--segmenter", str(sam_dir)]
    assert main([*argv, "--device", "cpu"]) == 2
    assert "need" in capsys.readouterr().err


def test_labels_and_captions_per_instance_equal_labels_and_caption_on_the_outlines(
    tmp_path, monkeypatch, tiny_clip_files, clipcap_for_tiny_clip, capsys
):
    from fixtures.scripted_segmenter import BlobSegmenter, blob_scene
    from napari_clipcap.core.coords.regions import region_text
    from napari_clipcap.core.segmentation import model as segmentation_model

    monkeypatch.setattr(segmentation_model, "cached_segmenter", lambda *a, **k: BlobSegmenter(64))
    path = tmp_path / "blobs.png"
    Image.fromarray(blob_scene()).save(path)
    clip = [
        "--clip",
        str(tiny_clip_files.config),
        "--clip-weights",
        str(tiny_clip_files.safetensors),
    ]
    table = tmp_path / "table.csv"
    argv = ["segment", str(path), "--phrases", "blob", "--labels", "house,tree", *clip,
            "--caption", "--captioner-weights", str(clipcap_for_tiny_clip), "--max-tokens", "8",
            "--out-table", str(table), "--device", "cpu", "--json"]  # fmt: skip
    data = _json(capsys, argv)
    assert data["count"] == 2
    regions = [a for e in data["instances"] for a in ("--region", region_text(e["polygon"]))]
    want = _json(capsys, ["labels", str(path), "--labels", "house,tree", *regions, *clip,
                          "--device", "cpu", "--json"])["regions"]  # fmt: skip
    caption = ["caption", str(path), *regions, "--weights", str(clipcap_for_tiny_clip), *clip,
               "--max-tokens", "8", "--device", "cpu", "--json"]  # fmt: skip
    caps = _json(capsys, caption)["images"][0]["regions"]
    for entry, scored, captioned in zip(data["instances"], want, caps):
        assert entry["probabilities"] == pytest.approx(scored["scores"], abs=1e-6)
        assert entry["label"] == scored["ranked"][0][0]
        assert entry["caption"] == captioned["captions"][0]
    header = table.read_text().splitlines()[0].split(",")
    assert header[-4:] == ["label", "p:house", "p:tree", "caption"]
    command = shlex.split(data["provenance"]["command"])
    assert command[command.index("--labels") + 1] == "house,tree" and "--caption" in command
    again = _json(capsys, [*command[1:], "--device", "cpu", "--json"])
    assert [e["probabilities"] for e in again["instances"]] == [
        e["probabilities"] for e in data["instances"]
    ]
