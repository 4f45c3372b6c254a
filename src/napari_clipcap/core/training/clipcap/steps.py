"""The steps of a ClipCap training run: the data (splits, cached CLIP embeddings, token
pairs, batches), the model and its trainer, and each epoch's loss, training and validation.

:func:`napari_clipcap.core.training.clipcap.train.train_clipcap` runs them in sequence; the
epoch steps share a :class:`Trainer` (the model, its optimizer, schedule and precision).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...errors import InvalidInputError
from ...jobs import check_cancel, report
from ..checkpoint import restore_training_state
from ..data import Dist, Embeddings, amp_context, barrier, image_embeddings
from ..datasets import CaptionDataset, normalize_caption
from ..loop import StepCounts, epoch_batches, optimizer_step, wrap_distributed
from ..monitor import mode_collapse, sample_captions

if TYPE_CHECKING:
    import torch

    from ...captioning.clipcap.model import ClipCapModel


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


def caption_pairs(records, kept, tokenizer, max_tokens):
    """(embedding row, token ids) for every caption of every readable image."""
    out = []
    for row, rec_index in enumerate(kept):
        for seq in _tokenize(tokenizer, records[rec_index].captions, max_tokens):
            out.append((row, seq))
    return out


def make_batch(pairs, idx, emb, device):
    """Embeddings, padded token ids and their mask for the pairs ``idx``, on ``device``."""
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


def caption_loss(model, emb, tokens, mask, amp):
    """Cross-entropy of the captions' tokens given their image prefixes."""
    import torch.nn.functional as F

    with amp():
        logits = model(emb, tokens, mask)
    labels = tokens.masked_fill(mask == 0, -100)
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1))


@dataclass
class Trainer:
    """The model being trained and what an optimisation step needs."""

    model: ClipCapModel  # as built: validation, sampling and saving use it
    net: torch.nn.Module  # ``model``, wrapped in DistributedDataParallel under torchrun
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    amp: Callable  # autocast context factory (a no-op off CUDA)
    scaler: torch.amp.GradScaler | None
    dev: str


def setup_trainer(model, cfg, dev: str, dist: Dist, total: int, state: dict | None) -> Trainer:
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
        restore_training_state(state, opt, sched)
    net = wrap_distributed(model, dist, dev)
    amp, scaler = amp_context(dev)
    return Trainer(model, net, opt, sched, amp, scaler, dev)


def train_epoch(
    tr: Trainer,
    pairs: list[tuple[int, list[int]]],
    emb: torch.Tensor,
    epoch: int,
    steps: StepCounts,
    cfg,
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
        loss = caption_loss(tr.net, *make_batch(pairs, idx, emb, tr.dev), tr.amp)
        optimizer_step(loss, tr.opt, tr.sched, tr.scaler)
        total_loss += loss.item()
        report(progress, epoch * steps.per_epoch + b + 1, steps.total)
    return total_loss / max(steps.per_epoch, 1)


def log_epoch(record: dict, epochs: int, warnings: list[str], say: Callable[[str], None]) -> None:
    """Report a validated epoch, first warning (and noting in ``warnings``) of mode collapse."""
    warn = mode_collapse(record["samples"])
    if warn:
        warnings.append(f"epoch {record['epoch']}: {warn}")
        say(f"warning: {warn}")
    say(
        f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}, "
        f"val loss {record['val_loss']:.4f}; e.g. {record['samples'][:1]}"
    )


def validate(model, val_pairs, val_emb, val_recs, kept, cfg, dev, amp) -> dict:
    """Validation loss over every held-out pair, and sample captions of held-out images."""
    import torch

    model.eval()
    losses, counts = [], []
    with torch.no_grad():
        for b in range(0, len(val_pairs), cfg.batch_size):
            idx = list(range(b, min(b + cfg.batch_size, len(val_pairs))))
            batch = make_batch(val_pairs, idx, val_emb, dev)
            losses.append(float(caption_loss(model, *batch, amp)) * len(idx))
            counts.append(len(idx))
    n = max(cfg.num_samples, 2)
    samples = sample_captions(model, val_emb, val_recs, kept, n)
    return {"val_loss": sum(losses) / max(sum(counts), 1), "samples": samples}


def build_model(cfg, clip_dim, decoder, meta):
    from ...captioning.clipcap.mapping import MappingConfig
    from ...captioning.clipcap.model import ClipCapModel, load_decoder

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


def embed_splits(
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
    from ...clip.model import load_clip

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


def as_tensors(embs: dict[str, Embeddings], dev: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Train embeddings as a CPU tensor (batches move to ``dev``), val ones on ``dev``."""
    import torch

    return torch.as_tensor(embs["train"].vectors), torch.as_tensor(embs["val"].vectors).to(dev)
