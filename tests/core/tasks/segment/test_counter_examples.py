"""Segment by example: example and counter-example boxes (SAM 3's box labels 1 and 0)
through the request, its command line and the tiles, down to the real tiny SAM 3."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from PIL import Image

from fixtures.scripted_segmenter import BlobSegmenter
from napari_clipcap.cli import build_parser
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.segmentation.tiling import segment_tiles
from napari_clipcap.core.tasks.segment import SegmentRequest


class LabelSpy(BlobSegmenter):
    """The blob segmenter, recording each tile's exemplar labels too."""

    def segment(self, tile, phrases, *, exemplars=(), exemplar_labels=(), **kwargs):
        self.labels = [*getattr(self, "labels", []), list(exemplar_labels)]
        return super().segment(tile, phrases, exemplars=exemplars, **kwargs)


def _request(argv: list[str]) -> SegmentRequest:
    from napari_clipcap.cli._common import parse_box

    args = build_parser().parse_args(argv)
    for flag in ("exemplar", "negative_exemplar", "box", "region"):
        values = getattr(args, flag)
        setattr(args, flag, [parse_box(v) for v in values] if values else None)
    return SegmentRequest.from_args(args)


def test_counter_example_flags_give_labels_and_come_back_in_the_command():
    req = _request(
        ["segment", "scene.png", "--exemplar", "1,2,10,12", "--negative-exemplar",
         "20,20,30,30", "--exemplar", "40,40,50,50"]
    )  # fmt: skip
    assert req.exemplars == ((1, 2, 10, 12), (40, 40, 50, 50), (20, 20, 30, 30))
    assert req.exemplar_labels == (1, 1, 0)
    argv = req.to_argv()
    assert argv[argv.index("--negative-exemplar") + 1] == "20,20,30,30"
    again = _request(argv[1:])
    assert (again.exemplars, again.exemplar_labels) == (req.exemplars, req.exemplar_labels)
    assert again.to_argv() == argv
    only_examples = _request(["segment", "scene.png", "--exemplar", "1,2,10,12"])
    assert only_examples.exemplar_labels is None
    assert "--negative-exemplar" not in shlex.join(only_examples.to_argv())


def test_labels_are_kept_with_examples_first_and_bad_ones_refused():
    req = SegmentRequest("x.png", exemplars=((0, 0, 4, 4), (5, 5, 9, 9)), exemplar_labels=(0, 1))
    assert req.exemplars == ((5, 5, 9, 9), (0, 0, 4, 4)) and req.exemplar_labels == (1, 0)
    with pytest.raises(InvalidInputError, match="counter-examples"):
        SegmentRequest("x.png", exemplars=((0, 0, 4, 4),), exemplar_labels=(0,))
    with pytest.raises(InvalidInputError, match="2 exemplar labels for 1"):
        SegmentRequest("x.png", exemplars=((0, 0, 4, 4),), exemplar_labels=(1, 0))
    with pytest.raises(InvalidInputError, match="1 \\(example\\) or 0"):
        SegmentRequest("x.png", exemplars=((0, 0, 4, 4),), exemplar_labels=(2,))
    with_phrase = SegmentRequest(
        "x.png", ("tank",), exemplars=((0, 0, 4, 4),), exemplar_labels=(0,)
    )
    assert with_phrase.exemplar_labels == (0,)


def test_tiles_get_their_boxes_labels_and_a_tile_with_only_counter_examples_is_skipped():
    img = np.zeros((64, 128, 3), np.float32)
    img[10:20, 10:20] = img[10:20, 90:100] = 1.0
    seg = LabelSpy(64)
    found = segment_tiles(
        seg, img, [], tile=64, overlap=0,
        exemplars=[(10, 10, 20, 20), (30, 30, 40, 40), (90, 10, 100, 20)],
        exemplar_labels=[1, 0, 0],
    )  # fmt: skip
    assert seg.labels == [[1, 0]]  # the right tile holds only a counter-example
    assert [i.box for i in found] == [(10, 10, 20, 20)]
    seg = LabelSpy(64)
    segment_tiles(seg, img, ["tank"], tile=64, overlap=0,
                  exemplars=[(90, 10, 100, 20)], exemplar_labels=[0])  # fmt: skip
    assert seg.labels == [[], [0]]  # with a phrase, every tile runs


def test_a_request_run_passes_the_labels(tmp_path):
    img = np.zeros((64, 64, 3), np.uint8)
    img[10:20, 10:20] = 255
    Image.fromarray(img).save(tmp_path / "s.png")
    seg = LabelSpy(64)
    req = SegmentRequest(
        str(tmp_path / "s.png"), exemplars=((10, 10, 20, 20), (30, 30, 40, 40)),
        exemplar_labels=(1, 0), tile=64,
    )  # fmt: skip
    assert len(req.run(segmenter=seg).rows) == 1 and seg.labels == [[1, 0]]


def test_the_tiny_sam3_gets_the_counter_example_label(sam3_dir, monkeypatch):
    import torch

    from napari_clipcap.core.segmentation.model import cached_segmenter

    seg = cached_segmenter(str(sam3_dir), "cpu")  # shared with the other tests' loads
    seen = []
    forward = seg.model.forward

    def spy(*args, **kwargs):
        out = forward(*args, **kwargs)
        seen.append((kwargs["input_boxes_labels"].tolist(), out.pred_logits.clone()))
        return out

    monkeypatch.setattr(seg.model, "forward", spy)
    tile = np.random.default_rng(0).random((56, 56, 3)).astype(np.float32)
    boxes = [(2, 2, 20, 20), (30, 30, 50, 50)]
    seg.segment(tile, [], exemplars=boxes, exemplar_labels=[1, 1], threshold=0.0)
    seg.segment(tile, [], exemplars=boxes, exemplar_labels=[1, 0], threshold=0.0)
    (pos_labels, pos), (neg_labels, neg) = seen
    assert pos_labels == [[1, 1]] and neg_labels == [[1, 0]]
    assert not torch.allclose(pos, neg)  # the label changes what the model sees
