"""Segment speed and memory: masks per second for one 1008 px tile, and the peak memory
of a tiled 8192 x 8192 scene, each against the naive way in the same run.

- **Tile** (``--real``: the real-size SAM 3 architecture, ``transformers.Sam3Config()``
  defaults: a 32-layer ViT of 1024 at 1008 px, 14 px patches, the 24-layer CLIP text
  encoder, 200 DETR queries; random weights, speed does not depend on weight values; the
  processor is SAM 3's own at its defaults). Candidate masks per second (queries x
  phrases / seconds) of :meth:`PhraseSegmenter.segment`, which runs the vision backbone
  once per tile and the text/DETR/mask heads once per phrase, against the naive way: one
  full ``Sam3Model`` forward (vision included) per phrase.
- **Scene**: the 8192 x 8192 scene in 1008 px tiles (overlap 126) through
  :func:`segment_tiles`, in a child process; peak resident memory beyond the image and
  the loaded model, against the naive way, the whole scene given to the model at once
  (one 1008 px view of it, masks post-processed to 8192 x 8192), run under an 8 GB address
  limit. Without ``--real`` the scene uses a small SAM 3 with the real 200 queries and
  288 px mask grid (memory beyond the model is the instances and their masks, not the
  backbone); ``--scene-tiles N`` stops after N tiles (the real-size backbone takes
  minutes per tile on a loaded 2-core CPU).

Prints JSON. ``python benchmarks/bench_segment.py [--real] [--phrases 2] [--scene-tiles N]``;
``accelerator_figures(device)`` is what ``gpu_check.py`` calls.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "src"))

PHRASES = ["storage tank", "ship", "house", "building"]


def build(real: bool, device: str = "cpu", dtype=torch.float32):
    """A SAM 3 :class:`PhraseSegmenter` (random weights): real-size or small."""
    from transformers import Sam3Config, Sam3Model, Sam3Processor
    from transformers.models.sam3.image_processing_sam3 import Sam3ImageProcessor

    from fixtures.segmenter_models import sam3_tokenizer, tiny_sam3_config
    from napari_clipcap.core.segmentation.model import PhraseSegmenter

    tok = sam3_tokenizer()
    bos, eos = tok.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"])
    if real:
        config = Sam3Config()
        images = Sam3ImageProcessor()
    else:
        config = tiny_sam3_config(len(tok), bos, eos, side=112)
        config.detr_decoder_config.num_queries = 200
        images = Sam3ImageProcessor(
            size={"height": 112, "width": 112}, mask_size={"height": 288, "width": 288}
        )
    torch.manual_seed(0)
    model = Sam3Model(config).to(device, dtype).eval()
    processor = Sam3Processor(image_processor=images, tokenizer=tok)
    return PhraseSegmenter(model, processor, "sam3-random", device, dtype), config


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def tile_figures(seg, config, phrases: int, device: str = "cpu") -> dict:
    """One 1008 px tile: shared vision pass vs one full forward per phrase."""
    tile = np.random.default_rng(0).random((1008, 1008, 3)).astype(np.float32)
    words = (PHRASES * 4)[:phrases]
    queries = int(config.detr_decoder_config.num_queries)
    seg.segment(tile[:64, :64], words[:1], threshold=1.0)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    seg.segment(tile, words, threshold=1.0)
    _sync(device)
    shared = time.perf_counter() - t0
    pixels = (tile * 255).astype(np.uint8)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for word in words:  # the naive way: the whole pipeline once per phrase
            inputs = seg.processor(images=pixels, text=[word], return_tensors="pt").to(device)
            inputs["pixel_values"] = inputs["pixel_values"].to(seg.dtype)
            out = seg.model(**inputs)
            seg.instances(out, (1008, 1008), word, 1.0, 0.5)
    _sync(device)
    naive = time.perf_counter() - t0
    masks = queries * len(words)
    return {
        "tile_px": 1008,
        "phrases": len(words),
        "candidate_masks": masks,
        "shared_vision_s": round(shared, 2),
        "per_phrase_forward_s": round(naive, 2),
        "masks_per_s": round(masks / shared, 2),
        "naive_masks_per_s": round(masks / naive, 2),
        "speedup": round(naive / shared, 2),
    }


def _scene_child(args) -> dict:
    """Run in a child: peak RSS of one scene run beyond the image and the model."""
    from napari_clipcap.core.segmentation.tiling import paint_labels, segment_tiles

    seg, _ = build(args.real)
    side = args.side
    image = np.zeros((side, side, 3), np.float32)
    image[::97, :, :] = 1.0  # touch every page: the image is resident before the baseline
    base = _rss_mb()
    t0 = time.perf_counter()
    if args.mode == "tiled":
        step = 1008 - 126
        n = int(np.ceil((side - 126) / step))
        areas = None
        if args.scene_tiles:
            rows = max(1, int(np.ceil(args.scene_tiles / n)))
            areas = [(0, 0, side, min(side, rows * step + 126))]
        found = segment_tiles(seg, image, ["storage tank"], tile=1008, overlap=126, areas=areas,
                              threshold=args.threshold)  # fmt: skip
    else:
        found = [t for t in seg.segment(image, ["storage tank"], threshold=args.threshold)]
    labels = paint_labels(found, image.shape) if args.mode == "tiled" else None
    del labels
    return {
        "mode": args.mode,
        "seconds": round(time.perf_counter() - t0, 1),
        "instances": len(found),
        "peak_beyond_image_and_model_mb": round(_rss_mb() - base, 1),
    }


def scene_figures(real: bool, side: int, scene_tiles: int | None, threshold: float) -> dict:
    out = {"scene_px": side, "model": "real-size" if real else "small, 200 queries"}
    for mode in ("tiled", "whole"):
        cmd = [sys.executable, __file__, "--child", mode, "--side", str(side)]
        cmd += ["--threshold", str(threshold)] + (["--real"] if real else [])
        if scene_tiles:
            cmd += ["--scene-tiles", str(scene_tiles)]
        limit = "" if mode == "tiled" else "ulimit -v 8388608; "
        proc = subprocess.run(
            ["bash", "-c", limit + " ".join(map(repr, cmd))], capture_output=True, text=True
        )
        if proc.returncode == 0:
            out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
        else:
            tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
            out[mode] = {"failed": f"rc {proc.returncode}: {tail}"}
    return out


def accelerator_figures(device: str, small: bool = False) -> dict:
    """Tile figures on ``device`` (fp16 on CUDA), for ``gpu_check.py``; ``small`` uses the
    small model to check the code path."""
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    seg, config = build(not small, device, dtype)
    result = {"tile": tile_figures(seg, config, 4, device)}
    seconds = result["tile"]["shared_vision_s"] / 4  # one phrase per tile
    tiles = int(np.ceil((8192 - 126) / (1008 - 126))) ** 2
    result["scene_8192_estimate_s"] = round(seconds * tiles, 1)
    return result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", action="store_true", help="the real-size SAM 3 architecture")
    ap.add_argument("--phrases", type=int, default=2)
    ap.add_argument("--side", type=int, default=8192)
    ap.add_argument("--scene-tiles", type=int, default=None)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--skip-tile", action="store_true")
    ap.add_argument("--skip-scene", action="store_true")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.child:
        args.mode = args.child
        print(json.dumps(_scene_child(args)))
        return {}
    result = {"benchmark": "segment", "threads": torch.get_num_threads()}
    if not args.skip_tile:
        seg, config = build(args.real)
        result["tile"] = tile_figures(seg, config, args.phrases)
        result["tile"]["model"] = "real-size SAM 3" if args.real else "small SAM 3"
        result["tile"]["rss_peak_mb"] = round(_rss_mb(), 1)
        del seg
    if not args.skip_scene:
        result["scene"] = scene_figures(args.real, args.side, args.scene_tiles, args.threshold)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
