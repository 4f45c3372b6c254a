"""The training loop that ClipCap training and CLIP fine-tuning share.

An epoch shuffles the training items with ``seed + epoch`` and deals them out to the
processes of a ``torchrun`` launch (every ``world_size``-th item of the shared order), so
each process takes the same number of optimisation steps; :func:`step_counts` says how
many, :func:`epoch_batches` gives each step's item indices, :func:`wrap_distributed`
wraps the model for several processes and :func:`optimizer_step` applies a loss.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .data import Dist

if TYPE_CHECKING:
    import torch


class StepCounts(NamedTuple):
    """How an epoch's training items are shared out as optimisation steps."""

    per_rank: int  #: items each process trains on per epoch (equal on every process)
    per_epoch: int  #: optimisation steps per epoch
    total: int  #: optimisation steps of the whole run


def step_counts(n_items: int, world_size: int, batch_size: int, epochs: int) -> StepCounts:
    """Optimisation steps per epoch and in all, the same on every process.

    Parameters
    ----------
    n_items : int
        Training items (pairs, images) in one epoch, over all processes.
    world_size : int
        Number of processes (1 when run alone).
    batch_size : int
        Items per step on each process.
    epochs : int
        Epochs of the whole run.

    Returns
    -------
    StepCounts
        ``per_rank`` is ``n_items / world_size`` rounded up (processes short of items
        repeat some), ``per_epoch`` is ``per_rank / batch_size`` rounded up.
    """
    per_rank = -(-n_items // world_size)
    per_epoch = -(-per_rank // batch_size)
    return StepCounts(per_rank, per_epoch, per_epoch * epochs)


def epoch_batches(
    n_items: int, epoch: int, seed: int, steps: StepCounts, batch_size: int, dist: Dist
) -> Iterator[np.ndarray]:
    """This process's item indices for each optimisation step of one epoch.

    Parameters
    ----------
    n_items : int
        Training items in one epoch, over all processes.
    epoch : int
        The epoch, 0-based.
    seed : int
        The run's seed; the epoch's order is drawn with ``seed + epoch``, so every
        process draws the same order.
    steps : StepCounts
        From :func:`step_counts` with the same ``n_items`` and ``batch_size``.
    batch_size : int
        Items per step.
    dist : Dist
        This process's rank and the number of processes.

    Yields
    ------
    ndarray of int
        ``steps.per_epoch`` index arrays of at most ``batch_size`` items. The order is
        repeated up to ``steps.per_rank * world_size`` items and this process takes every
        ``world_size``-th of them from its ``rank`` on, so when ``n_items`` divides
        evenly the processes together see every item exactly once.
    """
    order = np.random.default_rng(seed + epoch).permutation(n_items)
    order = np.resize(order, steps.per_rank * dist.world_size)[dist.rank :: dist.world_size]
    for b in range(steps.per_epoch):
        yield order[b * batch_size : (b + 1) * batch_size]


def wrap_distributed(model: torch.nn.Module, dist: Dist, device: str) -> torch.nn.Module:
    """``model`` in DistributedDataParallel under ``torchrun``, else ``model`` itself.

    Parameters
    ----------
    model : torch.nn.Module
        Already on ``device``.
    dist : Dist
        This process's place in the run; nothing is wrapped when it runs alone.
    device : str
        The process's device; on CUDA the wrapper is told ``dist.local_rank``.

    Returns
    -------
    torch.nn.Module
        The module to call for training steps (it synchronises the gradients).
    """
    if not dist.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    cuda = device.startswith("cuda")
    return DistributedDataParallel(model, device_ids=[dist.local_rank] if cuda else None)


def optimizer_step(
    loss: torch.Tensor,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Backpropagate ``loss``, update the weights and advance the schedule.

    Parameters
    ----------
    loss : torch.Tensor
        Scalar loss of the step; the gradients of earlier steps are cleared first.
    opt : torch.optim.Optimizer
    sched : torch.optim.lr_scheduler.LRScheduler
        Stepped once per call.
    scaler : torch.amp.GradScaler, optional
        For float16 mixed precision (see
        :func:`napari_clipcap.core.training.data.amp_context`): the loss is scaled before
        backpropagation and the step skipped when the gradients overflow.
    """
    opt.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        opt.step()
    sched.step()
