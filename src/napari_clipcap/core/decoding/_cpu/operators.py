"""The private PyTorch operators and CPU probes the CPU fast path relies on, in one place.

These are not public PyTorch API: a release may rename or drop any of them. Every use in
this package goes through :func:`op` and :func:`probe`, and
``tests/core/decoding/_cpu/test_operators.py`` checks each one by name, so an upgrade
that loses one fails there, saying which, instead of silently slowing decoding down.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import torch

#: oneDNN linear layers with prepacked weights and fused GELU / residual add
#: (:mod:`.prepacked`); the stepper needs them.
LINEAR_OPERATORS = (
    "mkldnn._reorder_linear_weight",
    "mkldnn._linear_pointwise",
    "mkldnn._linear_pointwise.binary",
)
#: oneDNN's int8 matmul (:mod:`.int8_screen`); without them greedy decoding uses a
#: bfloat16 or float32 head.
INT8_OPERATORS = ("onednn.qlinear_prepack", "onednn.qlinear_pointwise")
#: ``torch.cpu`` functions that say which instructions this CPU has.
CPU_PROBES = ("_is_vnni_supported", "_is_amx_tile_supported", "_is_avx512_bf16_supported")

OPERATORS = LINEAR_OPERATORS + INT8_OPERATORS


@cache
def op(name: str) -> Any:
    """The operator ``torch.ops.<name>`` (e.g. ``"mkldnn._linear_pointwise.binary"``), or
    None when this PyTorch build lacks it.

    Parameters
    ----------
    name : str
        One of :data:`OPERATORS`.
    """
    if name not in OPERATORS:
        raise KeyError(f"{name!r} is not listed in {__name__}.OPERATORS")
    found: Any = torch.ops
    try:
        for part in name.split("."):
            found = getattr(found, part)
    except (AttributeError, RuntimeError):
        return None
    return found


def missing(names: tuple[str, ...] = OPERATORS) -> list[str]:
    """The operators among ``names`` this PyTorch build lacks."""
    return [name for name in names if op(name) is None]


def probe(name: str) -> bool:
    """Whether this CPU has what ``torch.cpu.<name>()`` checks; False when the probe is gone.

    Parameters
    ----------
    name : str
        One of :data:`CPU_PROBES`.
    """
    if name not in CPU_PROBES:
        raise KeyError(f"{name!r} is not listed in {__name__}.CPU_PROBES")
    check: Callable[[], bool] = getattr(torch.cpu, name, lambda: False)
    return bool(check())
