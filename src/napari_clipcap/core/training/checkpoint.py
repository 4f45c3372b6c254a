"""ClipCap training checkpoints: weights and training state change together or not at all.

A run folder holds::

    OUT/checkpoints/epoch-NNNN/model/          the model after epoch NNNN
    OUT/checkpoints/epoch-NNNN/train_state.pt  optimizer, schedule, RNG, history, settings
    OUT/model/                                 the latest checkpoint's model, to caption with
    OUT/history.json                           the history, for reading

A checkpoint folder is built under a temporary name and renamed into place once whole, so
its arrival is the mark that an epoch is done: a kill at any moment leaves the previous
checkpoint, or the new one, never weights of one epoch with the state of another. The
latest checkpoint is the highest ``epoch-NNNN``; ``OUT/model`` is then replaced by a copy
of its model (hard links where the file system allows) and older checkpoints removed.
Runs written before this layout (``OUT/model`` + ``OUT/train_state.pt``) resume from those.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import CheckpointFormatError, InvalidInputError
from ..io.atomic import (
    atomic_dir,
    remove_temporaries,
    remove_written,
    write_json,
    written_files,
)

STATE_NAME = "train_state.pt"
MODEL_DIR = "model"
CHECKPOINTS = "checkpoints"
_EPOCH_DIR = re.compile(r"^epoch-(\d{4,})$")
#: What an epoch folder of the project holds (ClipCap: model/; fine-tuning: weights).
_EPOCH_NAMES = {STATE_NAME, MODEL_DIR, "clip.safetensors"}
#: What a training state must hold, and of which type.
_FIELDS = {
    "epoch": int,
    "history": list,
    "config": dict,
    "optimizer": dict,
    "scheduler": dict,
    "torch_rng": "Tensor",
}


def latest_checkpoint(out: str | os.PathLike) -> Path | None:
    """The folder of the run's latest whole checkpoint, or None when it has none.

    That is the highest ``checkpoints/epoch-NNNN`` holding a state file, else (a run
    from before checkpoint folders) ``out`` itself when it holds ``train_state.pt``.
    """
    out = Path(out)
    found = []
    root = out / CHECKPOINTS
    if root.is_dir():
        for p in root.iterdir():
            m = _EPOCH_DIR.match(p.name)
            if m and (p / STATE_NAME).is_file():
                found.append((int(m.group(1)), p))
    if found:
        return max(found)[1]
    return out if (out / STATE_NAME).is_file() else None


def clean_run_folder(out: str | os.PathLike) -> None:
    """Remove what a killed save left behind (temporary files and folders)."""
    out = Path(out)
    remove_temporaries(out)
    remove_temporaries(out / CHECKPOINTS)


def remove_checkpoints(out: str | os.PathLike, keep: int | None = None) -> None:
    """Delete the run's ``checkpoints/epoch-NNNN`` folders (but epoch ``keep``) and a
    pre-folder ``train_state.pt``; anything else in ``checkpoints/`` is the user's."""
    out = Path(out)
    root = out / CHECKPOINTS
    if root.is_dir() and not root.is_symlink():
        for old in root.iterdir():
            m = _EPOCH_DIR.match(old.name)
            if m and int(m.group(1)) != keep and old.is_dir() and not old.is_symlink():
                _remove_epoch(old)
    if keep is None or (root / f"epoch-{keep:04d}").is_dir():
        (out / STATE_NAME).unlink(missing_ok=True)


def _remove_epoch(folder: Path) -> None:
    """Delete one checkpoint's own files (its list of them); a user's files stay. An
    epoch saved before the list existed loses only its training state (so it is never
    resumed from) unless it holds nothing but the project's names."""
    if remove_written(folder):
        return
    if written_files(folder) is None:
        if {p.name for p in folder.iterdir()} <= _EPOCH_NAMES:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            (folder / STATE_NAME).unlink(missing_ok=True)


def read_train_state(path: str | os.PathLike, config_keys=()) -> dict[str, Any]:
    """Load a ``train_state.pt`` and check that it holds every field a resume needs.

    Raises
    ------
    CheckpointFormatError
        Naming the file and what is unreadable, missing or of the wrong type.
    """
    import torch

    path = Path(path)
    hint = "delete it (or the run folder) to start over, or use another output folder"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated by a crash mid-write, or not ours
        raise CheckpointFormatError(
            f"cannot resume from {path} ({type(exc).__name__}); {hint}"
        ) from exc
    if not isinstance(state, dict):
        raise CheckpointFormatError(
            f"cannot resume from {path}: it holds a {type(state).__name__}, not a training "
            f"state; {hint}"
        )
    missing = [k for k in _FIELDS if k not in state]
    if isinstance(state.get("config"), dict):
        missing += [f"config.{k}" for k in config_keys if k not in state["config"]]
    for key in ("state", "param_groups"):
        if isinstance(state.get("optimizer"), dict) and key not in state["optimizer"]:
            missing.append(f"optimizer.{key}")
    if missing:
        raise CheckpointFormatError(
            f"cannot resume from {path}: it lacks {', '.join(missing)}; {hint}"
        )
    wrong = [
        f"{k} is a {type(state[k]).__name__}, not {getattr(t, '__name__', t)}"
        for k, t in _FIELDS.items()
        if not (
            isinstance(state[k], torch.Tensor)
            if t == "Tensor"
            else isinstance(state[k], t) and not isinstance(state[k], bool)
        )
    ]
    if not wrong and state["epoch"] < 0:
        wrong.append(f"epoch is {state['epoch']}")
    if wrong:
        raise CheckpointFormatError(f"cannot resume from {path}: {'; '.join(wrong)}; {hint}")
    state["_file"] = str(path)
    return state


def restore_training_state(state: dict, opt, sched) -> None:
    """Load the optimizer, schedule and torch RNG state of a resumed run.

    Raises
    ------
    CheckpointFormatError
        If they do not fit (the message names the state file).
    """
    import torch

    try:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as exc:
        raise CheckpointFormatError(
            f"cannot resume from {state.get('_file', STATE_NAME)}: its optimizer, schedule or "
            f"random-number state does not fit this model ({type(exc).__name__}: {exc}); "
            "delete it to start over, or use another output folder"
        ) from exc


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def publish_model(checkpoint: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Replace ``out/model`` with the checkpoint's model, whole (hard links where possible).

    Checkpoint files are never changed in place, so linking them is safe.
    """
    target = Path(out) / MODEL_DIR
    src = Path(checkpoint) / MODEL_DIR
    if src.resolve() == target.resolve():
        return target
    with atomic_dir(target, keep_foreign=True) as tmp:  # a user's notes in model/ stay
        shutil.copytree(src, tmp, copy_function=_link_or_copy, dirs_exist_ok=True)
    return target


def save_checkpoint(out: str | os.PathLike, model, state: dict) -> Path:
    """Write the model and training state after epoch ``state["epoch"]`` as one checkpoint.

    Then publish its model as ``out/model``, write ``out/history.json`` and remove older
    checkpoints. Returns the checkpoint folder.
    """
    import torch

    from ..captioning.clipcap.model import save_clipcap

    out = Path(out)
    epoch = int(state["epoch"])
    ckpt = out / CHECKPOINTS / f"epoch-{epoch:04d}"
    with atomic_dir(ckpt, keep_foreign=True) as tmp:  # its rename marks the epoch done
        save_clipcap(model, tmp / MODEL_DIR)
        torch.save({k: v for k, v in state.items() if k != "_file"}, tmp / STATE_NAME)
    publish_model(ckpt, out)
    write_json(out / "history.json", state["history"])
    remove_checkpoints(out, keep=epoch)  # and the state of a run from before folders
    return ckpt


def check_same_clip(checkpoint: Path, clip_model: str, clip_weights: str | None) -> None:
    """Refuse to resume a run whose mapping was trained on another CLIP's embeddings."""
    import json

    from ..captioning.clipcap.model import CONFIG_NAME

    out = checkpoint.parent.parent if checkpoint.parent.name == CHECKPOINTS else checkpoint
    try:
        meta = json.loads((checkpoint / MODEL_DIR / CONFIG_NAME).read_text()).get("meta") or {}
    except (OSError, ValueError, AttributeError):
        return  # no readable checkpoint: loading it later gives the clear error
    was = (meta.get("clip_model"), meta.get("clip_weights"))
    if "clip_model" in meta and was != (clip_model, clip_weights):
        raise InvalidInputError(
            f"{out} holds a run trained on CLIP {was[0]!r} (weights {was[1]!r}), not "
            f"{clip_model!r} ({clip_weights!r}): its mapping does not fit these embeddings; "
            "pass the same --clip/--clip-weights, another output folder, or start over "
            "without resuming"
        )
