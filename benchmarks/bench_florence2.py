"""Florence-2 speed: captions per second and tiled detection time per megapixel.

The real-size base architecture (DaViT vision tower 128-256-512-1024, depths 1-1-9-1;
BART-base text model, 6 + 6 layers of 768, vocabulary 51,289; 768 x 768 input, 577
image tokens) with random weights: speed does not depend on weight values. Every
generation is forced to the same number of new tokens, so random weights cannot make a
run short. Compared against the naive way, one image per ``generate`` call.

Prints JSON. ``python benchmarks/bench_florence2.py [--device cpu] [--tokens 20]``;
``accelerator_figures(device, small=False)`` is what ``gpu_check.py`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from napari_clipcap.core.captioning.florence2.captioner import Florence2Captioner
from napari_clipcap.core.captioning.florence2.tasks import detect_phrases

SENTENCES = ["ships near storage tanks in a harbour.", "a spiral galaxy with bright arms."]
BASE = {
    "vision": {"projection_dim": 768},  # the rest are Florence2VisionConfig's defaults
    "text": {
        "d_model": 768,
        "encoder_layers": 6,
        "decoder_layers": 6,
        "encoder_attention_heads": 12,
        "decoder_attention_heads": 12,
        "encoder_ffn_dim": 3072,
        "decoder_ffn_dim": 3072,
        "max_position_embeddings": 1024,
        "vocab_size": 51289,
    },
    "image": 768,
}
TINY = {
    "vision": {
        "depths": [1, 1],
        "patch_size": [7, 3],
        "patch_stride": [4, 2],
        "patch_padding": [3, 1],
        "patch_prenorm": [False, True],
        "embed_dim": [16, 32],
        "num_heads": [2, 4],
        "num_groups": [2, 4],
        "window_size": 4,
        "projection_dim": 32,
        "max_position_embeddings": 16,
    },
    "text": {
        "d_model": 32,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
        "max_position_embeddings": 256,
        "vocab_size": 1400,
    },
    "image": 64,
}


def _tokenizer():
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartTokenizer

    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(SENTENCES * 4, vocab_size=300, special_tokens=specials)
    tok = BartTokenizer(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        extra_special_tokens={"image_token": "<image>"},
    )
    tok.add_tokens([f"<loc_{i}>" for i in range(1000)])
    return tok


def build(sizes: dict, device: str, dtype) -> Florence2Captioner:
    """A random-weight Florence-2 of ``sizes`` (:data:`BASE` or :data:`TINY`)."""
    from transformers import (
        CLIPImageProcessor,
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
    )

    tok = _tokenizer()
    text = dict(sizes["text"], model_type="bart")
    text["vocab_size"] = max(text["vocab_size"], len(tok))
    ids = {k: getattr(tok, f"{k}_token_id") for k in ("bos", "eos", "pad")}
    text.update({f"{k}_token_id": v for k, v in ids.items()}, decoder_start_token_id=ids["eos"])
    cfg = Florence2Config(
        vision_config=dict(sizes["vision"], drop_path_rate=0.0),
        text_config=text,
        image_token_id=tok.image_token_id,
    )
    torch.manual_seed(0)
    model = Florence2ForConditionalGeneration(cfg).to(device, dtype).eval()
    side = sizes["image"]
    images = CLIPImageProcessor(size={"height": side, "width": side}, do_center_crop=False)
    images.image_seq_length = (side // 32 if sizes is BASE else side // 8) ** 2 + 1
    processor = Florence2Processor(images, tok, post_processor_config={"pure_text": {}})
    return Florence2Captioner(model, processor, "florence2:random", device, dtype)


def _timed(fn, sync) -> float:
    sync()
    t = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t


def figures(captioner, *, images: int, tokens: int, scene: int, tile: int, overlap: int) -> dict:
    """Batched and one-by-one captions/s, and tiled detection time on a square scene."""
    dev = captioner.device
    sync = torch.cuda.synchronize if str(dev).startswith("cuda") else (lambda: None)
    side = captioner.processor.image_processor.size["height"]
    rng = np.random.default_rng(0)
    batch = [rng.random((side, side, 3), dtype=np.float32) for _ in range(images)]
    opts = {"max_tokens": tokens, "min_tokens": tokens}
    captioner.caption(batch[:1], max_tokens=2)  # warm-up
    batched = _timed(lambda: captioner.caption(batch, batch_size=images, **opts), sync)
    naive = _timed(lambda: [captioner.caption([im], **opts) for im in batch], sync)
    big = rng.random((scene, scene, 3), dtype=np.float32)
    found: list = []
    detect_s = _timed(
        lambda: found.extend(
            detect_phrases(
                captioner, big, "ships", tile=tile, overlap=overlap, beam_size=1, **opts
            )
        ),
        sync,
    )
    mp = scene * scene / 1e6
    return {
        "images": images,
        "new_tokens": tokens,
        "captions_per_s": round(images / batched, 3),
        "naive_captions_per_s": round(images / naive, 3),
        "batched_over_naive": round(naive / batched, 2),
        "scene_px": scene,
        "tile": tile,
        "overlap": overlap,
        "detect_s": round(detect_s, 2),
        "detect_s_per_megapixel": round(detect_s / mp, 2),
        "megapixels_per_s": round(mp / detect_s, 4),
        "detections_per_megapixel_random_weights": round(len(found) / mp, 1),
    }


def accelerator_figures(device: str, small: bool = False) -> dict:
    """Base architecture in fp16 (fp32 on the CPU); ``small``: the tiny sizes."""
    dtype = torch.float32 if device == "cpu" else torch.float16
    cap = build(TINY if small else BASE, device, dtype)
    sizes = (
        {"images": 2, "tokens": 4, "scene": 96, "tile": 64, "overlap": 16}
        if small
        else {"images": 16, "tokens": 32, "scene": 4096, "tile": 768, "overlap": 64}
    )
    return {"architecture": "tiny" if small else "base", "dtype": str(dtype)[6:]} | figures(
        cap, **sizes
    )


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=20)
    ap.add_argument("--scene", type=int, default=1280)
    ap.add_argument("--tile", type=int, default=768)
    ap.add_argument("--overlap", type=int, default=256)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    cap = build(BASE, args.device, torch.float32)
    result = {
        "benchmark": "florence2",
        "architecture": "base (random weights)",
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "parameters_m": round(sum(p.numel() for p in cap.model.parameters()) / 1e6, 1),
    }
    opts = {k: getattr(args, k) for k in ("images", "tokens", "scene", "tile", "overlap")}
    result |= figures(cap, **opts)
    result["seconds"] = round(time.perf_counter() - t, 1)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
