"""``index``, ``search`` and ``batch`` on the command line, with the tiny CLIP model."""

from __future__ import annotations

import json

import pytest

from fixtures.collection_data import make_image_folder
from napari_clipcap.cli import main


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("cli_images") / "images", per_colour=1)


def _clip_args(files):
    return ["--clip", str(files.config), "--clip-weights", str(files.safetensors)]


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_index_then_search_by_text_and_image(images, tmp_path, tiny_clip_files, capsys):
    col = str(tmp_path / "col")
    argv = ["index", str(images), "--index", col, *_clip_args(tiny_clip_files), "--json"]
    first = _json(capsys, [*argv, "--device", "cpu"])
    assert (first["items"], first["added"], first["embedded"]) == (7, 6, 7)
    assert first["index_kind"] == "exact"
    # incremental: nothing to embed; --clip may be left out (the collection's model)
    again = _json(capsys, ["index", str(images), "--index", col, "--json"])
    assert (again["unchanged"], again["embedded"]) == (6, 0)

    out = _json(capsys, ["search", "--index", col, "--text", "a red field", "-k", "3", "--json"])
    assert [h["rank"] for h in out["hits"]] == [1, 2, 3]
    scores = [h["score"] for h in out["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert out["items"] == 7 and out["query"] == {"text": "a red field"}

    query = str(images / "blue" / "blue_0.png")
    out = _json(capsys, ["search", "--index", col, "--image", query, "-k", "2", "--json"])
    assert out["hits"][0]["path"] == query and out["hits"][0]["score"] == pytest.approx(
        1, abs=1e-4
    )

    fits_file = str(images / "sky.fits")
    out = _json(capsys, ["search", "--index", col, "--image", fits_file, "--hdu", "2", "--json"])
    assert (out["hits"][0]["path"], out["hits"][0]["hdu"]) == (fits_file, 2)
    out = _json(
        capsys,
        [
            "search",
            "--index",
            col,
            "--image",
            fits_file,
            "--region",
            "0,0,8,8",
            "-k",
            "1",
            "--json",
        ],
    )
    assert out["query"]["hdu"] == 1 and out["query"]["region"] == [0, 0, 8, 8]

    assert main(["search", "--index", col, "--text", "galaxy", "-k", "2"]) == 0
    text = capsys.readouterr().out
    assert "2 of 7 images (exact search)" in text


def test_index_with_another_model_is_refused(images, tmp_path, tiny_clip_files, capsys):
    col = str(tmp_path / "col")
    assert main(["index", str(images), "--index", col, *_clip_args(tiny_clip_files)]) == 0
    capsys.readouterr()
    code = main(["index", str(images), "--index", col, "--clip", str(tiny_clip_files.hf_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "was built with model" in err and "--clip" in err


def test_index_clip_without_weights_uses_the_reference_weights(tmp_path):
    import argparse

    from napari_clipcap.cli.index import clip_spec

    def spec(clip, weights=None):
        found = clip_spec(argparse.Namespace(clip=clip, clip_weights=weights), str(tmp_path))
        return found.name, found.weights

    assert spec("ViT-B-32") == ("ViT-B-32", "openai")  # not random weights
    assert spec("ViT-B-32", "laion2b_s34b_b79k") == ("ViT-B-32", "laion2b_s34b_b79k")
    assert spec("my.json", "w.safetensors") == ("my.json", "w.safetensors")


def test_search_errors_are_one_line(tmp_path, capsys):
    assert main(["search", "--index", str(tmp_path / "none"), "--text", "x"]) == 2
    assert "not a collection" in capsys.readouterr().err


def test_batch_embed_and_heatmap(images, tmp_path, tiny_clip_files, capsys):
    out = str(tmp_path / "emb")
    argv = ["batch", str(images), "--task", "embed", "--out", out, *_clip_args(tiny_clip_files)]
    rep = _json(capsys, [*argv, "--json", "--device", "cpu"])
    assert (rep["task"], rep["files"], rep["rows"], rep["errors"]) == ("embed", 6, 7, 0)
    again = _json(capsys, [*argv, "--json"])
    assert (again["skipped"], again["processed"]) == (6, 0)

    import numpy as np
    import pandas as pd

    out = tmp_path / "heat"
    argv = [
        "batch",
        str(images / "red"),
        str(images / "sky.fits"),
        "--task",
        "heatmap",
        "--query",
        "red",
        "--window",
        "16",
        "--stride",
        "8",
        "--out",
        str(out),
        *_clip_args(tiny_clip_files),
    ]
    assert main(argv) == 0
    assert "3 rows, 0 errors" in capsys.readouterr().out
    df = pd.read_csv(out / "results.csv")
    for _, row in df.iterrows():
        heat = np.load(out / row["heatmap"])
        assert heat.dtype == np.float32 and heat.shape == (row["height"], row["width"])
        assert heat.max() == np.float32(row["max"])


def test_batch_caption_with_clipcap(
    images, tmp_path, tiny_clip_files, clipcap_mlp_pt, gpt2_dir, capsys
):
    out = tmp_path / "cap"
    argv = [
        "batch",
        str(images / "blue"),
        "--task",
        "caption",
        "--weights",
        str(clipcap_mlp_pt),
        "--decoder",
        str(gpt2_dir),
        "--max-tokens",
        "5",
        "--region",
        "0,0,12,12",
        "--region",
        "12,12,24,24",
        "--out",
        str(out),
        *_clip_args(tiny_clip_files),
        "--json",
    ]
    rep = _json(capsys, argv)
    assert rep["rows"] == 2 and rep["errors"] == 0
    import pandas as pd

    df = pd.read_parquet(out / "results.parquet")
    assert list(df["region"]) == ["0,0,12,12", "12,12,24,24"]
    assert all(isinstance(c, str) for c in df["caption"])


def test_batch_bad_options_are_one_line_errors(images, tmp_path, capsys):
    argv = ["batch", str(images), "--task", "labels", "--labels", "one", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "at least two labels" in capsys.readouterr().err
