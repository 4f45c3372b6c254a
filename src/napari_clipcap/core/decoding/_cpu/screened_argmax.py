"""The exact argmax of a language-model head, from a cheap screen of its weight.

Greedy decoding needs only the index of the largest logit, not every logit. The head
``W`` (vocabulary x width, 154 MB for GPT-2 in float32) is the largest single read of a
decoding step. :class:`ScreenedArgmaxHead` computes approximate logits ``a`` from a
smaller copy of ``W`` together with a bound ``e >= |a - z|`` on their distance from the
float32 logits ``z``. Entry ``v`` can only be the float32 argmax if ``a_v + e_v`` reaches
``max_u (a_u - e_u)``; those few candidates are recomputed in float32 and the largest
wins. The result is the float32 argmax, not an approximation of it: the argmax of the
candidates' float32 logits, which can differ from that of a full float32 matmul only
where two logits lie within float32 rounding of each other (two matmuls may sum in
different orders).

Two screens, the first this CPU runs fast:

* int8 (:mod:`.int8_screen`, CPUs with VNNI or AMX): a quarter of the bytes and the
  fastest arithmetic, a bound per vocabulary entry;
* bfloat16 (CPUs with AVX512-BF16 or AMX): half the bytes, one bound per row. Rounding
  ``x`` and ``w`` to bfloat16 moves each product ``x_i w_i`` by at most ``(2u + u^2)
  |x_i w_i|`` (``u = 2^-8``), float32 accumulation over ``D`` terms by ``D 2^-24 sum |x_i
  w_i|`` (for the screen and the float32 computation it stands in for), and rounding the
  result to bfloat16 by ``u`` of its magnitude; ``sum |x_i w_i| <= |x| |w|``
  (Cauchy-Schwarz). The constants below double that.

A screen that leaves too many candidates (hidden states unlike any the screen suits)
hands over to the next one, and the last resort is every logit in float32.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .int8_screen import Int8Screen, int8_screen_available
from .prepacked import PrepackedLinear, fast_bfloat16_matmul

#: Relative error of the bfloat16 screen against ``|x| |w|``, with a factor 2 of margin.
_PRODUCT_BOUND = 2.0 * (2 * 2.0**-8 + 2.0**-16 + 2 * 4096 * 2.0**-24)
#: Relative error from rounding the bfloat16 screen's logit to bfloat16, with a factor 2.
_OUTPUT_BOUND = 2.0 * 2.0**-8
#: The bfloat16 screen bounds hidden states whose largest magnitude lies within these
#: (their norms neither underflow nor overflow); others go to the next screen.
_BFLOAT16_RANGE = (2.0**-40, 2.0**40)
#: Calls a screen sits out after it left too many candidates.
_REST = 16

#: ``hidden (B, D) -> (approx (B, V), coeffs (B, K), basis (K, V))``: approximate logits
#: and their bound, ``coeffs @ basis``, kept factored so that applying it is a matmul
#: (elementwise passes over ``(B, V)`` cost more than the screen's own arithmetic). The
#: last row of ``basis`` is ones.
Screen = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


class Bfloat16Screen:
    """The bfloat16 :data:`Screen`: a bfloat16 copy of the weight prepacked for oneDNN,
    one bound per row."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None):
        if weight.shape[1] > 4096:
            raise ValueError("the bfloat16 bound assumes a width of at most 4096")
        self.bias = None if bias is None else bias.detach()
        self.packed = PrepackedLinear(weight.detach(), dtype=torch.bfloat16)
        norm = torch.linalg.vector_norm
        self.max_norm = float(norm(weight, dim=1, dtype=torch.float64).max())
        self.max_l1 = float(norm(weight, 1, dim=1, dtype=torch.float64).max())
        # subnormal products and sums lose up to 2^-149 each
        self.underflow = 2 * (weight.shape[1] + 16) * 2.0**-149
        self.basis = torch.ones(1, weight.shape[0])

    def __call__(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        approx = self.packed(hidden.to(torch.bfloat16)).float()
        if self.bias is not None:
            approx += self.bias
        top, bottom = approx.amax(1, keepdim=True), approx.amin(1, keepdim=True)
        size = torch.maximum(top.abs(), bottom.abs())
        bound = hidden.norm(dim=1, keepdim=True) * self.max_norm * _PRODUCT_BOUND
        bound += size * _OUTPUT_BOUND
        # bfloat16 subnormals (below 2^-126) round to 2^-134 absolute, not relative
        x_l1 = torch.linalg.vector_norm(hidden, 1, dim=1, keepdim=True)
        bound += (x_l1 + self.max_l1) * 2.0**-133 + self.underflow
        low, high = _BFLOAT16_RANGE
        if not low <= float(hidden.abs().max()) <= high:
            bound.fill_(float("inf"))
        return approx, bound, self.basis


def available_screens() -> list[str]:
    """The screens this CPU runs faster than the float32 head, fastest first."""
    names = []
    if int8_screen_available():
        names.append("int8")
    if fast_bfloat16_matmul():
        names.append("bfloat16")
    return names


class ScreenedArgmaxHead:
    """``hidden (B, D) -> (B,)`` the argmax of ``hidden @ weight.T + bias`` in float32.

    Ties go to the lowest index, as ``torch.argmax`` over the full logits gives them.

    Parameters
    ----------
    weight : torch.Tensor
        ``(V, D)`` float32 head weight (kept by reference for the exact recomputation).
    bias : torch.Tensor or None
        ``(V,)``.
    screens : sequence of {"int8", "bfloat16"}, optional
        Screens to try in order; default :func:`available_screens`. The first is built
        here, the others when first needed.
    max_candidates : int
        A screen leaving more vocabulary entries than this (over all rows) gives way to
        the next one, and after the last every logit is computed in float32.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        screens: list[str] | None = None,
        max_candidates: int = 4096,
    ):
        names = available_screens() if screens is None else list(screens)
        if weight.shape[1] > 4096 and "bfloat16" in names:
            if screens is not None:
                raise ValueError("the bfloat16 bound assumes a width of at most 4096")
            names.remove("bfloat16")
        self.weight = weight.detach()
        self.bias = None if bias is None else bias.detach()
        self.screen_names = names
        self.max_candidates = max_candidates
        self._screens: dict[str, Screen] = {}
        self._resting: dict[str, int] = {}
        self.last_screen: str | None = None  # which screen decided the last call
        if names:
            self.screen(names[0])

    def exact(self, hidden: torch.Tensor) -> torch.Tensor:
        """Every logit in float32 (the last resort)."""
        logits = hidden @ self.weight.T
        return logits if self.bias is None else logits + self.bias

    def screen(self, name: str) -> Screen:
        """The screen ``name``, built on first use."""
        if name not in self._screens:
            build = {"int8": Int8Screen, "bfloat16": Bfloat16Screen}[name]
            self._screens[name] = build(self.weight, self.bias)
        return self._screens[name]

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        if bool(torch.isfinite(hidden).all()):
            for name in self.screen_names:
                if self._resting.get(name, 0) > 0:
                    self._resting[name] -= 1
                    continue
                ids = self._select(hidden, *self.screen(name)(hidden))
                if ids is not None:
                    self.last_screen = name
                    return ids
                self._resting[name] = _REST
        self.last_screen = None
        return self.exact(hidden).argmax(dim=1)

    def _select(self, hidden, approx, coeffs, basis) -> torch.Tensor | None:
        """The float32 argmax among the entries the screen cannot rule out, or None when
        it leaves too many (or its bound is not finite)."""
        # every row's best lower bound, max_v (a_v - e_v)
        lower = torch.addmm(approx, coeffs, basis, alpha=-1).amax(dim=1, keepdim=True)
        if not bool(torch.isfinite(lower).all()):
            return None
        # a_v + e_v - lower (basis ends with ones), and the entries where a row reaches 0
        coeffs = coeffs.clone()
        coeffs[:, -1:] -= lower
        reach = torch.addmm(approx, coeffs, basis).amax(dim=0)
        cols = (reach >= 0).nonzero().squeeze(1)  # ascending: ties go low
        if len(cols) > self.max_candidates:
            return None
        possible = torch.addmm(approx[:, cols], coeffs, basis[:, cols]) >= 0
        logits = hidden @ self.weight[cols].T
        if self.bias is not None:
            logits += self.bias[cols]
        logits.masked_fill_(~possible, float("-inf"))
        return cols[logits.argmax(dim=1)]
