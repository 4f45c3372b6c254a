"""Batch runs after a crash: no empty batch.json, no cut files, temporaries cleaned."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from fixtures.collection_data import make_image_folder
from fixtures.crash import FailingReplace, run_killed
from napari_clipcap.core.batch.chunks import BatchSpec
from napari_clipcap.core.batch.runner import read_parts, run_batch
from napari_clipcap.core.errors import FileFormatError


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("batch") / "images", per_colour=1)


@pytest.fixture
def spec(tiny_clip_files):
    return BatchSpec(
        "embed",
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )


def _same_table(a: str, b: str) -> None:
    x, y = pd.read_parquet(a), pd.read_parquet(b)
    assert x.drop(columns="embedding").equals(y.drop(columns="embedding"))
    assert all(np.array_equal(u, v) for u, v in zip(x["embedding"], y["embedding"]))


def test_failed_settings_write_leaves_no_empty_batch_json(images, spec, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", FailingReplace(2))  # after the folder's mark
    with pytest.raises(OSError, match="injected"):
        run_batch([images], spec, tmp_path / "out")
    monkeypatch.undo()
    assert not (tmp_path / "out" / "batch.json").exists()
    names = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert names == [".napari-clipcap-run.json"]  # the folder's mark, no temporaries
    rep = run_batch([images], spec, tmp_path / "out", chunk_size=2)
    _same_table(rep.parquet, run_batch([images], spec, tmp_path / "fresh", chunk_size=2).parquet)


def test_empty_batch_json_from_an_older_kill_is_recorded_again(images, spec, tmp_path):
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    (out / "batch.json").write_text("")
    assert run_batch([images / "red"], spec, out).processed == 1
    assert '"task": "embed"' in (out / "batch.json").read_text()
    (out / "batch.json").write_text("")  # with parts done under it: refused, clearly
    with pytest.raises(FileFormatError, match=r"batch\.json"):
        run_batch([images / "red"], spec, out)


def test_temporaries_of_a_killed_run_are_removed(images, spec, tmp_path):
    """Only names of the form core/io/atomic makes are removed (issue 21.4): look-alikes
    (older versions' names, or a user's dotfiles) stay."""
    out = tmp_path / "out"
    run_batch([images / "red"], spec, out)
    left = [
        out / "parts" / ".part-0000002-cafe.parquet.tmp-123-abcdef01",
        out / ".batch.json.tmp-9-0123abcd",
        out / "heatmaps" / ".x.npy.tmp-77-deadbeef",
    ]
    kept = [
        out / "parts" / ".part-0000001-deadbeef.parquet.tmp",
        out / ".results.csv.tmp",
        out / ".notes.tmp-1-ab",
    ]
    for p in left + kept:
        p.write_bytes(b"cut")
    run_batch([images], spec, out)
    assert not any(p.exists() for p in left)
    assert all(p.read_bytes() == b"cut" for p in kept)


def test_a_run_killed_at_a_part_resumes_to_the_same_table(images, spec, tmp_path):
    out = tmp_path / "out"
    code = f"""
    from napari_clipcap.core.batch.chunks import BatchSpec
    from napari_clipcap.core.batch.runner import run_batch
    spec = BatchSpec("embed", clip_model={spec.clip_model!r},
                     clip_weights={spec.clip_weights!r}, device="cpu")
    run_batch([{str(images)!r}], spec, {str(out)!r}, chunk_size=2)
    """
    proc = run_killed(code, "part-*.parquet", nth=3)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert read_parts(out)["path"].nunique() == 4  # two whole chunks of two files
    assert any(p.name.startswith(".part-") for p in (out / "parts").iterdir())
    rep = run_batch([images], spec, out, chunk_size=2)
    assert rep.skipped == 4
    assert not [p for p in (out / "parts").iterdir() if p.name.startswith(".")]
    _same_table(rep.parquet, run_batch([images], spec, tmp_path / "fresh", chunk_size=2).parquet)
