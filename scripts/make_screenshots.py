"""Screenshots of napari-clipcap at work, for the docs (docs/images/*.png).

Run under a virtual 1920 x 1080 display::

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/make_screenshots.py [--out-dir DIR]

No model hub is reached (``HF_HUB_OFFLINE=1``) and settings go to a temporary cache
folder, not the user's. The models are small and built in a temporary folder
(:mod:`screenshot_models`): the test fixtures' tiny open_clip ViT, fine-tuned
contrastively for a few seconds on crops of the overhead sample's regions (river,
village, forest, fields), and a tiny ClipCap trained on that CLIP's embeddings. Before
any screenshot the script asserts that each region's top label is its own and that the
"river" heatmap is hotter on the river than off it. These models know one scene: the
screenshots show the widgets with results that are right for that scene, not a general
model's quality.

Written: ``first_view.png`` (``napari-clipcap view``), ``caption.png``, ``labels.png``,
``heatmap.png``, ``heatmap_region.png`` (a drawn box as the query), ``region_files.png``,
``grounding.png``, ``ask.png``, ``segment.png``, ``fits_radec.png`` and
``geotiff_composite.png`` (``--only ask``, ``--only heatmap_region`` or ``--only segment``
writes one).
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
sys.path.insert(0, str(ROOT / "scripts"))

from screenshot_models import HEATMAP, LABELS, REGIONS, build_models  # noqa: E402


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


#: Window size of the dock screenshots (on a 1920 x 1080 screen) and their dock width.
WINDOW = (1700, 1040)
DOCK_WIDTH = 540


def new_viewer(title: str):
    import napari

    viewer = napari.Viewer(title=f"napari-clipcap: {title}", show=True)
    viewer.window._qt_window.resize(*WINDOW)
    return viewer


def dock(viewer, name: str):
    dock_widget, widget = viewer.window.add_plugin_dock_widget("napari-clipcap", name)
    dock_widget.setMinimumWidth(DOCK_WIDTH)
    return widget


def shoot(viewer, out: Path, zoom: float = 0.92, centre=None) -> None:
    """Fit the image to the canvas, zoom out by ``zoom`` (room for text on shapes at the
    image's edge; above 1 it zooms in, on ``centre``, a world (row, col) point), write the
    window to ``out`` and close the viewer."""
    settle(0.3)
    viewer.reset_view()  # fit the image to the canvas the docked widget left
    viewer.scene.camera.zoom *= zoom
    if centre is not None:
        viewer.scene.camera.center = tuple(float(v) for v in centre)
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
    w.models.set_expanded(False)  # the models are chosen: room for the captions' table
    shoot(viewer, out, zoom=0.85)  # the forest's caption runs past the image's right edge


def labels_shot(out: Path) -> dict:
    """Score the four regions against :data:`LABELS`; each region's top label is its own."""
    viewer = new_viewer("Region labels")
    viewer.open_sample("napari-clipcap", "overhead")
    shapes = viewer.add_shapes(
        [rect(v[0]) for v in REGIONS.values()], shape_type="rectangle", name="regions",
        edge_color="yellow", face_color="transparent", edge_width=3,
    )  # fmt: skip
    w = dock(viewer, "Region labels")
    w.shapes_combo.set_layer(shapes)
    w.labels_edit.setPlainText(", ".join(LABELS))
    w.template_combo.setCurrentText("satellite (5 prompts averaged)")
    w.score_button.click()
    wait(w)
    tops = dict(zip(REGIONS, shapes.features["label"], strict=True))
    wrong = {k: v for k, v in tops.items() if k != v}
    if wrong:
        raise SystemExit(f"Region labels dock: wrong top labels {wrong}")
    print(f"Region labels dock, top labels: {tops}")
    shoot(viewer, out)
    return tops


def heatmap_shot(out: Path) -> None:
    """Heatmaps of "river" and "forest"; the river map shown and thresholded into boxes."""
    viewer = new_viewer("Text heatmap")
    viewer.open_sample("napari-clipcap", "overhead")
    w = dock(viewer, "Text heatmap")
    w.queries_edit.setPlainText("river\nforest")
    w.auto_check.setChecked(False)
    w.window_spin.setValue(HEATMAP["window"])
    w.stride_spin.setValue(HEATMAP["stride"])
    w.template_combo.setCurrentText(HEATMAP["template"])
    w.run_button.click()
    wait(w)
    maps = {ly.metadata["napari_clipcap"]["heatmap"]["query"]: ly for ly in w.result_layers()}
    maps["forest"].visible = False  # the dock shows a run's last map: show the first
    maps["river"].visible = True
    w.result_combo.setCurrentText(maps["river"].name)
    w.threshold_to("shapes")
    shoot(viewer, out)


#: The "more like this" box of the heatmap_region shot: a stretch of the river (x0, y0,
#: x1, y1 in pixels), 64 px like the heatmap's windows.
RIVER_EXEMPLAR = (120, 300, 184, 364)


def heatmap_region_shot(out: Path) -> None:
    """The Text heatmap dock with a drawn box as the query: a stretch of the river, whose
    map must be hotter on the rest of the river than off it."""
    from screenshot_models import overhead_image, river_mask

    viewer = new_viewer("Text heatmap: more like this")
    viewer.open_sample("napari-clipcap", "overhead")
    x0, y0, x1, y1 = RIVER_EXEMPLAR
    shapes = viewer.add_shapes(
        [rect((y0, x0, y1, x1))], shape_type="rectangle", name="like this",
        edge_color="cyan", face_color="transparent", edge_width=3,
    )  # fmt: skip
    w = dock(viewer, "Text heatmap")
    w.region_check.setChecked(True)
    w.shapes_combo.set_layer(shapes)
    w.auto_check.setChecked(False)
    w.window_spin.setValue(HEATMAP["window"])
    w.stride_spin.setValue(HEATMAP["stride"])
    w.run_button.click()
    wait(w)
    (layer,) = w.result_layers()
    heat, river = np.asarray(layer.data), river_mask(overhead_image())
    away = np.ones(river.shape, bool)
    away[y0 - 32 : y1 + 32, x0 - 32 : x1 + 32] = False  # the rest of the river, not the box
    on, off = float(np.nanmean(heat[river & away])), float(np.nanmean(heat[~river & away]))
    if on <= off:
        raise SystemExit(f"the 'more like this' map is not hotter on the river ({on} <= {off})")
    print(f"'more like this' (a stretch of river): mean {on:.3f} on the river, {off:.3f} off")
    viewer.layers.selection.active = shapes
    shoot(viewer, out)


def grounding_shot(out: Path, folder: Path) -> None:
    """Florence-2 detection of "river, village" with a tiny model taught those two boxes."""
    from screenshot_models import REGIONS as _REGIONS
    from screenshot_models import train_grounder

    from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
    from napari_clipcap._napari.sample_data import overhead_sample
    from napari_clipcap._qt.models.panel import SharedSettings
    from napari_clipcap.core.scaling.model_input import to_model_input

    image = to_model_input(overhead_sample()[0][0], domain="satellite")
    model = train_grounder(folder, image)
    SharedSettings.instance().update(  # the Grounding dock's own captioner choice
        grounding=ModelChoice(preset=CUSTOM, kind="florence2", weights=str(model)),
        device="cpu",
    )
    viewer = new_viewer("Grounding")
    (layer,) = viewer.open_sample("napari-clipcap", "overhead")
    w = dock(viewer, "Grounding")
    w.image_combo.set_layer(layer)
    w.text_edit.setText("river, village")
    w.tile_spin.setValue(w.tile_spin.minimum())  # the whole image in one pass
    why = w.problem() if hasattr(w, "problem") else ""
    w.run_button.click()
    wait(w)
    shapes = [ly for ly in viewer.layers if hasattr(ly, "features") and "phrase" in ly.features]
    if not shapes:
        status = w.job_panel.status.text()
        raise SystemExit(f"the grounding dock made no boxes: {why or status!r}")
    found = set(shapes[-1].features["phrase"])
    if found != {"river", "village"} or len(_REGIONS) < 2:
        raise SystemExit(f"the grounding screenshot found {found}, not the river and village")
    shoot(viewer, out)


def ask_shot(out: Path, folder: Path) -> None:
    """The Ask dock: "detect river ; village" to a tiny PaliGemma taught that answer."""
    from screenshot_models import overhead_image, train_asker

    model = train_asker(folder, overhead_image())
    viewer = new_viewer("Ask")
    (layer,) = viewer.open_sample("napari-clipcap", "overhead")
    w = dock(viewer, "Ask")
    w.image_combo.set_layer(layer)
    w.vlm_combo.setCurrentText(str(model))
    w.tokens_spin.setValue(24)
    w.question_edit.setText("detect river ; village")
    w.run_button.click()
    wait(w)
    found = set(viewer.layers[-1].features["phrase"]) if w.result_layer is not None else set()
    if found != {"river", "village"}:
        raise SystemExit(f"the ask screenshot found {found}, not the river and village")
    shoot(viewer, out)


def segment_shot(out: Path, folder: Path) -> None:
    """The Segment dock: "house" in the village box, with a tiny SAM 3 taught its houses;
    most houses must come back as their own instance (IoU 0.5 or more)."""
    from screenshot_models import VILLAGE, house_masks, overhead_image, train_segmenter

    from napari_clipcap.core.segmentation.model import as_uint8

    image = overhead_image()
    model = train_segmenter(folder, image)
    viewer = new_viewer("Segment")
    (layer,) = viewer.open_sample("napari-clipcap", "overhead")
    x0, y0, x1, y1 = VILLAGE
    village = viewer.add_shapes(
        [rect((y0, x0, y1, x1))], shape_type="rectangle", name="village",
        edge_color="yellow", face_color="transparent", edge_width=3,
    )  # fmt: skip
    w = dock(viewer, "Segment")
    w.image_combo.set_layer(layer)
    w.segmenter_combo.setCurrentText(str(model))
    w.where_combo.setCurrentText("Each shape")
    w.shapes_combo.set_layer(village)
    w.phrases_edit.setText("house")
    w.tile_spin.setValue(224)  # the village box in one tile
    w.run_button.click()
    wait(w)
    labels = np.asarray(w.result_layer.data)
    truth = house_masks(as_uint8(image))
    found = [labels == i for i in np.unique(labels) if i]
    best = [max((np.sum(t & f) / np.sum(t | f) for f in found), default=0) for t in truth]
    hits = sum(iou >= 0.5 for iou in best)
    print(f"Segment dock: {len(found)} instances, {hits} of the {len(truth)} houses (IoU >= 0.5)")
    if hits < 0.8 * len(truth):
        raise SystemExit(f"the segment screenshot found {hits} of {len(truth)} houses")
    viewer.layers.selection.active = village
    size = overhead_image().shape[0]
    zoom = 0.95 * min(size / (x1 - x0), size / (y1 - y0))  # the village box fills the view
    shoot(viewer, out, zoom=zoom, centre=((y0 + y1) / 2, (x0 + x1) / 2))


def use_models(models: dict) -> None:
    """Point the docks' shared settings at the screenshot models, on the CPU."""
    from napari_clipcap._napari.models.specs import CUSTOM, ModelChoice
    from napari_clipcap._qt.models.panel import SharedSettings

    clip_model, clip_weights = str(models["clip_model"]), str(models["clip_weights"])
    SharedSettings.instance().update(
        clip=ModelChoice(preset=CUSTOM, kind="clip", model=clip_model, weights=clip_weights),
        captioner=ModelChoice(preset=CUSTOM, kind="clipcap", weights=str(models["clipcap"]),
                              decoder=str(models["decoder"]), clip_model=clip_model,
                              clip_weights=clip_weights),
        device="cpu",
    )  # fmt: skip


#: ``--only`` choices: the screenshots that can be made on their own.
ONLY = ("ask", "heatmap_region", "segment")


def only_shot(name: str, out_dir: Path, tmp: Path) -> None:
    """Make the one screenshot ``name`` (see :data:`ONLY`)."""
    import torch  # noqa: F401  (before any OpenGL context, as build_models does)

    if name == "ask":
        ask_shot(out_dir / "ask.png", tmp)
    elif name == "segment":
        segment_shot(out_dir / "segment.png", tmp)
    else:
        use_models(build_models(tmp))
        heatmap_region_shot(out_dir / "heatmap_region.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs" / "images"))
    parser.add_argument("--only", default=None, choices=ONLY, help="one screenshot")
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["HF_HUB_OFFLINE"] = "1"
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["NAPARI_CLIPCAP_CACHE"] = str(tmp / "cache")
        if args.only is not None:
            only_shot(args.only, out_dir, tmp)
            return
        models = build_models(tmp)  # torch/open_clip load before any OpenGL context

        import screenshot_fits
        import screenshot_geotiff
        from screenshot_view import first_view_shot, regions_bar_shot

        first_view_shot(out_dir / "first_view.png")  # before any model is chosen
        use_models(models)
        caption_shot(models, out_dir / "caption.png")
        labels_shot(out_dir / "labels.png")
        heatmap_shot(out_dir / "heatmap.png")
        heatmap_region_shot(out_dir / "heatmap_region.png")
        regions_bar_shot(out_dir / "region_files.png", tmp, dock)
        grounding_shot(out_dir / "grounding.png", tmp)
        ask_shot(out_dir / "ask.png", tmp)
        segment_shot(out_dir / "segment.png", tmp)
        screenshot_fits.shoot(out_dir / "fits_radec.png")
        screenshot_geotiff.shoot(out_dir / "geotiff_composite.png")
    print(f"all screenshots in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
