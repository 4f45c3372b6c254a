"""A batch run on a 2-worker local Dask cluster gives the local run's table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fixtures.collection_data import make_image_folder
from napari_clipcap.core.batch.chunks import BatchSpec
from napari_clipcap.core.batch.runner import run_batch


@pytest.mark.slow
def test_two_worker_dask_cluster_matches_local_run(tiny_clip_files, tmp_path):
    images = make_image_folder(tmp_path / "images", per_colour=2)
    (images / "broken.png").write_bytes(b"not a png")
    spec = BatchSpec(
        "embed",
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    local = run_batch([images], spec, tmp_path / "local", chunk_size=3)
    dist = run_batch([images], spec, tmp_path / "dask", chunk_size=3, workers=2)
    a, b = pd.read_parquet(local.parquet), pd.read_parquet(dist.parquet)
    assert len(a) == 13 and a.drop(columns="embedding").equals(b.drop(columns="embedding"))
    assert all(
        np.array_equal(x, y) for x, y in zip(a["embedding"].dropna(), b["embedding"].dropna())
    )


@pytest.mark.slow
def test_existing_scheduler_address_is_used(tiny_clip_files, tmp_path):
    from distributed import Client, LocalCluster

    images = make_image_folder(tmp_path / "images", per_colour=1)
    spec = BatchSpec(
        "embed",
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    local = run_batch([images], spec, tmp_path / "local", chunk_size=2)
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            dist = run_batch(
                [images],
                spec,
                tmp_path / "dask",
                chunk_size=2,
                scheduler=cluster.scheduler_address,
            )
            assert client.scheduler_info()["workers"]  # the cluster is still up after the run
    a, b = pd.read_parquet(local.parquet), pd.read_parquet(dist.parquet)
    assert len(a) == 7 and a.drop(columns="embedding").equals(b.drop(columns="embedding"))
    assert all(np.allclose(x, y, atol=1e-6) for x, y in zip(a["embedding"], b["embedding"]))


def _sixty_pngs(root):
    from fixtures.collection_data import COLOURS, colour_image, write_png

    for i in range(60):
        colour = list(COLOURS)[i % len(COLOURS)]
        write_png(root / f"im{i:02d}.png", colour_image(colour, size=16, seed=i))
    return root


@pytest.fixture(scope="module")
def thread_cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
        yield cluster


@pytest.mark.parametrize("chunk_size", [1, 4, 7])
def test_many_small_chunks_on_a_cluster_lose_no_file(
    tiny_clip_files, tmp_path, thread_cluster, chunk_size
):
    # issue 21 item 12: 60 PNGs in chunks of 4 on 2 workers gave 56 rows, rc 0
    images = _sixty_pngs(tmp_path / "images")
    spec = BatchSpec(
        "labels",
        labels=("red", "blue"),
        regions=((0, 0, 8, 8), (4, 4, 16, 16)),
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )
    rep = run_batch(
        [images], spec, tmp_path / "out", chunk_size=chunk_size,
        scheduler=thread_cluster.scheduler_address,
    )  # fmt: skip
    df = pd.read_parquet(rep.parquet)
    assert (rep.files, rep.processed, rep.rows, rep.errors) == (60, 60, 120, 0)
    assert len(df) == 120 and df["path"].nunique() == 60


def test_a_table_that_does_not_add_up_is_refused(tmp_path):
    from napari_clipcap.core.batch.runner import _prove_table
    from napari_clipcap.core.errors import CountMismatchError

    df = pd.DataFrame(
        {"path": ["a", "a", "b", "c"], "hdu": [None, None, None, None],
         "error": [None, None, None, "broken"]}
    ).astype({"hdu": "Int64"})  # fmt: skip
    _prove_table(df[df["path"] != "b"], ["a", "c"], per_unit=2)
    with pytest.raises(CountMismatchError, match="1 input files have no row"):
        _prove_table(df, ["a", "b", "c", "d"], per_unit=2)
    with pytest.raises(CountMismatchError, match="files x regions"):
        _prove_table(df, ["a", "b", "c"], per_unit=2)  # b has one row of two


def test_a_chunk_that_loses_a_file_fails_the_run(tiny_clip_files, tmp_path, monkeypatch):
    from napari_clipcap.core.batch import runner
    from napari_clipcap.core.errors import CountMismatchError

    images = _sixty_pngs(tmp_path / "images")
    real = runner.run_chunk

    def lossy(spec_dict, paths):
        return real(spec_dict, paths)[1:]

    monkeypatch.setattr(runner, "run_chunk", lossy)
    spec = BatchSpec(
        "embed", clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors), device="cpu",
    )  # fmt: skip
    with pytest.raises(CountMismatchError, match="a chunk of 30 files gave rows for 29"):
        run_batch([images], spec, tmp_path / "out", chunk_size=30)
