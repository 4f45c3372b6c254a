"""One request per task: every door gives the same result for the same shapes, refuses
the same way, records ``request.to_argv()`` as its command, and checks outputs first."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from PIL import Image

from napari_clipcap.cli import main
from napari_clipcap.core.coords.region_shapes import shape_region
from napari_clipcap.core.coords.regions import region_text

LABELS = "river,forest,city"


def _corners_yx(cx, cy, w, h, deg):
    a = np.deg2rad(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    xy = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [w / 2, h / 2] @ rot.T + [cx, cy]
    return xy[:, ::-1]


#: The same three shapes for every door: an ellipse, a rotated box and a polygon.
SHAPES = [
    ("ellipse", _corners_yx(40, 30, 50, 20, 35)),
    ("rectangle", _corners_yx(80, 50, 30, 16, 20)),
    ("polygon", np.array([[60.0, 10.0], [90.0, 20.0], [70.0, 40.0]])),
]


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "scene.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (80, 120, 3), dtype=np.uint8)).save(path)
    return path


def _json(capsys, argv, code=0):
    assert main([str(a) for a in argv]) == code
    captured = capsys.readouterr()
    return (json.loads(captured.out) if code == 0 else None), captured.err


def _regions():
    return [shape_region(kind, yx) for kind, yx in SHAPES]


def test_the_same_shapes_score_identically_from_the_cli_the_api_and_batch(
    png, clip_args, tiny_clip, capsys, tmp_path
):
    import pandas as pd

    from napari_clipcap import score_regions
    from napari_clipcap.core.io.images import read_image

    regions = _regions()
    assert all(isinstance(r, np.ndarray) for r in regions)  # outlines, not corner boxes
    flags = [f for r in regions for f in ("--region", region_text(r))]
    cli, _ = _json(capsys, ["labels", png, "--labels", LABELS, *flags, *clip_args, "--json"])
    api = score_regions(read_image(png).data, regions, LABELS, tiny_clip)
    out = tmp_path / "batch"
    _json(capsys, ["batch", png, "--task", "labels", "--labels", LABELS, *flags, "--out", out,
                   *clip_args, "--json"])  # fmt: skip
    table = pd.read_parquet(out / "results.parquet")
    labels = LABELS.split(",")
    for i, entry in enumerate(cli["regions"]):
        cli_row = [entry["scores"][lab] for lab in labels]
        batch_row = [float(table.iloc[i][f"p:{lab}"]) for lab in labels]
        assert cli_row == api[i].tolist() == batch_row  # identical, not close


def test_a_region_without_data_is_refused_the_same_way_by_cli_api_and_batch(
    tmp_path, clip_args, tiny_clip, capsys
):
    from astropy.io import fits

    from napari_clipcap import score_regions
    from napari_clipcap.core.io.images import read_image
    from napari_clipcap.core.tasks.validity import file_valid_mask

    data = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    data[:, 32:] = np.nan
    path = tmp_path / "edge.fits"
    fits.PrimaryHDU(data).writeto(path)
    blank = "40,0,64,20"
    cli, err = _json(capsys, ["labels", path, "--labels", LABELS, "--region", "0,0,32,32",
                              "--region", blank, *clip_args, "--json"])  # fmt: skip
    message = "region 2 holds data in only 0%"
    assert cli["regions"][1]["no_data"] and message in err
    assert any(message in w for w in cli["warnings"])
    img = read_image(path)
    with pytest.warns(UserWarning, match=message):
        api = score_regions(img.data, [(0, 0, 32, 32), (40, 0, 64, 20)], LABELS, tiny_clip,
                            valid=file_valid_mask(img))  # fmt: skip
    assert np.isnan(api[1]).all() and np.isfinite(api[0]).all()
    out = tmp_path / "batch"
    both = ["--region", "0,0,32,32", "--region", blank]
    _json(capsys, ["batch", path, "--task", "labels", "--labels", LABELS, *both, "--out", out,
                   *clip_args, "--json"])  # fmt: skip
    import pandas as pd

    table = pd.read_parquet(out / "results.parquet")
    assert message in table.iloc[1]["no_data"] and table.iloc[0]["no_data"] == ""
    assert np.isnan(table.iloc[1]["probability"])


def test_the_recorded_command_is_the_request_argv_and_recomputes(
    png, clip_args, capsys, monkeypatch, tmp_path
):
    from napari_clipcap.cli import build_parser
    from napari_clipcap.core.tasks.requests import LabelsRequest

    flags = [f for r in _regions() for f in ("--region", region_text(r))]
    argv = ["labels", str(png), "--labels", LABELS, *flags, *clip_args, "--json"]
    first, _ = _json(capsys, argv)
    request = LabelsRequest.from_args(build_parser().parse_args(argv))
    assert first["provenance"]["command"] == shlex.join(request.to_argv())
    monkeypatch.chdir(tmp_path)
    again, _ = _json(capsys, shlex.split(first["provenance"]["command"])[1:])
    assert again["regions"] == first["regions"]


LONG = "a very long astronomy label with many words " * 7  # 300+ characters


@pytest.mark.parametrize(
    "argv",
    [
        ["labels", "{png}", "--labels", f"star,{LONG}", "--json"],
        ["labels", "{png}", "--labels", "star,galaxy", "--template", LONG + " {}", "--json"],
        ["heatmap", "{png}", "--query", LONG, "--out", "{tmp}/h.npy", "--window", "32",
         "--stride", "16", "--json"],
    ],
)  # fmt: skip
def test_arguments_over_255_characters_are_recorded(png, clip_args, capsys, tmp_path, argv):
    assert len(LONG) > 300
    argv = [a.replace("{png}", str(png)).replace("{tmp}", str(tmp_path)) for a in argv]
    data, err = _json(capsys, [*argv, *clip_args])
    assert LONG.strip() in data["provenance"]["command"] and "Traceback" not in err
    if argv[0] == "heatmap":
        assert (tmp_path / "h.npy").is_file()


def _bad_outputs(tmp_path):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return {
        "directory": (folder, "is a folder"),
        "unwritable": (locked / "out", "permission denied"),
        "missing folder": (tmp_path / "nowhere" / "out", "does not exist"),
        "under a file": (a_file / "out", "which is a file"),
    }


@pytest.mark.parametrize("case", ["directory", "unwritable", "missing folder", "under a file"])
@pytest.mark.parametrize(
    "command",
    [
        ["labels", "{png}", "--labels", "a,b", "--out-regions", "{out}.reg"],
        ["caption", "{png}", "--weights", "missing.pt", "--out-regions", "{out}.reg"],
        ["heatmap", "{png}", "--query", "river", "--out", "{out}.npy"],
        ["ground", "{png}", "--phrases", "ships", "--weights", "missing", "--out-regions",
         "{out}.reg"],
    ],
)  # fmt: skip
def test_every_output_is_checked_before_any_model_runs(png, tmp_path, capsys, command, case):
    import os

    if case == "unwritable" and os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    out, why = _bad_outputs(tmp_path)[case]
    if case == "directory":
        (tmp_path / f"a_folder{'.npy' if command[0] == 'heatmap' else '.reg'}").mkdir()
        out = tmp_path / "a_folder"
    argv = [a.format(png=png, out=out) for a in command]
    assert main(argv) == 2  # a model would fail differently (missing weights, tiny CLIP)
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert why in err
