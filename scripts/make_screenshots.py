"""Screenshots of the dock widgets at work, for docs/user_guide.md.

Run under a virtual display::

    xvfb-run -a python scripts/make_screenshots.py [--out-dir docs/images]

No model hub is reached. The models are small and built in a temporary folder, the
way the test fixtures build them: a tiny open_clip ViT with random weights, and a
tiny ClipCap (2-layer GPT-2, MLP mapping) trained for a few seconds on crops of the
overhead sample so that its captions are sentences. The labels, heatmaps and
relevance maps are therefore *not* meaningful: the screenshots show the widgets, not
a model's quality. Settings go to a temporary cache folder, not the user's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

#: Regions of the overhead sample (row0, col0, row1, col1) and what they show.
REGIONS = {
    "river": ((40, 120, 200, 215), "a river winds through green fields."),
    "village": ((215, 235, 360, 375), "houses and roads in a small village."),
    "forest": ((310, 350, 490, 495), "a dense dark green forest."),
    "fields": ((20, 300, 170, 500), "yellow farmland crossed by straight roads."),
}


def build_models(folder: Path) -> dict:
    """Tiny CLIP (random) and a tiny ClipCap trained briefly on the overhead sample."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    from fixtures.clip_models import build_tiny_clip_files
    from napari_clipcap._napari.sample_data import overhead_sample
    from napari_clipcap.core.captioning.clipcap import ClipCapModel, save_clipcap
    from napari_clipcap.core.captioning.clipcap_mapping import MappingConfig
    from napari_clipcap.core.clip.model import load_clip
    from napari_clipcap.core.scaling.model_input import to_model_input

    files = build_tiny_clip_files(folder / "clip")
    clip = load_clip(str(files.config), str(files.safetensors), "cpu")
    image = to_model_input(overhead_sample()[0][0], domain="satellite")
    rng = np.random.default_rng(0)
    crops, captions = [], []
    for (r0, c0, r1, c1), caption in REGIONS.values():
        for _ in range(12):
            dr, dc = rng.integers(-12, 13, 2)
            crops.append(image[max(r0 + dr, 0) : r1 + dr, max(c0 + dc, 0) : c1 + dc])
            captions.append(caption)
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
    width = max(len(i) for i in ids)
    tokens = torch.zeros((len(ids), width), dtype=torch.long)
    mask = torch.zeros_like(tokens)
    for r, seq in enumerate(ids):
        tokens[r, : len(seq)], mask[r, : len(seq)] = torch.tensor(seq), 1
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: more threads only fight over shared cores
    model.train()
    start = time.perf_counter()
    for _ in range(200):
        logits = model(emb, tokens, mask)
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), tokens.masked_fill(mask == 0, -100).reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    torch.set_num_threads(threads)
    print(f"tiny ClipCap trained in {time.perf_counter() - start:.1f} s, loss {loss.item():.3f}")
    clipcap = save_clipcap(model, folder / "tiny-clipcap-overhead")
    return {"clip": files, "clipcap": clipcap, "decoder": decoder}


def settle(seconds: float = 0.3) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def wait(widget, timeout: float = 120) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + timeout
    while widget.job_panel.busy and time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.02)
    settle()
    if widget.job_panel.job is not None and widget.job_panel.job.error:
        raise SystemExit(f"{type(widget).__name__}: {widget.job_panel.job.error}")


def new_viewer(title: str):
    import napari

    viewer = napari.Viewer(title=f"napari-clipcap: {title}", show=True)
    viewer.window._qt_window.resize(1500, 940)
    return viewer


def dock(viewer, name: str):
    dock_widget, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", name)
    dock_widget.setMinimumWidth(470)
    return widget


def shoot(viewer, out: Path) -> None:
    settle(0.3)
    viewer.reset_view()  # fit the image to the canvas the docked widget left
    settle(0.5)
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    print(f"wrote {out}")
    viewer.close()


def rect(box):
    r0, c0, r1, c1 = box
    return np.array([[r0, c0], [r1, c1]], dtype=float)


def caption_shot(models: dict, out: Path) -> None:
    viewer = new_viewer("Caption")
    viewer.open_sample("napari-clipcap", "overhead")
    shapes = viewer.add_shapes(
        [rect(REGIONS[k][0]) for k in ("river", "village", "forest")],
        shape_type="rectangle", name="regions", edge_color="yellow",
        face_color="transparent", edge_width=3,
    )  # fmt: skip
    w = dock(viewer, "Caption")
    w.scope_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(shapes)
    w.method_combo.setCurrentText("beam search")
    w.max_tokens_spin.setValue(20)
    w.caption_button.click()
    wait(w)
    w.results_view.words.linkActivated.emit("0:0:river")
    wait(w)
    viewer.layers.selection.active = shapes
    shoot(viewer, out)


def labels_shot(out: Path) -> None:
    viewer = new_viewer("Region labels")
    viewer.open_sample("napari-clipcap", "overhead")
    shapes = viewer.add_shapes(
        [rect(v[0]) for v in REGIONS.values()], shape_type="rectangle", name="regions",
        edge_color="yellow", face_color="transparent", edge_width=3,
    )  # fmt: skip
    w = dock(viewer, "Region labels")
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText("river, village, forest, farmland, airport")
    w.template_combo.setCurrentIndex(2)  # the satellite prompt ensemble
    w.score_button.click()
    wait(w)
    shoot(viewer, out)


def heatmap_shot(out: Path) -> None:
    viewer = new_viewer("Text heatmap")
    viewer.open_sample("napari-clipcap", "sky")
    w = dock(viewer, "Text heatmap")
    w.queries_edit.setPlainText("a bright star cluster\na faint galaxy")
    w.window_spin.setValue(64)
    w.stride_spin.setValue(16)
    w.template_combo.setCurrentText("an astronomical image of {}.")
    w.run_button.click()
    wait(w)
    maps = {ly.metadata["napari_clipcap"]["heatmap"]["query"]: ly for ly in w.result_layers()}
    maps["a faint galaxy"].visible = False  # the dock shows a run's last map: show the first
    maps["a bright star cluster"].visible = True
    w.result_combo.setCurrentText(maps["a bright star cluster"].name)
    w.threshold_to("shapes")
    shoot(viewer, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs" / "images"))
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["NAPARI_CLIPCAP_CACHE"] = str(tmp / "cache")
        models = build_models(tmp)  # torch/open_clip load before any OpenGL context

        from napari_clipcap._qt.models.panel import SharedSettings
        from napari_clipcap._qt.models.specs import CUSTOM, ModelChoice

        files = models["clip"]
        SharedSettings.instance().update(
            clip=ModelChoice(preset=CUSTOM, kind="clip", model=str(files.config),
                             weights=str(files.safetensors)),
            captioner=ModelChoice(preset=CUSTOM, kind="clipcap", weights=str(models["clipcap"]),
                                  decoder=str(models["decoder"]), clip_model=str(files.config),
                                  clip_weights=str(files.safetensors)),
            device="cpu",
        )  # fmt: skip
        caption_shot(models, out_dir / "caption.png")
        labels_shot(out_dir / "labels.png")
        heatmap_shot(out_dir / "heatmap.png")


if __name__ == "__main__":
    main()
