"""Ask speed: time to the first token and tokens per second of an answer about one region.

The real-size SmolVLM2-256M architecture (SigLIP 12 x 768 at 512 px tiles, 16 px patches,
pixel shuffle 4 -> 64 tokens per tile; SmolLM2-135M text model, 30 layers of 576,
vocabulary 49,280), random weights (speed does not depend on weight values), saved with
``save_pretrained`` and opened by the real loader (:func:`load_vlm`). The tokenizer is
trained locally; the processor is SmolVLM's own, set as the published one is (images
resized to 2048 px on the long side and split into 512 px tiles).

Compared in the same run, in alternating rounds, against transformers' plain
``generate()`` of the same model on the processor's defaults, for a 400 x 300 px region:
the plain way tiles it (an upscaled 4 x 3 grid of tiles plus the whole, 832 image
tokens); ``VisionLanguageModel.answer`` gives a crop no larger than one tile whole (64
image tokens). Both decode greedily to the same number of new tokens.

Prints JSON. ``python benchmarks/bench_ask.py [--device cpu] [--tokens 24] [--rounds 3]``;
``accelerator_figures(device)`` is what ``gpu_check.py`` calls.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.vlm_models import smolvlm_config, smolvlm_processor, smolvlm_tokenizer
from napari_clipcap.core.vlm.loading import load_vlm

TEXT_256M = {
    "vocab_size": 49280,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "max_position_embeddings": 8192,
    "rope_theta": 100000.0,
    "tie_word_embeddings": True,
}
VISION_256M = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "image_size": 512,
    "patch_size": 16,
}
QUESTION = "How many storage tanks are in this region?"


def save_smolvlm_256m(folder: Path) -> Path:
    """The real-size architecture with random weights and SmolVLM's processor."""
    from transformers import SmolVLMForConditionalGeneration

    tok = smolvlm_tokenizer()
    processor = smolvlm_processor(tok, tile=512)
    processor.image_processor.size = {"longest_edge": 2048}
    config = smolvlm_config(tok, text=TEXT_256M, vision=VISION_256M)
    torch.manual_seed(0)
    model = SmolVLMForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = None  # random weights: decode to the limit
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


class _Clock:
    """A streamer that notes when the first new token arrives."""

    def __init__(self):
        self.first = None
        self.calls = 0

    def put(self, value):
        self.calls += 1
        if self.calls == 2 and self.first is None:  # the first put is the prompt
            self.first = time.perf_counter()

    def end(self):
        pass


def plain_generate(vlm, image: np.ndarray, tokens: int) -> dict:
    """transformers' way: the processor's defaults, one ``generate()``."""
    prompt = vlm.prompt(QUESTION)
    start = time.perf_counter()
    inputs = vlm.processor(text=[prompt], images=[[image]], return_tensors="pt").to(vlm.device)
    clock = _Clock()
    with torch.inference_mode():
        out = vlm.model.generate(
            **inputs,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            do_sample=False,
            streamer=clock,
        )
    end = time.perf_counter()
    new = out.shape[1] - inputs["input_ids"].shape[1]
    return _figures(start, clock.first, end, new, int(inputs["input_ids"].shape[1]))


def project_answer(vlm, image: np.ndarray, tokens: int) -> dict:
    """``VisionLanguageModel.answer`` (the path of the Ask dock, CLI and API)."""
    first = []
    start = time.perf_counter()
    answer = vlm.answer(
        image.astype(np.float32) / 255.0,
        QUESTION,
        max_tokens=tokens,
        on_text=lambda s: first or first.append(time.perf_counter()),
    )
    end = time.perf_counter()
    prompt_len = None
    return _figures(start, first[0] if first else end, end, answer.tokens, prompt_len)


def _figures(start, first, end, new, prompt_tokens) -> dict:
    return {
        "time_to_first_token_s": round(first - start, 4),
        "tokens_per_s": round((new - 1) / max(end - first, 1e-9), 2),
        "new_tokens": int(new),
        "prompt_tokens": prompt_tokens,
        "total_s": round(end - start, 3),
    }


def measure(device: str, tokens: int, rounds: int, folder: Path) -> dict:
    vlm = load_vlm(folder, device=device)
    rng = np.random.default_rng(0)
    region = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    project_answer(vlm, region, 2)  # warm both paths once, untimed
    plain_generate(vlm, region, 2)
    runs = {"answer": [], "plain_generate": []}
    for _ in range(rounds):
        runs["answer"].append(project_answer(vlm, region, tokens))
        runs["plain_generate"].append(plain_generate(vlm, region, tokens))
    med = {
        k: {
            f: float(np.median([r[f] for r in v]))
            for f in ("time_to_first_token_s", "tokens_per_s")
        }
        for k, v in runs.items()
    }
    ratios = [
        p["time_to_first_token_s"] / a["time_to_first_token_s"]
        for a, p in zip(runs["answer"], runs["plain_generate"])
    ]
    return {
        "model": "SmolVLM2-256M architecture, random weights",
        "parameters_M": round(sum(p.numel() for p in vlm.model.parameters()) / 1e6, 1),
        "device": vlm.device,
        "dtype": str(vlm.dtype),
        "region_px": [400, 300],
        "new_tokens": tokens,
        "rounds": rounds,
        "median": med,
        "first_token_speedup_median": round(float(np.median(ratios)), 2),
        "runs": runs,
        "torch_threads": torch.get_num_threads(),
    }


def accelerator_figures(device: str = "cuda", tokens: int = 32, rounds: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return measure(device, tokens, rounds, save_smolvlm_256m(Path(tmp) / "smolvlm"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_smolvlm_256m(Path(tmp) / "smolvlm")
        print(json.dumps(measure(args.device, args.tokens, args.rounds, folder), indent=2))


if __name__ == "__main__":
    main()
