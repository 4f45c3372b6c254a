"""Label and caption each instance: the outline is the polygon region, and the scores and
captions equal what the Region labels and Caption requests give for those polygons."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fixtures.scripted_segmenter import BlobSegmenter, blob_scene
from napari_clipcap.core.coords.regions import as_region, polygon_mask
from napari_clipcap.core.registry import ModelSpec
from napari_clipcap.core.tasks.requests.base import ImageInput
from napari_clipcap.core.tasks.requests.caption import CaptionRequest
from napari_clipcap.core.tasks.requests.labels import LabelsRequest
from napari_clipcap.core.tasks.segment import InstanceTasks, SegmentRequest, instance_polygons
from napari_clipcap.core.tasks.segment.exports import write_table

LABELS = ("house", "tree", "storage tank")


@pytest.fixture
def scene_png(tmp_path):
    path = tmp_path / "blobs.png"
    Image.fromarray(blob_scene()).save(path)
    return path


@pytest.fixture
def tasks(tiny_clip_files, clipcap_for_tiny_clip):
    clip = ModelSpec.for_clip(str(tiny_clip_files.config), str(tiny_clip_files.safetensors))
    return InstanceTasks(
        labels=LABELS,
        clip=clip,
        caption=True,
        captioner_weights=str(clipcap_for_tiny_clip),
        max_tokens=8,
    )


def test_outlines_are_the_instances_masks_in_image_pixels(scene_png):
    result = SegmentRequest(str(scene_png), ("blob",), device="cpu").run(
        segmenter=BlobSegmenter(64)
    )
    polygons = instance_polygons(result.labels, result.rows)
    assert len(polygons) == len(result.rows) == 2
    for row, polygon in zip(result.rows, polygons):
        region = as_region(polygon, result.labels.shape)
        x0, y0, x1, y1 = region.box
        assert list(region.box) == row["box"]
        assert np.array_equal(polygon_mask(region), result.labels[y0:y1, x0:x1] == row["id"])


def test_instance_labels_and_captions_equal_the_region_requests(scene_png, tasks, tmp_path):
    request = SegmentRequest(
        str(scene_png), ("blob",), device="cpu", instance_tasks=tasks,
        out_table=str(tmp_path / "table.csv"),
    )  # fmt: skip
    result = request.run(segmenter=BlobSegmenter(64))
    polygons = instance_polygons(result.labels, result.rows)
    image = ImageInput(str(scene_png))
    scored = LabelsRequest(image, LABELS, regions=tuple(polygons), clip=tasks.clip).run()
    captioned = CaptionRequest(
        (image,), tasks.captioner_spec(), {"max_tokens": 8}, tuple(polygons), device="cpu"
    ).run()
    for row, want, caption in zip(result.rows, scored.rows, captioned.rows):
        assert row["probabilities"] == pytest.approx(want["scores"], abs=1e-6)
        assert row["label"] == want["ranked"][0][0]
        assert row["caption"] == caption["captions"][0]
    assert len(result.models) >= 2  # the CLIP and the captioner, for provenance
    assert np.allclose(result.rows[0]["polygon"], polygons[0])
    table = write_table(tmp_path / "table.csv", result.rows).read_text().splitlines()
    assert table[0].endswith("label,p:house,p:tree,p:storage tank,caption")
    assert len(table) == 1 + len(result.rows)


def test_the_command_carries_the_instance_tasks(scene_png, tasks):
    argv = SegmentRequest(str(scene_png), ("blob",), instance_tasks=tasks).to_argv()
    assert argv[argv.index("--labels") + 1] == ",".join(LABELS)
    assert "--caption" in argv and argv[argv.index("--captioner-weights") + 1]
    assert argv.count("--clip") == 1


def test_an_instance_painted_over_gets_no_label(scene_png, tasks):
    result = SegmentRequest(str(scene_png), ("blob",), device="cpu").run(
        segmenter=BlobSegmenter(64)
    )
    labels = result.labels.copy()
    labels[labels == 1] = 2  # instance 1 no longer shows
    rows, _models, _warnings = InstanceTasks(labels=LABELS, clip=tasks.clip).run(
        ImageInput(str(scene_png)), ImageInput(str(scene_png)).load(), labels, result.rows,
        device="cpu",
    )  # fmt: skip
    assert rows[0]["label"] is None and rows[0]["probabilities"] is None
    assert rows[1]["label"] in LABELS


def test_the_python_api_takes_the_instance_options_and_cancel_stops_them(scene_png, tasks):
    import threading

    from napari_clipcap.core.errors import Cancelled
    from napari_clipcap.core.tasks.segment import segment

    result = segment(
        scene_png, "blob", BlobSegmenter(64), labels="house, tree", clip=tasks.clip.name,
        clip_weights=tasks.clip.weights, device="cpu",
    )  # fmt: skip
    assert result.request.instance_tasks.labels == ("house", "tree")
    assert all(r["label"] in ("house", "tree") for r in result.rows)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        InstanceTasks(labels=LABELS, clip=tasks.clip).run(
            ImageInput(str(scene_png)), ImageInput(str(scene_png)).load(), result.labels,
            result.rows, device="cpu", cancel=cancel,
        )  # fmt: skip


def test_only_a_clipcap_captioner_takes_the_instances_clip(tasks, blip_dir):
    assert tasks.captioner_spec().clip == tasks.clip
    blip = InstanceTasks(caption=True, captioner="blip", captioner_weights=str(blip_dir),
                         clip=tasks.clip)  # fmt: skip
    assert blip.captioner_spec().kind == "blip" and blip.captioner_spec().clip is None
