"""An offline synthetic image-caption dataset: coloured shapes at named positions.

Each image shows one shape (circle, square, triangle) in one colour at one of four
quadrants, with random size, jitter and background noise; its caption is
``"a red circle in the top left."`` and its label ``"red circle in the top left"``.
Written in the CSV layout of :mod:`napari_clipcap.core.training.datasets` with train, val and
test splits, it is the proof-that-it-learns data for training and evaluation.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..io.atomic import atomic_file, write_json
from ..jobs import check_cancel, report

SHAPES = ("circle", "square", "triangle")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (50, 80, 230),
    "yellow": (235, 215, 40),
}
POSITIONS = ("top left", "top right", "bottom left", "bottom right")
#: The zero-shot prompt template that turns a label back into its caption.
TEMPLATE = "a {}."
#: A small open_clip architecture for the 32 x 32 synthetic images: a ResNet image tower
#: (it learns shapes from scratch much faster than a ViT of the same cost) and a 2-layer
#: text transformer. Write it with :func:`write_clip_config`.
CLIP_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 16, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def labels() -> list[str]:
    """Every label the generator can produce, in a fixed order."""
    return [f"{c} {s} in the {p}" for s in SHAPES for c in COLOURS for p in POSITIONS]


def caption_for(label: str) -> str:
    """The caption of an image with ``label``."""
    return TEMPLATE.format(label)


def draw(
    shape: str,
    colour: str,
    position: str,
    *,
    size: int = 32,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Draw one image as a ``(size, size, 3)`` uint8 array.

    Parameters
    ----------
    shape, colour, position : str
        One of :data:`SHAPES`, :data:`COLOURS` and :data:`POSITIONS`.
    size : int
        Image side in pixels (at least 16).
    rng : numpy.random.Generator, optional
        Source of the random size, jitter and noise.
    """
    if shape not in SHAPES or colour not in COLOURS or position not in POSITIONS:
        raise InvalidInputError(
            f"unknown shape, colour or position: {shape}, {colour}, {position}"
        )
    if size < 16:
        raise InvalidInputError(f"size must be at least 16 pixels, got {size}")
    rng = rng or np.random.default_rng()
    img = rng.normal(40, 12, (size, size, 3))
    half = size / 2
    radius = half * rng.uniform(0.28, 0.4)
    cy = (0.5 if position.startswith("top") else 1.5) * half + rng.uniform(-0.08, 0.08) * size
    cx = (0.5 if position.endswith("left") else 1.5) * half + rng.uniform(-0.08, 0.08) * size
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        mask = dx**2 + dy**2 <= radius**2
    elif shape == "square":
        mask = (np.abs(dx) <= radius * 0.85) & (np.abs(dy) <= radius * 0.85)
    else:  # upward triangle: base at the bottom, apex at the top
        mask = (dy <= radius * 0.8) & (dy >= -radius) & (np.abs(dx) <= (dy + radius) * 0.6)
    shade = np.asarray(COLOURS[colour], float) * rng.uniform(0.85, 1.1)
    img[mask] = shade + rng.normal(0, 8, (int(mask.sum()), 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_synthetic_dataset(
    out_dir,
    *,
    n_train: int = 960,
    n_val: int = 96,
    n_test: int = 192,
    size: int = 32,
    seed: int = 0,
    progress=None,
    cancel=None,
) -> Path:
    """Write the synthetic dataset as PNG images plus ``captions.csv``.

    Labels are spread evenly over each split (each of the 48 labels appears
    ``n // 48`` or ``n // 48 + 1`` times), so every split covers every label when
    ``n >= 48``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created when missing).
    n_train, n_val, n_test : int
        Number of images per split.
    size : int
        Image side in pixels.
    seed : int
        Random seed; the same seed writes the same files.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`.

    Returns
    -------
    Path
        The ``captions.csv`` file with columns ``image, caption, split, label``.
    """
    from PIL import Image

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    combos = [(s, c, p) for s in SHAPES for c in COLOURS for p in POSITIONS]
    total = n_train + n_val + n_test
    rows = []
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        order = rng.permutation(np.resize(np.arange(len(combos)), n)) if n else []
        for k in order:
            check_cancel(cancel)
            shape, colour, position = combos[int(k)]
            name = f"images/{len(rows):05d}.png"
            with atomic_file(out / name) as fh:
                Image.fromarray(draw(shape, colour, position, size=size, rng=rng)).save(fh, "PNG")
            label = f"{colour} {shape} in the {position}"
            rows.append(
                {"image": name, "caption": caption_for(label), "split": split, "label": label}
            )
            report(progress, len(rows), total)
    path = out / "captions.csv"
    with atomic_file(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["image", "caption", "split", "label"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_clip_config(path) -> Path:
    """Write :data:`CLIP_CONFIG` as an open_clip model-config JSON (``--clip PATH``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json(path, CLIP_CONFIG)


def main(argv=None) -> int:
    """``python -m napari_clipcap.core.samples.learning_set OUT``: the dataset and CLIP config."""
    import argparse

    p = argparse.ArgumentParser(description="write the synthetic shapes dataset")
    p.add_argument("out", help="output folder")
    p.add_argument("--train", type=int, default=960)
    p.add_argument("--val", type=int, default=96)
    p.add_argument("--test", type=int, default=192)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    csv_path = make_synthetic_dataset(
        a.out, n_train=a.train, n_val=a.val, n_test=a.test, seed=a.seed
    )
    cfg = write_clip_config(Path(a.out) / "synth-clip.json")
    print(f"dataset: {csv_path}\nCLIP config: {cfg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
