"""Every private PyTorch operator and CPU probe the CPU fast path uses still exists.

A PyTorch release may drop or rename any of them; this test then fails naming the one
that went, rather than decoding silently falling back to the slower path."""

from __future__ import annotations

import pytest
import torch

from napari_clipcap.core.decoding._cpu import operators

needs_onednn = pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="this PyTorch is built without oneDNN"
)


@needs_onednn
@pytest.mark.parametrize("name", operators.OPERATORS)
def test_operator_exists(name):
    assert operators.op(name) is not None, (
        f"torch {torch.__version__} has no torch.ops.{name}, which the CPU fast path "
        "(napari_clipcap.core.decoding._cpu) uses: port it or drop the feature that needs it"
    )


@pytest.mark.parametrize("name", operators.CPU_PROBES)
def test_cpu_probe_exists(name):
    assert callable(getattr(torch.cpu, name, None)), (
        f"torch {torch.__version__} has no torch.cpu.{name}, which the CPU fast path uses "
        "to pick its greedy head"
    )
    assert isinstance(operators.probe(name), bool)


def test_every_use_is_listed():
    """The modules reach torch.ops only through operators.op, so the list is complete."""
    from pathlib import Path

    folder = Path(operators.__file__).parent
    for module in folder.glob("*.py"):
        if module.name != "operators.py":
            assert "torch.ops." not in module.read_text(), module.name


def test_unlisted_names_are_refused():
    with pytest.raises(KeyError, match="OPERATORS"):
        operators.op("mkldnn._not_listed")
    with pytest.raises(KeyError, match="CPU_PROBES"):
        operators.probe("_is_not_listed")


def test_a_missing_operator_is_reported(monkeypatch):
    monkeypatch.setattr(operators, "OPERATORS", (*operators.OPERATORS, "mkldnn._gone_op"))
    operators.op.cache_clear()
    try:
        assert operators.missing(("mkldnn._gone_op",)) == ["mkldnn._gone_op"]
    finally:
        operators.op.cache_clear()
