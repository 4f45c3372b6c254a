"""``napari-clipcap ask`` on tiny local VLMs: JSON per region, streaming, recorded command."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from PIL import Image

from napari_clipcap.cli import main


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "scene.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(path)
    return path


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_holds_one_answer_or_one_per_region(png, qwen_vl_dir, capsys):
    base = [
        str(png),
        "--question",
        "how many storage tanks?",
        "--vlm",
        str(qwen_vl_dir),
        "--max-tokens",
        "5",
        "--device",
        "cpu",
        "--json",
    ]
    whole = _json(capsys, ["ask", *base])
    assert isinstance(whole["answer"], str) and whole["family"] == "qwen2.5-vl"
    assert "may be wrong" in whole["note"]
    per = _json(capsys, ["ask", *base, "--region", "0,0,40,40", "--region", "50,20,120,90"])
    assert [r["box"] for r in per["regions"]] == [[0, 0, 40, 40], [50, 20, 120, 90]]
    assert all(isinstance(r["answer"], str) for r in per["regions"])


def test_text_output_streams_the_answers(png, paligemma_dir, capsys):
    argv = [
        "ask",
        str(png),
        "--question",
        "how many?",
        "--vlm",
        str(paligemma_dir),
        "--max-tokens",
        "4",
        "--device",
        "cpu",
        "--region",
        "0,0,50,50",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("region 1: ")


def test_recorded_command_reproduces_the_answer(png, qwen_vl_dir, capsys):
    argv = [
        "ask",
        str(png),
        "--question",
        "describe this region in detail.",
        "--vlm",
        str(qwen_vl_dir),
        "--max-tokens",
        "6",
        "--device",
        "cpu",
        "--region",
        "8,8,64,64",
        "--json",
    ]
    first = _json(capsys, argv)
    command = shlex.split(first["provenance"]["command"])
    assert command[:2] == ["napari-clipcap", "ask"]
    again = _json(capsys, [*command[1:], "--json", "--device", "cpu"])
    assert again["regions"][0]["answer"] == first["regions"][0]["answer"]


def test_answers_go_into_region_files(png, qwen_vl_dir, tmp_path, capsys):
    from napari_clipcap.core.io.region_files import read_region_file

    out = tmp_path / "answers.reg"
    data = _json(
        capsys,
        [
            "ask",
            str(png),
            "--question",
            "what?",
            "--vlm",
            str(qwen_vl_dir),
            "--max-tokens",
            "3",
            "--device",
            "cpu",
            "--region",
            "0,0,30,30",
            "--out-regions",
            str(out),
            "--json",
        ],
    )
    placed = read_region_file(out)
    answer = data["regions"][0]["answer"]  # random weights: any characters at all
    printable = "".join(c if c.isprintable() else " " for c in " ".join(answer.splitlines()))
    assert placed.regions[0].text.split() == printable.split()


def test_bad_questions_and_models_are_one_line(png, tmp_path, capsys):
    assert main(["ask", str(png), "--question", " ", "--vlm", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "question is empty" in err and "Traceback" not in err
    assert main(["ask", str(png), "--question", "q", "--vlm", str(tmp_path / "none")]) != 0
    err = capsys.readouterr().err
    assert "was not found" in err and "Traceback" not in err


def test_batch_ask_gives_the_answers_ask_gives(png, qwen_vl_dir, tmp_path, capsys):
    import pandas as pd

    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "scene.png").write_bytes(png.read_bytes())
    question = ["--question", "how many storage tanks?", "--max-tokens", "4"]
    regions = ["--region", "0,0,40,40", "--region", "50,20,120,90"]
    out = tmp_path / "results"
    rep = _json(
        capsys,
        [
            "batch",
            str(folder),
            "--task",
            "ask",
            "--weights",
            str(qwen_vl_dir),
            *question,
            *regions,
            "--out",
            str(out),
            "--device",
            "cpu",
            "--json",
        ],
    )
    assert rep["rows"] == 2 and rep["errors"] == 0
    df = pd.read_parquet(out / "results.parquet")
    single = _json(
        capsys,
        [
            "ask",
            str(folder / "scene.png"),
            "--vlm",
            str(qwen_vl_dir),
            *question,
            *regions,
            "--device",
            "cpu",
            "--json",
        ],
    )
    assert list(df["answer"]) == [r["answer"] for r in single["regions"]]
    assert list(df["region"]) == ["0,0,40,40", "50,20,120,90"]


def test_batch_ask_needs_a_question(png, tmp_path, capsys):
    assert main(["batch", str(png), "--task", "ask", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "needs a question" in err and "Traceback" not in err


def test_a_vlm_captions_with_the_domain_prompt_recorded(png, qwen_vl_dir, capsys):
    base = ["caption", str(png), "--captioner", "vlm", "--weights", str(qwen_vl_dir),
            "--max-tokens", "4", "--device", "cpu", "--json"]  # fmt: skip
    data = _json(capsys, base)
    command = shlex.split(data["provenance"]["command"])
    prompt = command[command.index("--prompt") + 1]
    assert prompt == "Describe this image in one sentence."  # a PNG: the photo domain
    assert prompt in data["captioner"]
    again = _json(capsys, [*command[1:], "--json", "--device", "cpu"])
    assert again["images"][0]["regions"] == data["images"][0]["regions"]
    mine = _json(capsys, [*base, "--prompt", "Describe the land cover."])
    assert "Describe the land cover." in mine["captioner"]


def test_evaluate_captions_with_a_vlm_and_its_prompt(tmp_path, qwen_vl_dir, capsys):
    from napari_clipcap.core.captioning.protocol import load_captioner

    for i in range(2):
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.png"
        )
    (tmp_path / "d.csv").write_text(
        "image,caption,split\n0.png,a red circle.,test\n1.png,a blue square.,test\n"
    )
    prompt = "Describe the land cover."
    argv = ["evaluate", "captions", str(tmp_path / "d.csv"), "--captioner", "vlm",
            "--weights", str(qwen_vl_dir), "--prompt", prompt, "--metrics", "bleu",
            "--tokenizer", "simple", "--device", "cpu", "--json"]  # fmt: skip
    out = _json(capsys, argv)["captions"]
    assert out["n_images"] == 2
    vlm = load_captioner("vlm", str(qwen_vl_dir), prompt=prompt, device="cpu")
    images = [np.asarray(Image.open(tmp_path / f"{i}.png"), np.float32) / 255 for i in range(2)]
    expected = [c[0] for c in vlm.caption(images, max_tokens=67)]
    assert [s["prediction"] for s in out["samples"]] == expected


def test_a_handed_in_vlm_captioner_asks_the_requests_domain_prompt(tmp_path, qwen_vl_dir, capsys):
    # a dock hands in its cached VLM captioner (built with the photo prompt); over a FITS
    # image the request asks, records and reruns the astronomy prompt, as the CLI does
    from astropy.io import fits

    from napari_clipcap.core.captioning.vlm import DOMAIN_PROMPTS, VlmCaptioner
    from napari_clipcap.core.registry import ModelSpec
    from napari_clipcap.core.tasks.requests import CaptionRequest
    from napari_clipcap.core.tasks.requests.base import ImageInput
    from napari_clipcap.core.vlm import load_vlm

    sky = tmp_path / "sky.fits"
    fits.PrimaryHDU(np.random.default_rng(0).random((48, 64)).astype(np.float32)).writeto(sky)
    photo = VlmCaptioner(load_vlm(str(qwen_vl_dir), device="cpu"), DOMAIN_PROMPTS["photo"])
    request = CaptionRequest(
        images=(ImageInput(path=str(sky)),),
        captioner=ModelSpec.for_captioner("vlm", str(qwen_vl_dir)),
        decoding={"max_tokens": 4},
        device="cpu",
    )
    result = request.run(captioner=photo)
    assert DOMAIN_PROMPTS["astronomy"] in result.to_json()["captioner"]
    command = result.to_json()["provenance"]["command"]
    assert DOMAIN_PROMPTS["astronomy"] in command
    again = _json(capsys, [*shlex.split(command)[1:], "--json", "--device", "cpu"])
    assert again["images"][0]["regions"] == result.to_json()["images"][0]["regions"]
