"""The small models behind the docs' screenshots, trained in seconds on the overhead sample.

:func:`build_models` makes them in a folder, with fixed seeds and no network:

1. the tiny open_clip ViT of the test fixtures (random weights), fine-tuned
   contrastively with the project's own trainer
   (:func:`napari_clipcap.core.training.finetune_clip.finetune_clip`) on jittered crops
   of the overhead sample's regions (:data:`REGIONS`), each paired with its label in
   simple prompts ("a river", "an aerial photograph of a river.", ...);
2. a tiny ClipCap (2-layer GPT-2, MLP mapping) trained on that CLIP's embeddings of the
   same crops, so that its captions are sentences.

:func:`check_clip` then asserts what the screenshots show: each region's top label is
its own, and the "river" heatmap is hotter on the river than off it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

#: Regions of the overhead sample (row0, col0, row1, col1), their label and a caption.
REGIONS = {
    "river": ((40, 120, 200, 215), "a river winds through green fields."),
    "village": ((215, 235, 360, 375), "houses and roads in a small village."),
    "forest": ((310, 350, 490, 495), "a dense dark green forest."),
    "fields": ((20, 300, 170, 500), "yellow farmland crossed by straight roads."),
}
#: The labels typed in the Region labels screenshot: the four regions and a distractor.
LABELS = ("river", "village", "forest", "fields", "airport")
#: Prompts each region's crops are paired with during fine-tuning ({} is the label).
PROMPTS = (
    "{}",
    "a {}",
    "an aerial photograph of {}.",
    "a satellite image of {}.",
    "an aerial view of {}.",
    "a remote sensing image of {}.",
    "a satellite photo showing {}.",
)
#: The heatmap settings of the screenshot, checked by :func:`check_clip`.
HEATMAP = {"window": 64, "stride": 16, "template": "an aerial photograph of {}."}
CROPS_PER_REGION = 16
JITTER = 12


def overhead_image() -> np.ndarray:
    """The overhead sample as the models see it: float32 RGB in [0, 1]."""
    from napari_clipcap._napari.sample_data import overhead_sample
    from napari_clipcap.core.scaling.model_input import to_model_input

    return to_model_input(overhead_sample()[0][0], domain="satellite")


def river_mask(image: np.ndarray) -> np.ndarray:
    """Pixels of the sample's river water (its one blue-grey colour, 45, 70, 85)."""
    return np.abs(image * 255 - np.array([45, 70, 85])).sum(-1) < 12


def forest_mask(size: int = 512) -> np.ndarray:
    """The sample's forest patch (the ellipse ``synthetic_overhead`` paints)."""
    yy, xx = np.mgrid[0:size, 0:size]
    return np.hypot((yy - 0.8 * size) / 1.4, xx - 0.82 * size) < 0.16 * size


def window_label(masks, r: int, c: int, size: int) -> str | None:
    """What a ``size`` window at row ``r``, column ``c`` shows, or None when it is mixed;
    ``masks`` are the river and forest masks."""
    river = masks[0][r : r + size, c : c + size].mean()
    forest = masks[1][r : r + size, c : c + size].mean()
    vr0, vc0, vr1, vc1 = REGIONS["village"][0]
    in_village = vr0 <= r + size / 2 < vr1 and vc0 <= c + size / 2 < vc1
    if river > 0.08 and forest == 0 and not in_village:
        return "river"
    if forest > 0.6:
        return "forest"
    if in_village and river == 0 and forest < 0.1:
        return "village"
    if river == 0 and forest == 0 and not in_village:
        return "fields"
    return None


def region_crops(image: np.ndarray, per_region: int = CROPS_PER_REGION, seed: int = 0):
    """Training crops: ``per_region`` jittered crops of each of :data:`REGIONS`, and as
    many heatmap-sized windows of each kind drawn anywhere in the scene (a window is
    "river" when the river crosses it, "fields" when it has no river, forest or village).

    Returns
    -------
    crops : list of ndarray
    names : list of str
        Each crop's region name.
    """
    rng = np.random.default_rng(seed)
    crops, names = [], []
    for name, ((r0, c0, r1, c1), _) in REGIONS.items():
        for _ in range(per_region):
            dr, dc = rng.integers(-JITTER, JITTER + 1, 2)
            crops.append(image[max(r0 + dr, 0) : r1 + dr, max(c0 + dc, 0) : c1 + dc])
            names.append(name)
    size, wanted = HEATMAP["window"], dict.fromkeys(REGIONS, per_region)
    masks = river_mask(image), forest_mask(image.shape[0])
    for _ in range(5000):
        if not any(wanted.values()):
            break
        r, c = rng.integers(0, image.shape[0] - size + 1, 2)
        name = window_label(masks, r, c, size)
        if name is not None and wanted[name]:
            crops.append(image[r : r + size, c : c + size])
            names.append(name)
            wanted[name] -= 1
    return crops, names


def finetune_tiny_clip(folder: Path, crops, names, log=print) -> tuple[Path, Path]:
    """Fine-tune the fixtures' tiny CLIP on ``crops``; returns (config, weights)."""
    from PIL import Image

    from fixtures.clip_models import build_tiny_clip_files
    from napari_clipcap.core.training.datasets import CaptionDataset, CaptionRecord
    from napari_clipcap.core.training.finetune_clip import FinetuneConfig, finetune_clip

    files = build_tiny_clip_files(folder / "clip")
    (folder / "crops").mkdir(parents=True, exist_ok=True)
    records = []
    for i, (crop, name) in enumerate(zip(crops, names, strict=True)):
        path = folder / "crops" / f"{name}-{i:03d}.png"
        Image.fromarray((crop * 255).round().astype(np.uint8)).save(path)
        records.append(CaptionRecord(path, [p.format(name) for p in PROMPTS], "train", name))
    config = FinetuneConfig(
        epochs=24, batch_size=16, lr=2e-3, weight_decay=0.0, warmup_steps=10,
        augment=("flip", "rot90"), seed=0,
    )  # fmt: skip
    start = time.perf_counter()
    result = finetune_clip(
        CaptionDataset(records, folder / "crops"), folder / "clip-overhead",
        clip_model=str(files.config), clip_weights=str(files.safetensors), config=config,
        device="cpu",
    )  # fmt: skip
    log(
        f"tiny CLIP fine-tuned in {time.perf_counter() - start:.1f} s "
        f"({len(records)} crops), contrastive loss {result.history[0]['loss']:.3f} -> "
        f"{result.history[-1]['loss']:.3f}"
    )
    return Path(result.model), Path(result.weights)


def train_tiny_clipcap(folder: Path, clip, crops, names, log=print) -> tuple[Path, Path]:
    """Train a tiny ClipCap on ``clip``'s embeddings of ``crops`` with their region's
    caption; returns (checkpoint, decoder folder)."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    from napari_clipcap.core.captioning.clipcap.mapping import MappingConfig
    from napari_clipcap.core.captioning.clipcap.model import ClipCapModel, save_clipcap

    captions = [REGIONS[n][1] for n in names]
    emb = torch.from_numpy(clip.encode_images(crops, normalize=False))
    decoder = folder / "gpt2"
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(captions * 4, vocab_size=300, min_frequency=1,
                            special_tokens=["<|endoftext|>"])  # fmt: skip
    tok = GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>",
                            eos_token="<|endoftext|>", unk_token="<|endoftext|>")  # fmt: skip
    tok.save_pretrained(decoder)
    torch.manual_seed(0)
    gpt = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=64,
                                     n_layer=2, n_head=2))  # fmt: skip
    gpt.save_pretrained(decoder)
    model = ClipCapModel(MappingConfig("mlp", emb.shape[1], 64, 4), gpt, tok,
                         normalize_prefix=True, meta={"decoder": str(decoder)})  # fmt: skip
    ids = [tok(c)["input_ids"] + [tok.eos_token_id] for c in captions]
    tokens = torch.zeros((len(ids), max(len(i) for i in ids)), dtype=torch.long)
    mask = torch.zeros_like(tokens)
    for r, seq in enumerate(ids):
        tokens[r, : len(seq)], mask[r, : len(seq)] = torch.tensor(seq), 1
    targets = tokens.masked_fill(mask == 0, -100).reshape(-1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    start = time.perf_counter()
    for _ in range(200):
        logits = model(emb, tokens, mask)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    log(f"tiny ClipCap trained in {time.perf_counter() - start:.1f} s, loss {loss.item():.3f}")
    return save_clipcap(model, folder / "tiny-clipcap-overhead"), decoder


def build_models(folder: Path, log=print) -> dict:
    """Fine-tune the tiny CLIP, check it, and train a ClipCap on it, all in ``folder``.

    Returns
    -------
    dict
        ``clip_model`` (config JSON), ``clip_weights``, ``clipcap`` (checkpoint),
        ``decoder`` (GPT-2 folder) and ``figures`` (from :func:`check_clip`).
    """
    import torch

    from napari_clipcap.core.clip.model import load_clip

    image = overhead_image()
    crops, names = region_crops(image)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: more threads only fight over shared cores
    try:
        config, weights = finetune_tiny_clip(folder, crops, names, log)
        clip = load_clip(str(config), str(weights), "cpu")
        log("fine-tuned CLIP on the overhead sample:")
        figures = check_clip(clip, image, log)
        clipcap, decoder = train_tiny_clipcap(folder, clip, crops, names, log)
    finally:
        torch.set_num_threads(threads)
    return {"clip_model": config, "clip_weights": weights, "clipcap": clipcap,
            "decoder": decoder, "figures": figures}  # fmt: skip


def check_clip(clip, image: np.ndarray, log=print) -> dict:
    """Assert that each region's top label is its own and that "river" lights the river.

    Returns the figures: per region its top label and probability; the "river" heatmap's
    mean over the river's pixels and over each other region (river pixels left out).
    """
    from napari_clipcap.core.tasks.heatmap import text_heatmap
    from napari_clipcap.core.tasks.labels import score_regions

    boxes = [(c0, r0, c1, r1) for (r0, c0, r1, c1), _ in (v for v in REGIONS.values())]
    probs = score_regions(image, boxes, list(LABELS), clip, templates="satellite")
    figures: dict = {"regions": {}}
    wrong = []
    for name, row in zip(REGIONS, probs, strict=True):
        top = LABELS[int(np.argmax(row))]
        figures["regions"][name] = (top, float(row.max()))
        log(f"  region {name:8s} top label {top:8s} p={row.max():.3f}")
        if top != name:
            wrong.append(f"{name} -> {top}")
    heat = text_heatmap(image, "river", clip, **HEATMAP)
    river = river_mask(image)
    on = float(np.nanmean(heat[river]))
    others = {
        name: float(np.nanmean(heat[r0:r1, c0:c1][~river[r0:r1, c0:c1]]))
        for name, ((r0, c0, r1, c1), _) in REGIONS.items()
        if name != "river"
    }
    figures["river_heat"] = {"river": on, **others}
    log(
        f"  'river' heatmap: mean {on:.3f} on the river; off it in the "
        + ", ".join(f"{k} {v:.3f}" for k, v in others.items())
    )
    assert not wrong, f"wrong top labels: {', '.join(wrong)}"
    hot = [k for k, v in others.items() if v >= on]
    assert not hot, f"the 'river' heatmap is as hot on {hot} as on the river"
    return figures


def train_grounder(folder: Path, image: np.ndarray) -> Path:
    """A tiny Florence-2 (the test fixture's) taught in a few seconds to detect the river
    and the village of the overhead sample: ``phrase<loc_x0><loc_y0><loc_x1><loc_y1>``
    answers to ``<OPEN_VOCABULARY_DETECTION>`` prompts, the model's own format."""
    import torch

    from fixtures.florence2_models import save_tiny_florence2
    from napari_clipcap.core.captioning.florence2.captioner import build_florence2

    torch.manual_seed(0)
    cap = build_florence2(str(save_tiny_florence2(folder / "florence2-init")), "cpu", "fp32")
    h, w = image.shape[:2]

    def locations(name: str) -> str:
        (r0, c0, r1, c1), _ = REGIONS[name]
        bins = [min(int(v / s * 1000), 999) for v, s in ((c0, w), (r0, h), (c1, w), (r1, h))]
        return "".join(f"<loc_{b}>" for b in bins)

    names = ("river", "village")
    prompts = [cap.prompt_text("<OPEN_VOCABULARY_DETECTION>", n) for n in names]
    inputs = cap.encode([image] * len(names), prompts)
    labels = cap.tokenizer(
        [n + locations(n) for n in names], return_tensors="pt", padding=True
    ).input_ids
    labels[labels == cap.tokenizer.pad_token_id] = -100
    opt = torch.optim.AdamW(cap.model.parameters(), lr=3e-3)
    cap.model.train()
    for _ in range(150):
        loss = cap.model(**inputs, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    cap.model.eval()
    out = folder / "florence2-overhead"
    cap.model.save_pretrained(out)
    cap.processor.save_pretrained(out)
    print(f"tiny Florence-2 taught the river and the village: loss {float(loss):.3f}")
    return out


def train_asker(folder: Path, image: np.ndarray) -> Path:
    """A tiny PaliGemma (the test fixture's) taught in a few seconds to answer two
    questions about the overhead sample: ``detect river ; village`` with its own
    ``<locYYYY>`` boxes, and what the village region holds."""
    import torch

    from fixtures.vlm_models import save_tiny_paligemma
    from napari_clipcap.core.vlm.loading import load_vlm

    torch.manual_seed(0)
    vlm = load_vlm(save_tiny_paligemma(folder / "paligemma-init"), device="cpu")
    h, w = image.shape[:2]

    def locations(name: str) -> str:
        (r0, c0, r1, c1), _ = REGIONS[name]
        bins = [min(int(v / s * 1024), 1023) for v, s in ((r0, h), (c0, w), (r1, h), (c1, w))]
        return "".join(f"<loc{b:04d}>" for b in bins)

    pixels = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    (r0, c0, r1, c1), village = REGIONS["village"]
    dr, dc = round((r1 - r0) * 0.25), round((c1 - c0) * 0.25)  # the Ask dock's context
    crop = pixels[max(0, r0 - dr) : r1 + dr, max(0, c0 - dc) : c1 + dc]
    pairs = [
        (pixels, vlm.prompt("detect river ; village"),
         f"{locations('river')} river ; {locations('village')} village"),
        (crop, vlm.prompt("what is in this region?"), village),
    ]  # fmt: skip
    batches = [
        vlm.processor(text=[q], images=[im], suffix=[a], return_tensors="pt") for im, q, a in pairs
    ]
    opt = torch.optim.AdamW(vlm.model.parameters(), lr=3e-3)
    vlm.model.train()
    for _ in range(200):
        loss = sum(vlm.model(**b).loss for b in batches)
        opt.zero_grad()
        loss.backward()
        opt.step()
    vlm.model.eval()
    out = folder / "paligemma-overhead"
    vlm.model.save_pretrained(out)
    vlm.processor.save_pretrained(out)
    print(f"tiny PaliGemma taught two answers about the overhead scene: loss {float(loss):.3f}")
    return out


#: The box (x0, y0, x1, y1) around the overhead sample's village that the Segment shot
#: segments in one tile, and the roof colours of its houses (as drawn, and with the
#: darker ridge) that find their pixels.
VILLAGE = (176, 208, 384, 368)
ROOFS = np.array([[170, 70, 55], [140, 60, 50], [200, 195, 185], [90, 90, 95]], np.float32)


def house_rects(size: int = 512, seed: int = 0) -> list[tuple[int, int, int, int]]:
    """``(row, col, height, width)`` of each house of ``synthetic_overhead(size, seed)``,
    in drawing order: its random draws replayed (a test holds them to the roofs)."""
    rng = np.random.default_rng(seed)
    rng.uniform(0, size, (24, 2)), rng.integers(0, 6, 24), rng.uniform(0, np.pi, 24)
    rng.standard_normal((size, size))  # the forest canopy
    rects = []
    for _ in range(45):
        cy = int(rng.normal(0.55 * size, 0.07 * size))
        cx = int(rng.normal(0.55 * size, 0.07 * size))
        h, w = rng.integers(8, 16, 2)
        if abs(cy - 0.55 * size) < 12 or abs(cx - 0.55 * size) < 12:
            continue  # the generator skips houses on the road
        rng.integers(0, 4)  # the roof colour
        rects.append((cy, cx, int(h), int(w)))
    return rects


def house_masks(pixels: np.ndarray, min_area: int = 25) -> list[np.ndarray]:
    """Each house's visible roof in the uint8 overhead sample: its rectangle, less what
    later houses (roofs and shadows) cover, where the pixels have a roof colour (trees
    drawn over it are left out); houses of fewer than ``min_area`` pixels are dropped."""
    colours = np.concatenate([ROOFS, ROOFS * 0.8])
    diff = np.abs(pixels[..., None, :].astype(np.float32) - colours[None, None])
    roof = diff.max(axis=-1).min(axis=-1) < 14
    rects = house_rects(pixels.shape[0])
    masks = []
    for k, (cy, cx, h, w) in enumerate(rects):
        mask = np.zeros(roof.shape, bool)
        mask[cy : cy + h + 1, cx : cx + w + 1] = True
        for cy2, cx2, h2, w2 in rects[k + 1 :]:
            mask[cy2 : cy2 + h2 + 1, cx2 : cx2 + w2 + 1] = False
            mask[cy2 + 3 : cy2 + h2 + 4, cx2 + 3 : cx2 + w2 + 4] = False  # its shadow
        mask &= roof
        if mask.sum() >= min_area:
            masks.append(mask)
    return masks


def train_segmenter(folder: Path, image: np.ndarray, steps: int = 200) -> Path:
    """A tiny SAM 3 (the test fixture's, at 224 px with 32 queries) taught the houses of
    the overhead sample's village for the phrase "house".

    One input is memorised: the village tile as the Segment dock cuts it, through the
    segmenter's own pixel and prompt code. Query *i* is taught house *i*'s mask (binary
    cross-entropy weighted towards the roofs, plus a Dice loss), the other queries a low
    score, the presence token a high one. The mask head starts scaled up tenfold: at the
    fixture's initial scale its masks are near zero everywhere and 200 steps teach nothing.
    """
    import torch
    import torch.nn.functional as F
    from transformers import Sam3Model, Sam3Processor
    from transformers.models.sam3.image_processing_sam3 import Sam3ImageProcessor

    from fixtures.segmenter_models import sam3_tokenizer, tiny_sam3_config
    from napari_clipcap.core.segmentation.model import as_uint8, load_segmenter

    side, queries = 224, 32
    tok = sam3_tokenizer()
    bos, eos = tok.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"])
    config = tiny_sam3_config(len(tok), bos, eos, side=side)
    config.detr_decoder_config.num_queries = queries
    torch.manual_seed(0)
    model = Sam3Model(config)
    with torch.no_grad():
        for part in (model.mask_decoder.mask_embedder, model.mask_decoder.instance_projection):
            for weight in (p for p in part.parameters() if p.dim() > 1):
                weight.mul_(10.0)
    start = folder / "sam3-init"
    model.save_pretrained(start)
    images = Sam3ImageProcessor(
        size={"height": side, "width": side}, mask_size={"height": 16, "width": 16}
    )
    Sam3Processor(image_processor=images, tokenizer=tok).save_pretrained(start)
    seg = load_segmenter(start, device="cpu", precision="fp32")
    x0, y0, x1, y1 = VILLAGE
    tile = as_uint8(image[y0:y1, x0:x1])
    masks = [m[y0:y1, x0:x1] for m in house_masks(as_uint8(image))]
    masks.sort(key=lambda m: tuple(np.argwhere(m)[0]))
    pixels, prompt = seg._pixels(tile), seg._prompt("house", tile.shape[:2], [], [])
    started = time.perf_counter()
    seg.model.train()
    with torch.no_grad():
        size = seg.model(pixel_values=pixels, **prompt).pred_masks.shape[-2:]
    target = F.interpolate(torch.from_numpy(np.stack(masks)).float()[None], size, mode="area")[0]
    labels = torch.zeros(1, queries)
    labels[0, : len(masks)] = 1.0
    opt = torch.optim.AdamW(seg.model.parameters(), lr=3e-3)
    for _ in range(steps):
        out = seg.model(pixel_values=pixels, **prompt)
        logits = out.pred_masks[0, : len(masks)]
        prob = logits.sigmoid()
        overlap = 2 * (prob * target).sum((1, 2)) + 1
        dice = 1 - (overlap / (prob.sum((1, 2)) + target.sum((1, 2)) + 1)).mean()
        loss = (
            F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(10.0))
            + dice
            + F.binary_cross_entropy_with_logits(out.pred_logits, labels)
            + F.binary_cross_entropy_with_logits(
                out.presence_logits, torch.ones_like(out.presence_logits)
            )
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    seg.model.eval()
    out_dir = folder / "sam3-houses"
    seg.model.save_pretrained(out_dir)
    seg.processor.save_pretrained(out_dir)
    print(
        f"tiny SAM 3 taught the village's {len(masks)} houses in "
        f"{time.perf_counter() - started:.0f} s: loss {float(loss):.3f}"
    )
    return out_dir
