"""The language-model head of the CPU fast path: every logit, or only the argmax.

GPT-2 ties its output projection to the token embedding, a ``(V, D)`` matrix, the
largest single read of a decoding step. :class:`FastHead` gives

* every float32 logit through a oneDNN-prepacked copy (:mod:`.prepacked`; PyTorch's
  default matmul reads the transposed matrix at about half the speed), for beam search
  and sampling;
* for greedy decoding, the exact float32 argmax from an int8 or bfloat16 screen of the
  weight (:mod:`.screened_argmax`) when this CPU runs one fast, else the argmax of every
  float32 logit.

Each is made on first use.
"""

from __future__ import annotations

import torch

from .prepacked import PrepackedLinear
from .screened_argmax import ScreenedArgmaxHead, available_screens


class FastHead:
    """``hidden (B, D) -> logits (B, V)`` for ``hidden @ weight.T + bias`` on the CPU.

    Parameters
    ----------
    weight : torch.Tensor
        ``(V, D)`` float32 head weight.
    bias : torch.Tensor or None
        ``(V,)``.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None):
        self.weight = weight
        self.bias = bias
        self._full: PrepackedLinear | None = None
        self._argmax: ScreenedArgmaxHead | None = None

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        if self._full is None:
            self._full = PrepackedLinear(self.weight, self.bias)
        return self._full(hidden)

    def screened(self) -> ScreenedArgmaxHead | None:
        """The screened argmax head (built on first call), or None when this CPU runs no
        screen faster than the float32 head."""
        if self._argmax is None and available_screens():
            self._argmax = ScreenedArgmaxHead(self.weight, self.bias)
        return self._argmax

    def argmax(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(B,)`` the argmax token ids of the float32 logits (ties go low)."""
        screened = self.screened()
        return self(hidden).argmax(dim=-1) if screened is None else screened(hidden)

    @property
    def last_screen(self) -> str | None:
        """Which screen decided the last :meth:`argmax` (None: every float32 logit)."""
        return None if self._argmax is None else self._argmax.last_screen
