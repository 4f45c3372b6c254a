"""How to decode a caption, as one value that travels from the caller to the token loop.

>>> opts = DecodeOptions(beam_size=5)
>>> opts.strategy
'beam'
>>> DecodeOptions.of(opts, max_tokens=20).max_tokens
20
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import InvalidInputError

__all__ = ["DecodeOptions"]


@dataclass(frozen=True)
class DecodeOptions:
    """Decoding settings shared by every captioner and the token loops.

    The strategy follows the settings: ``top_p`` given -> nucleus sampling of
    ``num_captions`` captions per row; else ``beam_size > 1`` or ``num_captions > 1`` ->
    beam search of width ``max(beam_size, num_captions)`` returning the best
    ``num_captions``; else greedy.

    Attributes
    ----------
    max_tokens : int
        Most tokens per caption (67 in the original ClipCap release).
    beam_size, num_captions : int
        Beam width and captions returned per image.
    length_penalty : float
        Beams are ranked by ``sum(log p) / length ** length_penalty`` (1 = the original
        release's mean log-probability).
    top_p, temperature, seed : float or None, float, int or None
        Nucleus sampling; ``seed`` makes it repeatable; ``temperature=0`` is greedy.
    stop_token_ids : tuple of int
        Tokens that end a caption (kept in the output); a captioner fills in its own
        when this is empty.
    check_every : int
        Steps between the (synchronising) checks for "all rows finished" and cancel.
    """

    max_tokens: int = 67
    beam_size: int = 1
    num_captions: int = 1
    length_penalty: float = 1.0
    top_p: float | None = None
    temperature: float = 1.0
    seed: int | None = None
    stop_token_ids: tuple[int, ...] = field(default=())
    check_every: int = 4

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "stop_token_ids", tuple(int(t) for t in self.stop_token_ids))
        if min(self.max_tokens, self.beam_size, self.num_captions, self.check_every) < 1:
            raise InvalidInputError(
                "max_tokens, beam_size, num_captions and check_every must be at least 1"
            )
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise InvalidInputError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.temperature < 0:
            raise InvalidInputError(f"temperature must be >= 0, got {self.temperature}")

    @property
    def strategy(self) -> str:
        """``"sample"``, ``"beam"`` or ``"greedy"``."""
        if self.top_p is not None:
            return "sample"
        return "beam" if self.beam_size > 1 or self.num_captions > 1 else "greedy"

    @classmethod
    def of(cls, options: DecodeOptions | None = None, **changes) -> DecodeOptions:
        """``options`` (default settings when ``None``) with keyword ``changes`` applied.

        Raises
        ------
        InvalidInputError
            For a keyword that is no decoding setting, or a value out of range.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise InvalidInputError(
                f"unknown decoding option(s) {', '.join(unknown)}; known: {', '.join(names)}"
            )
        base = options if options is not None else cls()
        return dataclasses.replace(base, **changes) if changes else base

    def with_stops(self, stop_token_ids: Sequence[int]) -> DecodeOptions:
        """These options, with ``stop_token_ids`` when none are set yet."""
        if self.stop_token_ids:
            return self
        return dataclasses.replace(self, stop_token_ids=tuple(stop_token_ids))
