"""``index --workers``, ``index --from-batch`` and ``--index-memory`` on the command line."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from fixtures.collection_data import make_image_folder
from napari_clipcap.cli import main
from napari_clipcap.core.batch.chunks import BatchSpec
from napari_clipcap.core.batch.runner import run_batch
from napari_clipcap.core.collection.store import Collection


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("archive_images") / "images", per_colour=1)


def _clip_args(files):
    return ["--clip", str(files.config), "--clip-weights", str(files.safetensors)]


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _embed_run(images, out, files) -> None:
    spec = BatchSpec("embed", clip_model=str(files.config),
                     clip_weights=str(files.safetensors), device="cpu")  # fmt: skip
    run_batch([images], spec, out)


def test_from_batch_imports_the_run_without_embedding(images, tmp_path, tiny_clip_files, capsys):
    run, col = tmp_path / "run", str(tmp_path / "col")
    _embed_run(images, run, tiny_clip_files)
    (images / "extra.png").write_bytes(b"")  # not in the run: left to `index`
    try:
        rep = _json(capsys, ["index", "--from-batch", str(run), "--index", col, "--json"])
    finally:
        (images / "extra.png").unlink()
    assert (rep["added"], rep["embedded"], rep["items"], rep["failed"]) == (6, 7, 7, [])
    table = pd.read_parquet(run / "results.parquet")
    with Collection(col) as c:
        assert c.model_spec == (str(tiny_clip_files.config), str(tiny_clip_files.safetensors))
        assert c.model_id == f"{tiny_clip_files.config} ({tiny_clip_files.safetensors})"
        ids, vecs = c.vectors()
        got = {(it.path, it.hdu): vecs[list(ids).index(it.id)] for it in c.items()}
    for row in table.itertuples():
        hdu = None if pd.isna(row.hdu) else int(row.hdu)
        np.testing.assert_array_equal(got[(row.path, hdu)], np.asarray(row.embedding))
    # the same model indexing the folders afterwards embeds nothing again
    again = _json(capsys, ["index", str(images), "--index", col, "--json", "--device", "cpu"])
    assert (again["unchanged"], again["embedded"], again["items"]) == (6, 0, 7)
    # importing again changes nothing
    rep = _json(capsys, ["index", "--from-batch", str(run), "--index", col, "--json"])
    assert (rep["unchanged"], rep["embedded"]) == (6, 0)


def test_from_batch_with_another_model_is_refused(images, tmp_path, tiny_clip_files, capsys):
    run, col = tmp_path / "run", str(tmp_path / "col")
    _embed_run(images, run, tiny_clip_files)
    with Collection(col, create=True) as c:
        c.bind_model("RemoteCLIP-ViT-B-32", "RemoteCLIP-ViT-B-32")
    assert main(["index", "--from-batch", str(run), "--index", col]) == 2
    err = capsys.readouterr().err
    assert "was built with model 'RemoteCLIP-ViT-B-32'" in err and len(err.splitlines()) == 1
    with Collection(col) as c:
        assert len(c) == 0 and c.file_paths() == []


def test_from_batch_refuses_other_runs_and_flags(images, tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "batch.json").write_text(json.dumps({"task": "caption"}))
    cases = [
        (["--from-batch", str(tmp_path / "run")], "only --task embed"),
        (["--from-batch", str(tmp_path / "nothing")], "not a batch run"),
        (["--from-batch", str(tmp_path / "run"), str(images)], "give no PATH"),
        ([], "give image files or folders"),
        ([str(images), "--workers", "0"], "at least 1"),
        ([str(images), "--workers", "2", "--scheduler", "tcp://x:1"], "not both"),
        ([str(images), "--index-memory", "lots"], "not a positive size"),
    ]
    for extra, message in cases:
        assert main(["index", *extra, "--index", str(tmp_path / "col")]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (extra, err)


def test_workers_flag_indexes_on_a_local_cluster(images, tmp_path, tiny_clip_files, capsys):
    col = str(tmp_path / "col")
    argv = ["index", str(images), "--index", col, *_clip_args(tiny_clip_files), "--json"]
    rep = _json(capsys, [*argv, "--workers", "1", "--device", "cpu"])
    assert (rep["added"], rep["embedded"], rep["items"]) == (6, 7, 7)
    assert rep["model"] == f"{tiny_clip_files.config} ({tiny_clip_files.safetensors})"
    again = _json(capsys, [*argv, "--device", "cpu"])  # local run after a cluster run
    assert (again["unchanged"], again["embedded"]) == (6, 0)


def test_a_large_imported_run_gets_the_compressed_index(tmp_path, tiny_clip_files, capsys):
    """1,500 vectors over a 100 KB budget: IVF-PQ; search stays exact at the top."""
    files = tmp_path / "files"
    files.mkdir()
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((1500, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    paths = [str(files / f"im{i:04d}.png") for i in range(1500)]
    for p in paths:
        open(p, "wb").close()
    (tmp_path / "run" / "parts").mkdir(parents=True)
    spec = {"task": "embed", "clip_model": str(tiny_clip_files.config),
            "clip_weights": str(tiny_clip_files.safetensors)}  # fmt: skip
    (tmp_path / "run" / "batch.json").write_text(json.dumps(spec))
    part = tmp_path / "run" / "parts" / "part-0000000-abc.parquet"
    pd.DataFrame({"path": paths, "hdu": pd.array([None] * 1500, dtype="Int64"),
                  "width": 64, "height": 64, "error": None,
                  "embedding": list(vecs)}).to_parquet(part)  # fmt: skip
    later = os.stat(paths[0]).st_mtime_ns + 10**9
    os.utime(part, ns=(later, later))
    col = str(tmp_path / "col")
    argv = ["index", "--from-batch", str(tmp_path / "run"), "--index", col, "--json"]
    rep = _json(capsys, [*argv, "--index-memory", "100K"])
    assert (rep["items"], rep["index_kind"]) == (1500, "ivfpq")
    out = _json(capsys, ["search", "--index", col, "--text", "x", "-k", "5", "--json",
                         "--index-memory", "100K", "--device", "cpu"])  # fmt: skip
    assert out["index_kind"] == "ivfpq" and len(out["hits"]) == 5
    with Collection(col, memory_budget=100_000) as c:
        hits = c.search(vecs[[3, 700]], k=3)
    assert [h[0][0].path for h in hits] == [paths[3], paths[700]]
