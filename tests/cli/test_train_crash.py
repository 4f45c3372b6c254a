"""train-clipcap and finetune-clip: settings checked before any write; a decoder-init
cut short by a kill is rebuilt, and the run ends with the uninterrupted weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fixtures.crash import run_killed
from napari_clipcap.cli import main
from napari_clipcap.core.captioning.clipcap.model import load_clipcap_checkpoint
from napari_clipcap.core.io.atomic import OWNER_MARK
from napari_clipcap.core.samples.learning_set import make_synthetic_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp("synth"), n_train=24, n_val=4, n_test=0)


def _clip(tiny_clip_files):
    return [
        "--clip",
        str(tiny_clip_files.config),
        "--clip-weights",
        str(tiny_clip_files.safetensors),
        "--device",
        "cpu",
        "--json",
    ]


def _train_argv(data, out, tiny_clip_files, *extra):
    return [
        "train-clipcap",
        str(data),
        "--out",
        str(out),
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
        *_clip(tiny_clip_files),
        *extra,
    ]


@pytest.mark.parametrize("command", ["train-clipcap", "finetune-clip"])
@pytest.mark.parametrize(
    "extra, message",
    [
        # --epochs and --lr are refused by argparse (usage errors, one line, 65c1f2f)
        (["--epochs", "0"], "--epochs: must be at least 1"),
        (["--lr", "-1"], "--lr: must be above 0"),
        (["--lr", "nan"], "--lr: 'nan' is not a finite number"),
        (["--lr", "inf"], "--lr: 'inf' is not a finite number"),
        (["--weight-decay", "-0.5"], "weight decay"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(
    data, tiny_clip_files, tmp_path, capsys, command, extra, message
):
    if command == "train-clipcap" and extra[0] == "--weight-decay":
        pytest.skip("train-clipcap has no --weight-decay")
    out = tmp_path / "run"
    argv = (
        _train_argv(data, out, tiny_clip_files)
        if command == "train-clipcap"
        else ["finetune-clip", str(data), "--out", str(out), *_clip(tiny_clip_files)]
    )
    try:
        status = main([*argv, *extra])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()  # no decoder-init, no cache, nothing


@pytest.mark.parametrize("command", ["train-clipcap", "finetune-clip"])
def test_out_that_is_a_file_or_under_one_is_refused(
    data, tiny_clip_files, tmp_path, capsys, command
):
    a_file = tmp_path / "f.txt"
    a_file.write_text("keep")
    for out, message in ((a_file, "is a file"), (a_file / "run", "lies under")):
        argv = ["--out", str(out)]
        base = [command, str(data), *argv, *_clip(tiny_clip_files)]
        assert main(base) == 2
        assert message in capsys.readouterr().err
    assert a_file.read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_decoder_init_cut_short_is_rebuilt_and_gives_the_same_model(
    data, tiny_clip_files, tmp_path, capsys
):
    full = tmp_path / "full"
    assert main(_train_argv(data, full, tiny_clip_files)) == 0
    capsys.readouterr()
    cut = tmp_path / "cut"
    code = f"""
    from napari_clipcap.cli import main
    main({_train_argv(data, cut, tiny_clip_files)!r})
    """
    # killed while decoder-init is written: before its folder is renamed into place
    proc = run_killed(code, "decoder-init")
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (cut / "decoder-init").exists()
    # a half-built decoder-init from an older version: config.json but no tokenizer
    (cut / "decoder-init").mkdir()
    (cut / "decoder-init" / "config.json").write_text(
        (full / "decoder-init" / "config.json").read_text()
    )
    assert main(_train_argv(data, cut, tiny_clip_files)) == 0
    a = load_clipcap_checkpoint(full / "model").state_dict()
    b = load_clipcap_checkpoint(cut / "model").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not [p for p in cut.iterdir() if p.name.startswith(".") and p.name != OWNER_MARK]


def test_no_resume_refuses_a_folder_with_a_run(data, tiny_clip_files, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_train_argv(data, run, tiny_clip_files)) == 0
    capsys.readouterr()
    assert main(_train_argv(data, run, tiny_clip_files, "--no-resume")) == 2
    assert "already holds a run" in capsys.readouterr().err


def _finetune_argv(data, out, tiny_clip_files, *extra):
    return ["finetune-clip", str(data), "--out", str(out), "--epochs", "3", "--batch-size",
            "8", "--lr", "1e-3", "--caption-augment", *_clip(tiny_clip_files), *extra]  # fmt: skip


@pytest.mark.parametrize("after", [False, True], ids=["before-epoch-2", "after-epoch-2"])
def test_finetune_killed_resumes_to_the_uninterrupted_weights(
    data, tiny_clip_files, tmp_path, capsys, after
):
    """Issue 21.20: a killed finetune-clip continues after its last finished epoch and
    ends with the weights an uninterrupted run gives, bit for bit."""
    import json

    from safetensors.torch import load_file

    full = tmp_path / "full"
    assert main(_finetune_argv(data, full, tiny_clip_files)) == 0
    whole = json.loads(capsys.readouterr().out)
    cut = tmp_path / "cut"
    argv = _finetune_argv(data, cut, tiny_clip_files)
    code = f"""
    from napari_clipcap.cli import main
    main({argv!r})
    """
    proc = run_killed(code, "epoch-0002", after=after)  # the checkpoint of epoch 2 lands
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (cut / "finetune.json").exists()
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["resumed_from_epoch"] == (2 if after else 1)
    assert again["history"] == whole["history"]
    a, b = load_file(full / "clip.safetensors"), load_file(cut / "clip.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [p.name for p in (cut / "checkpoints").iterdir()] == ["epoch-0003"]
    assert main([*argv, "--no-resume"]) == 2
    assert "already holds a run" in capsys.readouterr().err


def _users_project(root):
    """A folder of the user's that happens to hold the names a training run writes."""
    (root / "model").mkdir(parents=True)
    (root / "model" / "my_notes.txt").write_text("notes")
    (root / "history.json").write_text('{"mine": true}')
    (root / "checkpoints").mkdir()
    (root / "checkpoints" / "my_best.ckpt").write_text("best")
    (root / ".draft.tmp").write_text("draft")
    (root / ".settings.old-2023").write_text("2023")
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("command", ["train-clipcap", "finetune-clip"])
def test_a_folder_of_the_users_is_refused_as_out(data, tiny_clip_files, tmp_path, capsys, command):
    """Issue 21.4: --out on a non-empty folder napari-clipcap did not create."""
    root = tmp_path / "myproject"
    before = _users_project(root)
    argv = (
        _train_argv(data, root, tiny_clip_files)
        if command == "train-clipcap"
        else _finetune_argv(data, root, tiny_clip_files, "--epochs", "1")
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "did not create" in err and "--overwrite" in err and "Traceback" not in err
    assert {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_overwrite_replaces_only_the_runs_own_names(data, tiny_clip_files, tmp_path, capsys):
    root = tmp_path / "myproject"
    before = _users_project(root)
    assert main(_train_argv(data, root, tiny_clip_files, "--overwrite")) == 0
    capsys.readouterr()
    kept_names = ("checkpoints/my_best.ckpt", ".draft.tmp", ".settings.old-2023")
    for kept in (*kept_names, "model/my_notes.txt"):  # model/ is replaced file by file
        assert (root / kept).read_bytes() == before[Path(kept)]
    assert not (root / "settings").exists()
    (root / "checkpoints" / "epoch-0001" / "why.txt").write_text("mine")  # in ours
    assert main(_train_argv(data, root, tiny_clip_files, "--epochs", "2")) == 0  # now ours
    capsys.readouterr()
    assert (root / "checkpoints" / "my_best.ckpt").read_text() == "best"
    assert (root / "model" / "my_notes.txt").read_text() == "notes"
    # epoch 1 is gone but for the user's file: only the project's own files were deleted
    assert [p.name for p in (root / "checkpoints" / "epoch-0001").iterdir()] == ["why.txt"]


def test_finetune_overwrite_keeps_a_users_file_in_its_checkpoints(
    data, tiny_clip_files, tmp_path, capsys
):
    """Issue 21.4 for finetune-clip: a user's file inside an epoch folder stays."""
    root = tmp_path / "myproject"
    (root / "checkpoints" / "epoch-0001").mkdir(parents=True)
    (root / "checkpoints" / "epoch-0001" / "my_notes.txt").write_text("notes")
    argv = _finetune_argv(data, root, tiny_clip_files, "--epochs", "2", "--overwrite")
    assert main(argv) == 0
    capsys.readouterr()
    assert (root / "checkpoints" / "epoch-0001" / "my_notes.txt").read_text() == "notes"
    assert sorted(p.name for p in (root / "checkpoints" / "epoch-0001").iterdir()) == [
        "my_notes.txt"
    ]  # the run's epoch-1 files were removed after epoch 2, the user's file was not
