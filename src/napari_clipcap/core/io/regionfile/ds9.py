"""DS9 region text, read directly: one pass over the lines, no object per coordinate,
and placement batched over all regions of a frame (benchmarks/bench_regions.py: 100,000
fk5 regions in 6.7 s on a loaded 2-core machine, about 140 times faster than
``regions``' parse and ``to_pixel``).

:func:`parse_ds9` turns the text into :class:`~.records.RegionRecord`
rows (numbers as the file gives them, in its frame); statements it does not know how to
read exactly (unusual units, rare shapes) go through the ``regions`` package one by one,
so nothing DS9 writes is read less well than ``regions`` reads it. DS9's commented shapes
(``# text``, ``# vector``, ``# composite``, ``# ruler``, ...) become rows with the reason
they are not scored. :func:`~.ds9_write.format_ds9` writes rows back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import numpy as np

from .records import RegionRecord, records_from_regions

#: DS9 frame names -> the project's (``None``: not a sky or image frame it places).
DS9_FRAMES = {
    "image": "image",
    "fk5": "fk5",
    "j2000": "fk5",
    "icrs": "icrs",
    "fk4": "fk4",
    "b1950": "fk4",
    "galactic": "galactic",
    "ecliptic": "ecliptic",
    "physical": None,
    "linear": None,
    "amplifier": None,
    "detector": None,
}
EQUATORIAL = ("fk5", "icrs", "fk4")
SHAPES = ("circle", "ellipse", "box", "polygon", "point", "text")
COMMENTED = ("text", "vector", "composite", "ruler", "compass", "projection", "segment")
_FRAME_RE = re.compile(
    r"(image|physical|fk4|b1950|fk5|j2000|icrs|galactic|ecliptic|linear"
    r"|amplifier|detector|wcs[a-z]?)\s*(?:;|$)",
    re.I,
)
_SHAPE_RE = re.compile(r"([+-]?)\s*((?:[a-z]+\s+)?[a-z]+)\s*\(([^()]*)\)", re.I)
_PROP_RE = re.compile(r"""(\w+)\s*=\s*(\{[^}]*\}|"[^"]*"|'[^']*'|[^\s#]+(?:\s+\d+)?)|(\w+)""")
_SIZE_UNITS = {'"': 1.0, "'": 60.0, "d": 3600.0, "r": 3600.0 * 180.0 / math.pi}


class _Unreadable(ValueError):
    """A statement this reader hands to ``regions``."""


def _number(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _Unreadable(token)
    return value


def _sexagesimal(token: str, hours: bool) -> float:
    """``12:34:56.7``, ``12h34m56.7s`` or ``-1d02m03s`` as degrees."""
    t = token.strip()
    sign = -1.0 if t.startswith("-") else 1.0
    parts = re.split(r"[:hdms]", t.lstrip("+-").rstrip("s"))
    parts = [p for p in parts if p != ""]
    if not 1 <= len(parts) <= 3:
        raise _Unreadable(token)
    value = sum(_number(p) / 60**i for i, p in enumerate(parts))
    is_hours = hours or "h" in t
    return sign * value * (15.0 if is_hours else 1.0)


def _lonlat(lon: str, lat: str, frame: str) -> tuple[float, float]:
    def one(token: str, is_lon: bool) -> float:
        t = token.strip()
        try:
            return _number(t)
        except ValueError:
            pass
        if t.endswith("d") and ":" not in t and "m" not in t:
            return _number(t[:-1])
        if ":" in t or re.search(r"[hdm]", t):
            return _sexagesimal(t, hours=is_lon and frame in EQUATORIAL and ":" in t)
        raise _Unreadable(token)

    return one(lon, True), one(lat, False)


def _size(token: str, sky: bool) -> float:
    """A length in arcsec (sky frames) or pixels (image frame)."""
    t = token.strip()
    if not sky:
        return _number(t)
    if t and t[-1] in _SIZE_UNITS:
        return _number(t[:-1]) * _SIZE_UNITS[t[-1]]
    return _number(t) * 3600.0  # plain numbers are degrees in a sky frame


def _angle(token: str) -> float:
    t = token.strip()
    if t.endswith("r"):
        return math.degrees(_number(t[:-1]))
    return _number(t[:-1] if t.endswith("d") else t)


def _properties(comment: str) -> dict:
    """``color=red text={a b} point=x 11 background`` -> a dict (quotes removed)."""
    props: dict = {}
    for key, value, flag in _PROP_RE.findall(comment):
        if flag:
            props[flag.lower()] = True
            continue
        if value[:1] in "{\"'":
            value = value[1:-1]
        props.setdefault(key.lower(), value)
    return props


def _split_comment(rest: str) -> tuple[str, str]:
    """``'box(...) # color=red'`` -> (text before the comment, the comment): the first
    ``#`` outside parentheses (shape arguments never hold one; texts may)."""
    i = rest.find("#")
    while i >= 0:
        head = rest[:i]
        if head.count("(") <= head.count(")"):
            return head, rest[i + 1 :]
        i = rest.find("#", i + 1)
    return rest, ""


def _statements(line: str) -> Iterator[tuple[str, str]]:
    """Each ``(statement, comment)`` of a line: frame names and shapes, the comment being
    the properties of the line's last shape (DS9 puts one shape per commented line)."""
    body, comment = _split_comment(line)
    if not body.strip() and comment:
        inner = comment.strip()
        if re.match(rf"({'|'.join(COMMENTED)})\s*\(", inner, re.I):
            m = _SHAPE_RE.match(inner)
            end = m.end() if m else len(inner)
            yield "#" + inner[:end], inner[end:]
        return
    parts = [p.strip() for p in body.split(";") if p.strip()]
    for i, part in enumerate(parts):
        yield part, comment if i == len(parts) - 1 else ""


class _Reader:
    """State of one pass over a DS9 file: the frame in force, the composite being read."""

    def __init__(self, fmt_text: str):
        self.text = fmt_text
        self.frame = "image"
        self.number = 0
        self.rows: list[RegionRecord] = []
        self.notes: list[str] = []
        self.in_composite: RegionRecord | None = None
        self.global_color: str | None = None

    def run(self) -> tuple[list[RegionRecord], list[str]]:
        for line_no, raw in enumerate(self.text.splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            if line.lower().startswith("global"):
                self.global_color = _properties(line[6:]).get("color", self.global_color)
                continue
            for statement, comment in _statements(line):
                self._statement(statement, comment, line_no)
        return self.rows, self.notes

    def _statement(self, statement: str, comment: str, line_no: int) -> None:
        m = _FRAME_RE.fullmatch(statement) or _FRAME_RE.match(statement + ";")
        if m and m.end() >= len(statement):
            self.frame = m.group(1).lower()
            return
        commented = statement.startswith("#")
        body = statement[1:].strip() if commented else statement
        m = _SHAPE_RE.match(body)
        if m is None:
            self.notes.append(f"line {line_no}: not a region: {statement[:60]!r}")
            return
        sign, kind, args = m.group(1), m.group(2).lower(), m.group(3)
        tail = body[m.end() :]
        continues = "||" in tail or "||" in comment
        props = _properties(comment)
        member = self.in_composite is not None
        if kind == "composite":
            self.number += 1
            row = RegionRecord(self.number, "composite", self.frame, np.zeros((0, 2)))
            row.reason = "composite"
            row.members = 0
            self.rows.append(row)
            self.in_composite = row if continues else None
            return
        if member:
            self.in_composite.members += 1
            if not continues:
                self.in_composite = None
            return
        self.number += 1
        self.rows.append(self._row(sign, kind, args, props, statement, comment))

    def _row(self, sign, kind, args, props, statement, comment) -> RegionRecord:
        frame = DS9_FRAMES.get(self.frame)
        text = str(props.get("text", "") or "")
        color = props.get("color", self.global_color)
        exclude = sign == "-" or str(props.get("include", "1")) == "0"
        point_kind = None
        if kind.endswith(" point") or kind == "point":
            point_kind = kind.split()[0] if " " in kind else str(props.get("point", "") or "")
            point_kind = point_kind.split()[0] if point_kind else None
            kind = "point"
        if frame is None or kind not in SHAPES:
            row = RegionRecord(self.number, kind, self.frame, np.zeros((0, 2)), text=text)
            row.reason = kind if kind not in SHAPES else f"frame {self.frame}"
            return row
        try:
            row = _shape_row(kind, args, frame)
        except (_Unreadable, ValueError, IndexError):
            return self._through_regions(statement, comment)
        row.number, row.text, row.color = self.number, text, color
        row.exclude, row.symbol = exclude, point_kind
        if kind == "text":
            row.reason = "text"
        return row

    def _through_regions(self, statement: str, comment: str) -> RegionRecord:
        """One statement read by the ``regions`` package (a form this reader skips)."""
        import warnings

        from regions import Regions

        source = f"{self.frame}\n{statement.lstrip('#').strip()} # {comment}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = list(Regions.parse(source, format="ds9"))
            except Exception as exc:
                row = RegionRecord(self.number, "unknown", self.frame, np.zeros((0, 2)))
                row.reason = f"unreadable ({exc})"
                return row
        rows = records_from_regions(parsed, start=self.number)
        if not rows:
            row = RegionRecord(self.number, "unknown", self.frame, np.zeros((0, 2)))
            row.reason = "unreadable"
            return row
        return rows[0]


def _shape_row(kind: str, args: str, frame: str) -> RegionRecord:
    tokens = [t for t in re.split(r"\s*,\s*|\s+", args.strip()) if t]
    sky = frame != "image"
    if kind == "polygon":
        if len(tokens) < 6 or len(tokens) % 2:
            raise _Unreadable(args)
        pairs = [tokens[i : i + 2] for i in range(0, len(tokens), 2)]
        xy = np.array(
            [_lonlat(a, b, frame) if sky else (_number(a), _number(b)) for a, b in pairs]
        )
        return RegionRecord(0, kind, frame, _image_origin(xy, sky))
    x, y = (
        _lonlat(tokens[0], tokens[1], frame) if sky else (_number(tokens[0]), _number(tokens[1]))
    )
    xy = _image_origin(np.array([[x, y]]), sky)
    row = RegionRecord(0, kind, frame, xy)
    if kind == "circle":
        if len(tokens) != 3:
            raise _Unreadable(args)  # annuli-like forms
        row.width = row.height = 2 * _size(tokens[2], sky)
    elif kind in ("ellipse", "box"):
        if len(tokens) not in (4, 5):
            raise _Unreadable(args)  # annulus forms
        scale = 2.0 if kind == "ellipse" else 1.0  # DS9 ellipses give semi-axes
        row.width, row.height = (scale * _size(t, sky) for t in tokens[2:4])
        row.angle = _angle(tokens[4]) if len(tokens) == 5 else 0.0
    elif kind == "point" and len(tokens) > 2:
        raise _Unreadable(args)
    return row


def _image_origin(xy: np.ndarray, sky: bool) -> np.ndarray:
    """DS9 image coordinates are 1-based; rows keep 0-based pixels (``regions``')."""
    return xy if sky else xy - 1.0


def parse_ds9(text: str) -> tuple[list[RegionRecord], list[str]]:
    """Rows of a DS9 region file's text, in file order, and notes on lines skipped."""
    return _Reader(text).run()
