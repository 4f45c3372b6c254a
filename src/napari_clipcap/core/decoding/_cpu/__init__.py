"""The CPU fast path for GPT-2 decoding: private, reached only through :func:`cpu_stepper`.

For a float32 GPT-2 on the CPU it gives a stepper that computes what transformers'
forward computes (greedy tokens identical, logits to float32 rounding) about 1.5x
faster: oneDNN-prepacked weights (:mod:`.prepacked`), a preallocated KV cache
(:mod:`.stepper`) and, for greedy decoding, an exact screened argmax head (:mod:`.head`).
It relies on private PyTorch operators, all listed in :mod:`.operators`.

Turn it off with ``cpu_stepper(..., enabled=False)`` (``generate(...,
cpu_fast_path=False)``) or the environment variable ``NAPARI_CLIPCAP_CPU_FAST_PATH=0``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ...errors import InvalidInputError

__all__ = ["ENV_VAR", "cpu_stepper", "fast_path_enabled"]

#: Environment variable that turns the fast path off (``0``) or on (``1``, the default).
ENV_VAR = "NAPARI_CLIPCAP_CPU_FAST_PATH"
_OFF = frozenset({"0", "false", "no", "off"})
_ON = frozenset({"", "1", "true", "yes", "on"})

_log = logging.getLogger(__name__)


def fast_path_enabled(enabled: bool | None = None) -> bool:
    """``enabled`` when given, else what :data:`ENV_VAR` says (on when unset).

    Raises
    ------
    InvalidInputError
        When the environment variable holds something other than 0/1 (or false/true,
        no/yes, off/on).
    """
    if enabled is not None:
        return bool(enabled)
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise InvalidInputError(f"{ENV_VAR}={value!r}: use 0 (off) or 1 (on, the default)")


def cpu_stepper(lm: Any, prefix: Any, *, enabled: bool | None = None) -> Any | None:
    """A fast CPU stepper for decoding ``prefix`` with ``lm``, or None to use transformers.

    Parameters
    ----------
    lm : transformers causal LM
        The decoder.
    prefix : torch.Tensor
        ``(B, P, E)`` prefix embeddings.
    enabled : bool, optional
        False: never the fast path. Default: on unless :data:`ENV_VAR` is ``0``.

    Returns
    -------
    GPT2Stepper or None
        A :class:`~napari_clipcap.core.decoding.loops.Stepper` when the fast path is on,
        this PyTorch has the oneDNN operators it needs, and it computes ``lm`` exactly (a
        float32 ``GPT2LMHeadModel`` in eval mode on the CPU, plain attention, float32
        prefix); else None.
    """
    if not fast_path_enabled(enabled):
        return None
    from .prepacked import onednn_linear_available
    from .stepper import GPT2Stepper, supports

    if not supports(lm, prefix):
        return None
    if not onednn_linear_available():
        _log.info("CPU fast path off: this PyTorch lacks oneDNN's linear operators")
        return None
    return GPT2Stepper(lm)
