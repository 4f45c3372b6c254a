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

from fixtures.vlm_models import (
    save_tiny_qwen_vl,
    save_tiny_smolvlm,
    smolvlm_config,
    smolvlm_processor,
    smolvlm_tokenizer,
)
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
#: Qwen2.5-VL-3B as published (the GPU figure's model): text and vision towers.
QWEN_3B = {
    "text": {
        "hidden_size": 2048,
        "intermediate_size": 11008,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "max_position_embeddings": 128000,
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
        "rope_parameters": {
            "rope_type": "default",
            "mrope_section": [16, 24, 24],
            "rope_theta": 1000000.0,
        },
        "tie_word_embeddings": True,
    },
    "vision": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 2048,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
    },
}


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
    """``VisionLanguageModel.answer`` (the path of the Ask dock, CLI and API).

    The first token's time is when its streamer first decodes (text may come later:
    a random model's first token can decode to nothing printable).
    """
    tokenizer = vlm.tokenizer
    real, first = tokenizer.decode, []

    def timed(*args, **kwargs):
        if not first:
            first.append(time.perf_counter())
        return real(*args, **kwargs)

    tokenizer.decode = timed
    try:
        start = time.perf_counter()
        answer = vlm.answer(image.astype(np.float32) / 255.0, QUESTION, max_tokens=tokens,
                            on_text=lambda s: None)  # fmt: skip
        end = time.perf_counter()
    finally:
        del tokenizer.decode  # the class's own method again
    return _figures(start, first[0], end, answer.tokens, None)


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


def save_qwen_3b(folder: Path) -> Path:
    """Qwen2.5-VL-3B's architecture with random weights (the tiny fixture's tokenizer
    and processor, the published sizes), saved in bf16."""
    from transformers import AutoModelForImageTextToText, Qwen2_5_VLConfig

    save_tiny_qwen_vl(folder)  # tokenizer, processor and the tiny config's token ids
    tiny = Qwen2_5_VLConfig.from_pretrained(folder)
    text = {**tiny.text_config.to_dict(), **QWEN_3B["text"]}
    vision = {**tiny.vision_config.to_dict(), **QWEN_3B["vision"]}
    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=tiny.image_token_id,
        video_token_id=tiny.video_token_id,
        vision_start_token_id=tiny.vision_start_token_id,
        vision_end_token_id=tiny.vision_end_token_id,
    )
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16)
    model.generation_config.eos_token_id = None  # random weights: decode to the limit
    model.save_pretrained(folder)
    return folder


def time_to_answer(vlm, tokens: int, rounds: int) -> dict:
    """Time to the first token and tokens/s of ``answer`` about one region (GPU figure)."""
    region = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    project_answer(vlm, region, 2)  # warm-up, untimed
    runs = [project_answer(vlm, region, tokens) for _ in range(rounds)]
    return {
        "time_to_first_token_s": float(np.median([r["time_to_first_token_s"] for r in runs])),
        "tokens_per_s": float(np.median([r["tokens_per_s"] for r in runs])),
        "runs": runs,
    }


def accelerator_figures(device: str = "cuda", small: bool = False) -> dict:
    """SmolVLM2-256M against plain ``generate()``, and Qwen2.5-VL-3B's time to the first
    token in bf16 (``small``: the tiny fixtures, to check the code path on a CPU)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if small:
            smol = measure(device, 3, 1, save_tiny_smolvlm(tmp / "smolvlm"))
            qwen = load_vlm(save_tiny_qwen_vl(tmp / "qwen"), device=device)
            return {"smolvlm": smol, "qwen": {"architecture": "tiny"}
                    | time_to_answer(qwen, 3, 1)}  # fmt: skip
        smol = measure(device, 32, 3, save_smolvlm_256m(tmp / "smolvlm"))
        qwen = load_vlm(save_qwen_3b(tmp / "qwen"), device=device, precision="bf16")
        return {
            "smolvlm": smol,
            "qwen": {"architecture": "Qwen2.5-VL-3B, random weights", "dtype": "bf16"}
            | time_to_answer(qwen, 32, 3),
            "goal": "under 0.5 s to the first token of an answer about one region",
        }


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
