"""Predictions matched to images by relative path; ambiguous names refused."""

from __future__ import annotations

import pytest

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.evaluation.metrics import caption_metrics
from napari_clipcap.core.evaluation.predictions import match_predictions


def test_two_images_of_one_name_in_different_folders_get_their_own_captions(tmp_path):
    images = [tmp_path / "a" / "001.png", tmp_path / "b" / "001.png"]
    red, blue = "a red car parked by the road", "a blue boat moored in the harbour"
    preds = match_predictions({"a/001.png": red, "./b/001.png": blue}, images)
    assert preds == [red, blue]
    scores = caption_metrics(preds, [[red], [blue]], metrics=["bleu"], tokenizer="simple")
    assert scores["Bleu_4"] == pytest.approx(1.0, abs=1e-6)  # both got one caption before


def test_a_bare_name_that_fits_two_images_is_refused(tmp_path):
    images = [tmp_path / "a" / "001.png", tmp_path / "b" / "001.png"]
    with pytest.raises(InvalidInputError, match="fits 2 images"):
        match_predictions({"001.png": "x", "b/001.png": "y"}, images)


def test_absolute_paths_unique_names_and_missing_images(tmp_path):
    images = [tmp_path / "a" / "001.png", tmp_path / "c" / "002.png"]
    assert match_predictions({str(images[0]): "x", "002.png": "y"}, images) == ["x", "y"]
    with pytest.raises(InvalidInputError, match="no caption for 1 image"):
        match_predictions({"001.png": "x"}, images)
    with pytest.raises(InvalidInputError, match="two captions"):
        match_predictions({"001.png": "x", "a/001.png": "z", "002.png": "y"}, images)
