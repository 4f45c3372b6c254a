"""Which model a received collection asks for, said before anything loads (issue 21.11)."""

from __future__ import annotations

from napari_clipcap.core.collection.describe import collection_spec, describe_collection_model
from napari_clipcap.core.collection.store import Collection


def _received(folder, model_id, model, weights):
    with Collection(folder, create=True) as col:
        col.bind_model(model_id, model, weights)
    return folder


def test_a_collection_says_which_model_it_asks_for_under_the_one_rule(tmp_path):
    assert describe_collection_model(tmp_path / "nothing") is None
    folder = _received(tmp_path / "a", "ViT-B-16 (openai)", "ViT-B-16", "openai")
    said = describe_collection_model(folder)
    assert said["resolved"]["weights"] == "openai" and not said["random"]
    assert said["text"] == f"collection {folder} asks for clip ViT-B-16 (openai)"
    # weights recorded as 'none': random, said loudly
    folder = _received(tmp_path / "b", "ViT-B-16", "ViT-B-16", "none")
    said = describe_collection_model(folder)
    assert said["random"] and "RANDOM weights" in said["text"] and said["warnings"]


def test_an_old_random_collection_is_read_as_random_not_as_openai(tmp_path):
    """Before weights were recorded as 'none', a bare architecture id meant random ones."""
    folder = _received(tmp_path / "old", "ViT-B-16", "ViT-B-16", None)
    assert collection_spec(folder).weights == "none"
    with Collection(folder) as col:
        assert col.model_spec == ("ViT-B-16", "none")


def test_an_unresolvable_record_is_said_not_raised(tmp_path):
    folder = _received(tmp_path / "c", "coca", "coca_ViT-L-14", None)
    said = describe_collection_model(folder)
    assert "error" in said and "no single default" in said["text"]
