"""``batch --task segment``: one row per image with the instances, as the CLI lists them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures.scripted_segmenter import BlobSegmenter
from napari_clipcap.core.batch import chunks as batch_tasks
from napari_clipcap.core.batch.chunks import BatchSpec
from napari_clipcap.core.batch.runner import read_parts, run_batch
from napari_clipcap.core.errors import InvalidInputError


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    for n in (1, 2):
        img = np.zeros((80, 90, 3), np.uint8)
        for i in range(n):
            img[10 + 30 * i : 25 + 30 * i, 10:40] = 255
        Image.fromarray(img).save(root / f"scene{n}.png")
    (root / "broken.png").write_bytes(b"not a png")
    return root


def test_one_row_per_image_with_its_instances(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(batch_tasks, "get_model", lambda spec: BlobSegmenter(64))
    spec = BatchSpec("segment", phrases=("tank",), device="cpu")
    report = run_batch([folder], spec, tmp_path / "out")
    table = read_parts(tmp_path / "out").sort_values("path")
    ok = table[table["error"].fillna("") == ""]
    assert report.files == 3 and len(table) == 3 and len(ok) == 2
    counts = dict(zip(ok["path"].map(lambda p: Path(p).name), ok["count"]))
    assert counts == {"scene1.png": 1, "scene2.png": 2}
    first = json.loads(ok.iloc[0]["instances"])
    assert first[0]["area_px"] == 15 * 30 and first[0]["phrase"] == "tank"


def test_the_tiny_sam3_folder_runs_through_batch(folder, tmp_path, sam3_dir):
    spec = BatchSpec("segment", phrases=("ship",), weights=str(sam3_dir), device="cpu")
    report = run_batch([folder], spec, tmp_path / "out")
    assert report.files == 3 and report.rows == 3


def test_segment_needs_phrases():
    with pytest.raises(InvalidInputError, match="--phrases"):
        BatchSpec("segment")


def test_segment_with_labels_scores_each_instance_as_segment_does(
    tmp_path, monkeypatch, tiny_clip_files
):
    from fixtures.scripted_segmenter import blob_scene
    from napari_clipcap.core.tasks.segment import InstanceTasks, SegmentRequest

    root = tmp_path / "images"
    root.mkdir()
    Image.fromarray(blob_scene()).save(root / "blobs.png")
    monkeypatch.setattr(batch_tasks, "get_model", lambda spec: BlobSegmenter(64))
    config, weights = str(tiny_clip_files.config), str(tiny_clip_files.safetensors)
    spec = BatchSpec("segment", config, weights, labels=("house", "tree"), phrases=("blob",),
                     device="cpu")  # fmt: skip
    run_batch([root], spec, tmp_path / "out")
    got = json.loads(read_parts(tmp_path / "out").iloc[0]["instances"])
    tasks = InstanceTasks(labels=("house", "tree"), clip=spec.clip)
    want = SegmentRequest(str(root / "blobs.png"), ("blob",), device="cpu", instance_tasks=tasks)
    rows = want.run(segmenter=BlobSegmenter(64)).rows
    assert [r["label"] for r in got] == [r["label"] for r in rows]
    for g, w in zip(got, rows):
        assert g["probabilities"] == pytest.approx(w["probabilities"], abs=1e-6)
