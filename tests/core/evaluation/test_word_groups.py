"""The word-group caption audit: swaps, omissions, ambiguous references, parsing."""

from __future__ import annotations

import pytest

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.evaluation.word_groups import (
    audit_word_groups,
    markdown_table,
    parse_word_groups,
)


def test_gender_audit_counts_swaps_omissions_and_ambiguous_images():
    refs = {
        "1": ["A man rides a horse.", "a man on a horse"],
        "2": ["A woman holds an umbrella."],
        "3": ["A woman and her son."],  # both groups: ambiguous, left out
        "4": ["A girl plays."],
        "5": ["Two women talk."],
        "6": ["a dog runs"],  # no group: not counted
    }
    gen = {
        "1": "a man riding a horse",  # right
        "2": "a man holding an umbrella",  # female -> male swap
        "3": "a person",
        "4": "a child playing",  # neither
        "5": "a woman and a man talking",  # both
        "6": "a man with a dog",
    }
    audit = audit_word_groups(gen, refs, parse_word_groups("gender"))
    male, female = audit["groups"]["male"], audit["groups"]["female"]
    assert male == {
        "images": 1,
        "right": 1,
        "both": 0,
        "neither": 0,
        "swapped": {"female": 0},
        "swap_rate": 0.0,
        "neither_rate": 0.0,
    }
    assert female["images"] == 3 and female["swapped"] == {"male": 1}
    assert female["neither"] == 1 and female["both"] == 1 and female["right"] == 0
    assert female["swap_rate"] == pytest.approx(1 / 3)
    assert audit["ambiguous"] == 1
    table = markdown_table(audit)
    assert "| female | 3 | 1 | male (1) | 1 | 0.333 | 0.333 |" in table


def test_user_groups_for_astronomy():
    groups = parse_word_groups("star, stars | galaxy, galaxies | nebula")
    assert [name for name, _ in groups.groups] == ["star", "galaxy", "nebula"]
    audit = audit_word_groups(
        {"a": "a bright galaxy", "b": "two stars", "c": "a faint nebula"},
        {"a": ["a bright star"], "b": ["stars in a field"], "c": ["an emission nebula"]},
        groups,
    )
    assert audit["groups"]["star"]["swapped"] == {"galaxy": 1, "nebula": 0}
    assert audit["groups"]["star"]["right"] == 1 and audit["groups"]["nebula"]["right"] == 1
    assert audit["groups"]["galaxy"]["images"] == 0
    assert audit["groups"]["galaxy"]["swap_rate"] is None


@pytest.mark.parametrize(
    "spec, match",
    [
        ("star, stars", "at least two groups"),
        ("a | | b", "empty group"),
        ("a, b | b", "two groups"),
    ],
)
def test_bad_group_specs(spec, match):
    with pytest.raises(InvalidInputError, match=match):
        parse_word_groups(spec)
