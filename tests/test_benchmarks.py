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


def test_decoding_head_figures_time_every_available_head():
    from transformers import GPT2Config, GPT2LMHeadModel

    from napari_clipcap.core.decoding._cpu.screened_argmax import available_screens

    bench = _load("bench_decoding")
    torch.manual_seed(0)
    gpt = GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=300)).eval()
    out = bench.head_figures(gpt, torch.randn(2, 4, 32), repeats=2, sweep_bytes=1 << 16)
    assert set(out) == {*available_screens(), "float32"}
    assert all(ms > 0 for ms in out.values())


@pytest.mark.filterwarnings("ignore:No pretrained weights")
def test_gpu_check_runs_on_the_cpu_at_small_sizes(tmp_path, monkeypatch):
    """The one prepared device script runs every benchmark's accelerator path (decoding,
    heatmap, Florence-2, Ask, Segment) end to end: the GPU run must not be the first."""
    import json

    bench = _load("gpu_check")
    # one of its two device-test files: the counting is what is checked here; the suite
    # runs both files itself
    monkeypatch.setattr(bench, "DEVICE_TESTS", ("tests/core/test_registry_devices.py",))
    out = tmp_path / "gpu_check.json"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny models are far faster on one thread of a busy machine
    try:
        result = bench.main(["--device", "cpu", "--small", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert json.loads(out.read_text()) == result
    assert result["machine"]["device"] == "cpu"
    assert result["tests"]["exit_code"] == 0 and result["tests"]["failed"] == 0
    assert result["tests"]["passed"] > 0
    decoding = result["decoding"]
    assert decoding["dtype"] == "float32"
    assert decoding["greedy_captions_per_s"] > 0 and decoding["beam5_captions_per_s"] > 0
    heatmap = result["heatmap"]["ViT-B-32"]
    assert heatmap["forward_images_per_s"] > 0 and heatmap["pipeline_images_per_s"] > 0
    assert heatmap["224px_sliding_finite"] and heatmap["224px_dense_finite"]
    assert heatmap["224px_sliding_s"] > 0 and heatmap["224px_dense_s"] > 0
    florence2 = result["florence2"]
    assert florence2["architecture"] == "tiny" and florence2["new_tokens"] == 4
    assert florence2["captions_per_s"] > 0 and florence2["naive_captions_per_s"] > 0
    assert florence2["detect_s"] > 0 and florence2["megapixels_per_s"] > 0
    ask = result["ask"]
    assert ask["smolvlm"]["median"]["answer"]["time_to_first_token_s"] > 0
    assert ask["smolvlm"]["median"]["plain_generate"]["tokens_per_s"] > 0
    assert ask["qwen"]["time_to_first_token_s"] > 0 and ask["qwen"]["tokens_per_s"] > 0
    assert result["segment"]["tile"]["shared_vision_s"] > 0
    assert result["segment"]["scene_8192_estimate_s"] > 0


def test_ask_qwen_3b_builder_runs_at_tiny_sizes(tmp_path, monkeypatch):
    # the GPU figure's model is built from the published sizes over the fixture's
    # tokenizer; the same code at tiny sizes checks the path on a CPU
    bench = _load("bench_ask")
    text = {**bench.QWEN_3B["text"], "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
            "vocab_size": 512}  # fmt: skip
    text["rope_scaling"] = {"type": "mrope", "mrope_section": [2, 3, 3]}
    text["rope_parameters"] = {**text["rope_parameters"], "mrope_section": [2, 3, 3]}
    vision = {**bench.QWEN_3B["vision"], "depth": 2, "hidden_size": 32, "intermediate_size": 64,
              "num_heads": 2, "out_hidden_size": 32, "fullatt_block_indexes": [1]}  # fmt: skip
    monkeypatch.setattr(bench, "QWEN_3B", {"text": text, "vision": vision})
    vlm = bench.load_vlm(bench.save_qwen_3b(tmp_path / "qwen"), device="cpu", precision="bf16")
    out = bench.time_to_answer(vlm, 3, 1)
    assert out["time_to_first_token_s"] > 0
