"""Choices of the heatmap dock: colormaps, templates, queries, and the large-job notice."""

from __future__ import annotations

#: Colormaps offered for the maps.
COLORMAPS = ("inferno", "magma", "viridis", "turbo", "plasma", "hot", "gray")
#: Above this many windows, the dock asks before starting.
LARGE_JOB = 10_000
#: Offered prompt templates; the combo is editable for any other ("{}" takes the query).
TEMPLATES = (
    "{}",
    "a photo of {}.",
    "an aerial photograph of {}.",
    "a satellite image of {}.",
    "an astronomical image of {}.",
)


def parse_queries(text: str) -> list[str]:
    """One query per line, stripped, without duplicates."""
    out: list[str] = []
    for line in text.splitlines():
        q = line.strip()
        if q and q not in out:
            out.append(q)
    return out


def duration(seconds: float) -> str:
    """A rough, readable duration ("40 s", "12 min", "2.5 h")."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def large_job_text(n: int, window: int, stride: int, plane, rate: float | None) -> str:
    """What the dock says before a job of ``n`` windows (``rate``: windows/s, if known)."""
    text = (
        f"This heatmap needs {n:,} windows ({window} px every {stride} px on "
        f"{plane.width} x {plane.height} px)."
    )
    if rate:
        return f"{text} At the last job's speed that takes about {duration(n / rate)}."
    return f"{text} A larger stride or window makes it faster."


def pixel_spin(low: int, high: int, value: int, tip: str):
    """A spin box of pixels."""
    from qtpy.QtWidgets import QSpinBox

    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(" px")
    spin.setToolTip(tip)
    return spin
