"""Boxes to masks: masks per second of :meth:`BoxSegmenter.masks_for_boxes` (one image pass
for every box) against the naive way, one call (image encoder included) per box.

The real-size SAM 2.1 Hiera-T architecture (``transformers.Sam2Config()`` defaults: the
Hiera-T backbone at 1024 px, what ``sam2.1-hiera-tiny`` loads) with random weights (speed
does not depend on weight values), saved with ``save_pretrained`` and loaded through
:func:`load_segmenter`, the real loading code; ``--sam`` adds SAM ViT-B
(``transformers.SamConfig()`` defaults, ``sam-vit-base``). A 1024 x 1024 scene with
``--boxes`` boxes (8).

Prints JSON. ``python benchmarks/bench_box_masks.py [--boxes 8] [--sam] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def _save(kind: str, folder: Path) -> Path:
    """A real-size random SAM 2 or SAM with its default processor, saved locally."""
    import transformers

    torch.manual_seed(0)
    if kind == "sam2":
        model = transformers.Sam2Model(transformers.Sam2Config()).eval()
        processor = transformers.Sam2Processor(image_processor=transformers.Sam2ImageProcessor())
    else:
        model = transformers.SamModel(transformers.SamConfig()).eval()
        processor = transformers.SamProcessor(image_processor=transformers.SamImageProcessor())
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def measure(kind: str, boxes: int, device: str, repeats: int = 1) -> dict:
    """Seconds and masks per second, batched against one call per box."""
    from napari_clipcap.core.segmentation.model import load_segmenter

    rng = np.random.default_rng(0)
    image = rng.random((1024, 1024, 3)).astype(np.float32)
    corners = rng.integers(0, 900, (boxes, 2))
    sizes = rng.integers(40, 120, (boxes, 2))
    box_list = [(int(x), int(y), int(x + w), int(y + h)) for (x, y), (w, h) in zip(corners, sizes)]
    with tempfile.TemporaryDirectory() as tmp:
        seg = load_segmenter(_save(kind, Path(tmp) / kind), device=device, precision="fp32")
        batched = _timed(lambda: seg.masks_for_boxes(image, box_list), repeats)
        naive = _timed(lambda: [seg.masks_for_boxes(image, [b]) for b in box_list], repeats)
    return {
        "model": "sam2.1-hiera-tiny (random)" if kind == "sam2" else "sam-vit-base (random)",
        "parameters_m": round(sum(p.numel() for p in seg.model.parameters()) / 1e6, 1),
        "boxes": boxes,
        "batched_s": round(batched, 3),
        "naive_s": round(naive, 3),
        "masks_per_s": round(boxes / batched, 2),
        "naive_masks_per_s": round(boxes / naive, 2),
        "speedup": round(naive / batched, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=8)
    parser.add_argument("--sam", action="store_true", help="also SAM ViT-B")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    kinds = ["sam2", "sam"] if args.sam else ["sam2"]
    results = [measure(k, args.boxes, args.device, args.repeats) for k in kinds]
    print(json.dumps({"device": args.device, "threads": torch.get_num_threads(),
                      "results": results}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
