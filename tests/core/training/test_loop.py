"""The training loop shared by ClipCap training and CLIP fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_clipcap.core.training.data import Dist
from napari_clipcap.core.training.loop import (
    StepCounts,
    epoch_batches,
    optimizer_step,
    step_counts,
    wrap_distributed,
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((12, 1, 5, 3), (12, 3, 9)),  # alone: a short last batch
        ((12, 3, 2, 2), (4, 2, 4)),  # divides evenly over 3 processes
        ((10, 3, 3, 4), (4, 2, 8)),  # 10 items on 3 processes: each trains on 4
        ((1, 4, 8, 2), (1, 1, 2)),  # fewer items than processes
    ],
)
def test_step_counts(args, expected):
    assert step_counts(*args) == StepCounts(*expected)


def _all_ranks(n, epoch, seed, batch_size, world_size):
    steps = step_counts(n, world_size, batch_size, 1)
    out = []
    for rank in range(world_size):
        dist = Dist(rank, world_size, rank)
        out.append(list(epoch_batches(n, epoch, seed, steps, batch_size, dist)))
    return steps, out


def test_ranks_together_see_every_item_once_per_epoch_when_divisible():
    orders = []
    for epoch in range(3):
        steps, per_rank = _all_ranks(12, epoch, seed=4, batch_size=2, world_size=3)
        for batches in per_rank:
            assert len(batches) == steps.per_epoch == 2
            assert all(len(b) == 2 for b in batches)
        seen = np.concatenate([np.concatenate(b) for b in per_rank])
        assert sorted(seen.tolist()) == list(range(12))
        orders.append(np.concatenate(per_rank[0]).tolist())
    assert orders[0] != orders[1] != orders[2]  # reshuffled every epoch


def test_short_ranks_repeat_items_and_take_equal_steps():
    steps, per_rank = _all_ranks(10, 0, seed=0, batch_size=3, world_size=3)
    assert steps.per_rank == 4
    for batches in per_rank:
        assert [len(b) for b in batches] == [3, 1]  # equal step counts on every rank
    seen = np.concatenate([np.concatenate(b) for b in per_rank]).tolist()
    assert len(seen) == 12 and set(seen) == set(range(10))


def test_order_is_the_permutation_drawn_with_seed_plus_epoch():
    steps = step_counts(7, 1, 3, 2)
    batches = list(epoch_batches(7, 1, 5, steps, 3, Dist()))
    expected = np.random.default_rng(6).permutation(7)  # seed + epoch
    assert [b.tolist() for b in batches] == [
        expected[:3].tolist(),
        expected[3:6].tolist(),
        expected[6:].tolist(),
    ]


def test_wrap_distributed(monkeypatch):
    model = torch.nn.Linear(2, 2)
    assert wrap_distributed(model, Dist(), "cuda:0") is model  # alone: unwrapped
    made = []

    def fake_ddp(module, device_ids=None):
        made.append((module, device_ids))
        return "wrapped"

    monkeypatch.setattr(torch.nn.parallel, "DistributedDataParallel", fake_ddp)
    dist = Dist(rank=1, world_size=2, local_rank=1)
    assert wrap_distributed(model, dist, "cuda:1") == "wrapped"
    assert wrap_distributed(model, dist, "cpu") == "wrapped"
    assert made == [(model, [1]), (model, None)]  # device ids only on CUDA


def _problem(stale_grad: float):
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    w.grad = torch.full_like(w, stale_grad)  # left over from an earlier step
    opt = torch.optim.SGD([w], lr=0.5)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (step + 1))
    return w, opt, sched


@pytest.mark.parametrize("scaled", [False, True])
def test_optimizer_step_updates_weights_and_schedule(scaled):
    w, opt, sched = _problem(stale_grad=100.0)
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0) if scaled else None
    loss = (w * torch.tensor([3.0, 4.0])).sum()  # gradient (3, 4)
    optimizer_step(loss, opt, sched, scaler)
    # the stale gradient was cleared, and a scaled loss was unscaled before the step
    assert w.detach().tolist() == [1.0 - 0.5 * 3.0, -2.0 - 0.5 * 4.0]
    assert sched.last_epoch == 1 and opt.param_groups[0]["lr"] == 0.25
    if scaled:
        assert scaler.get_scale() == 8.0


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")
def test_scaled_step_is_skipped_when_gradients_overflow():
    w, opt, sched = _problem(stale_grad=0.0)
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0)
    loss = (w * torch.tensor([float("inf"), 1.0])).sum()
    optimizer_step(loss, opt, sched, scaler)
    assert w.detach().tolist() == [1.0, -2.0]  # weights kept
    assert scaler.get_scale() == 4.0  # the scale backs off
    assert sched.last_epoch == 1  # the schedule still advances
