"""GPT-2 decoding steps on the CPU, written for the few rows of a decoding step.

A decoding step pushes one token per caption through every GPT-2 weight, so its time is
the time to stream ~500 MB of float32 weights from memory. transformers' forward adds
about 10 % on top (cache objects, mask building, fresh allocations); this module runs
the same arithmetic with:

* the block weights prepacked for oneDNN (:mod:`.prepacked`), read faster at few rows;
* a key/value cache preallocated per layer (grown by doubling), zero-filled once so the
  per-step writes do not page-fault;
* GPT-2's tanh GELU and the residual additions done by the matmuls as they write out;
* the output layer of :mod:`.head`: for greedy decoding, the exact float32 argmax from
  an int8 (or bfloat16) screen of the head, which reads the largest matrix at a quarter
  (half) of the bytes.

Logits agree with transformers' GPT-2 to float32 rounding; greedy tokens are those of the
reference algorithm (tested). The prepared weights cost about as much memory as the
model's blocks again, are made once per model, and are remade when any weight changes
(training updates them in place).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ...errors import InvalidInputError
from .head import FastHead
from .prepacked import PrepackedLinear
from .weights import cached_on

_ATTR = "_napari_clipcap_gpt2_prepared"


@dataclass
class _Layer:
    ln_1: torch.nn.LayerNorm
    ln_2: torch.nn.LayerNorm
    qkv: PrepackedLinear
    attn_out: PrepackedLinear
    mlp_hidden: Callable[[torch.Tensor], torch.Tensor]  # the first MLP matmul + GELU
    mlp_out: PrepackedLinear


class _Prepared:
    """A GPT-2's weights in the form the stepper reads, tied to their versions."""

    def __init__(self, lm):
        body, cfg = lm.transformer, lm.config
        self.heads, self.width = cfg.n_head, cfg.n_embd
        self.eps = cfg.layer_norm_epsilon
        self.scale = (self.width // self.heads) ** -0.5 if cfg.scale_attn_weights else 1.0
        self.wte, self.wpe, self.ln_f = body.wte.weight, body.wpe.weight, body.ln_f
        self.layers = [
            _Layer(
                block.ln_1,
                block.ln_2,
                PrepackedLinear.from_conv1d(block.attn.c_attn),
                PrepackedLinear.from_conv1d(block.attn.c_proj),
                _mlp_hidden(PrepackedLinear.from_conv1d(block.mlp.c_fc), block.mlp.act),
                PrepackedLinear.from_conv1d(block.mlp.c_proj),
            )
            for block in body.h
        ]
        self.head = FastHead(lm.lm_head.weight.detach())


def _mlp_hidden(linear: PrepackedLinear, act: torch.nn.Module) -> Callable:
    """``act(linear(h))``. GPT-2's ``gelu_new`` is done inside the matmul (transformers
    spells it out in eight operators, each a pass over the activations); equal to float32
    rounding. Other activations as they are."""
    if type(act).__name__ == "NewGELUActivation":
        return linear.gelu_tanh
    return lambda h: act(linear(h))


def supports(lm: Any, prefix: torch.Tensor) -> bool:
    """Whether :class:`GPT2Stepper` can decode ``prefix`` with ``lm`` exactly.

    A float32 ``GPT2LMHeadModel`` on the CPU in eval mode, with plain self-attention (no
    cross-attention, no per-layer scaling or reordered upcast) and a float32 prefix.
    """
    if type(lm).__name__ != "GPT2LMHeadModel" or lm.training:
        return False
    cfg = lm.config
    plain = not (
        getattr(cfg, "add_cross_attention", False)
        or getattr(cfg, "scale_attn_by_inverse_layer_idx", False)
        or getattr(cfg, "reorder_and_upcast_attn", False)
    )
    weight = lm.lm_head.weight
    return (
        plain
        and weight.device.type == "cpu"
        and weight.dtype == torch.float32
        and prefix.device.type == "cpu"
        and prefix.dtype == torch.float32
    )


def prepared(lm) -> _Prepared:
    """The prepared weights of ``lm``, made once and remade when a weight changed."""
    return cached_on(lm, _ATTR, lm.parameters(), lambda: _Prepared(lm))


class GPT2Stepper:
    """The :class:`~napari_clipcap.core.decoding.loops.Stepper` for GPT-2 on the CPU.

    With ``argmax_only`` (set by greedy decoding) :meth:`start` and :meth:`step` return
    the ``(rows,)`` argmax token ids instead of ``(rows, vocab)`` logits.
    """

    def __init__(self, lm):
        self.p = prepared(lm)
        self.argmax_only = False
        self.length = 0
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []

    def start(self, prefix: torch.Tensor) -> torch.Tensor:
        rows = prefix.shape[0]
        self.length = 0
        self.keys, self.values = [], []
        for _ in self.p.layers:
            self.keys.append(self._empty(rows, 0))
            self.values.append(self._empty(rows, 0))
        return self._forward(prefix)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        return self._forward(F.embedding(tokens, self.p.wte)[:, None])

    def repeat(self, n: int) -> None:
        self.keys = [k.repeat_interleave(n, 0) for k in self.keys]
        self.values = [v.repeat_interleave(n, 0) for v in self.values]

    def reorder(self, index: torch.Tensor) -> None:
        self.keys = [k.index_select(0, index) for k in self.keys]
        self.values = [v.index_select(0, index) for v in self.values]

    def _empty(self, rows: int, capacity: int) -> torch.Tensor:
        heads = self.p.heads
        return torch.zeros(rows, heads, capacity, self.p.width // heads)

    def _reserve(self, needed: int) -> None:
        capacity = self.keys[0].shape[2]
        if needed <= capacity:
            return
        if needed > self.p.wpe.shape[0]:
            raise InvalidInputError(
                f"prefix + caption need {needed} positions; this GPT-2 has "
                f"{self.p.wpe.shape[0]}: lower max_tokens"
            )
        capacity = max(needed, 2 * capacity, 32)
        used = self.length
        for cache in (self.keys, self.values):
            for i, old in enumerate(cache):
                new = self._empty(old.shape[0], capacity)
                new[:, :, :used] = old[:, :, :used]
                cache[i] = new

    def _forward(self, embeds: torch.Tensor) -> torch.Tensor:
        p = self.p
        rows, new, width = embeds.shape
        start, end = self.length, self.length + new
        if new > 1 and start > 0:  # the causal mask below is only right for an empty cache
            raise RuntimeError("several new positions are only fed at the start")
        self._reserve(end)
        heads = p.heads
        x = (embeds + p.wpe[start:end]).reshape(rows * new, width)
        for i, layer in enumerate(p.layers):
            h = F.layer_norm(x, (width,), layer.ln_1.weight, layer.ln_1.bias, p.eps)
            qkv = layer.qkv(h).view(rows, new, 3, heads, width // heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)
            keys, values = self.keys[i], self.values[i]
            keys[:, :, start:end] = k
            values[:, :, start:end] = v
            a = F.scaled_dot_product_attention(
                q, keys[:, :, :end], values[:, :, :end], is_causal=new > 1, scale=p.scale
            )
            x = layer.attn_out.plus(a.transpose(1, 2).reshape(rows * new, width), x)
            h = F.layer_norm(x, (width,), layer.ln_2.weight, layer.ln_2.bias, p.eps)
            x = layer.mlp_out.plus(layer.mlp_hidden(h), x)
        self.length = end
        last = x.view(rows, new, width)[:, -1]
        hidden = F.layer_norm(last, (width,), p.ln_f.weight, p.ln_f.bias, p.eps)
        return p.head.argmax(hidden) if self.argmax_only else p.head(hidden)
