"""Batch runs: table contents, per-file errors, resume, and a 2-worker Dask cluster."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from fixtures.collection_data import make_image_folder
from napari_clipcap.core.batch import chunks as batch_tasks
from napari_clipcap.core.batch.chunks import BatchSpec
from napari_clipcap.core.batch.runner import read_parts, run_batch
from napari_clipcap.core.errors import Cancelled, FileFormatError, InvalidInputError
from napari_clipcap.core.io.sources import load_unit


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = make_image_folder(tmp_path_factory.mktemp("batch") / "images", per_colour=2)
    (root / "broken.png").write_bytes(b"not a png")
    return root


@pytest.fixture
def spec(tiny_clip_files):
    return BatchSpec(
        "embed",
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
    )


def test_embed_table_matches_the_encoder_and_records_errors(images, spec, tmp_path, tiny_clip):
    rep = run_batch([images], spec, tmp_path / "out", chunk_size=4)
    assert (rep.files, rep.processed, rep.rows, rep.errors) == (12, 12, 13, 1)
    df = pd.read_parquet(rep.parquet)
    bad = df[df["error"].notna()]
    assert list(bad["path"].str.endswith("broken.png")) == [True]
    assert "broken.png: not an image" in bad["error"].iloc[0]
    fits_rows = df[df["path"].str.endswith("sky.fits")]
    assert list(fits_rows["hdu"]) == [1, 2] and list(fits_rows["width"]) == [30, 30]
    row = df[df["path"].str.endswith("red_0.png")].iloc[0]
    want = tiny_clip.encode_images([load_unit(row["path"], None)])[0]
    assert np.allclose(row["embedding"], want, atol=1e-5)
    csv = pd.read_csv(rep.csv)
    assert len(csv) == 13 and csv["embedding"].dropna().str.startswith("[").all()
    assert np.allclose(np.array(eval(csv["embedding"].iloc[0])), df["embedding"].iloc[0])


def test_resume_after_cancel_gives_the_same_table(images, spec, tmp_path):
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        run_batch(
            [images],
            spec,
            tmp_path / "out",
            chunk_size=3,
            progress=lambda d, t: cancel.set(),
            cancel=cancel,
        )
    partial = read_parts(tmp_path / "out")
    assert 0 < partial["path"].nunique() < 12
    rep = run_batch([images], spec, tmp_path / "out", chunk_size=3)
    assert rep.skipped == partial["path"].nunique() and rep.processed == 12 - rep.skipped
    full = run_batch([images], spec, tmp_path / "fresh", chunk_size=3)
    a, b = pd.read_parquet(rep.parquet), pd.read_parquet(full.parquet)
    assert a.drop(columns="embedding").equals(b.drop(columns="embedding"))
    assert all(
        np.allclose(x, y, atol=1e-6)
        for x, y in zip(a["embedding"].dropna(), b["embedding"].dropna())
    )


def test_other_settings_in_the_same_folder_are_refused(images, spec, tmp_path):
    run_batch([images / "red"], spec, tmp_path / "out")
    other = BatchSpec("embed", clip_model="ViT-B-32", clip_weights="openai")
    with pytest.raises(InvalidInputError, match=r"another batch run.*clip_model"):
        run_batch([images / "red"], other, tmp_path / "out")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"task": "heatmap", "query": "river", "window": 0}, "window and stride"),
        ({"task": "heatmap", "query": "river", "stride": 300}, "larger than the window"),
        ({"task": "labels", "labels": ("a", "b"), "template": "no braces"}, "template"),
        ({"task": "embed", "batch_size": 0}, "batch size"),
        ({"task": "caption", "weights": "w.pt", "beam": 0}, "--beam"),
    ],
)
def test_settings_that_fail_every_file_are_refused_up_front(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        BatchSpec(**kwargs)


def test_bad_chunk_size_and_out_file_are_clear_errors(images, spec, tmp_path):
    with pytest.raises(InvalidInputError, match="chunk size"):
        run_batch([images / "red"], spec, tmp_path / "out", chunk_size=0)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "batch.json").write_text("{cut sh")
    with pytest.raises(FileFormatError, match=r"batch\.json"):
        run_batch([images / "red"], spec, tmp_path / "broken")
    a_file = tmp_path / "results.txt"
    a_file.write_text("")
    with pytest.raises(InvalidInputError, match="is a file"):
        run_batch([images / "red"], spec, a_file)


def test_model_failure_is_isolated_to_its_file(images, spec, tmp_path, monkeypatch):
    real = batch_tasks._run_task

    def fragile(spec, model, imgs, *where):
        if any(im.shape[:2] == (20, 30) for im in imgs):  # the FITS HDUs
            raise RuntimeError("model exploded")
        return real(spec, model, imgs, *where)

    monkeypatch.setattr(batch_tasks, "_run_task", fragile)
    rep = run_batch([images], spec, tmp_path / "out", chunk_size=12)
    df = pd.read_parquet(rep.parquet)
    errors = df[df["error"].notna()].set_index("path")["error"]
    assert sorted(p.rsplit("/", 1)[-1] for p in errors.index) == ["broken.png", "sky.fits"]
    assert errors[str(images / "sky.fits")] == "RuntimeError: model exploded"
    assert df["embedding"].notna().sum() == 10

    monkeypatch.setattr(batch_tasks, "_run_task", real)
    rep = run_batch([images], spec, tmp_path / "out", chunk_size=12, retry_errors=True)
    assert rep.processed == 2 and rep.errors == 1  # sky.fits fixed, broken.png still broken


def test_labels_task_rows_per_region(images, tiny_clip_files, tmp_path):
    spec = BatchSpec(
        "labels",
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        device="cpu",
        labels=("red", "blue", "galaxy"),
        regions=((0, 0, 10, 10), (5, 5, 20, 20)),
    )
    rep = run_batch([images / "red", images / "sky.fits"], spec, tmp_path / "out")
    df = pd.read_parquet(rep.parquet)
    assert len(df) == 2 * 4 and set(df["region"]) == {"0,0,10,10", "5,5,20,20"}
    probs = df[["p:red", "p:blue", "p:galaxy"]].to_numpy()
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert (df["label"] == np.array(["red", "blue", "galaxy"])[probs.argmax(1)]).all()


def test_out_in_a_folder_of_the_users_is_refused_and_its_dotfiles_kept(
    images, spec, tmp_path, monkeypatch, capsys
):
    """Issue 21.4: ``batch --out .`` from a home folder deletes and renames nothing."""
    from napari_clipcap.cli import main

    home = tmp_path / "home"
    home.mkdir()
    users = {".draft.tmp": "draft", ".profile.old-1": "old", ".settings.old-2023": "2023",
             "profile": "current"}  # fmt: skip
    for name, text in users.items():
        (home / name).write_text(text)
    (home / "parts").mkdir()  # a name the run writes, holding a file of the user's
    (home / "parts" / "my_notes.txt").write_text("notes")
    with pytest.raises(InvalidInputError, match="did not create"):
        run_batch([images], spec, home)
    monkeypatch.chdir(home)
    argv = ["batch", str(images), "--task", "embed", "--out", ".", "--clip",
            spec.clip_model, "--clip-weights", spec.clip_weights, "--device", "cpu"]  # fmt: skip
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--json"]) == 0
    for name, text in users.items():
        assert (home / name).read_text() == text
    assert (home / "parts" / "my_notes.txt").read_text() == "notes"  # file by file
    assert not (home / "settings").exists() and (home / "batch.json").is_file()
    assert main([*argv, "--json"]) == 0  # marked as the run's folder now: resumes
