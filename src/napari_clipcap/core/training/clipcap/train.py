"""Train a ClipCap mapping network (and optionally GPT-2) on image-caption data.

CLIP image embeddings are computed once and cached; each epoch trains on every
(image, caption) pair of the train split, then reports the validation loss and sample
captions of held-out images, and warns when different images get the same caption
(mode collapse). After every epoch the model and the optimizer, scheduler, epoch and
random-number state are saved together as one checkpoint (see
:mod:`napari_clipcap.core.training.checkpoint`) and ``out_dir/model`` holds the model in
napari-clipcap's checkpoint format (it loads in the captioning engine): running again
with the same ``out_dir`` resumes after the last finished epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import InvalidInputError
from ...io.atomic import check_output_folder, mark_output_folder
from ..checkpoint import (
    STATE_NAME,
    check_same_clip,
    clean_run_folder,
    latest_checkpoint,
    publish_model,
    read_train_state,
    remove_checkpoints,
    save_checkpoint,
)
from ..data import Dist, barrier, init_distributed
from ..datasets import CaptionDataset
from ..loop import step_counts
from .steps import (
    as_tensors,
    build_model,
    caption_pairs,
    embed_splits,
    log_epoch,
    setup_trainer,
    split_train_val,
    train_epoch,
    validate,
)

if TYPE_CHECKING:
    from ...captioning.clipcap.model import ClipCapModel

__all__ = ["STATE_NAME", "ClipcapTrainConfig", "TrainResult", "split_train_val", "train_clipcap"]

#: Settings that must match when a run is resumed (``epochs`` may grow).
_FIXED = (
    "mapping",
    "prefix_length",
    "clip_length",
    "num_layers",
    "freeze_gpt",
    "normalize_prefix",
    "max_tokens",
    "seed",
)


@dataclass
class ClipcapTrainConfig:
    """Training settings (defaults follow the original ClipCap MLP recipe)."""

    mapping: str = "mlp"
    prefix_length: int = 10
    clip_length: int | None = None
    num_layers: int = 8
    freeze_gpt: bool = False
    normalize_prefix: bool = True
    epochs: int = 10
    batch_size: int = 40
    lr: float = 2e-5
    warmup_steps: int = 5000
    weight_decay: float = 0.0
    max_tokens: int = 67
    val_fraction: float = 0.1
    num_samples: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise :class:`InvalidInputError` for a setting no run can use."""
        for name in ("epochs", "batch_size", "prefix_length", "num_layers", "max_tokens"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.clip_length is not None and int(self.clip_length) < 1:
            raise InvalidInputError(f"clip_length must be at least 1, got {self.clip_length}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidInputError(f"learning rate must be a positive number, got {self.lr}")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise InvalidInputError(f"weight decay must be >= 0, got {self.weight_decay}")
        if int(self.warmup_steps) < 0 or int(self.num_samples) < 0:
            raise InvalidInputError("warmup_steps and num_samples must not be negative")
        if not 0 <= self.val_fraction < 1:
            raise InvalidInputError(f"val_fraction must be in [0, 1), got {self.val_fraction}")


@dataclass
class TrainResult:
    """What a training run produced."""

    model_dir: Path
    history: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resumed_from_epoch: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model_dir"] = str(self.model_dir)
        return d


def train_clipcap(
    dataset: CaptionDataset,
    out_dir,
    *,
    clip_model: str,
    clip_weights: str | None = None,
    decoder: str = "gpt2",
    config: ClipcapTrainConfig | None = None,
    device: str = "auto",
    resume: bool = True,
    overwrite: bool = False,
    cache_dir=None,
    progress: Callable[[int, int], None] | None = None,
    cancel=None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a ClipCap model; see the module docstring.

    Parameters
    ----------
    dataset : CaptionDataset
        Uses its ``train`` split (or every record) and its ``val`` split (or
        ``config.val_fraction`` of the training images).
    out_dir : str or Path
        Run folder: ``model/``, ``train_state.pt``, ``history.json``, ``cache/``.
    clip_model, clip_weights : str
        The CLIP encoder, as :func:`napari_clipcap.core.clip.model.load_clip` takes them
        (``clip_weights=None``: the model's published weights; ``"none"``: random).
    decoder : str
        GPT-2 hub id or local folder (see :mod:`napari_clipcap.core.training.decoder_init`).
    config : ClipcapTrainConfig, optional
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda[:N]"``, ``"mps"``; under ``torchrun`` each
        process takes ``cuda:LOCAL_RANK``. Mixed precision is used on CUDA.
    resume : bool
        Continue a run found in ``out_dir`` (its fixed settings must match).
    overwrite : bool
        Accept an ``out_dir`` that napari-clipcap did not create and that is not empty
        (otherwise refused); only the run's own names there are replaced.
    cache_dir : str or Path, optional
        Where CLIP embeddings are cached; default ``out_dir/cache``.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`; ``progress`` counts optimisation steps.
    log : callable, optional
        Receives one line per epoch (losses, sample captions, warnings).

    Returns
    -------
    TrainResult
    """
    from ...clip.model import resolve_clip
    from ...devices import resolve_device

    cfg = config or ClipcapTrainConfig()
    cfg.check()  # before anything is written
    # the one rule (docs/models.md): a name alone means its published weights, "none"
    # random ones (warned about); the run records what it resolved to
    clip_spec = resolve_clip(clip_model, clip_weights)
    clip_model, clip_weights = clip_spec.name, clip_spec.weights
    clip_spec.warn()
    out = Path(out_dir)
    _check_run_folder(out, resume, clip_model, clip_weights, overwrite)
    dist, dev = init_distributed(resolve_device(device))
    say = (log or (lambda _m: None)) if dist.is_main else (lambda _m: None)
    train_recs, val_recs = split_train_val(dataset, cfg.val_fraction, cfg.seed)
    cache = Path(cache_dir) if cache_dir else out / "cache"
    splits = {"train": train_recs, "val": val_recs}
    embs = embed_splits(splits, clip_model, clip_weights, dev, dist, cache, cancel)
    problems = embs["train"].problems + embs["val"].problems
    meta = {
        "clip_model": clip_model,
        "clip_weights": clip_weights,
        "clip_id": clip_spec.id,
        "decoder": str(decoder),
    }
    clip_dim = embs["train"].vectors.shape[1]
    model, start, history, state = _resume_or_build(
        out, resume, cfg, clip_dim, decoder, meta, dist, say
    )
    pairs = caption_pairs(train_recs, embs["train"].kept, model.tokenizer, cfg.max_tokens)
    val_pairs = caption_pairs(val_recs, embs["val"].kept, model.tokenizer, cfg.max_tokens)
    steps = step_counts(len(pairs), dist.world_size, cfg.batch_size, cfg.epochs)
    tr = setup_trainer(model, cfg, dev, dist, steps.total, state)
    train_emb, val_emb = as_tensors(embs, dev)
    warnings: list[str] = []
    for epoch in range(start, cfg.epochs):
        tic = time.perf_counter()
        train_loss = train_epoch(tr, pairs, train_emb, epoch, steps, cfg, dist, progress, cancel)
        record = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "train_seconds": round(time.perf_counter() - tic, 3),
        }
        if dist.is_main:
            record.update(
                validate(model, val_pairs, val_emb, val_recs, embs["val"].kept, cfg, dev, tr.amp)
            )
            log_epoch(record, cfg.epochs, warnings, say)
            history.append(record)
            save_checkpoint(out, model, _state(tr, epoch + 1, history, cfg))
        barrier(dist)
    return TrainResult(out / "model", history, warnings, problems, start)


def is_clipcap_run(out: Path) -> bool:
    """True when ``out`` holds a train-clipcap run (from before output folders were marked)."""
    return latest_checkpoint(out) is not None


def _check_run_folder(
    out: Path, resume: bool, clip_model: str, clip_weights: str | None, overwrite: bool
) -> None:
    """Refuse an output path that cannot be a folder, a folder of the user's, or a run to
    resume made with another CLIP; then mark the folder as this run's."""
    check_output_folder(out, "output folder", owned=is_clipcap_run, overwrite=overwrite)
    ckpt = latest_checkpoint(out) if resume else None
    if ckpt is not None:
        check_same_clip(ckpt, clip_model, clip_weights)
    mark_output_folder(out, "train-clipcap")


def _resume_or_build(
    out: Path,
    resume: bool,
    cfg: ClipcapTrainConfig,
    clip_dim: int,
    decoder: str,
    meta: dict,
    dist: Dist,
    say: Callable[[str], None],
) -> tuple[ClipCapModel, int, list[dict], dict | None]:
    """The model to train, the epochs already done, their history and the saved state.

    With ``resume`` and a checkpoint in ``out``, the run there is continued (its fixed
    settings must match ``cfg``; ``out/model`` is made its model again); otherwise torch
    is seeded with ``cfg.seed`` and a new model is built, and the state is None. The main
    process first removes what a killed save left in ``out`` (without ``resume``: the
    checkpoints of an earlier run, which this one starts over).
    """
    import torch

    from ...captioning.clipcap.model import load_clipcap_checkpoint

    if dist.is_main:
        clean_run_folder(out)
        if not resume:  # only the epochs it saved: nothing else in checkpoints/
            remove_checkpoints(out)
    barrier(dist)
    ckpt = latest_checkpoint(out) if resume else None
    if ckpt is None:
        torch.manual_seed(cfg.seed)
        return build_model(cfg, clip_dim, decoder, meta), 0, [], None
    state = read_train_state(ckpt / STATE_NAME, _FIXED)
    old = state["config"]
    diff = [k for k in _FIXED if old.get(k) != getattr(cfg, k)]
    if diff:
        raise InvalidInputError(
            f"{out} holds a run with other settings ({', '.join(diff)}); use another "
            "output folder or start over without resuming"
        )
    model = load_clipcap_checkpoint(ckpt / "model", device="cpu")
    if dist.is_main:
        publish_model(ckpt, out)  # a kill may have left out/model from an older epoch
    start, history = state["epoch"], list(state["history"])
    say(f"resuming after epoch {start}")
    return model, start, history, state


def _state(tr, epoch: int, history: list[dict], cfg: ClipcapTrainConfig) -> dict:
    """The training state saved with the model after ``epoch`` epochs."""
    import torch

    return {
        "epoch": epoch,
        "history": history,
        "config": asdict(cfg),
        "optimizer": tr.opt.state_dict(),
        "scheduler": tr.sched.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
