"""The exact argmax of a language-model head, reading its weight at half the bytes.

Greedy decoding needs only the index of the largest logit, not every logit. The head
``W`` (vocabulary x width, 154 MB for GPT-2 in float32) is the largest single read of a
decoding step. :class:`ScreenedArgmaxHead` reads a bfloat16 copy instead, bounds how far
each approximate logit can be from the float32 one, and recomputes in float32 only the
vocabulary entries whose bound still lets them win. The result is the float32 argmax,
not an approximation of it.

The bound, for a row ``x`` and vocabulary entry ``w``: rounding ``x`` and ``w`` to
bfloat16 moves each product ``x_i w_i`` by at most ``(2u + u^2) |x_i w_i|`` (``u = 2^-8``),
float32 accumulation over ``D`` terms by ``D 2^-24 sum |x_i w_i|`` (for both the screen
and the float32 computation it stands in for), and rounding the result to bfloat16 by
``u`` of its magnitude; ``sum |x_i w_i| <= |x| |w|`` (Cauchy-Schwarz). The constants
below double that. With ``B`` the largest bound of a row, every entry whose approximate
logit is within ``2 B`` of the row's largest is a candidate, so the true winner always
is one.
"""

from __future__ import annotations

import torch

from .prepacked import PrepackedLinear

#: Relative error of the screen against ``|x| |w|``, with a factor 2 of margin.
_PRODUCT_BOUND = 2.0 * (2 * 2.0**-8 + 2.0**-16 + 2 * 4096 * 2.0**-24)
#: Relative error from rounding the screened logit to bfloat16, with a factor 2.
_OUTPUT_BOUND = 2.0 * 2.0**-8


class ScreenedArgmaxHead:
    """``hidden (B, D) -> (B,)`` the argmax of ``hidden @ weight.T + bias`` in float32.

    Ties go to the lowest index, as ``torch.argmax`` over the full logits gives them.

    Parameters
    ----------
    weight : torch.Tensor
        ``(V, D)`` float32 head weight (kept by reference for the exact recomputation).
    bias : torch.Tensor or None
        ``(V,)``.
    max_candidates : int
        Above this many candidates in a batch the screen gave too little and every logit
        is computed in float32.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        max_candidates: int = 4096,
    ):
        if weight.shape[1] > 4096:
            raise ValueError("the accumulation bound assumes a width of at most 4096")
        self.weight = weight.detach()
        self.bias = None if bias is None else bias.detach()
        self.screen = PrepackedLinear(self.weight, dtype=torch.bfloat16)
        self.max_norm = float(self.weight.norm(dim=1).max())
        self.max_candidates = max_candidates

    def exact(self, hidden: torch.Tensor) -> torch.Tensor:
        """Every logit in float32 (the fallback)."""
        logits = hidden @ self.weight.T
        return logits if self.bias is None else logits + self.bias

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        approx = self.screen(hidden.to(torch.bfloat16)).float()
        if self.bias is not None:
            approx += self.bias
        top = approx.amax(dim=1, keepdim=True)
        size = torch.maximum(top.abs(), approx.amin(dim=1, keepdim=True).abs())
        # one bound per row, the largest over the vocabulary: a few more candidates than
        # per-entry bounds would give, for fewer passes over (rows, vocabulary)
        bound = hidden.norm(dim=1, keepdim=True) * self.max_norm * _PRODUCT_BOUND
        bound += size * _OUTPUT_BOUND
        rows, cols = torch.nonzero(approx >= top - 2 * bound, as_tuple=True)
        if len(rows) > self.max_candidates or not bool(torch.isfinite(bound).all()):
            return self.exact(hidden).argmax(dim=1)  # a loose screen, or non-finite values
        picked = (hidden[rows] * self.weight[cols]).sum(dim=1)
        if self.bias is not None:
            picked += self.bias[cols]
        n = hidden.shape[0]
        best = picked.new_full((n,), float("-inf")).scatter_reduce(0, rows, picked, "amax")
        winners = torch.where(picked == best[rows], cols, self.weight.shape[0])
        return winners.new_full((n,), self.weight.shape[0]).scatter_reduce(
            0, rows, winners, "amin"
        )
