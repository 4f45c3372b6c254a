"""Ask: whole image, view and regions through the real loader; requests and their argv."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from napari_clipcap.core.errors import InvalidInputError, LowDataWarning
from napari_clipcap.core.tasks.ask import AskRequest, ask, ask_image, context_box
from napari_clipcap.core.tasks.requests.base import ImageInput
from napari_clipcap.core.vlm import load_vlm


@pytest.fixture(scope="module")
def qwen(qwen_vl_dir):
    return load_vlm(qwen_vl_dir, device="cpu")


def _scene(h=96, w=128):
    return np.random.default_rng(1).random((h, w, 3), dtype=np.float32)


def test_context_box_grows_and_clips():
    assert context_box((10, 10, 30, 50), (60, 40), 0.25) == (5, 0, 35, 60)
    with pytest.raises(InvalidInputError):
        context_box((0, 0, 1, 1), (2, 2), float("nan"))


def test_whole_image_view_and_two_regions(qwen):
    scene = _scene()
    whole = ask(scene, "how many storage tanks?", qwen, max_tokens=5)
    view = ask(scene[10:70, 20:100], "how many storage tanks?", qwen, max_tokens=5)
    regions = ask(
        scene, "how many?", qwen, regions=[(0, 0, 40, 40), (60, 30, 120, 90)], max_tokens=5
    )
    assert whole.tokens >= 1 and view.tokens >= 1
    assert len(regions) == 2 and all(a is not None for a in regions)
    # a region is its crop with context: the same as asking that crop directly
    crop = scene[0:50, 0:50]
    assert regions[0].raw == ask(crop, "how many?", qwen, max_tokens=5).raw


def test_regions_without_data_get_no_answer_and_low_data_warns(qwen):
    scene = _scene()
    scene[:, :50] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answers = ask_image(
            qwen, scene, "what?", regions=[(0, 0, 40, 40), (30, 0, 90, 40)], max_tokens=3
        )
    assert answers[0] is None and answers[1] is not None
    assert any(issubclass(w.category, LowDataWarning) for w in caught)


def test_streaming_reports_each_region_in_order(qwen):
    seen = []
    ask_image(
        qwen,
        _scene(),
        "describe",
        regions=[(0, 0, 40, 40), (50, 50, 90, 90)],
        max_tokens=4,
        on_text=lambda i, s: seen.append(i),
    )
    assert seen == sorted(seen) and set(seen) == {0, 1}


def test_request_argv_and_checks(tmp_path):
    req = AskRequest(
        image=str(tmp_path / "a.png"),
        question="how many tanks?",
        vlm="/m",
        regions=((0, 0, 10, 10),),
        max_tokens=12,
    )
    argv = req.to_argv()
    assert argv[:3] == ["napari-clipcap", "ask", str(tmp_path / "a.png")]
    assert argv[argv.index("--question") + 1] == "how many tanks?"
    assert "--region" in argv and "0,0,10,10" in argv and "12" in argv
    polygon = np.array([[0.0, 0.0], [8.0, 0.0], [4.0, 6.0]])
    with_polygon = AskRequest(ImageInput.of("a.png", hdu="1"), "q", regions=(polygon,))
    argv = with_polygon.to_argv()
    assert argv[argv.index("--region") + 1] == "0.0,0.0,8.0,0.0,4.0,6.0"
    assert argv[argv.index("--hdu") + 1] == "1"
    with pytest.raises(InvalidInputError):
        AskRequest(image="a.png", question="   ")
    with pytest.raises(InvalidInputError):
        AskRequest(image="a.png", question="q", max_tokens=0)
