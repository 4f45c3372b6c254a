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
