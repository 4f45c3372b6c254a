"""Too little data for a trustworthy result: warnings in the API, refusals for no data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from napari_clipcap.core.errors import InvalidInputError, LowDataWarning
from napari_clipcap.core.tasks.input_checks import MIN_SIDE, data_problems, valid_fraction
from napari_clipcap.core.tasks.labels import score_regions

LABELS = ["star", "galaxy"]


def test_valid_fraction_and_problems():
    img = np.ones((64, 64, 3), np.float32)
    assert valid_fraction(img) == 1 and data_problems(img) == []
    img[:, :40] = np.nan
    assert valid_fraction(img) == pytest.approx(24 / 64)
    (problem,) = data_problems(img, "region 3")
    assert problem.startswith("region 3 holds data in only 38%")
    tiny = np.ones((MIN_SIDE - 1, 64, 3), np.float32)
    assert "far smaller than the model's input" in data_problems(tiny)[0]


def test_score_regions_warns_about_blank_and_tiny_regions(tiny_clip):
    img = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = score_regions(img, [(0, 0, 64, 64)], LABELS, tiny_clip)
    assert not [w for w in caught if issubclass(w.category, LowDataWarning)]
    valid = np.zeros((64, 64), bool)
    valid[:, :10] = True  # the model input shows 0 where the FITS had NaN
    with pytest.warns(LowDataWarning, match="region 1 holds data in only 16%"):
        scores = score_regions(img, [(0, 0, 64, 64)], LABELS, tiny_clip, valid=valid)
    assert np.isfinite(scores).all()  # still scored, with the warning beside it
    with pytest.warns(LowDataWarning, match="the image is 1 x 1 pixels"):
        score_regions(np.full((1, 1, 3), 0.5, np.float32), None, LABELS, tiny_clip)


def test_an_image_without_data_is_refused_and_blank_regions_get_nan(tiny_clip):
    with pytest.raises(InvalidInputError, match="entirely NaN"):
        score_regions(np.full((64, 64, 3), np.nan, np.float32), None, LABELS, tiny_clip)
    zeros = np.zeros((64, 64, 3), np.float32)  # model input of an all-NaN FITS
    with pytest.raises(InvalidInputError, match="entirely NaN"):
        score_regions(zeros, None, LABELS, tiny_clip, valid=np.zeros((64, 64), bool))
    valid = np.zeros((64, 64), bool)
    valid[32:, 32:] = True
    with pytest.warns(LowDataWarning):
        scores = score_regions(
            zeros, [(0, 0, 16, 16), (32, 32, 64, 64)], LABELS, tiny_clip, valid=valid
        )
    assert np.isnan(scores[0]).all() and np.isfinite(scores[1]).all()
