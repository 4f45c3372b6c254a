"""Crash safety of ClipCap training: a fault at any write keeps the last whole checkpoint,
and resuming gives the weights of an uninterrupted run, bit for bit."""

from __future__ import annotations

import os
import threading

import pytest
import torch

from fixtures.crash import Faults, run_killed
from napari_clipcap.core.captioning.clipcap.model import load_clipcap_checkpoint
from napari_clipcap.core.errors import Cancelled, CheckpointFormatError
from napari_clipcap.core.io import atomic
from napari_clipcap.core.samples.learning_set import make_synthetic_dataset
from napari_clipcap.core.training import checkpoint
from napari_clipcap.core.training.checkpoint import STATE_NAME, latest_checkpoint
from napari_clipcap.core.training.clipcap.train import ClipcapTrainConfig, train_clipcap
from napari_clipcap.core.training.datasets import read_caption_dataset
from napari_clipcap.core.training.decoder_init import make_decoder


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    ds = read_caption_dataset(make_synthetic_dataset(d, n_train=32, n_val=4, n_test=0))
    dec = make_decoder([c for r in ds.records for c in r.captions], d / "dec", n_embd=16)
    return ds, dec


def _cfg(**kw):
    base = dict(epochs=2, batch_size=16, lr=3e-3, prefix_length=2, num_samples=2)
    return ClipcapTrainConfig(**{**base, **kw})


def _kw(tiny_clip_files, dec):
    return dict(
        clip_model=str(tiny_clip_files.config),
        clip_weights=str(tiny_clip_files.safetensors),
        decoder=str(dec),
        device="cpu",
    )


@pytest.fixture(scope="module")
def full(synth, tiny_clip_files, tmp_path_factory):
    """An uninterrupted two-epoch run: the weights every resumed run must end with."""
    ds, dec = synth
    res = train_clipcap(
        ds, tmp_path_factory.mktemp("full"), config=_cfg(), **_kw(tiny_clip_files, dec)
    )
    return load_clipcap_checkpoint(res.model_dir).state_dict(), res.history


def _same_weights(model_dir, want) -> bool:
    got = load_clipcap_checkpoint(model_dir).state_dict()
    return got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)


def _inject(monkeypatch, faults: Faults, exchange: bool) -> None:
    """Route every write of a checkpoint save through ``faults``."""
    import safetensors.torch

    real_exchange = atomic._exchange if exchange else (lambda a, b: False)
    monkeypatch.setattr(os, "replace", faults.wrap(os.replace))
    monkeypatch.setattr(atomic, "_exchange", faults.wrap(real_exchange))
    monkeypatch.setattr(torch, "save", faults.wrap(torch.save))
    monkeypatch.setattr(safetensors.torch, "save_file", faults.wrap(safetensors.torch.save_file))


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_fault_at_any_write_of_a_save_resumes_to_the_same_weights(
    synth, tiny_clip_files, full, tmp_path, monkeypatch, exchange
):
    ds, dec = synth
    kw = _kw(tiny_clip_files, dec)
    first, counter = Faults(0), Faults(0)
    _inject(monkeypatch, first, exchange)
    train_clipcap(ds, tmp_path / "first", config=_cfg(epochs=1), **kw)  # one epoch's writes
    monkeypatch.undo()
    _inject(monkeypatch, counter, exchange)
    train_clipcap(ds, tmp_path / "count", config=_cfg(), **kw)  # the whole run's writes
    monkeypatch.undo()
    # per save: weights, model folder, state, checkpoint folder, out/model, history
    assert counter.calls >= 12
    # every write of the run; without an exchange, those of the save that replaces out/model
    for nth in range(1 if exchange else first.calls + 1, counter.calls + 1):
        run = tmp_path / f"cut{nth}"
        _inject(monkeypatch, Faults(nth), exchange)
        with pytest.raises(OSError, match="injected"):
            train_clipcap(ds, run, config=_cfg(), **kw)
        monkeypatch.undo()
        ckpt = latest_checkpoint(run)
        if ckpt is None:  # the fault came before the first checkpoint
            assert not (run / "model").exists()
            res = train_clipcap(ds, run, config=_cfg(), **kw)
            assert _same_weights(res.model_dir, full[0]), f"fault at write {nth}"
            continue
        ckpt = latest_checkpoint(run)
        assert ckpt.name in ("epoch-0001", "epoch-0002")
        state = torch.load(ckpt / STATE_NAME, weights_only=True)
        assert state["epoch"] == int(ckpt.name[-4:])  # weights and state of one epoch
        res = train_clipcap(ds, run, config=_cfg(), **kw)
        assert [h["train_loss"] for h in res.history] == [h["train_loss"] for h in full[1]]
        assert _same_weights(res.model_dir, full[0]), f"fault at write {nth}"
        left = [p for p in run.rglob(".*") if atomic.TMP_MARK in p.name or ".old-" in p.name]
        assert not left


def test_killed_between_model_and_state_resumes_to_the_same_weights(
    synth, tiny_clip_files, full, tmp_path
):
    ds, dec = synth
    run = tmp_path / "run"
    kw = _kw(tiny_clip_files, dec)
    code = f"""
    from napari_clipcap.core.training.clipcap.train import ClipcapTrainConfig, train_clipcap
    from napari_clipcap.core.training.datasets import read_caption_dataset
    ds = read_caption_dataset({str(ds.source)!r})
    cfg = ClipcapTrainConfig(epochs=2, batch_size=16, lr=3e-3, prefix_length=2, num_samples=2)
    train_clipcap(ds, {str(run)!r}, config=cfg, **{kw!r})
    """
    # the second checkpoint is whole in its temporary folder (model and state written),
    # the kill comes before it is renamed into place
    proc = run_killed(code, "epoch-0002")
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert latest_checkpoint(run).name == "epoch-0001"
    assert any(".tmp-" in p.name for p in (run / "checkpoints").iterdir())
    res = train_clipcap(ds, run, config=_cfg(), **kw)
    assert res.resumed_from_epoch == 1 and _same_weights(res.model_dir, full[0])
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch-0002"]
    # killed right after the rename: the run is done, out/model is brought up to date
    proc = run_killed(code.replace("epochs=2", "epochs=3"), "epoch-0003", after=True)
    assert proc.returncode == -9 and latest_checkpoint(run).name == "epoch-0003"
    assert _same_weights(run / "model", full[0])  # still epoch 2: not published yet
    res = train_clipcap(ds, run, config=_cfg(epochs=3), **kw)
    assert res.resumed_from_epoch == 3
    assert _same_weights(
        res.model_dir, load_clipcap_checkpoint(latest_checkpoint(run) / "model").state_dict()
    )


def _damaged(run, change):
    state = torch.load(latest_checkpoint(run) / STATE_NAME, weights_only=True)
    change(state)
    torch.save(state, latest_checkpoint(run) / STATE_NAME)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("optimizer"), r"lacks optimizer"),
        (lambda s: (s.pop("torch_rng"), s.pop("history")), r"lacks history, torch_rng"),
        (lambda s: s["config"].pop("prefix_length"), r"lacks config\.prefix_length"),
        (lambda s: s["optimizer"].pop("param_groups"), r"lacks optimizer\.param_groups"),
        (lambda s: s.update(epoch="2"), r"epoch is a str, not int"),
        (lambda s: s.update(history=None), r"history is a NoneType, not list"),
        (lambda s: s.update(config=5), r"config is a int, not dict"),
        (lambda s: s.update(torch_rng=[1, 2]), r"torch_rng is a list, not Tensor"),
        (lambda s: s["optimizer"]["param_groups"].clear(), r"optimizer.*does not fit"),
        (lambda s: s.update(torch_rng=torch.zeros(3)), r"random-number state does not fit"),
        (lambda s: s.update(scheduler={"x": 1}), r"does not fit"),
    ],
)
def test_a_state_lacking_fields_is_one_clear_message(
    synth, tiny_clip_files, tmp_path, change, message
):
    ds, dec = synth
    kw = _kw(tiny_clip_files, dec)
    train_clipcap(ds, tmp_path / "run", config=_cfg(epochs=1), **kw)
    _damaged(tmp_path / "run", change)
    with pytest.raises(CheckpointFormatError, match=message) as err:
        train_clipcap(ds, tmp_path / "run", config=_cfg(), **kw)
    assert "train_state.pt" in str(err.value)


def test_a_state_that_is_not_a_dict(synth, tiny_clip_files, tmp_path):
    ds, dec = synth
    (tmp_path / "run").mkdir()
    torch.save([1, 2, 3], tmp_path / "run" / STATE_NAME)  # a run from before folders
    with pytest.raises(CheckpointFormatError, match=r"train_state\.pt.*a list"):
        train_clipcap(ds, tmp_path / "run", config=_cfg(), **_kw(tiny_clip_files, dec))


def test_a_run_from_before_checkpoint_folders_resumes(synth, tiny_clip_files, full, tmp_path):
    ds, dec = synth
    kw = _kw(tiny_clip_files, dec)
    run, cancel = tmp_path / "run", threading.Event()
    with pytest.raises(Cancelled):  # stopped in epoch 2, after the first checkpoint
        train_clipcap(
            ds,
            run,
            config=_cfg(),
            progress=lambda d, t: d == 3 and cancel.set(),
            cancel=cancel,
            **kw,
        )
    ckpt = latest_checkpoint(run)
    os.replace(ckpt / STATE_NAME, run / STATE_NAME)  # the old layout: model/ + state
    checkpoint.shutil.rmtree(run / "checkpoints")
    assert latest_checkpoint(run) == run
    res = train_clipcap(ds, run, config=_cfg(), **kw)
    assert res.resumed_from_epoch == 1 and _same_weights(res.model_dir, full[0])
    assert not (run / STATE_NAME).exists() and latest_checkpoint(run).name == "epoch-0002"


def test_settings_are_checked_before_anything_is_written(synth, tiny_clip_files, tmp_path):
    from napari_clipcap.core.errors import InvalidInputError

    ds, dec = synth
    cfg = _cfg()
    cfg.lr = float("inf")  # changed after construction: checked again when training starts
    with pytest.raises(InvalidInputError, match="learning rate"):
        train_clipcap(ds, tmp_path / "run", config=cfg, **_kw(tiny_clip_files, dec))
    (tmp_path / "f").write_text("")
    with pytest.raises(InvalidInputError, match="lies under"):
        train_clipcap(ds, tmp_path / "f" / "run", config=_cfg(), **_kw(tiny_clip_files, dec))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_starting_over_removes_only_the_runs_own_checkpoints(tmp_path):
    """Issue 21.4: ``--no-resume`` deleted checkpoints/ with the user's my_best.ckpt in it."""
    from napari_clipcap.core.training.checkpoint import remove_checkpoints

    root = tmp_path / "checkpoints"
    for name in ("epoch-0001", "epoch-0002"):
        (root / name).mkdir(parents=True)
        (root / name / "train_state.pt").write_bytes(b"x")
    (root / "my_best.ckpt").write_text("best")
    (root / "epoch-notes").mkdir()
    remove_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in root.iterdir()) == ["epoch-0002", "epoch-notes", "my_best.ckpt"]
    remove_checkpoints(tmp_path)
    assert sorted(p.name for p in root.iterdir()) == ["epoch-notes", "my_best.ckpt"]
