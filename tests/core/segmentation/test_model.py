"""The real loading and forward path on tiny SAM 3, SAM 2 and SAM folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from napari_clipcap.core.errors import CheckpointFormatError, ModelNotFoundError
from napari_clipcap.core.segmentation.model import (
    BoxSegmenter,
    PhraseSegmenter,
    load_segmenter,
    segmenter_source,
)
from napari_clipcap.core.segmentation.tiling import paint_labels, segment_tiles


def test_sam3_folder_loads_natively_and_finds_instances_per_phrase(sam3_dir):
    seg = load_segmenter(sam3_dir, device="cpu")
    assert isinstance(seg, PhraseSegmenter) and seg.tile_size == 56
    rng = np.random.default_rng(0)
    tile = rng.random((70, 90, 3)).astype(np.float32)
    found = seg.segment(tile, ["storage tank", "ship"], threshold=0.0)
    assert found and {f.phrase for f in found} <= {"storage tank", "ship"}
    assert all(f.mask.shape == (70, 90) and f.mask.dtype == bool for f in found)
    with_box = seg.segment(tile, [], exemplars=[(10, 10, 40, 30)], threshold=0.0)
    assert all(f.phrase == "exemplar" for f in with_box)


def test_real_forward_with_scripted_post_processing_is_placed_in_image_pixels(
    sam3_dir, monkeypatch
):
    """The tiny model runs for real; its post-processing is scripted to one known mask
    per tile (random weights give arbitrary ones), which must land at the tile's place."""
    seg = load_segmenter(sam3_dir, device="cpu")
    sizes = []

    def scripted(outputs, threshold, mask_threshold, target_sizes):
        assert outputs.pred_masks.shape[0] == 1  # the real forward ran
        h, w = target_sizes[0]
        sizes.append((h, w))
        mask = torch.zeros((1, h, w), dtype=torch.bool)
        mask[0, 5:15, 5:25] = True
        return [{"masks": mask, "scores": torch.tensor([0.8]), "boxes": torch.zeros(1, 4)}]

    monkeypatch.setattr(seg.processor, "post_process_instance_segmentation", scripted)
    image = np.zeros((100, 100, 3), np.float32)
    out = segment_tiles(seg, image, ["house"], tile=56, overlap=0)
    labels = paint_labels(out, image.shape)
    # tiles start at 0 and 44 on each axis: four masks at (x0 + 5, y0 + 5)
    assert sorted(i.box for i in out) == [
        (5, 5, 25, 15),
        (5, 49, 25, 59),
        (49, 5, 69, 15),
        (49, 49, 69, 59),
    ]
    assert int((labels > 0).sum()) == 4 * 200 and sizes == [(56, 56)] * 4


def test_sam_folder_turns_boxes_into_masks(sam_dir):
    seg = load_segmenter(sam_dir, device="cpu")
    assert isinstance(seg, BoxSegmenter)
    image = np.random.default_rng(1).random((80, 100, 3)).astype(np.float32)
    masks, scores = seg.masks_for_boxes(image, [(10, 10, 50, 40), (60, 20, 90, 70)])
    assert masks.shape == (2, 80, 100) and masks.dtype == bool and scores.shape == (2,)


def test_sam2_folder_loads_natively_with_its_folder_checked_and_turns_boxes_into_masks(
    sam2_dir, monkeypatch
):
    import transformers

    from napari_clipcap.core.registry import trust

    checked, calls = [], []
    real_check = trust.check_model_source
    monkeypatch.setattr(
        trust, "check_model_source", lambda s, **kw: checked.append(s) or real_check(s, **kw)
    )
    for cls in (transformers.Sam2Model, transformers.Sam2Processor):
        real = cls.from_pretrained.__func__

        def spy(klass, source, *args, _real=real, **kwargs):
            calls.append((klass.__name__, kwargs.get("trust_remote_code", "absent")))
            return _real(klass, source, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    seg = load_segmenter(sam2_dir, device="cpu")
    assert isinstance(seg, BoxSegmenter) and type(seg.model).__name__ == "Sam2Model"
    assert checked == [str(sam2_dir)]
    assert sorted(calls) == [("Sam2Model", False), ("Sam2Processor", False)]
    image = np.random.default_rng(1).random((80, 100, 3)).astype(np.float32)
    masks, scores = seg.masks_for_boxes(image, [(10, 10, 50, 40), (60, 20, 90, 70)])
    assert masks.shape == (2, 80, 100) and masks.dtype == bool and scores.shape == (2,)
    empty, none = seg.masks_for_boxes(image, [])
    assert empty.shape == (0, 80, 100) and none.shape == (0,)


def test_sam2_masks_are_placed_in_image_pixels(sam2_dir, monkeypatch):
    """The real forward runs; the low-resolution masks are scripted to one known square
    of the model's 64 px input, which must land on the same place of a 2:1 image."""
    seg = load_segmenter(sam2_dir, device="cpu")
    real = seg.model.forward

    def scripted(*args, **kwargs):
        out = real(*args, **kwargs)
        masks = torch.full_like(out.pred_masks, -10.0)
        masks[..., 4:8, 8:12] = 10.0  # a 16 px mask grid over the 64 px square input
        out.pred_masks = masks
        return out

    monkeypatch.setattr(seg.model, "forward", scripted)
    image = np.zeros((40, 80, 3), np.float32)
    masks, _ = seg.masks_for_boxes(image, [(0, 0, 80, 40)])
    rows, cols = np.nonzero(masks[0])
    assert (rows.min(), rows.max() + 1) == (10, 20) and (cols.min(), cols.max() + 1) == (40, 60)


def test_folders_asking_for_remote_code_are_refused(sam3_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(sam3_dir, bad)
    config = json.loads((bad / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil.Model"}
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointFormatError):
        load_segmenter(bad, device="cpu")


def test_missing_and_unsupported_models_are_one_clear_line(tmp_path, smolvlm_dir):
    with pytest.raises(ModelNotFoundError, match="sam3 is gated"):
        load_segmenter("nobody/no-such-sam", device="cpu")
    with pytest.raises(CheckpointFormatError, match="not supported"):
        load_segmenter(smolvlm_dir, device="cpu")


def test_presets_name_the_hub_ids():
    assert segmenter_source("sam3") == "facebook/sam3"
    assert segmenter_source("sam-vit-base") == "facebook/sam-vit-base"
    assert segmenter_source("sam2.1-hiera-tiny") == "facebook/sam2.1-hiera-tiny"
    assert segmenter_source("/some/folder") == "/some/folder"
