"""Evaluation reports: a JSON file with every number and a Markdown page with plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path, write_text


def plot_confusion(
    confusion, class_names: Sequence[str], path, *, title: str = "Zero-shot confusion matrix"
) -> Path:
    """Save a confusion matrix (rows true, columns predicted) as a PNG image.

    Parameters
    ----------
    confusion : (C, C) array-like of counts
    class_names : sequence of str
    path : str or Path
        The PNG file to write.
    title : str
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    cm = np.asarray(confusion, dtype=float)
    n = len(class_names)
    side = min(4 + 0.3 * n, 30)
    fig = Figure(figsize=(side, side * 0.9))
    ax = fig.add_subplot()
    rows = cm.sum(1, keepdims=True)
    im = ax.imshow(cm / np.maximum(rows, 1), cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    ax.set_xticks(range(n), class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(n), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def clipscore_note(values: dict) -> str | None:
    """One sentence saying how CLIPScore embedded the captions (``None`` without it)."""
    if "CLIPScore" not in values:
        return None
    prefix = values.get("clipscore_prefix")
    if prefix:
        return (
            f'CLIPScore and RefCLIPScore embed each caption as "{prefix} ..." like the '
            "reference implementation (Hessel et al. 2021): comparable with published scores."
        )
    return (
        "CLIPScore and RefCLIPScore embed the captions without the reference "
        'implementation\'s "A photo depicts" prefix: not comparable with published scores.'
    )


def markdown_report(
    results: dict, *, title: str = "Evaluation report", plots: dict[str, str] | None = None
) -> str:
    """Render results as Markdown: one table of scalar values per section, then plots.

    ``results`` maps section names to dicts; scalar entries go into the table, lists
    and nested dicts (confusion matrices, per-image values) stay in the JSON only.
    """
    lines = [f"# {title}", ""]
    for section, values in results.items():
        if not isinstance(values, dict):
            lines += [f"- **{section}**: {_fmt(values)}"]
            continue
        scalars = {
            k: v for k, v in values.items() if isinstance(v, (int, float, str, bool)) or v is None
        }
        if not scalars:
            continue
        lines += ["", f"## {section}", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in scalars.items()]
        note = clipscore_note(values)
        if note:
            lines += ["", note]
        for audit in values.get("word_groups") or ():
            from .word_groups import markdown_table

            lines += ["", markdown_table(audit)]
        samples = values.get("samples")
        if samples:
            lines += ["", "| image | generated | reference |", "| --- | --- | --- |"]
            lines += [
                f"| {s['image']} | {s['prediction']} | {s['references'][0]} |" for s in samples
            ]
    for name, rel in (plots or {}).items():
        lines += ["", f"## {name}", "", f"![{name}]({rel})"]
    return "\n".join(lines) + "\n"


def write_report(
    results: dict,
    out_dir,
    *,
    title: str = "Evaluation report",
    plots: dict[str, str] | None = None,
) -> dict[str, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``.

    Parameters
    ----------
    results : dict
        Plain data (numbers, strings, lists, dicts).
    out_dir : str or Path
    title : str
    plots : dict, optional
        Plot name -> file path relative to ``out_dir`` (shown in the Markdown).

    Returns
    -------
    dict
        ``{"json": path, "markdown": path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    payload = dict(results)
    if plots:
        payload["plots"] = dict(plots)
    write_text(json_path, json.dumps(payload, indent=2, default=str) + "\n")
    write_text(md_path, markdown_report(results, title=title, plots=plots))
    return {"json": json_path, "markdown": md_path}
