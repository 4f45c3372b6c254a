"""Resuming CLIP fine-tuning: one checkpoint per finished epoch, written whole.

A ``finetune-clip`` run folder holds, besides its results::

    OUT/checkpoints/epoch-NNNN/clip.safetensors   the weights after epoch NNNN
    OUT/checkpoints/epoch-NNNN/train_state.pt     optimizer, schedule, every random
                                                  generator, history, settings

as :mod:`napari_clipcap.core.training.checkpoint` lays out ClipCap runs: the checkpoint
folder is renamed into place once whole (its arrival marks the epoch done) and older
ones are removed. Running again with the same ``--out`` continues after the last
finished epoch with the same weights, optimizer moments, schedule and random streams
(torch's, the augmentation generator's and the caption sampler's), so a killed run ends
with the weights an uninterrupted one gives, bit for bit.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import CheckpointFormatError, InvalidInputError
from ..io.atomic import atomic_dir
from .checkpoint import (
    CHECKPOINTS,
    STATE_NAME,
    latest_checkpoint,
    read_train_state,
    remove_checkpoints,
    restore_training_state,
)

__all__ = ["WEIGHTS_NAME", "is_finetune_run", "restore_finetune", "save_finetune_checkpoint"]

WEIGHTS_NAME = "clip.safetensors"
#: Settings that must match when a run is resumed (``epochs`` may grow).
_FIXED = ("batch_size", "lr", "weight_decay", "warmup_steps", "augment", "crop_scale",
          "caption_augment", "seed", "clip_model", "clip_weights")  # fmt: skip


def is_finetune_run(out: Path) -> bool:
    """True when ``out`` holds a finetune-clip run (from before folders were marked)."""
    return (out / "finetune.json").is_file() or latest_checkpoint(out) is not None


def _settings(cfg, clip_model: str, clip_weights: str | None) -> dict:
    d = asdict(cfg)
    d["augment"], d["crop_scale"] = list(d["augment"]), list(d["crop_scale"])
    return {**d, "clip_model": str(clip_model), "clip_weights": clip_weights}


def save_finetune_checkpoint(
    out: str | os.PathLike, net, epoch: int, history: list[dict], trainer: dict, settings
) -> Path:
    """Write the weights and every state after ``epoch`` epochs as one checkpoint.

    ``trainer`` holds ``opt``, ``sched``, ``gen`` (torch generator), ``rng`` (numpy
    generator) and ``scaler`` (or None); ``settings`` is ``(cfg, clip_model,
    clip_weights)``.
    """
    import torch
    from safetensors.torch import save_file

    out = Path(out)
    state = {
        "epoch": int(epoch),
        "history": list(history),
        "config": _settings(*settings),
        "optimizer": trainer["opt"].state_dict(),
        "scheduler": trainer["sched"].state_dict(),
        "torch_rng": torch.get_rng_state(),
        "augment_rng": trainer["gen"].get_state(),
        "caption_rng": trainer["rng"].bit_generator.state,
        "scaler": trainer["scaler"].state_dict() if trainer["scaler"] is not None else {},
    }
    weights = {k: v.detach().float().cpu().contiguous() for k, v in net.state_dict().items()}
    ckpt = out / CHECKPOINTS / f"epoch-{epoch:04d}"
    with atomic_dir(ckpt, keep_foreign=True) as tmp:  # its rename marks the epoch done
        save_file(weights, str(tmp / WEIGHTS_NAME))
        torch.save(state, tmp / STATE_NAME)
    remove_checkpoints(out, keep=epoch)
    return ckpt


def restore_finetune(out: Path, net, trainer: dict, settings) -> tuple[int, list[dict]]:
    """Continue the run in ``out``: ``(epochs done, their history)``, ``(0, [])`` if none.

    Loads the latest checkpoint's weights into ``net`` and its states into ``trainer``.

    Raises
    ------
    InvalidInputError
        If the run there was made with other fixed settings or another CLIP.
    CheckpointFormatError
        If the checkpoint is unreadable or does not fit.
    """
    from safetensors.torch import load_file

    ckpt = latest_checkpoint(out)
    if ckpt is None or ckpt == out:
        return 0, []
    state = read_train_state(ckpt / STATE_NAME, _FIXED)
    now = _settings(*settings)
    diff = [k for k in _FIXED if state["config"].get(k) != now[k]]
    if diff:
        raise InvalidInputError(
            f"{out} holds a fine-tuning run with other settings ({', '.join(diff)}); use "
            "another --out, or --no-resume with a new one"
        )
    _load_states(state, net, load_file(str(ckpt / WEIGHTS_NAME)), trainer)
    return state["epoch"], list(state["history"])


def _load_states(state: dict[str, Any], net, weights: dict, trainer: dict) -> None:
    try:
        net.load_state_dict(weights)
        trainer["gen"].set_state(state["augment_rng"])
        trainer["rng"].bit_generator.state = state["caption_rng"]
        if trainer["scaler"] is not None and state.get("scaler"):
            trainer["scaler"].load_state_dict(state["scaler"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointFormatError(
            f"cannot resume from {state.get('_file', STATE_NAME)}: its weights or random "
            f"state do not fit this model ({type(exc).__name__}: {exc}); use another --out"
        ) from exc
    restore_training_state(state, trainer["opt"], trainer["sched"])
