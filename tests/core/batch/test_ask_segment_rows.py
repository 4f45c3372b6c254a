"""``batch --task ask`` and ``--task segment`` rows are the CLI's results for the same
image: both doors run the same request (AskRequest, SegmentRequest)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from fixtures.scripted_segmenter import BlobSegmenter, blob_scene
from napari_clipcap.cli import main
from napari_clipcap.core.batch.chunks import BatchSpec
from napari_clipcap.core.batch.runner import read_parts, run_batch

REGIONS = ((0, 0, 40, 40), (50, 20, 120, 90))


def _cli_json(capsys, argv) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def scene_folder(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(root / "s.png")
    return root


def test_ask_rows_are_the_ask_commands_answers(scene_folder, tmp_path, qwen_vl_dir, capsys):
    spec = BatchSpec("ask", question="how many tanks?", weights=str(qwen_vl_dir), max_tokens=2,
                     regions=REGIONS, device="cpu")  # fmt: skip
    run_batch([scene_folder], spec, tmp_path / "out")
    table = read_parts(tmp_path / "out")
    region_flags = [arg for box in REGIONS for arg in ("--region", ",".join(map(str, box)))]
    cli = _cli_json(capsys, ["ask", str(scene_folder / "s.png"), "--question", "how many tanks?",
                             "--vlm", str(qwen_vl_dir), "--max-tokens", "2", *region_flags,
                             "--device", "cpu", "--json"])  # fmt: skip
    assert list(table["answer"]) == [r["answer"] for r in cli["regions"]]
    assert [json.loads(b) for b in table["boxes"]] == [r["boxes"] for r in cli["regions"]]


def test_ask_rows_come_from_the_ask_request(scene_folder, tmp_path, monkeypatch):
    from napari_clipcap.core.batch import chunks as batch_tasks
    from napari_clipcap.core.tasks.ask import AskRequest, AskResult

    asked: list = []

    def spy(self, **kwargs):
        asked.append(self)
        return AskResult(self, "m", "f", [None] * len(self.regions), list(self.regions))

    monkeypatch.setattr(batch_tasks, "get_model", lambda spec: object())
    monkeypatch.setattr(AskRequest, "run", spy)
    spec = BatchSpec("ask", question="q?", regions=REGIONS, max_tokens=3, device="cpu")
    run_batch([scene_folder], spec, tmp_path / "out")
    assert len(asked) == 1 and asked[0].regions == REGIONS and asked[0].max_tokens == 3
    assert list(read_parts(tmp_path / "out")["no_data"]) == ["no valid data"] * 2


def test_segment_rows_are_the_segment_commands_instances(tmp_path, monkeypatch, capsys):
    import napari_clipcap.core.segmentation.model as segmenters

    root = tmp_path / "images"
    root.mkdir()
    Image.fromarray(blob_scene()).save(root / "blobs.png")
    # one scripted segmenter behind both doors' loading (the CLI's and batch's)
    monkeypatch.setattr(segmenters, "cached_segmenter", lambda *a, **k: BlobSegmenter(64))
    spec = BatchSpec("segment", phrases=("blob",), device="cpu")
    run_batch([root], spec, tmp_path / "out")
    row = read_parts(tmp_path / "out").iloc[0]
    cli = _cli_json(capsys, ["segment", str(root / "blobs.png"), "--phrases", "blob",
                             "--device", "cpu", "--json"])  # fmt: skip
    keep = ("id", "phrase", "score", "area_px", "box")
    assert row["count"] == cli["count"] > 0
    assert json.loads(row["instances"]) == [{k: r[k] for k in keep} for r in cli["instances"]]


def test_segment_rows_come_from_the_segment_request(tmp_path, monkeypatch):
    from napari_clipcap.core.batch import chunks as batch_tasks
    from napari_clipcap.core.tasks.segment import SegmentRequest

    root = tmp_path / "images"
    root.mkdir()
    Image.fromarray(blob_scene()).save(root / "blobs.png")
    ran: list = []
    real = SegmentRequest.run

    def spy(self, **kwargs):
        ran.append(self)
        return real(self, **kwargs)

    monkeypatch.setattr(batch_tasks, "get_model", lambda spec: BlobSegmenter(64))
    monkeypatch.setattr(SegmentRequest, "run", spy)
    spec = BatchSpec("segment", phrases=("blob",), regions=((0, 0, 60, 50),), device="cpu")
    run_batch([root], spec, tmp_path / "out")
    assert len(ran) == 1 and ran[0].phrases == ("blob",)
    assert ran[0].regions == ((0, 0, 60, 50),)


def test_segment_captions_each_instance_as_the_segment_command_does(
    tmp_path, monkeypatch, capsys, tiny_clip_files, clipcap_for_tiny_clip
):
    import shlex

    import napari_clipcap.core.segmentation.model as segmenters

    root = tmp_path / "images"
    root.mkdir()
    Image.fromarray(blob_scene()).save(root / "blobs.png")
    monkeypatch.setattr(segmenters, "cached_segmenter", lambda *a, **k: BlobSegmenter(64))
    clip = ["--clip", str(tiny_clip_files.config), "--clip-weights",
            str(tiny_clip_files.safetensors)]  # fmt: skip
    out = tmp_path / "out"
    batch = _cli_json(capsys, ["batch", str(root), "--task", "segment", "--phrases", "blob",
                               "--segmenter", "sam3", "--caption", "--weights",
                               str(clipcap_for_tiny_clip), *clip, "--max-tokens", "6",
                               "--out", str(out), "--device", "cpu", "--json"])  # fmt: skip
    row = read_parts(out).iloc[0]
    cli = _cli_json(capsys, ["segment", str(root / "blobs.png"), "--phrases", "blob", "--caption",
                             "--captioner-weights", str(clipcap_for_tiny_clip), *clip,
                             "--max-tokens", "6", "--device", "cpu", "--json"])  # fmt: skip
    got = [r["caption"] for r in json.loads(row["instances"])]
    assert row["count"] == cli["count"] == 2
    assert got == [r["caption"] for r in cli["instances"]] and all(got)
    command = shlex.split(batch["provenance"]["command"])
    assert "--caption" in command and command[command.index("--segmenter") + 1] == "sam3"


def test_captioning_instances_needs_the_segmenter_named():
    from napari_clipcap.core.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="--segmenter"):
        BatchSpec("segment", phrases=("blob",), weights="w.pt", caption_instances=True)
    with pytest.raises(InvalidInputError, match="--task segment"):
        BatchSpec("labels", labels=("a", "b"), caption_instances=True)
