"""DecodeOptions: one value for every decoding setting, the keywords still work."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.captioning.protocol import load_captioner, unload_captioners
from napari_clipcap.core.decoding import DecodeOptions
from napari_clipcap.core.errors import InvalidInputError


def test_strategy_merge_and_checks():
    assert DecodeOptions().strategy == "greedy"
    assert DecodeOptions(num_captions=2).strategy == "beam"
    assert DecodeOptions(beam_size=3, top_p=0.9).strategy == "sample"
    base = DecodeOptions(beam_size=5)
    merged = DecodeOptions.of(base, max_tokens=9)
    assert (merged.beam_size, merged.max_tokens) == (5, 9) and DecodeOptions.of(base) is base
    assert DecodeOptions(stop_token_ids=[3]).with_stops([4]).stop_token_ids == (3,)
    assert DecodeOptions().with_stops([4]).stop_token_ids == (4,)
    with pytest.raises(InvalidInputError, match=r"unknown decoding option.*beam\b"):
        DecodeOptions.of(beam=3)
    for bad in ({"max_tokens": 0}, {"top_p": 0}, {"temperature": -1}, {"num_captions": 0}):
        with pytest.raises(InvalidInputError):
            DecodeOptions(**bad)


def test_caption_takes_the_dataclass_or_keywords(clipcap_for_tiny_clip, tiny_clip_files):
    cap = load_captioner(
        "clipcap",
        str(clipcap_for_tiny_clip),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    try:
        images = [np.random.default_rng(i).random((24, 24, 3), np.float32) for i in range(2)]
        opts = DecodeOptions(beam_size=3, num_captions=2, max_tokens=6)
        by_value = cap.caption(images, options=opts)
        assert by_value == cap.caption(images, beam_size=3, num_captions=2, max_tokens=6)
        assert [len(c) for c in by_value] == [2, 2]
        # keywords apply over the dataclass
        assert cap.caption(images, options=opts, num_captions=1, beam_size=1) == cap.caption(
            images, max_tokens=6
        )
        with pytest.raises(InvalidInputError, match="unknown decoding option"):
            cap.caption(images, beams=3)
    finally:
        unload_captioners()
