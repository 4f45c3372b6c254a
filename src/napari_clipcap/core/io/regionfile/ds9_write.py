"""DS9 region text written from rows: exclude regions with their ``-``, texts quoted with
a delimiter they do not contain (a ``}`` in a result can no longer end the text early
and smuggle in a region), 10 decimals of a degree.
"""

from __future__ import annotations

from collections.abc import Sequence

from .records import RegionRecord

#: DS9 point markers; others are written as circles.
POINT_KINDS = ("circle", "box", "diamond", "cross", "x", "arrow", "boxcircle")


def quote_text(text: str) -> str:
    """DS9 ``text=`` value: in ``{}``, ``""`` or ``''``, whichever the text does not
    contain; a text holding all three loses its braces. Line breaks (every one
    ``str.splitlines`` knows, so that no reader sees two lines) and other control
    characters become spaces."""
    text = " ".join(str(text).splitlines())
    text = "".join(c if c.isprintable() else " " for c in text)
    if "{" not in text and "}" not in text:
        return "{" + text + "}"
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return "{" + text.replace("{", "").replace("}", "") + "}"


def _comment(row: RegionRecord) -> str:
    props = []
    if row.shape == "point":
        props.append(f"point={row.symbol if row.symbol in POINT_KINDS else 'circle'}")
    if row.color:
        props.append(f"color={row.color}")
    if row.text:
        props.append(f"text={quote_text(row.text)}")
    return (" # " + " ".join(props)) if props else ""


def format_ds9(rows: Sequence[RegionRecord], frame: str, header: Sequence[str] = ()) -> str:
    """DS9 text of rows given in ``frame`` (``image``: 0-based pixels, written 1-based)."""
    sky = frame != "image"
    out = ["# Region file format: DS9 version 4.1"]
    out += [f"# {line}" for h in header for line in str(h).splitlines()]
    out.append(frame)

    def xy(p) -> str:
        if sky:
            return f"{p[0]:.10f},{p[1]:+.10f}"
        return f"{p[0] + 1:.6f},{p[1] + 1:.6f}"

    def size(v: float) -> str:
        return f'{v:.6f}"' if sky else f"{v:.6f}"

    for row in rows:
        lead = "-" if row.exclude else ""
        c = row.xy[0]
        if row.shape == "circle":
            body = f"circle({xy(c)},{size(row.width / 2)})"
        elif row.shape == "ellipse":
            body = f"ellipse({xy(c)},{size(row.width / 2)},{size(row.height / 2)},{row.angle:.6f})"
        elif row.shape == "box":
            body = f"box({xy(c)},{size(row.width)},{size(row.height)},{row.angle:.6f})"
        elif row.shape == "polygon":
            body = "polygon(" + ",".join(xy(p) for p in row.xy) + ")"
        elif row.shape == "point":
            body = f"point({xy(c)})"
        else:
            continue
        out.append(lead + body + _comment(row))
    return "\n".join(out) + "\n"
