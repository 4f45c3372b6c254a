"""Florence-2 on a tiny random model saved locally: loading, captions, region captions,
grounding and tiled detection end to end, and boxes from scripted model output."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from napari_clipcap.core.captioning.florence2.captioner import (
    DETAIL_TASKS,
    Florence2Captioner,
    build_florence2,
)
from napari_clipcap.core.captioning.florence2.tasks import (
    describe_regions,
    detect_phrases,
    ground_caption,
    grouped,
    split_phrases,
)
from napari_clipcap.core.coords.detections import Detection
from napari_clipcap.core.errors import (
    Cancelled,
    CheckpointFormatError,
    InvalidInputError,
    ModelNotFoundError,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def florence(florence2_dir):
    return build_florence2(str(florence2_dir), device="cpu")


@pytest.fixture
def image():
    return np.random.default_rng(0).random((96, 160, 3), dtype=np.float32)


def script(captioner, monkeypatch, texts):
    """Make ``generate`` answer ``texts`` (one per prompt, in call order)."""
    tok, queue, prompts = captioner.tokenizer, list(texts), []

    def generate(input_ids=None, **kwargs):
        prompts.extend(tok.batch_decode(input_ids))
        batch = [queue.pop(0) for _ in range(len(input_ids))]
        ids = tok(batch, add_special_tokens=False, padding=True, return_tensors="pt")
        return ids["input_ids"]

    monkeypatch.setattr(captioner.model, "generate", generate)
    return prompts


def test_loads_through_the_real_loader(florence, florence2_dir):
    assert isinstance(florence, Florence2Captioner)
    assert florence.kind == "florence2" and florence.name == f"florence2:{florence2_dir.name}"
    assert florence.device == "cpu" and not florence.model.training


@pytest.mark.parametrize("detail", list(DETAIL_TASKS))
def test_captions_at_each_level_of_detail(florence, image, detail):
    out = florence.caption([image, image[:40, :50]], detail=detail, max_tokens=6)
    assert len(out) == 2 and all(len(c) == 1 and isinstance(c[0], str) for c in out)
    assert all("<loc_" not in c[0] for c in out)


def test_caption_options_and_bad_input(florence, image):
    out = florence.caption(image, beam_size=2, num_captions=2, max_tokens=4)
    assert len(out) == 1 and len(out[0]) == 2
    a = florence.caption([image], top_p=0.9, seed=3, max_tokens=5)
    assert a == florence.caption([image], top_p=0.9, seed=3, max_tokens=5)
    with pytest.raises(InvalidInputError, match="detail"):
        florence.caption([image], detail="verbose")
    with pytest.raises(InvalidInputError, match="H x W x 3"):
        florence.caption([np.zeros((4, 4))])


def test_the_prompt_is_what_the_processor_builds(florence, image):
    prompt = florence.prompt_text("<CAPTION_TO_PHRASE_GROUNDING>", "two ships")
    mine = florence.encode([image], [prompt])
    theirs = florence.processor(
        text=["<CAPTION_TO_PHRASE_GROUNDING> two ships"],
        images=[image],
        return_tensors="pt",
        do_rescale=False,
    )
    assert torch.equal(mine["input_ids"], theirs["input_ids"])
    assert torch.allclose(mine["pixel_values"], theirs["pixel_values"])
    with pytest.raises(InvalidInputError):
        florence.prompt_text("<NOT_A_TASK>")


def test_region_captions_give_the_model_quantised_boxes_on_the_whole_image(
    florence, image, monkeypatch
):
    prompts = script(florence, monkeypatch, ["a ship", "the sea"])
    out = describe_regions(florence, image, [(0, 0, 80, 48), [(80, 48), (160, 48), (160, 96)]])
    assert out == [["a ship"], ["the sea"]]
    # 160 x 96 image: x bins of 0.16 px, y bins of 0.096 px; a polygon gives its box
    assert "What does the region <loc_0><loc_0><loc_500><loc_500> describe?" in prompts[0]
    assert "<loc_500><loc_500><loc_999><loc_999>" in prompts[1]


def test_region_captions_run_on_the_tiny_model(florence, image):
    out = describe_regions(florence, image, [(0, 0, 10, 10), (5, 5, 150, 90)], max_tokens=5)
    assert len(out) == 2 and all(isinstance(c[0], str) for c in out)
    with pytest.raises(InvalidInputError):
        describe_regions(florence, image, [])


def test_tiled_detection_maps_boxes_to_the_image_and_merges_tiles(florence, monkeypatch):
    image = np.zeros((64, 112, 3), np.float32)  # tiles of 64 px: x 0..64 and 48..112
    answers = [
        "</s><s>ships<loc_625><loc_0><loc_937><loc_499></s>",  # tile 1, "ships": x 40..60
        "</s><s><loc_0><loc_0><loc_99><loc_99></s>",  # tile 1, "tanks": no phrase, boxes
        "</s><s>ships<loc_0><loc_0><loc_187><loc_499></s>",  # tile 2: the same ship, cut
        "</s><s>tanks</s>",  # tile 2, "tanks": nothing
    ]
    prompts = script(florence, monkeypatch, answers)
    seen = []
    dets = detect_phrases(
        florence, image, "ships, tanks", tile=64, overlap=16, progress=lambda *a: seen.append(a)
    )
    assert seen == [(1, 2), (2, 2)]
    assert "Locate ships in the image." in prompts[0] and "Locate tanks" in prompts[1]
    assert [d.label for d in dets] == ["ships", "tanks"]
    assert len(dets) == 2 and np.allclose(dets[0].box, [40.032, 0.032, 60.0, 31.968])
    assert dets[0].tile == (0, 0, 64, 64)
    assert np.allclose(dets[1].box, [0.032, 0.032, 6.368, 6.368])


def test_grounding_gives_one_list_per_phrase(florence, image, monkeypatch):
    answer = "</s><s>two ships<loc_0><loc_0><loc_99><loc_99><loc_500><loc_500><loc_599>"
    answer += "<loc_599>a harbour<loc_0><loc_500><loc_999><loc_999></s>"
    script(florence, monkeypatch, [answer])
    dets = ground_caption(florence, image, "two ships near a harbour")
    groups = grouped(dets)
    assert list(groups) == ["two ships", "a harbour"] and len(groups["two ships"]) == 2
    assert np.allclose(groups["a harbour"][0], [0.08, 48.048, 159.92, 95.952])
    assert all(isinstance(d, Detection) and d.text == d.label for d in dets)


def test_grounding_and_detection_run_on_the_tiny_model(florence, image):
    kw = {"max_tokens": 9, "beam_size": 1}
    dets = detect_phrases(florence, image, ["ships"], tile=64, overlap=8, **kw)
    ground = ground_caption(florence, image, "a ship on the sea", **kw)
    for d in dets + ground:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 <= x1 <= 160 and 0 <= y0 <= y1 <= 96
    assert all(d.label == "ships" for d in dets)


def test_cancel_stops_between_tiles(florence, image):
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        detect_phrases(florence, image, "ships", tile=64, overlap=8, cancel=flag)


def test_phrases_and_options_are_checked(florence, image):
    assert split_phrases(" ships,storage  tanks, ,ships") == ["ships", "storage tanks"]
    with pytest.raises(InvalidInputError):
        split_phrases(" , ")
    with pytest.raises(InvalidInputError):
        detect_phrases(florence, image, "ships", method="magic")
    with pytest.raises(InvalidInputError):
        ground_caption(florence, image, "  ")
    with pytest.raises(InvalidInputError):
        detect_phrases(florence, image, "ships", tile=64, overlap=64)


def test_missing_and_broken_models_give_one_clear_message(tmp_path):
    with pytest.raises(ModelNotFoundError, match="save_pretrained"):
        build_florence2("nobody/no-such-florence", device="cpu")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "florence2", "vision_config": 3}')
    with pytest.raises((CheckpointFormatError, ModelNotFoundError), match="Florence-2"):
        build_florence2(str(broken), device="cpu")
