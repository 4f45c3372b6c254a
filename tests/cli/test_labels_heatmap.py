"""``napari-clipcap labels`` and ``heatmap`` run in-process with the tiny CLIP."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_clipcap.cli import main
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.tasks.heatmap import text_heatmap
from napari_clipcap.core.tasks.labels import score_regions


@pytest.fixture
def png(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    path = tmp_path / "scene.png"
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def fits_file(tmp_path):
    from astropy.io import fits
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.1, 2.2]
    w.wcs.crpix = [20, 15]
    w.wcs.cdelt = [-0.0002, 0.0002]
    data = np.random.default_rng(1).normal(100, 5, (30, 40)).astype(">f4")
    path = tmp_path / "sky.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, w.to_header(), name="SCI")]).writeto(path)
    return path


def test_labels_json_matches_score_regions(png, clip_args, tiny_clip, capsys):
    rc = main(
        [
            "labels",
            str(png),
            "--labels",
            "river, forest,city",
            "--region",
            "0,0,32,24",
            "--region",
            "10,10,64,48",
            "--json",
            *clip_args,
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["labels"] == ["river", "forest", "city"]
    assert [r["box"] for r in out["regions"]] == [[0, 0, 32, 24], [10, 10, 64, 48]]
    want = score_regions(
        read_image(png).data,
        [(0, 0, 32, 24), (10, 10, 64, 48)],
        ["river", "forest", "city"],
        tiny_clip,
    )
    got = np.array([[r["scores"][x] for x in out["labels"]] for r in out["regions"]])
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert out["regions"][0]["ranked"][0][1] == pytest.approx(want[0].max(), abs=1e-6)


def test_labels_region_partly_outside_is_clipped_and_reported(png, clip_args, tiny_clip, capsys):
    argv = ["labels", str(png), "--labels", "river,forest", "--region", "-8,-4,20,20"]
    assert main([*argv, "10,10,70,30", "0,0,5,5", "--json", *clip_args]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert [r["box"] for r in out["regions"]] == [[-8, -4, 20, 20], [10, 10, 70, 30], [0, 0, 5, 5]]
    assert [r["clipped_to"] for r in out["regions"]] == [[0, 0, 20, 20], [10, 10, 64, 30], None]
    assert captured.err.count("reaches past") == 2  # two clipped, the third inside
    # and every region under 32 px on a side is flagged as too small to trust
    assert captured.err.count("far smaller than the model's input") == 3
    assert "scene.png: region -8,-4,20,20 reaches past the 64 x 48" in captured.err
    want = score_regions(
        read_image(png).data,
        [(0, 0, 20, 20), (10, 10, 64, 30), (0, 0, 5, 5)],
        ["river", "forest"],
        tiny_clip,
    )
    got = np.array([[r["scores"][x] for x in out["labels"]] for r in out["regions"]])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_labels_text_output_whole_image_and_templates(png, clip_args, capsys):
    rc = main(
        [
            "labels",
            str(png),
            "--labels",
            "river,forest",
            "--templates",
            "satellite",
            "--top-k",
            "1",
            *clip_args,
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "region 0,0,64,48:" in text and text.count("river") + text.count("forest") >= 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--labels", "river,river"], "duplicate labels"),
        (["--labels", "river", "--region", "100,100,120,120"], "outside"),
        (["--labels", "river", "--region", "-30,0,-1,10"], "scene.png: box (-30, 0, -1, 10) lies"),
        (["--labels", "river", "--region", "1,2,3"], "four numbers"),
        (["--labels", "river", "--template", "no placeholder"], "{}"),
        (["--labels", "river", "--batch-size", "0"], "--batch-size: must be at least 1"),
    ],
)
def test_labels_bad_input_exit_2(png, clip_args, capsys, extra, message):
    try:
        rc = main(["labels", str(png), *extra, *clip_args])
    except SystemExit as exc:  # values refused by the parser (argparse type= checks)
        rc = exc.code
    assert rc == 2
    assert message in capsys.readouterr().err


def test_missing_model_is_one_clear_message(png, tmp_path, tiny_clip_files, capsys):
    missing = tmp_path / "missing.safetensors"
    rc = main(
        [
            "labels",
            str(png),
            "--labels",
            "a,b",
            "--clip",
            str(tiny_clip_files.config),
            "--clip-weights",
            str(missing),
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and str(missing) in err and "--clip-weights" in err
    assert "Traceback" not in err


def test_heatmap_npy_matches_python(png, clip_args, tiny_clip, tmp_path, capsys):
    out = tmp_path / "map.npy"
    rc = main(
        [
            "heatmap",
            str(png),
            "--query",
            "river",
            "--window",
            "32",
            "--stride",
            "16",
            "--out",
            str(out),
            "--json",
            *clip_args,
        ]
    )
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    got = np.load(out)
    assert got.shape == (48, 64) and got.dtype == np.float32 and info["shape"] == [48, 64]
    want = text_heatmap(read_image(png).data, "river", tiny_clip, window=32, stride=16)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_heatmap_several_queries_tiff_dense(png, clip_args, tmp_path):
    import tifffile

    out = tmp_path / "maps.tif"
    rc = main(
        [
            "heatmap",
            str(png),
            "--query",
            "river",
            "--query",
            "forest",
            "--mode",
            "dense",
            "--window",
            "32",
            "--stride",
            "32",
            "--softmax",
            "--out",
            str(out),
            *clip_args,
        ]
    )
    assert rc == 0
    maps = tifffile.imread(out)
    assert maps.shape == (2, 48, 64) and maps.dtype == np.float32
    np.testing.assert_allclose(maps.sum(axis=0), 1.0, atol=1e-5)


def test_heatmap_fits_keeps_wcs(fits_file, clip_args, tmp_path):
    from astropy.io import fits

    out = tmp_path / "map.fits"
    rc = main(
        [
            "heatmap",
            str(fits_file),
            "--query",
            "a spiral galaxy",
            "--window",
            "32",
            "--stride",
            "16",
            "--out",
            str(out),
            *clip_args,
        ]
    )
    assert rc == 0
    with fits.open(out) as hdul:
        head, data = hdul[0].header, hdul[0].data
        assert data.shape == (30, 40)
        assert head["CTYPE1"] == "RA---TAN" and head["CRVAL1"] == pytest.approx(150.1)
        assert head["CRPIX2"] == pytest.approx(15)
        assert "a spiral galaxy" in str(head["HISTORY"])


def test_heatmap_bad_output_and_stride(png, clip_args, tmp_path, capsys):
    assert (
        main(["heatmap", str(png), "--query", "x", "--out", str(tmp_path / "m.png"), *clip_args])
        == 2
    )
    assert ".npy" in capsys.readouterr().err
    assert (
        main(
            [
                "heatmap",
                str(png),
                "--query",
                "x",
                "--window",
                "16",
                "--stride",
                "32",
                "--out",
                str(tmp_path / "m.npy"),
                *clip_args,
            ]
        )
        == 2
    )
    assert "larger than the window" in capsys.readouterr().err


def test_heatmap_unwritable_out_is_one_line(png, clip_args, tmp_path, capsys):
    (tmp_path / "taken.npy").mkdir()  # a folder where the map file should go
    (tmp_path / "plain.txt").write_text("")  # a file where a folder should be
    for out in (tmp_path / "taken.npy", tmp_path / "plain.txt" / "m.npy"):
        rc = main(["heatmap", str(png), "--query", "x", "--out", str(out), *clip_args])
        err = capsys.readouterr().err
        assert rc == 2 and "--out" in err and "Traceback" not in err
