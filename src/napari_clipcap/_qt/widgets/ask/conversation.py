"""What the Ask dock remembers: per image layer and region, the questions asked and the
answers given, until the user clears them."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from ....core.vlm.model import Turn

__all__ = ["Conversations", "transcript"]


class Conversations:
    """Turns per ``(layer, region)`` key; a new model starts every conversation anew."""

    def __init__(self) -> None:
        self._turns: dict[Hashable, list[Turn]] = {}
        self._model = ""

    def for_model(self, model: str) -> None:
        """Forget every conversation when the model changes (its history would mislead)."""
        if model != self._model:
            self._turns.clear()
            self._model = model

    def history(self, key: Hashable) -> list[Turn]:
        return list(self._turns.get(key, ()))

    def add(self, key: Hashable, question: str, answer: str) -> None:
        self._turns.setdefault(key, []).append(Turn(question, answer))

    def clear(self) -> None:
        self._turns.clear()

    def __len__(self) -> int:
        return sum(len(v) for v in self._turns.values())


def transcript(
    conversations: Conversations, keys: Sequence[Hashable], names: Sequence[str]
) -> str:
    """Plain text of the conversations of ``keys``, each under its name."""
    blocks = []
    for key, name in zip(keys, names):
        turns = conversations.history(key)
        if not turns:
            continue
        lines = [f"── {name}"]
        for turn in turns:
            lines += [f"Q: {turn.question}", f"A: {turn.answer}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
