"""A caption audit for word groups: how often a captioner swaps one group's words for
another's.

The source projects measured how often a captioner misnames gender ("a man" where the
references say "a woman"). Here any set of mutually exclusive word groups can be audited
the same way, e.g. ``"star, stars | galaxy, galaxies"``. An image counts for a group when
its references use words of that group and of no other group of the set; its generated
caption then either uses that group (right), another group only (swapped), both, or
neither (omitted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import InvalidInputError

#: The built-in sets, by name: each a tuple of groups (a name and its words).
BUILTIN: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {
    "gender": (
        (
            "male",
            frozenset(
                "man men boy boys he him his male males gentleman gentlemen guy guys "
                "father son brother husband".split()
            ),
        ),
        (
            "female",
            frozenset(
                "woman women girl girls she her hers female females lady ladies "
                "mother daughter sister wife".split()
            ),
        ),
    ),
}
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class WordGroups:
    """A set of mutually exclusive word groups to audit."""

    name: str
    groups: tuple[tuple[str, frozenset[str]], ...]


def parse_word_groups(spec: str) -> WordGroups:
    """``"gender"`` (built in) or ``"star, stars | galaxy, galaxies"``: groups split by
    ``|``, words by commas; a group is named by its first word."""
    spec = spec.strip()
    if spec.lower() in BUILTIN:
        return WordGroups(spec.lower(), BUILTIN[spec.lower()])
    groups = []
    for part in spec.split("|"):
        words = [w.strip().lower() for w in part.split(",") if w.strip()]
        if not words:
            raise InvalidInputError(f"word groups {spec!r}: an empty group")
        groups.append((words[0], frozenset(words)))
    if len(groups) < 2:
        raise InvalidInputError(
            f"word groups {spec!r} need at least two groups split by '|', "
            f"e.g. 'star, stars | galaxy, galaxies'; built in: {', '.join(BUILTIN)}"
        )
    seen: dict[str, str] = {}
    for name, words in groups:
        for w in words:
            if w in seen and seen[w] != name:
                raise InvalidInputError(f"word groups {spec!r}: {w!r} is in two groups")
            seen[w] = name
    return WordGroups(" | ".join(name for name, _ in groups), tuple(groups))


def _groups_in(text: str, groups: WordGroups) -> set[str]:
    words = set(_WORD.findall(text.lower()))
    return {name for name, members in groups.groups if words & members}


def audit_word_groups(
    generated: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    groups: WordGroups,
) -> dict:
    """Count, per group of the references, what the generated captions say.

    Parameters
    ----------
    generated : mapping
        Image id -> the generated caption.
    references : mapping
        Image id -> its reference captions.
    groups : WordGroups

    Returns
    -------
    dict
        ``{"name", "groups": {group: {"images", "right", "both", "neither",
        "swapped": {other: count}, "swap_rate", "neither_rate"}}, "ambiguous": n}``,
        where rates are over the group's images. ``ambiguous`` counts images whose
        references use several groups (left out).
    """
    names = [name for name, _ in groups.groups]
    table = {
        g: {"images": 0, "right": 0, "both": 0, "neither": 0, "swapped": dict.fromkeys(names, 0)}
        for g in names
    }
    ambiguous = 0
    for key, caption in generated.items():
        truth = set().union(*(_groups_in(r, groups) for r in references.get(key, ())))
        if len(truth) != 1:
            ambiguous += len(truth) > 1
            continue
        (g,) = truth
        said = _groups_in(caption, groups)
        row = table[g]
        row["images"] += 1
        if not said:
            row["neither"] += 1
        elif g in said:
            row["both" if len(said) > 1 else "right"] += 1
        else:
            for other in said:
                row["swapped"][other] += 1
    for g, row in table.items():
        row["swapped"].pop(g)
        n = row["images"]
        row["swap_rate"] = sum(row["swapped"].values()) / n if n else None
        row["neither_rate"] = row["neither"] / n if n else None
    return {"name": groups.name, "groups": table, "ambiguous": ambiguous}


def markdown_table(audit: Mapping) -> str:
    """The audit as a Markdown table: one row per (reference group, generated group)."""
    lines = [
        f"Word groups: {audit['name']} ({audit['ambiguous']} images with several groups in "
        "their references left out)",
        "",
        "| references say | images | caption says the same | says another: which (count) "
        "| says neither | swap rate | neither rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for g, row in audit["groups"].items():
        swaps = ", ".join(f"{o} ({n})" for o, n in row["swapped"].items()) or "-"
        rate = "-" if row["swap_rate"] is None else f"{row['swap_rate']:.3f}"
        neither = "-" if row["neither_rate"] is None else f"{row['neither_rate']:.3f}"
        lines.append(
            f"| {g} | {row['images']} | {row['right'] + row['both']} | {swaps} | "
            f"{row['neither']} | {rate} | {neither} |"
        )
    return "\n".join(lines)
