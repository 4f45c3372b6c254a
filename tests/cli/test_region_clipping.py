"""Regions partly outside the image in ``search`` and ``batch``: clipped, and said so."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fixtures.collection_data import make_image_folder, write_png
from napari_clipcap.cli import main


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("clip_images") / "images", per_colour=1)


def _run(capsys, argv, code=0):
    assert main(argv) == code
    return capsys.readouterr()


@pytest.fixture(scope="module")
def collection(images, tmp_path_factory, tiny_clip_files):
    col = str(tmp_path_factory.mktemp("clip_col") / "col")
    args = [
        "--clip",
        str(tiny_clip_files.config),
        "--clip-weights",
        str(tiny_clip_files.safetensors),
    ]
    assert main(["index", str(images), "--index", col, *args, "--device", "cpu"]) == 0
    return col


def _search(capsys, col, image, *region_args):
    argv = ["search", "--index", col, "--image", str(image), "-k", "3", *region_args, "--json"]
    captured = _run(capsys, argv)
    return json.loads(captured.out), captured.err


def test_search_region_partly_outside_is_clipped_and_reported(images, collection, capsys):
    query = images / "blue" / "blue_0.png"  # 24 x 24
    out, err = _search(capsys, collection, query, "--region", "-4,-4,8,8")
    assert out["query"]["region"] == [-4, -4, 8, 8]
    assert out["query"]["clipped_to"] == [0, 0, 8, 8]
    assert "warning: blue_0.png: region -4,-4,8,8 reaches past the 24 x 24" in err
    inside, err = _search(capsys, collection, query, "--region", "0,0,8,8")
    # the one crops function warns of a small region, as in every task; no clipping
    assert inside["query"]["clipped_to"] is None and "reaches past" not in err
    assert out["hits"] == inside["hits"]


def test_search_region_wholly_outside_is_one_clear_error(images, collection, capsys):
    query = images / "blue" / "blue_0.png"
    argv = ["search", "--index", collection, "--image", str(query), "--region", "-9,0,-1,5"]
    err = _run(capsys, argv, code=2).err
    assert "blue_0.png: box (-9, 0, -1, 5) lies outside the 24 x 24" in err


def test_search_region_is_in_full_size_pixels(collection, tmp_path, capsys):
    # images over 2048 px are shrunk before encoding; a region must still address the
    # full-size pixels, not the shrunk ones
    rng = np.random.default_rng(3)
    wide = rng.integers(0, 255, (16, 2100, 3), dtype=np.uint8)
    write_png(tmp_path / "wide.png", wide)
    write_png(tmp_path / "part.png", wide[:, 2060:2100])
    out, err = _search(capsys, collection, tmp_path / "wide.png", "--region", "2060,0,2100,16")
    assert out["query"]["clipped_to"] is None and "reaches past" not in err
    whole, _ = _search(capsys, collection, tmp_path / "part.png")
    assert out["hits"] == whole["hits"]


def test_batch_region_partly_outside_gets_a_clipped_to_column(images, tmp_path, clip_args, capsys):
    import pandas as pd

    out = tmp_path / "lab"
    argv = ["batch", str(images / "red"), "--task", "labels", "--labels", "red,blue"]
    argv += ["--region", "-4,-4,12,12", "--region", "0,0,12,12", "--out", str(out)]
    captured = _run(capsys, [*argv, *clip_args, "--json"])
    rep = json.loads(captured.out)
    assert (rep["rows"], rep["errors"]) == (2, 0)
    assert "warning: 1 of 2 rows: the region reaches past the image" in captured.err
    df = pd.read_parquet(out / "results.parquet")
    assert list(df["region"]) == ["-4,-4,12,12", "0,0,12,12"]
    assert list(df["clipped_to"]) == ["0,0,12,12", ""]


@pytest.mark.parametrize(
    "region, message",
    [("-10,-10,-1,5", "outside every image"), ("5,5,5,9", "is empty")],
)
def test_batch_refuses_a_region_no_image_can_hold(images, tmp_path, region, message, capsys):
    argv = ["batch", str(images / "red"), "--task", "labels", "--labels", "red,blue"]
    err = _run(capsys, [*argv, "--region", region, "--out", str(tmp_path / "o")], code=2).err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "results.parquet").exists()
