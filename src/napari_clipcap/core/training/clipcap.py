"""Train a ClipCap mapping network (and optionally GPT-2) on image-caption data.

CLIP image embeddings are computed once and cached; each epoch trains on every
(image, caption) pair of the train split, then reports the validation loss and sample
captions of held-out images, and warns when different images get the same caption
(mode collapse). After every epoch ``out_dir/model`` holds the model in napari-clipcap's
checkpoint format (it loads in the captioning engine) and ``out_dir/train_state.pt``
the optimizer, scheduler, epoch and random-number state: running again with the same
``out_dir`` resumes after the last finished epoch.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import CheckpointFormatError, InvalidInputError
from ..jobs import check_cancel, report
from .data import (
    Dist,
    Embeddings,
    amp_context,
    barrier,
    image_embeddings,
    init_distributed,
)
from .datasets import CaptionDataset, normalize_caption
from .loop import (
    StepCounts,
    epoch_batches,
    optimizer_step,
    step_counts,
    wrap_distributed,
)
from .monitor import mode_collapse, sample_captions

if TYPE_CHECKING:
    import torch

    from ..captioning.clipcap import ClipCapModel

STATE_NAME = "train_state.pt"
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
        for name in ("epochs", "batch_size", "prefix_length", "num_layers", "max_tokens"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.clip_length is not None and int(self.clip_length) < 1:
            raise InvalidInputError(f"clip_length must be at least 1, got {self.clip_length}")
        if not self.lr > 0:
            raise InvalidInputError(f"learning rate must be positive, got {self.lr}")
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


def split_train_val(dataset: CaptionDataset, val_fraction: float, seed: int):
    """Train and validation records: the ``val`` split, or a held-out share of train."""
    splits = dataset.splits
    train = dataset.split("train").records if "train" in splits else None
    if train is None:
        if "all" not in splits:
            raise InvalidInputError(f"dataset has no 'train' split (it has {', '.join(splits)})")
        train = dataset.split("all").records
    if "val" in splits:
        return train, dataset.split("val").records
    if len(train) < 2:
        raise InvalidInputError("need at least two training images to hold one out")
    order = np.random.default_rng(seed).permutation(len(train))
    n_val = max(1, round(len(train) * val_fraction))
    return [train[i] for i in order[n_val:]], [train[i] for i in order[:n_val]]


def _tokenize(tokenizer, captions: list[str], max_tokens: int) -> list[list[int]]:
    ids = tokenizer([normalize_caption(c) for c in captions])["input_ids"]
    return [seq[:max_tokens] for seq in ids]


def _pairs(records, kept, tokenizer, max_tokens):
    """(embedding row, token ids) for every caption of every readable image."""
    out = []
    for row, rec_index in enumerate(kept):
        for seq in _tokenize(tokenizer, records[rec_index].captions, max_tokens):
            out.append((row, seq))
    return out


def _batch(pairs, idx, emb, device):
    import torch

    seqs = [pairs[i][1] for i in idx]
    width = max(len(s) for s in seqs)
    tokens = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros_like(tokens)
    for r, s in enumerate(seqs):
        tokens[r, : len(s)] = torch.tensor(s)
        mask[r, : len(s)] = 1
    rows = torch.as_tensor(np.array([pairs[i][0] for i in idx]))
    return emb[rows].to(device), tokens.to(device), mask.to(device)


def _loss(model, emb, tokens, mask, amp):
    import torch.nn.functional as F

    with amp():
        logits = model(emb, tokens, mask)
    labels = tokens.masked_fill(mask == 0, -100)
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1))


def _build_model(cfg, clip_dim, decoder, meta):
    from ..captioning.clipcap import ClipCapModel, load_decoder
    from ..captioning.clipcap_mapping import MappingConfig

    gpt, tok = load_decoder(decoder, weights=True)
    mapping = MappingConfig(
        cfg.mapping,
        clip_dim,
        gpt.config.n_embd,
        cfg.prefix_length,
        clip_length=cfg.clip_length,
        num_layers=cfg.num_layers,
    )
    return ClipCapModel(
        mapping, gpt, tok, normalize_prefix=cfg.normalize_prefix, stop_token=".", meta=meta
    )


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
        The CLIP encoder, as :func:`napari_clipcap.core.clip.model.load_clip` takes them.
    decoder : str
        GPT-2 hub id or local folder (see :mod:`napari_clipcap.core.training.decoder_init`).
    config : ClipcapTrainConfig, optional
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda[:N]"``, ``"mps"``; under ``torchrun`` each
        process takes ``cuda:LOCAL_RANK``. Mixed precision is used on CUDA.
    resume : bool
        Continue a run found in ``out_dir`` (its fixed settings must match).
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
    from ..captioning.clipcap import save_clipcap
    from ..devices import resolve_device

    cfg = config or ClipcapTrainConfig()
    out = Path(out_dir)
    _check_run_folder(out, resume, clip_model, clip_weights)
    dist, dev = init_distributed(resolve_device(device))
    say = (log or (lambda _m: None)) if dist.is_main else (lambda _m: None)
    train_recs, val_recs = split_train_val(dataset, cfg.val_fraction, cfg.seed)
    cache = Path(cache_dir) if cache_dir else out / "cache"
    splits = {"train": train_recs, "val": val_recs}
    embs = _embed_splits(splits, clip_model, clip_weights, dev, dist, cache, cancel)
    problems = embs["train"].problems + embs["val"].problems
    meta = {"clip_model": clip_model, "clip_weights": clip_weights, "decoder": str(decoder)}
    clip_dim = embs["train"].vectors.shape[1]
    model, start, history, state = _resume_or_build(out, resume, cfg, clip_dim, decoder, meta, say)
    pairs = _pairs(train_recs, embs["train"].kept, model.tokenizer, cfg.max_tokens)
    val_pairs = _pairs(val_recs, embs["val"].kept, model.tokenizer, cfg.max_tokens)
    steps = step_counts(len(pairs), dist.world_size, cfg.batch_size, cfg.epochs)
    tr = _setup_trainer(model, cfg, dev, dist, steps.total, state)
    train_emb, val_emb = _as_tensors(embs, dev)
    warnings: list[str] = []
    for epoch in range(start, cfg.epochs):
        tic = time.perf_counter()
        train_loss = _train_epoch(tr, pairs, train_emb, epoch, steps, cfg, dist, progress, cancel)
        record = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "train_seconds": round(time.perf_counter() - tic, 3),
        }
        if dist.is_main:
            record.update(
                _validate(model, val_pairs, val_emb, val_recs, embs["val"].kept, cfg, dev, tr.amp)
            )
            _log_epoch(record, cfg.epochs, warnings, say)
            history.append(record)
            _save(model, out, tr.opt, tr.sched, epoch + 1, history, cfg, save_clipcap)
        barrier(dist)
    return TrainResult(out / "model", history, warnings, problems, start)


@dataclass
class _Trainer:
    """The model being trained and what an optimisation step needs."""

    model: ClipCapModel  # as built: validation, sampling and saving use it
    net: torch.nn.Module  # ``model``, wrapped in DistributedDataParallel under torchrun
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    amp: Callable  # autocast context factory (a no-op off CUDA)
    scaler: torch.amp.GradScaler | None
    dev: str


def _check_run_folder(out: Path, resume: bool, clip_model: str, clip_weights: str | None) -> None:
    """Refuse an output path that is a file, or a run to resume made with another CLIP."""
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"output folder {out} is a file; give a folder for the run")
    if resume and (out / STATE_NAME).is_file():
        _check_same_clip(out, clip_model, clip_weights)


def _embed_splits(
    splits: dict[str, list],
    clip_model: str,
    clip_weights: str | None,
    dev: str,
    dist: Dist,
    cache: Path,
    cancel,
) -> dict[str, Embeddings]:
    """CLIP image embeddings of every split, cached in ``cache``.

    Under torchrun rank 0 computes (and caches) each split while the other processes wait
    at a barrier, then they read it from the cache; only rank 0 checks ``cancel``.
    """
    from ..clip.model import load_clip

    clip = load_clip(clip_model, clip_weights, dev)
    wpath = Path(clip_weights) if clip_weights and os.path.exists(clip_weights) else None
    model_id = f"{clip_model}|{clip_weights}|{wpath.stat().st_mtime_ns if wpath else ''}"
    embs = {}
    for name, recs in splits.items():
        if dist.is_main:
            embs[name] = image_embeddings(
                clip, [r.image for r in recs], model_id=model_id, cache_dir=cache, cancel=cancel
            )
        barrier(dist)
        if not dist.is_main:
            embs[name] = image_embeddings(
                clip, [r.image for r in recs], model_id=model_id, cache_dir=cache
            )
    return embs


def _resume_or_build(
    out: Path,
    resume: bool,
    cfg: ClipcapTrainConfig,
    clip_dim: int,
    decoder: str,
    meta: dict,
    say: Callable[[str], None],
) -> tuple[ClipCapModel, int, list[dict], dict | None]:
    """The model to train, the epochs already done, their history and the saved state.

    With ``resume`` and a ``train_state.pt`` in ``out``, the run there is continued (its
    fixed settings must match ``cfg``); otherwise torch is seeded with ``cfg.seed`` and a
    new model is built, and the state is None.
    """
    import torch

    from ..captioning.clipcap import load_clipcap_checkpoint

    state_file = out / STATE_NAME
    if not (resume and state_file.is_file()):
        torch.manual_seed(cfg.seed)
        return _build_model(cfg, clip_dim, decoder, meta), 0, [], None
    try:
        state = torch.load(state_file, map_location="cpu", weights_only=True)
        old = state["config"]
    except Exception as exc:  # truncated by a crash mid-write, or not ours
        raise CheckpointFormatError(
            f"cannot resume from {state_file} ({type(exc).__name__}); delete it or the "
            "folder to start over, or use another output folder"
        ) from exc
    diff = [k for k in _FIXED if old.get(k) != getattr(cfg, k)]
    if diff:
        raise InvalidInputError(
            f"{out} holds a run with other settings ({', '.join(diff)}); use another "
            "output folder or start over without resuming"
        )
    model = load_clipcap_checkpoint(out / "model", device="cpu")
    start, history = int(state["epoch"]), list(state["history"])
    say(f"resuming after epoch {start}")
    return model, start, history, state


def _setup_trainer(
    model: ClipCapModel,
    cfg: ClipcapTrainConfig,
    dev: str,
    dist: Dist,
    total: int,
    state: dict | None,
) -> _Trainer:
    """Move ``model`` to ``dev`` and give it an AdamW optimizer, warmup schedule and AMP.

    A resumed run (``state`` given) also gets back its optimizer, schedule and torch
    random-number state; under torchrun the model is wrapped in DistributedDataParallel.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    if cfg.freeze_gpt:
        model.gpt.requires_grad_(False)
    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = get_linear_schedule_with_warmup(opt, min(cfg.warmup_steps, total // 10 + 1), total)
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
    net = wrap_distributed(model, dist, dev)
    amp, scaler = amp_context(dev)
    return _Trainer(model, net, opt, sched, amp, scaler, dev)


def _as_tensors(embs: dict[str, Embeddings], dev: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Train embeddings as a CPU tensor (batches move to ``dev``), val ones on ``dev``."""
    import torch

    return torch.as_tensor(embs["train"].vectors), torch.as_tensor(embs["val"].vectors).to(dev)


def _train_epoch(
    tr: _Trainer,
    pairs: list[tuple[int, list[int]]],
    emb: torch.Tensor,
    epoch: int,
    steps: StepCounts,
    cfg: ClipcapTrainConfig,
    dist: Dist,
    progress: Callable[[int, int], None] | None,
    cancel,
) -> float:
    """Train one epoch (0-based ``epoch``) on this process's share of ``pairs``.

    The pairs are shuffled with ``cfg.seed + epoch``, so every process draws the same
    order and takes every ``world_size``-th pair of it. Returns the mean training loss.
    """
    tr.net.train()
    if cfg.freeze_gpt:
        tr.model.gpt.eval()
    batches = epoch_batches(len(pairs), epoch, cfg.seed, steps, cfg.batch_size, dist)
    total_loss = 0.0
    for b, idx in enumerate(batches):
        check_cancel(cancel)
        loss = _loss(tr.net, *_batch(pairs, idx, emb, tr.dev), tr.amp)
        optimizer_step(loss, tr.opt, tr.sched, tr.scaler)
        total_loss += loss.item()
        report(progress, epoch * steps.per_epoch + b + 1, steps.total)
    return total_loss / max(steps.per_epoch, 1)


def _log_epoch(record: dict, epochs: int, warnings: list[str], say: Callable[[str], None]) -> None:
    """Report a validated epoch, first warning (and noting in ``warnings``) of mode collapse."""
    warn = mode_collapse(record["samples"])
    if warn:
        warnings.append(f"epoch {record['epoch']}: {warn}")
        say(f"warning: {warn}")
    say(
        f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}, "
        f"val loss {record['val_loss']:.4f}; e.g. {record['samples'][:1]}"
    )


def _validate(model, val_pairs, val_emb, val_recs, kept, cfg, dev, amp) -> dict:
    """Validation loss over every held-out pair, and sample captions of held-out images."""
    import torch

    model.eval()
    losses, counts = [], []
    with torch.no_grad():
        for b in range(0, len(val_pairs), cfg.batch_size):
            idx = list(range(b, min(b + cfg.batch_size, len(val_pairs))))
            batch = _batch(val_pairs, idx, val_emb, dev)
            losses.append(float(_loss(model, *batch, amp)) * len(idx))
            counts.append(len(idx))
    n = max(cfg.num_samples, 2)
    samples = sample_captions(model, val_emb, val_recs, kept, n)
    return {"val_loss": sum(losses) / max(sum(counts), 1), "samples": samples}


def _check_same_clip(out: Path, clip_model: str, clip_weights: str | None) -> None:
    """Refuse to resume a run whose mapping was trained on another CLIP's embeddings."""
    from ..captioning.clipcap import CONFIG_NAME

    try:
        meta = json.loads((out / "model" / CONFIG_NAME).read_text()).get("meta") or {}
    except (OSError, ValueError):
        return  # no readable checkpoint: loading it later gives the clear error
    was = (meta.get("clip_model"), meta.get("clip_weights"))
    if "clip_model" in meta and was != (clip_model, clip_weights):
        raise InvalidInputError(
            f"{out} holds a run trained on CLIP {was[0]!r} (weights {was[1]!r}), not "
            f"{clip_model!r} ({clip_weights!r}): its mapping does not fit these embeddings; "
            "pass the same --clip/--clip-weights, another output folder, or start over "
            "without resuming"
        )


def _save(model, out: Path, opt, sched, epoch, history, cfg, save_clipcap) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    save_clipcap(model, out / "model")
    state = {
        "epoch": epoch,
        "history": history,
        "config": asdict(cfg),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    tmp = out / (STATE_NAME + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, out / STATE_NAME)
    (out / "history.json").write_text(json.dumps(history, indent=2))
