"""``batch`` runs a ``BatchRequest``: the recorded ``--json`` command is
``request.to_argv()`` and reruns to the same rows."""

from __future__ import annotations

import json
import shlex
import shutil

import pytest

from fixtures.collection_data import make_image_folder
from napari_clipcap.cli import build_parser, main

LONG = "a very long astronomy label with many words " * 7  # 300+ characters


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("batch_req") / "images", per_colour=1)


def _json(capsys, argv):
    assert main([str(a) for a in argv]) == 0
    return json.loads(capsys.readouterr().out)


def _table(out):
    import pandas as pd

    return pd.read_parquet(out / "results.parquet").drop(columns=["path"])


def test_the_recorded_batch_command_is_the_request_and_reruns_to_the_same_rows(
    images, clip_args, capsys, monkeypatch, tmp_path
):
    from napari_clipcap.core.batch.request import BatchRequest

    out = tmp_path / "run"
    argv = ["batch", images / "red", images / "sky.fits", "--task", "labels",
            "--labels", "red,blue,green", "--region", "0,0,8,8", "--region", "2,2,9,3,4,9",
            "--template", "a photo of {}", "--chunk-size", "2", "--out", out, *clip_args,
            "--json"]  # fmt: skip
    first = _json(capsys, argv)
    request = BatchRequest.from_args(build_parser().parse_args([str(a) for a in argv]))
    command = first["provenance"]["command"]
    assert command == shlex.join(request.to_argv())
    before = _table(out)
    shutil.rmtree(out)  # recompute from nothing, from another folder
    monkeypatch.chdir(tmp_path)
    again = _json(capsys, shlex.split(command)[1:])
    assert (again["rows"], again["errors"]) == (first["rows"], first["errors"])
    assert again["processed"] == first["processed"] == first["files"]
    assert _table(out).equals(before)
    resumed = _json(capsys, shlex.split(command)[1:])  # the same settings: a resume
    assert (resumed["skipped"], resumed["processed"]) == (first["files"], 0)


def test_a_300_character_label_is_recorded(images, clip_args, capsys, tmp_path):
    out = tmp_path / "long"
    data = _json(capsys, ["batch", images / "red", "--task", "labels", "--labels",
                          f"star,{LONG}", "--out", out, *clip_args, "--json"])  # fmt: skip
    assert len(LONG) > 300 and LONG.strip() in data["provenance"]["command"]
    assert data["errors"] == 0
