"""argparse ``type=`` helpers: values checked when the command line is parsed.

A value no run can use (``--temperature nan``, ``--seed -5``, ``--iou 2``, a template
without ``{}``) is refused at once as a usage error (exit status 2, one line naming the
flag), before any file is read or model loaded. This module imports no other module of
the command line, so every one of them may use it.
"""

from __future__ import annotations

import argparse
import math

from ..core.errors import InvalidInputError

__all__ = [
    "MAX_SEED",
    "finite_float",
    "fraction",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "seed_value",
    "template_text",
]


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def finite_float(text: str) -> float:
    """argparse ``type=``: a finite number (no ``nan``, ``inf``)."""
    return _number(text, float)


def positive_float(text: str) -> float:
    """argparse ``type=``: a finite number above 0."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def fraction(text: str) -> float:
    """argparse ``type=``: a number in ``(0, 1]`` (an IoU, a nucleus probability)."""
    value = _number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1], got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse ``type=``: a whole number of at least 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse ``type=``: a whole number of at least 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


#: Seeds are kept within what numpy and torch both take.
MAX_SEED = 2**63 - 1


def seed_value(text: str) -> int:
    """argparse ``type=``: a random seed, ``0 .. 2**63 - 1``."""
    value = _number(text, int)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be in 0 .. 2**63 - 1, got {text}")
    return value


def template_text(text: str) -> str:
    """argparse ``type=``: a prompt template with ``{}`` exactly once."""
    from ..core.clip.prompts import check_template

    try:
        return check_template(text)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
