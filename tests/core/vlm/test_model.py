"""The VLM loader and answers on tiny random models of two families."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from napari_clipcap.core.errors import Cancelled, CheckpointFormatError
from napari_clipcap.core.vlm import Turn, load_vlm


@pytest.fixture(params=["qwen", "paligemma"])
def vlm(request, qwen_vl_dir, paligemma_dir):
    folder = qwen_vl_dir if request.param == "qwen" else paligemma_dir
    return load_vlm(folder, device="cpu")


def _image(seed=0, h=60, w=80):
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


def test_families_are_read_from_the_config(qwen_vl_dir, paligemma_dir):
    assert load_vlm(qwen_vl_dir, device="cpu").family.name == "qwen2.5-vl"
    assert load_vlm(paligemma_dir, device="cpu").family.name == "paligemma"


def test_answers_stream_in_order_and_repeat(vlm):
    pieces = []
    first = vlm.answer(_image(), "how many storage tanks?", max_tokens=6, on_text=pieces.append)
    assert first.tokens >= 1
    assert "".join(pieces).strip() == first.raw
    again = vlm.answer(_image(), "how many storage tanks?", max_tokens=6)
    assert again.raw == first.raw  # greedy: the same answer every time


def test_nan_pixels_are_the_black_background(vlm):
    image = _image()
    holes = image.copy()
    holes[:10] = np.nan
    filled = image.copy()
    filled[:10] = 0.0
    assert (
        vlm.answer(holes, "describe", max_tokens=4).raw
        == vlm.answer(filled, "describe", max_tokens=4).raw
    )


def test_cancel_mid_answer_keeps_nothing(vlm):
    cancel = threading.Event()
    seen = []

    def on_text(piece):
        seen.append(piece)
        cancel.set()  # cancel after the first piece

    with pytest.raises(Cancelled):
        vlm.answer(_image(), "describe this region", max_tokens=20, on_text=on_text, cancel=cancel)
    assert len(seen) <= 2  # stopped within one token step


def test_history_enters_chat_prompts(qwen_vl_dir):
    vlm = load_vlm(qwen_vl_dir, device="cpu")
    prompt = vlm.prompt("and now?", [Turn("how many?", "three.")])
    assert prompt.count("<|image_pad|>") == 1
    assert prompt.index("how many?") < prompt.index("three.") < prompt.index("and now?")


def test_paligemma_prompts_take_task_prefixes(paligemma_dir):
    vlm = load_vlm(paligemma_dir, device="cpu")
    assert vlm.prompt("how many tanks?") == "<image>answer en how many tanks?"
    assert vlm.prompt("detect tank") == "<image>detect tank"


def test_remote_code_folders_are_refused(qwen_vl_dir, tmp_path):
    import shutil

    evil = tmp_path / "evil"
    shutil.copytree(qwen_vl_dir, evil)
    config = json.loads((evil / "config.json").read_text())
    config["auto_map"] = {"AutoModelForImageTextToText": "modeling_evil.Evil"}
    (evil / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "marker"
    (evil / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    with pytest.raises(CheckpointFormatError, match="code"):
        load_vlm(evil, device="cpu")
    assert not marker.exists()


def test_smolvlm_tiles_only_images_larger_than_one_tile(smolvlm_dir):
    vlm = load_vlm(smolvlm_dir, device="cpu")
    assert vlm.family.name == "smolvlm"
    small = vlm.answer(_image(h=40, w=60), "how many?", max_tokens=3)
    large = vlm.answer(_image(h=150, w=200), "how many?", max_tokens=3)
    assert not small.tiled and large.tiled
    assert small.shown == (60, 40)
