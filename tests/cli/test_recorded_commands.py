"""Every subcommand with a request records ``request.to_argv()`` as its ``--json``
``provenance.command``: the request the same flags build gives the same line (labels,
index, search and batch are held to it in test_requests_doors, test_collection_requests
and test_batch_request; here caption, heatmap, ground, ask and segment)."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from PIL import Image

from napari_clipcap.cli import build_parser, main


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "scene.png"
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(path)
    return path


def _argv(name, png, tmp_path, request):
    """The flags of subcommand ``name`` on the tiny local models, and its request type."""
    from napari_clipcap.core.tasks.ask import AskRequest
    from napari_clipcap.core.tasks.requests import (
        CaptionRequest,
        GroundRequest,
        HeatmapRequest,
    )
    from napari_clipcap.core.tasks.segment import SegmentRequest

    cpu = ["--device", "cpu", "--json"]
    if name == "caption":
        files = request.getfixturevalue("tiny_clip_files")
        weights = request.getfixturevalue("clipcap_for_tiny_clip")
        return CaptionRequest, [
            "caption", png, "--weights", weights, "--clip", files.config,
            "--clip-weights", files.safetensors, "--max-tokens", "3",
            "--region", "0,0,40,30", *cpu,
        ]  # fmt: skip
    if name == "heatmap":
        clip_args = request.getfixturevalue("clip_args")
        return HeatmapRequest, [
            "heatmap", png, "--query", "a river", "--window", "32", "--stride", "16",
            "--out", tmp_path / "map.npy", *clip_args, "--json",
        ]  # fmt: skip
    if name == "ground":
        weights = request.getfixturevalue("florence2_dir")
        return GroundRequest, [
            "ground", png, "--phrases", "ships, tanks", "--weights", weights, "--tile", "64",
            "--overlap", "16", "--max-tokens", "8", *cpu,
        ]  # fmt: skip
    if name == "ask":
        vlm = request.getfixturevalue("qwen_vl_dir")
        return AskRequest, [
            "ask", png, "--question", "how many tanks?", "--vlm", vlm, "--max-tokens", "3",
            "--region", "0,0,40,30", "--region", "50,10,90,10,70,40", *cpu,
        ]  # fmt: skip
    segmenter = request.getfixturevalue("sam3_dir")
    return SegmentRequest, [
        "segment", png, "--phrases", "tank", "--segmenter", segmenter, "--tile", "48",
        "--threshold", "0", "--region", "0,0,64,48", "--out", tmp_path / "labels.npy", *cpu,
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["caption", "heatmap", "ground", "ask", "segment"])
def test_the_recorded_command_is_the_request_argv(name, png, tmp_path, request, capsys):
    kind, argv = _argv(name, png, tmp_path, request)
    argv = [str(a) for a in argv]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    built = kind.from_args(build_parser().parse_args(argv))
    assert data["provenance"]["command"] == shlex.join(built.to_argv())
    assert shlex.split(data["provenance"]["command"])[:2] == ["napari-clipcap", name]
