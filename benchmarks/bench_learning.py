"""Proof that training learns: the synthetic shapes data, from scratch, on the CPU.

Runs the commands a user would run, in one process:

1. write the synthetic dataset (48 classes: 3 shapes x 4 colours x 4 quadrants);
2. ``finetune-clip`` a small open_clip model (ResNet image tower) from random weights;
3. ``train-clipcap`` a ClipCap MLP mapping and a new 2-layer GPT-2 whose tokenizer is
   trained on the captions;
4. ``evaluate captions`` (COCO metrics, CLIPScore, exact match) and ``evaluate
   zeroshot`` on the held-out test images.

Caching CLIP embeddings (the fast way) is compared with the naive loop that encodes
every image again in every epoch: both figures come from this run (the measured encode
time of all training images plus the measured epoch time, against the epoch time).

    python benchmarks/bench_learning.py [--out DIR] [--threads N] [--seed S] [--quick]

Prints JSON. Targets: exact-match captions >= 0.90, zero-shot top-1 >= 0.95, total
wall time < 600 s on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# 2880 training images (60 per class) for 10 epochs, not 960 for 20: either way the
# contrastive loss ends near its floor (repeated captions in a batch of 64) and every
# training image is classified right, but on the test images circles are taken for
# squares and back, a generalisation error that more distinct images fix. Zero-shot
# top-1 over seeds: 960 x 20 epochs 0.958-0.979, 1920 x 10 0.979-0.995, 2880 x 10
# 0.995-1.0 (450 steps, about 40 s on 2 idle cores). ClipCap's mistakes are CLIP's;
# 6 epochs (270 steps) are enough for it here.
FULL = {"n_train": 2880, "n_val": 96, "n_test": 192, "clip_epochs": 10, "cap_epochs": 6}
QUICK = {"n_train": 96, "n_val": 16, "n_test": 48, "clip_epochs": 1, "cap_epochs": 1}


def _cli(argv: list[str]) -> dict:
    from napari_clipcap.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = main([*argv, "--json", "--device", "cpu"])
    if status != 0:
        raise RuntimeError(f"napari-clipcap {argv[0]} failed with status {status}")
    return json.loads(buf.getvalue())


def run(
    out: Path, sizes: dict, *, seed: int = 0, coco_metrics: str = "bleu,meteor,rouge,cider"
) -> dict:
    """Run the whole proof in ``out`` with ``seed`` for both trainings; returns the figures."""
    from napari_clipcap.core.clip.model import load_clip
    from napari_clipcap.core.samples import learning_set as synthetic
    from napari_clipcap.core.training.data import image_embeddings
    from napari_clipcap.core.training.datasets import read_caption_dataset

    t0 = time.perf_counter()
    times = {}
    csv = synthetic.make_synthetic_dataset(
        out / "data", n_train=sizes["n_train"], n_val=sizes["n_val"], n_test=sizes["n_test"]
    )
    cfg = synthetic.write_clip_config(out / "synth-clip.json")
    times["data_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    tuned = _cli(
        [
            "finetune-clip",
            str(csv),
            "--out",
            str(out / "clip"),
            "--clip",
            str(cfg),
            "--epochs",
            str(sizes["clip_epochs"]),
            "--batch-size",
            "64",
            "--lr",
            "1e-3",
            "--weight-decay",
            "0",
            "--warmup",
            "20",
            "--augment",
            "none",
            "--template",
            synthetic.TEMPLATE,
            "--seed",
            str(seed),
        ]
    )
    times["finetune_clip_s"] = time.perf_counter() - t
    clip_args = ["--clip", tuned["model"], "--clip-weights", tuned["weights"]]

    t = time.perf_counter()
    trained = _cli(
        [
            "train-clipcap",
            str(csv),
            "--out",
            str(out / "clipcap"),
            *clip_args,
            "--new-decoder",
            "2x64",
            "--prefix-length",
            "4",
            "--epochs",
            str(sizes["cap_epochs"]),
            "--batch-size",
            "64",
            "--lr",
            "3e-3",
            "--warmup",
            "20",
            "--seed",
            str(seed),
        ]
    )
    times["train_clipcap_s"] = time.perf_counter() - t

    t = time.perf_counter()
    caps = _cli(
        [
            "evaluate",
            "captions",
            str(csv),
            "--weights",
            trained["model_dir"],
            *clip_args,
            "--metrics",
            f"{coco_metrics},clipscore",
            "--out",
            str(out / "report-captions"),
        ]
    )["captions"]
    zs = _cli(
        [
            "evaluate",
            "zeroshot",
            str(csv),
            *clip_args,
            "--template",
            synthetic.TEMPLATE,
            "--out",
            str(out / "report-zeroshot"),
        ]
    )["zeroshot"]
    times["evaluate_s"] = time.perf_counter() - t
    times["total_s"] = time.perf_counter() - t0

    # cached vs naive: what one epoch costs when every image is encoded again
    clip = load_clip(tuned["model"], tuned["weights"], "cpu")
    train = read_caption_dataset(csv).split("train").records
    t = time.perf_counter()
    image_embeddings(clip, [r.image for r in train], model_id="bench")  # no cache
    encode_s = time.perf_counter() - t
    epoch_s = min(h["train_seconds"] for h in trained["history"])

    return {
        "benchmark": "learning",
        "dataset": {k: sizes[k] for k in ("n_train", "n_val", "n_test")},
        "classes": len(synthetic.labels()),
        "seed": seed,
        "exact_match": caps["exact_match"],
        "zero_shot_top1": zs["top1"],
        "zero_shot_top5": zs["topk"],
        "caption_metrics": {
            k: v
            for k, v in caps.items()
            if k[:4] in ("Bleu", "METE", "ROUG", "CIDE", "CLIP", "RefC")
        },
        "clip_final_loss": tuned["history"][-1]["loss"],
        "clipcap_final_val_loss": trained["history"][-1]["val_loss"],
        "samples": caps["samples"][:3],
        "seconds": {k: round(v, 1) for k, v in times.items()},
        "epoch_cached_s": round(epoch_s, 3),
        "epoch_naive_s": round(epoch_s + encode_s, 3),
        "caching_speedup": round((epoch_s + encode_s) / epoch_s, 2),
        "targets_met": {
            "exact_match>=0.90": caps["exact_match"] >= 0.90,
            "zero_shot_top1>=0.95": zs["top1"] >= 0.95,
            "total<600s": times["total_s"] < 600,
        },
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="working folder (default: a temporary one)")
    p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check it runs")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of both trainings (initial weights, order)"
    )
    a = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    sizes = QUICK if a.quick else FULL
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(a.out) if a.out else Path(tmp)
        res = run(out, sizes, seed=a.seed)
    res["torch_threads"] = torch.get_num_threads()
    res["cpu_count"] = os.cpu_count()
    res["load_average_1min"] = os.getloadavg()[0]
    json.dump(res, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
