"""Peak memory of the command line against the image's own size (issue 21 item 15).

Each case runs ``napari-clipcap`` in a fresh process and reads that process's peak
resident memory (``ru_maxrss``). The model's share is measured the same way on a 64 x 64
image (imports + model + a tiny job), so ``beyond_model_mb`` is what the image costs;
the goal is ``beyond_model_mb <= 1.5 x image_mb``. With ``--before-src`` the same cases
run against another source tree (e.g. the main branch before the change) in the same
run. The naive way runs in the same run: ``naive_api_heatmap`` is the Python API the way
the heatmap benchmark calls it (eager ``read_image`` + ``text_heatmap``), and
``naive_labels_tiff_*`` make the whole image the float32 model input first and then cut
the region (eager ``read_image`` + ``score_regions``). ``segment`` and ``ground`` run
their requests in a fresh process with scripted models (a blob segmenter, a Florence-2
answering one box per tile: the models' own memory is not the question), against the
same script on the small PNG; ``--tiled-only`` runs just those. ``caption`` and ``ask``
run their requests the same way (a scripted captioner answering "x" per image, a scripted
VLM answering "x"), whole image and ``--region`` window, against the same script on the
small PNG; ``--tasks caption,ask`` runs just the tasks named (labels, heatmap, segment,
ground, caption, ask; the labels and heatmap cases run together).

The model is a tiny open_clip ViT built here with random weights (memory does not
depend on the weights; speed is not measured). Usage::

    python benchmarks/bench_cli_memory.py [--fits-size 8192] [--tiff-size 12000]
        [--region 2000] [--window 224] [--tile 1024] [--tiled-only]
        [--tasks labels,heatmap,segment,ground,caption,ask] [--before-src /path/to/other/src]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

_RUN = """
import resource, sys
sys.argv = ["napari-clipcap", *sys.argv[1:]]
from napari_clipcap.cli import main
rc = main(sys.argv[1:])
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rc, file=sys.stderr)
"""

_API = """
import resource, sys
import numpy as np
from napari_clipcap.core.clip.model import load_clip
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.tasks.heatmap import text_heatmap
from napari_clipcap.core.tasks.validity import file_valid_mask
image, cfg, weights = sys.argv[1:4]
clip = load_clip(cfg, weights, "cpu")
img = read_image(image)
window = int(sys.argv[5])
out = text_heatmap(
    img.data, "a star", clip, window=window, stride=window // 2, valid=file_valid_mask(img)
)
np.save(sys.argv[4], out)
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0, file=sys.stderr)
"""

_NAIVE_LABELS = """
import resource, sys
from napari_clipcap.core.clip.model import load_clip
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.tasks.labels import score_regions
image, cfg, weights, box = sys.argv[1:5]
clip = load_clip(cfg, weights, "cpu")
img = read_image(image)  # the naive way: the whole image as float32 H x W x 3 first
regions = [tuple(int(v) for v in box.split(","))] if box != "whole" else None
score_regions(img.data, regions, ["a", "b"], clip)
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0, file=sys.stderr)
"""

_TILED = """
import resource, sys
import numpy as np
from scipy import ndimage
from napari_clipcap.core.segmentation.model import TileInstance
from napari_clipcap.core.tasks.requests import GroundRequest, ImageInput
from napari_clipcap.core.tasks.segment import SegmentRequest
task, image, tile = sys.argv[1], sys.argv[2], int(sys.argv[3])

class Blobs:  # scripted SAM 3: each bright blob of a tile is one instance
    kind, name, device, tile_size = "phrase", "segmenter:blobs", "cpu", tile
    def segment(self, pixels, phrases, **options):
        parts, n = ndimage.label(pixels[..., 0] > 0.9)
        return [TileInstance(parts == i, 0.9, phrases[0]) for i in range(1, min(n, 4) + 1)]

class Boxes:  # scripted Florence-2: one box per tile and task
    name = "florence2:scripted"
    def locate(self, images, tasks, **options):
        return [[("a star", np.array([[0, 0, 499, 499]]))] for _ in images]

source = ImageInput.of(image)
if task == "segment":
    SegmentRequest(source, ("star",), tile=tile, overlap=tile // 8).run(segmenter=Blobs())
else:
    GroundRequest(source, phrases="stars", tile=tile, overlap=tile // 8).run(model=Boxes())
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0, file=sys.stderr)
"""

_TALK = """
import resource, sys
from napari_clipcap.core.tasks.ask import AskRequest
from napari_clipcap.core.tasks.requests import CaptionRequest, ImageInput
from napari_clipcap.core.vlm.model import Answer
task, image, box = sys.argv[1:4]
regions = None if box == "whole" else (tuple(int(v) for v in box.split(",")),)

class Captioner:  # scripted captioner: one caption "x" per image
    name = "captioner:scripted"
    def caption(self, images, options=None, batch_size=32, progress=None, cancel=None):
        return [["x"] for _ in images]

class Family:
    name = "scripted"

class Vlm:  # scripted VLM: answers "x" about whatever it is shown
    name, family = "vlm:scripted", Family()
    def answer(self, shown, question, **options):
        return Answer("x", "x", shown=(shown.shape[1], shown.shape[0]))

source = ImageInput.of(image)
if task == "caption":
    CaptionRequest(source, regions=regions).run(captioner=Captioner())
else:
    AskRequest(source, "what is this?", regions=regions).run(vlm=Vlm())
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0, file=sys.stderr)
"""

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


#: The tasks measured, in order (``--tasks`` picks some).
TASKS = ["labels", "heatmap", "segment", "ground", "caption", "ask"]


def build_inputs(root: Path, fits_size: int, tiff_size: int) -> dict[str, Path]:
    """The tiny model, a float32 FITS sky, a uint16 TIFF scene and a small PNG."""
    import open_clip
    import tifffile
    import torch
    from astropy.io import fits
    from PIL import Image
    from safetensors.torch import save_file

    cfg = root / "bench-tiny-vit.json"
    cfg.write_text(json.dumps(TINY))
    open_clip.add_model_config(cfg)
    torch.manual_seed(0)
    model = open_clip.create_model("bench-tiny-vit", pretrained=None)
    weights = root / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    rng = np.random.default_rng(0)
    sky = rng.normal(100.0, 5.0, (fits_size, fits_size)).astype(np.float32)
    sky[:64] = np.nan  # a no-data edge, as real skies have
    fits.PrimaryHDU(sky).writeto(root / "sky.fits")
    del sky
    scene = np.empty((tiff_size, tiff_size), dtype=np.uint16)
    for r in range(0, tiff_size, 1024):  # written in bands: the benchmark stays small
        scene[r : r + 1024] = rng.integers(0, 4000, (min(1024, tiff_size - r), tiff_size))
    tifffile.imwrite(root / "scene.tif", scene)
    del scene
    Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(root / "small.png")
    return {
        "cfg": cfg,
        "weights": weights,
        "fits": root / "sky.fits",
        "tiff": root / "scene.tif",
        "png": root / "small.png",
    }


def peak_mb(src: Path, code: str, args: list[str], cwd: Path) -> float:
    """Peak resident memory (MB) of a fresh process running ``code`` with ``args``."""
    env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1"}
    env["NAPARI_CLIPCAP_MAX_PIXELS"] = str(10**10)  # raised, as the refusal advises
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("RSS ")]
    if not lines or lines[-1].split()[2] != "0":
        raise RuntimeError(f"{args[:2]} failed:\n{proc.stderr[-2000:]}")
    return round(int(lines[-1].split()[1]) / 1024, 1)


def cases(
    files: dict[str, Path], region: int, out: Path, window: int
) -> dict[str, tuple[list[str], Path]]:
    clip = ["--clip", str(files["cfg"]), "--clip-weights", str(files["weights"])]
    clip += ["--device", "cpu", "--json"]
    box = f"1000,1000,{1000 + region},{1000 + region}"
    labels = ["--labels", "a,b", *clip]
    query = ["--query", "a star", "--window", str(window), "--stride", str(window // 2)]
    return {
        "model_only": (["labels", str(files["png"]), *labels], files["png"]),
        "labels_tiff_whole": (["labels", str(files["tiff"]), *labels], files["tiff"]),
        "labels_tiff_region": (
            ["labels", str(files["tiff"]), "--region", box, *labels],
            files["tiff"],
        ),
        "heatmap_fits_sliding": (
            ["heatmap", str(files["fits"]), *query, "--out", str(out / "s.npy"), *clip],
            files["fits"],
        ),
        "heatmap_fits_dense": (
            [
                "heatmap", str(files["fits"]), *query, "--mode", "dense",
                "--out", str(out / "d.fits"), *clip,
            ],
            files["fits"],
        ),
    }  # fmt: skip


def image_mb(path: Path) -> float:
    """The image's own size in memory: its pixels at the file's data type."""
    if path.suffix == ".fits":
        from astropy.io import fits

        with fits.open(path) as hdul:
            return round(hdul[0].data.nbytes / 2**20, 1)
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        return round(int(np.prod(series.shape)) * series.dtype.itemsize / 2**20, 1)


def measure(src: Path, files: dict[str, Path], region: int, root: Path, window: int) -> dict:
    runs = cases(files, region, root, window)
    model = peak_mb(src, _RUN, runs.pop("model_only")[0], root)
    result = {"model_only_peak_mb": model}
    for name, (argv, image) in runs.items():
        peak = peak_mb(src, _RUN, argv, root)
        size = image_mb(image)
        beyond = round(peak - model, 1)
        result[name] = {
            "peak_mb": peak,
            "image_mb": size,
            "beyond_model_mb": beyond,
            "beyond_over_image": round(beyond / size, 2),
            "within_1_5x": beyond <= 1.5 * size,
        }
    args = [str(files["fits"]), str(files["cfg"]), str(files["weights"]), str(root / "a.npy")]
    args.append(str(window))
    peak = peak_mb(src, _API, args, root)
    result["naive_api_heatmap_fits_sliding"] = {  # eager read_image + text_heatmap
        "peak_mb": peak,
        "beyond_model_mb": round(peak - model, 1),
    }
    box = f"1000,1000,{1000 + region},{1000 + region}"
    for name, where in (("whole", "whole"), ("region", box)):
        argv = [str(files["tiff"]), str(files["cfg"]), str(files["weights"]), where]
        peak = peak_mb(src, _NAIVE_LABELS, argv, root)
        result[f"naive_labels_tiff_{name}"] = {  # whole float32 model input, then crop
            "peak_mb": peak,
            "beyond_model_mb": round(peak - model, 1),
        }
    return result


def against_base(peak: float, base: float, image: Path) -> dict:
    """A case's peak, what it costs beyond ``base`` and that against the image's size."""
    size = image_mb(image)
    beyond = round(peak - base, 1)
    return {
        "peak_mb": peak,
        "image_mb": size,
        "beyond_model_mb": beyond,
        "beyond_over_image": round(beyond / size, 2),
        "within_1_5x": beyond <= 1.5 * size,
    }


def measure_talk(
    src: Path, files: dict[str, Path], root: Path, region: int, tasks: list[str]
) -> dict:
    """Peak memory of ``caption`` and ``ask`` (their requests, with a scripted captioner
    and a scripted VLM) on the FITS and the TIFF, whole and a ``region`` window, against
    the same script on the small PNG (imports and the job's set-up)."""
    box = f"1000,1000,{1000 + region},{1000 + region}"
    result: dict = {}
    for task in tasks:
        base = peak_mb(src, _TALK, [task, str(files["png"]), "whole"], root)
        result[f"{task}_small_png_peak_mb"] = base
        for kind in ("fits", "tiff"):
            for name, where in (("whole", "whole"), ("region", box)):
                peak = peak_mb(src, _TALK, [task, str(files[kind]), where], root)
                result[f"{task}_{kind}_{name}"] = against_base(peak, base, files[kind])
    return result


def measure_tiled(
    src: Path, files: dict[str, Path], root: Path, tile: int, tasks: list[str]
) -> dict:
    """Peak memory of ``segment`` and ``ground`` (their requests, with scripted models:
    a blob segmenter and a Florence-2 that answers one box per tile) on the FITS and the
    TIFF, against the same script on the small PNG (imports and the job's set-up)."""
    result: dict = {}
    for task in tasks:
        base = peak_mb(src, _TILED, [task, str(files["png"]), str(tile)], root)
        result[f"{task}_small_png_peak_mb"] = base
        for kind in ("fits", "tiff"):
            peak = peak_mb(src, _TILED, [task, str(files[kind]), str(tile)], root)
            result[f"{task}_{kind}_tiled"] = against_base(peak, base, files[kind])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits-size", type=int, default=8192)
    parser.add_argument("--tiff-size", type=int, default=12000)
    parser.add_argument("--region", type=int, default=2000)
    parser.add_argument("--window", type=int, default=224, help="heatmap window (224)")
    parser.add_argument("--before-src", type=Path, default=None)
    parser.add_argument("--tile", type=int, default=1024, help="segment/ground tile (1024)")
    parser.add_argument(
        "--tiled-only", action="store_true", help="only the segment and ground cases"
    )
    parser.add_argument(
        "--tasks",
        default=None,
        help=f"comma-separated tasks to run, of {','.join(TASKS)} (all; labels and "
        "heatmap run together)",
    )
    args = parser.parse_args()
    tasks = TASKS if args.tasks is None else [t.strip() for t in args.tasks.split(",")]
    if args.tiled_only:
        tasks = ["segment", "ground"]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {','.join(unknown)}: choose of {','.join(TASKS)}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # built in a child process: Linux carries a parent's peak RSS (ru_maxrss) over
        # into its children, so this process must stay small for their figures to hold
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); from bench_cli_memory import "
            "build_inputs; from pathlib import Path; "
            "build_inputs(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(HERE), tmp, str(args.fits_size), str(args.tiff_size)],
            check=True,
        )
        files = {
            "cfg": root / "bench-tiny-vit.json",
            "weights": root / "tiny.safetensors",
            "fits": root / "sky.fits",
            "tiff": root / "scene.tif",
            "png": root / "small.png",
        }
        report = {
            "fits": f"{args.fits_size} x {args.fits_size} float32",
            "tiff": f"{args.tiff_size} x {args.tiff_size} uint16",
            "region": f"{args.region} x {args.region}",
            "heatmap_window": args.window,
            "tile": args.tile,
        }
        sources = {"after": SRC}
        if args.before_src:
            sources["before"] = args.before_src.resolve()
        for name, src in sources.items():
            clip_run = {"labels", "heatmap"} & set(tasks)
            clip = measure(src, files, args.region, root, args.window) if clip_run else {}
            tiled = [t for t in ("segment", "ground") if t in tasks]
            talk = [t for t in ("caption", "ask") if t in tasks]
            report[name] = {
                **clip,
                **measure_tiled(src, files, root, args.tile, tiled),
                **measure_talk(src, files, root, args.region, talk),
            }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
