"""``napari-clipcap heatmap --query-region``: a region of the image as the query."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from napari_clipcap.cli import main
from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.tasks.requests import HeatmapRequest
from napari_clipcap.core.tasks.requests.base import ImageInput


@pytest.fixture
def png(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "scene.png"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_a_box_and_a_polygon_each_give_a_map_named_after_it(png, clip_args, tmp_path, capsys):
    out = tmp_path / "maps.npy"
    polygon = "0,0,30,0,30,20"
    argv = ["heatmap", str(png), "--query-region", "8,8,40,40", polygon, "--window", "32"]
    rc = main([*argv, "--stride", "16", "--out", str(out), "--json", *clip_args])
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    assert info["queries"] == ["like 8,8,40,40", "like polygon in 0,0,30,20"]
    assert np.load(out).shape == (2, 64, 64)
    assert info["provenance"]["parameters"]["query_regions"][0] == [8, 8, 40, 40]
    again = HeatmapRequest.from_args(_parse(info["provenance"]["command"]))
    assert again.to_argv()[1:] == info["provenance"]["command"].split()[1:]


def _parse(command: str):
    import shlex

    from napari_clipcap.cli import build_parser

    return build_parser().parse_args(shlex.split(command)[1:])


def test_text_and_region_queries_do_not_mix_and_one_is_needed(png, clip_args, tmp_path, capsys):
    out = str(tmp_path / "m.npy")
    rc = main(["heatmap", str(png), "--query", "a", "--query-region", "0,0,9,9", "--out", out])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and "not both" in err and len(err.splitlines()) == 1
    rc = main(["heatmap", str(png), "--out", out, *clip_args])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and "query" in err and len(err.splitlines()) == 1
    with pytest.raises(InvalidInputError, match="query region"):
        HeatmapRequest(image=ImageInput(str(png)), query_regions=())
