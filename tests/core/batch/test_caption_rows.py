"""``batch --task caption`` rows are the caption command's captions for the same image
and regions (both run CaptionRequest), a region without data says why."""

from __future__ import annotations

import json

import numpy as np
from astropy.io import fits

from napari_clipcap.cli import main
from napari_clipcap.core.batch.chunks import BatchSpec
from napari_clipcap.core.batch.runner import read_parts, run_batch

REGIONS = ((0, 0, 16, 16), (40, 0, 64, 20))  # the second lies where the image has no data


def test_caption_rows_are_the_caption_commands(
    tmp_path, tiny_clip_files, clipcap_mlp_pt, gpt2_dir, capsys, monkeypatch
):
    from napari_clipcap.core.tasks.requests import CaptionRequest

    root = tmp_path / "images"
    root.mkdir()
    data = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    data[:, 32:] = np.nan
    fits.PrimaryHDU(data).writeto(root / "edge.fits")
    clip = (str(tiny_clip_files.config), str(tiny_clip_files.safetensors))
    ran: list = []
    real = CaptionRequest.run

    def spy(self, **kwargs):
        ran.append(self)
        return real(self, **kwargs)

    monkeypatch.setattr(CaptionRequest, "run", spy)
    spec = BatchSpec("caption", *clip, weights=str(clipcap_mlp_pt), decoder=str(gpt2_dir),
                     max_tokens=4, regions=REGIONS, device="cpu")  # fmt: skip
    run_batch([root], spec, tmp_path / "out")
    table = read_parts(tmp_path / "out")
    assert len(ran) == 1 and ran[0].regions == REGIONS
    flags = [arg for box in REGIONS for arg in ("--region", ",".join(map(str, box)))]
    capsys.readouterr()
    assert main(["caption", str(root / "edge.fits"), "--weights", str(clipcap_mlp_pt),
                 "--decoder", str(gpt2_dir), "--clip", clip[0], "--clip-weights", clip[1],
                 "--max-tokens", "4", *flags, "--device", "cpu", "--json"]) == 0  # fmt: skip
    cli = json.loads(capsys.readouterr().out)["images"][0]["regions"]
    assert [json.loads(c) for c in table["captions"]] == [r["captions"] for r in cli]
    assert table.iloc[0]["caption"] == cli[0]["captions"][0] and table.iloc[0]["no_data"] == ""
    assert cli[1]["no_data"] and "holds data in only 0%" in table.iloc[1]["no_data"]
