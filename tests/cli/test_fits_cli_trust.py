"""FITS through the command line: cubes stay cubes, non-ASCII commands, one read, one
warning line (issue 21 items 7, 16, 19)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_clipcap.cli import main


@pytest.mark.parametrize("shape", [(10, 64, 3), (1000, 4, 4), (3, 40, 4)])
def test_fits_cube_with_a_short_last_axis_is_a_cube_not_colour(tmp_path, clip_args, capsys, shape):
    """FITS axes are never colour: the first plane (rows x the last axis) is scored."""
    from astropy.io import fits

    data = np.random.default_rng(0).normal(10, 1, shape).astype(np.float32)
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(data).writeto(path)
    assert main(["labels", str(path), "--labels", "a,b", "--json", *clip_args]) == 0
    box = json.loads(capsys.readouterr().out)["regions"][0]["box"]
    assert box == [0, 0, shape[2], shape[1]]  # x1 = width = NAXIS1, y1 = height = NAXIS2
    out = tmp_path / "m.npy"
    argv = ["heatmap", str(path), "--query", "q", "--out", str(out), "--window", "4"]
    assert main([*argv, "--stride", "2", *clip_args]) == 0
    assert np.load(out).shape == shape[1:]


def test_non_ascii_command_goes_into_a_fits_map(tmp_path, clip_args, capsys):
    """HISTORY cards get the command escaped; the exact one is in a UTF-8 side record."""
    from astropy.io import fits

    from napari_clipcap.core.io.images import fits_text

    src = tmp_path / "sky.fits"
    fits.PrimaryHDU(np.random.default_rng(1).random((40, 40)).astype(np.float32)).writeto(src)
    out = tmp_path / "map.fits"
    template = "a photo of a café {}"
    argv = ["heatmap", str(src), "--query", "étoile", "--template", template]
    assert main([*argv, "--out", str(out), "--window", "16", "--stride", "8", *clip_args]) == 0
    history = "\n".join(fits.getheader(out)["HISTORY"])
    assert "caf\\xe9" in history and "\\xe9toile" in history
    assert "map.fits.provenance.json" in history
    side = json.loads((tmp_path / "map.fits.provenance.json").read_text(encoding="utf-8"))
    assert "'a photo of a café {}'" in side["command"] and "étoile" in side["command"]
    assert fits_text("tab\there ü") == "tab\\there \\xfc"


def test_heatmap_reads_a_fits_file_once(tmp_path, clip_args, monkeypatch, capsys):
    from astropy.io import fits

    from napari_clipcap.core.io.fits import reader

    data = np.random.default_rng(2).random((40, 40)).astype(np.float32)
    data[:5] = np.nan
    src = tmp_path / "sky.fits"
    fits.PrimaryHDU(data).writeto(src)
    calls = []
    original = reader.read_fits
    monkeypatch.setattr(reader, "read_fits", lambda *a, **k: calls.append(a) or original(*a, **k))
    out = tmp_path / "m.npy"
    argv = ["heatmap", str(src), "--query", "q", "--out", str(out), "--window", "16"]
    assert main([*argv, "--stride", "8", *clip_args]) == 0
    assert len(calls) == 1
    assert np.isnan(np.load(out)[:5]).all()  # the mask came from that one read


def test_fits_repair_warning_is_one_line_once(tmp_path, clip_args, capsys):
    from fixtures.bad_images import write_junk_cards

    path = write_junk_cards(tmp_path / "odd.fits")
    out = tmp_path / "m.npy"
    argv = ["heatmap", str(path), "--query", "q", "--out", str(out), "--window", "8"]
    assert main([*argv, "--stride", "4", *clip_args]) == 0
    err = capsys.readouterr().err
    repaired = [line for line in err.splitlines() if "repaired" in line]
    assert len(repaired) == 1, err
    assert repaired[0].startswith("napari-clipcap heatmap: warning: ")
    assert "warnings.warn" not in err and "FitsWarning" not in err
