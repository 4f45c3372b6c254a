"""Batch runs: one bad file never stops a run; images above the budget are read reduced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from fixtures.bad_images import write_bomb_png, write_corrupt_tiles
from fixtures.collection_data import make_image_folder
from napari_clipcap.core.batch.chunks import BatchSpec
from napari_clipcap.core.batch.runner import run_batch
from napari_clipcap.core.io import budget


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = make_image_folder(tmp_path_factory.mktemp("batch_bad") / "images", per_colour=1)
    write_bomb_png(root / "a_bomb.png")
    write_corrupt_tiles(root / "a_tiles.fits")
    return root


@pytest.fixture
def clip_kwargs(tiny_clip_files):
    return {
        "clip_model": str(tiny_clip_files.config),
        "clip_weights": str(tiny_clip_files.safetensors),
        "device": "cpu",
    }


def test_bad_files_get_error_rows_and_later_files_are_processed(folder, tmp_path, clip_kwargs):
    spec = BatchSpec("embed", **clip_kwargs)
    out = tmp_path / "out"
    rep = run_batch([folder], spec, out, chunk_size=2)
    df = pd.read_parquet(rep.parquet)
    errors = df[df["error"].notna()].set_index("path")["error"]
    names = {p.rsplit("/", 1)[-1]: e for p, e in errors.items()}
    assert sorted(names) == ["a_bomb.png", "a_tiles.fits"]
    assert "decompression-bomb" in names["a_bomb.png"]
    assert "tile-compressed HDU is corrupt" in names["a_tiles.fits"]
    assert rep.rows == 5 + 2 + 2 and rep.errors == 2
    again = run_batch([folder], spec, out, chunk_size=2, retry_errors=True)
    assert again.processed == 2 and again.errors == 2  # retried, recorded, not stuck


def test_images_above_the_budget_are_read_reduced_with_regions_scaled(
    tmp_path, clip_kwargs, monkeypatch
):
    root = tmp_path / "in"
    root.mkdir()
    data = np.random.default_rng(0).normal(100, 5, (64, 48)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(root / "big.fits")
    fits.PrimaryHDU(data[:20, :20]).writeto(root / "small.fits")
    monkeypatch.setenv(budget.ENV_VAR, "1000")
    spec = BatchSpec(
        "labels",
        labels=("star", "galaxy"),
        regions=((0, 0, 48, 64), (10, 10, 40, 60)),
        **clip_kwargs,
    )
    rep = run_batch([root], spec, tmp_path / "out")
    df = pd.read_parquet(rep.parquet).set_index("path")
    assert rep.errors == 0
    big = df.loc[str((root / "big.fits").resolve())]
    assert list(big["reduced_by"]) == [2, 2]
    assert list(big["width"]) == [24, 24] and list(big["height"]) == [32, 32]
    assert list(big["clipped_to"]) == ["", ""]  # the regions fit the full-size image
    assert list(df.loc[str((root / "small.fits").resolve())]["reduced_by"]) == [1, 1]
