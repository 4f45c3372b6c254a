"""What ClipCap training reports after each epoch: sample captions of held-out images
and a warning when different images all get the same caption (mode collapse)."""

from __future__ import annotations


def sample_captions(model, emb, records, kept, n: int, max_tokens: int = 30) -> list[dict]:
    """Greedy captions for the first ``n`` held-out images, with their references."""
    rows = list(range(min(n, len(kept))))
    if not rows:
        return []
    model.eval()
    caps = model.generate(emb[rows], max_tokens=max_tokens)
    return [
        {
            "image": str(records[kept[r]].image),
            "prediction": c[0],
            "references": records[kept[r]].captions,
        }
        for r, c in zip(rows, caps)
    ]


def mode_collapse(samples: list[dict]) -> str | None:
    """A warning when images with different references all got one caption."""
    preds = {s["prediction"] for s in samples}
    refs = {tuple(s["references"]) for s in samples}
    if len(samples) >= 2 and len(preds) == 1 and len(refs) > 1:
        return (
            f"mode collapse: {len(samples)} different held-out images all got the caption "
            f"{next(iter(preds))!r}; train longer, use more or more varied data, lower "
            "the learning rate, or fine-tune GPT-2 (no --freeze-gpt)"
        )
    return None
