"""The benchmarks' accelerator path runs (checked here on the CPU, at small sizes)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore:No pretrained weights")
def test_heatmap_accelerator_figures_run():
    bench = _load("bench_heatmap")
    out = bench.accelerator_figures(
        "cpu", archs=("ViT-B-32",), precision="fp32", scene=448, batch=4, batches=1
    )
    figures = out["ViT-B-32"]
    assert figures["forward_images_per_s"] > 0 and figures["pipeline_images_per_s"] > 0
    assert figures["448px_sliding_finite"] and figures["448px_dense_finite"]
    assert figures["448px_sliding_s"] > 0 and figures["448px_dense_s"] > 0


@pytest.mark.filterwarnings("ignore:No pretrained weights")
def test_decoding_accelerator_figures_run(monkeypatch):
    bench = _load("bench_decoding")
    monkeypatch.setattr(bench, "TOKENS", 3)
    out = bench.accelerator_figures("cpu", torch.float32, regions=2)
    assert out["tokens"] == 3 and out["dtype"] == "float32"
    assert out["greedy_captions_per_s"] > 0 and out["beam5_captions_per_s"] > 0
