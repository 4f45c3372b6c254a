"""The train-clipcap, finetune-clip and evaluate commands end to end on synthetic data."""

from __future__ import annotations

import json

import pytest

from napari_clipcap.cli import main
from napari_clipcap.core.samples.learning_set import make_synthetic_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp("synth"), n_train=48, n_val=8, n_test=12)


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_finetune_then_train_then_evaluate(data, tiny_clip_files, tmp_path, capsys):
    clip = [
        "--clip",
        str(tiny_clip_files.config),
        "--clip-weights",
        str(tiny_clip_files.safetensors),
        "--device",
        "cpu",
        "--json",
    ]
    assert (
        main(
            [
                "finetune-clip",
                str(data),
                "--out",
                str(tmp_path / "clip"),
                "--epochs",
                "1",
                "--batch-size",
                "16",
                "--augment",
                "crop",
                *clip,
            ]
        )
        == 0
    )
    tuned = _json(capsys)
    assert tuned["zeroshot"]["split"] == "test" and "confusion" not in tuned["zeroshot"]
    clip2 = [
        "--clip",
        tuned["model"],
        "--clip-weights",
        tuned["weights"],
        "--device",
        "cpu",
        "--json",
    ]
    run = tmp_path / "cap"
    assert (
        main(
            [
                "train-clipcap",
                str(data),
                "--out",
                str(run),
                "--new-decoder",
                "1x16",
                "--prefix-length",
                "2",
                "--epochs",
                "1",
                "--batch-size",
                "16",
                "--lr",
                "1e-3",
                *clip2,
            ]
        )
        == 0
    )
    trained = _json(capsys)
    assert trained["model_dir"] == str(run / "model") and len(trained["history"]) == 1
    assert (run / "decoder-init" / "config.json").is_file()
    assert (
        main(
            [
                "evaluate",
                "captions",
                str(data),
                "--weights",
                str(run / "model"),
                "--metrics",
                "bleu,rouge,cider,clipscore",
                "--tokenizer",
                "simple",
                "--out",
                str(tmp_path / "rep"),
                "--device",  # no --clip: the CLIP model recorded in the checkpoint
                "cpu",
                "--json",
            ]
        )
        == 0
    )
    scores = _json(capsys)["captions"]
    assert scores["n_images"] == 12
    for key in ("Bleu_1", "Bleu_4", "ROUGE_L", "CIDEr", "CLIPScore", "RefCLIPScore"):
        assert key in scores
    assert "| Bleu_1 |" in (tmp_path / "rep" / "report.md").read_text()


def test_evaluate_zeroshot_and_retrieval_write_reports(data, tiny_clip_files, tmp_path, capsys):
    clip = [
        "--clip",
        str(tiny_clip_files.config),
        "--clip-weights",
        str(tiny_clip_files.safetensors),
        "--device",
        "cpu",
        "--json",
    ]
    assert (
        main(
            [
                "evaluate",
                "zeroshot",
                str(data),
                "--template",
                "a {}.",
                "--top-k",
                "3",
                "--out",
                str(tmp_path / "zs"),
                *clip,
            ]
        )
        == 0
    )
    zs = _json(capsys)["zeroshot"]
    assert zs["n_images"] == 12 and zs["k"] == 3 and zs["topk"] >= zs["top1"]
    assert (tmp_path / "zs" / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert "confusion.png" in (tmp_path / "zs" / "report.md").read_text()
    assert main(["evaluate", "retrieval", str(data), "--split", "all", *clip]) == 0
    ret = _json(capsys)["retrieval"]
    assert {"text_to_image_R@1", "text_to_image_R@10", "image_to_image_R@5"} <= set(ret)


def test_evaluate_predictions_file_and_multilabel(tiny_clip_files, tmp_path, capsys):
    from PIL import Image

    from napari_clipcap.core.samples.learning_set import draw

    rows = ["image,caption,split,label"]
    for i, (shape, colour) in enumerate([("circle", "red"), ("square", "blue")]):
        Image.fromarray(draw(shape, colour, "top left")).save(tmp_path / f"{i}.png")
        rows.append(f"{i}.png,a {colour} {shape}.,test,{colour};{shape}")
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "p.csv").write_text("image,caption\n0.png,a red circle.\n1.png,a red square\n")
    assert (
        main(
            [
                "evaluate",
                "captions",
                str(tmp_path / "d.csv"),
                "--predictions",
                str(tmp_path / "p.csv"),
                "--metrics",
                "bleu",
                "--tokenizer",
                "simple",
                "--json",
            ]
        )
        == 0
    )
    out = _json(capsys)["captions"]
    assert out["exact_match"] == 0.5 and out["Bleu_1"] == pytest.approx(
        5 / 6, abs=1e-6
    )  # 3/3 + 2/3 words
    clip = [
        "--clip",
        str(tiny_clip_files.config),
        "--clip-weights",
        str(tiny_clip_files.safetensors),
        "--device",
        "cpu",
        "--json",
    ]
    scores = {}
    for flag in ([], ["--no-clipscore-prefix"]):
        args = ["--predictions", str(tmp_path / "p.csv"), "--metrics", "clipscore", *flag]
        rep = tmp_path / f"rep{len(flag)}"
        argv = ["evaluate", "captions", str(tmp_path / "d.csv"), *args, "--out", str(rep)]
        assert main([*argv, *clip]) == 0
        scores[bool(flag)] = res = _json(capsys)["captions"]
        assert res["clipscore_prefix"] == ("" if flag else "A photo depicts")
        said = "not comparable" if flag else "comparable with published"
        assert said in (rep / "report.md").read_text()
    assert scores[True]["CLIPScore"] != scores[False]["CLIPScore"]
    assert main(["evaluate", "zeroshot", str(tmp_path / "d.csv"), "--top-k", "4", *clip]) == 0
    ml = _json(capsys)["zeroshot"]
    assert ml["n_classes"] == 4 and ml["any_of"] == 1.0 and ml["all_of"] == 1.0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--predictions", "missing.csv"], "does not exist"),
        (["--predictions", "p.csv", "--metrics", "bleu,blue"], "--metrics"),
        (["--predictions", "p.csv", "--out", "p.csv"], "is a file"),
    ],
)
def test_evaluate_captions_bad_input_is_one_line(tmp_path, capsys, monkeypatch, extra, message):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "0.png")
    (tmp_path / "d.csv").write_text("image,caption,split\n0.png,a red circle.,test\n")
    (tmp_path / "p.csv").write_text("image,caption\n0.png,a red circle.\n")
    args = ["evaluate", "captions", "d.csv", *extra, "--tokenizer", "simple", "--json"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_dataset_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("image,caption,split\nx.png,a,train\n")
    assert (
        main(
            [
                "train-clipcap",
                str(tmp_path / "d.csv"),
                "--out",
                str(tmp_path / "o"),
                "--clip",
                "ViT-B-32",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no usable image-caption pairs" in err and "x.png" in err


def test_shortened_learning_benchmark(tmp_path):
    """The proof-that-it-learns benchmark, shortened: every stage runs and reports."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "bench_learning.py"
    spec = importlib.util.spec_from_file_location("bench_learning", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sizes = {"n_train": 48, "n_val": 8, "n_test": 12, "clip_epochs": 1, "cap_epochs": 1}
    res = bench.run(tmp_path, sizes, coco_metrics="bleu,cider")
    assert 0 <= res["exact_match"] <= 1 and 0 <= res["zero_shot_top1"] <= 1
    assert {"Bleu_4", "CIDEr", "CLIPScore"} <= set(res["caption_metrics"])
    assert res["caching_speedup"] > 1
    assert (tmp_path / "report-zeroshot" / "confusion.png").is_file()


@pytest.mark.slow
def test_train_clipcap_under_torchrun_two_cpu_processes(tmp_path):
    """Two gloo processes train, rank 0 alone reports, and a second launch resumes."""
    import os
    import subprocess
    import sys

    csv = make_synthetic_dataset(tmp_path / "d", n_train=32, n_val=8, n_test=0)
    from napari_clipcap.core.samples.learning_set import write_clip_config

    cfg = write_clip_config(tmp_path / "c.json")

    def launch(epochs: int) -> dict:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "-m",
            "napari_clipcap",
            "train-clipcap",
            str(csv),
            "--out",
            str(tmp_path / "run"),
            "--clip",
            str(cfg),
            "--new-decoder",
            "1x16",
            "--prefix-length",
            "2",
            "--epochs",
            str(epochs),
            "--batch-size",
            "8",
            "--device",
            "cpu",
            "--json",
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout)  # one JSON document: only rank 0 printed

    assert [h["epoch"] for h in launch(1)["history"]] == [1]
    again = launch(2)
    assert again["resumed_from_epoch"] == 1 and len(again["history"]) == 2


def test_evaluate_audits_word_groups_in_json_and_report(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    rows = ["image,caption,split"]
    refs = ["a bright star.", "a spiral galaxy.", "two stars."]
    for i, ref in enumerate(refs):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / f"{i}.png")
        rows.append(f"{i}.png,{ref},test")
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "p.csv").write_text(
        "image,caption\n0.png,a bright galaxy.\n1.png,a spiral galaxy.\n2.png,a dark sky.\n"
    )
    argv = ["evaluate", "captions", str(tmp_path / "d.csv"), "--predictions",
            str(tmp_path / "p.csv"), "--metrics", "bleu", "--tokenizer", "simple",
            "--word-groups", "star, stars | galaxy, galaxies", "--out", str(tmp_path / "rep"),
            "--json"]  # fmt: skip
    assert main(argv) == 0
    (audit,) = _json(capsys)["captions"]["word_groups"]
    star = audit["groups"]["star"]
    assert star["images"] == 2 and star["swapped"] == {"galaxy": 1} and star["neither"] == 1
    assert audit["groups"]["galaxy"]["right"] == 1
    report = next((tmp_path / "rep").glob("*.md")).read_text()
    assert "| star | 2 | 0 | galaxy (1) | 1 | 0.500 | 0.500 |" in report
    assert main([*argv[:-3], "--word-groups", "stars only", "--json"]) == 2
    assert "at least two groups" in capsys.readouterr().err
