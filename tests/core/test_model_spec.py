"""ModelSpec: one model description, one resolution rule for every door."""

from __future__ import annotations

import json
import warnings

import pytest

from napari_clipcap.core.errors import (
    InvalidInputError,
    RandomWeightsWarning,
    collect_warnings,
)
from napari_clipcap.core.registry import (
    DEFAULT_CLIP,
    RANDOM,
    ModelSpec,
    default_tag,
    read_clipcap_record,
)


@pytest.mark.parametrize(
    ("name", "weights", "want"),
    [
        ("ViT-B-16", None, ("ViT-B-16", "openai")),  # an architecture alone: its default
        ("ViT-L-14", "", ("ViT-L-14", "openai")),
        ("ViT-B/16", None, ("ViT-B-16", "openai")),
        ("ViT-B-16", "none", ("ViT-B-16", RANDOM)),  # random only when asked
        ("ViT-B-16", "None", ("ViT-B-16", RANDOM)),
        ("ViT-B-16", "laion2b_s34b_b88k", ("ViT-B-16", "laion2b_s34b_b88k")),
        ("ViT-B-32/openai", None, ("ViT-B-32", "openai")),  # a preset means that preset
        ("CLIP-RSICD-v2", None, ("flax-community/clip-rsicd-v2", None)),
        ("org/some-clip", None, ("org/some-clip", None)),  # a hub id means itself
        (None, None, (DEFAULT_CLIP.name, DEFAULT_CLIP.weights)),
    ],
)
def test_clip_names_resolve_by_one_rule(name, weights, want):
    spec = ModelSpec.for_clip(name, weights).resolve()
    assert (spec.name, spec.weights) == want
    assert spec.resolve() is spec
    assert spec.random == (want[1] == RANDOM)


def test_an_architecture_without_a_single_default_is_refused_with_its_tags():
    with pytest.raises(InvalidInputError, match=r"no single default.*laion2b_s13b_b90k"):
        ModelSpec.for_clip("coca_ViT-L-14").resolve()
    assert default_tag("RN50x4") == "openai"


def test_a_file_or_folder_means_itself(tmp_path):
    folder = tmp_path / "hf"
    folder.mkdir()
    assert ModelSpec.for_clip(str(folder)).resolve().weights is None
    config = tmp_path / "tiny.json"
    config.write_text("{}")
    spec = ModelSpec.for_clip(str(config)).resolve()  # an architecture file, no weights
    assert spec.random and spec.warnings()
    with pytest.raises(InvalidInputError, match="holds its own weights"):
        ModelSpec.for_clip(str(folder), "none").resolve()


def test_flags_round_trip_and_the_id_is_stable():
    spec = ModelSpec.from_flags({"clip": "ViT-B-16", "clip_weights": None}).resolve()
    assert spec.to_flags() == ["--clip", "ViT-B-16", "--clip-weights", "openai"]
    assert spec.id == "clip:ViT-B-16@openai"
    again = ModelSpec.from_flags(
        dict(zip(("clip", "clip_weights"), spec.to_flags()[1::2]))
    ).resolve()
    assert again == spec and again.id == spec.id
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    assert spec.to_dict()["random"] is False


def test_random_weights_warn_through_every_channel():
    spec = ModelSpec.for_clip("ViT-B-16", "none").resolve()
    with collect_warnings() as found, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        texts = spec.warn()
    assert texts and found == texts
    assert [w.category for w in caught] == [RandomWeightsWarning]
    assert "random weights" in spec.label


def test_captioner_specs_carry_their_clip(tmp_path):
    spec = ModelSpec.from_flags(
        {"captioner": "clipcap", "clip": "ViT-B-16", "normalize_prefix": True}, "captioner"
    ).resolve()
    assert spec.kind == "clipcap" and spec.clip.weights == "openai"
    assert spec.to_flags()[-3:] == ["--clip-weights", "openai", "--normalize-prefix"]
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    # a ClipCap folder decides its CLIP by what it recorded, under the same rule
    folder = tmp_path / "run"
    folder.mkdir()
    meta = {"clip_model": "ViT-B-16", "clip_weights": None, "decoder": "gpt2"}
    (folder / "clipcap.json").write_text(json.dumps({"meta": meta}))
    assert read_clipcap_record(folder)["clip_model"] == "ViT-B-16"
    recorded = ModelSpec.for_captioner("clipcap", str(folder)).resolve()
    assert recorded.clip.weights == RANDOM and recorded.random  # it was trained on one
    with pytest.raises(InvalidInputError, match="unknown captioner"):
        ModelSpec.for_captioner("nope").resolve()
