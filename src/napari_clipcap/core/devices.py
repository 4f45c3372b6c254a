"""Choosing the compute device and numeric precision.

``"auto"`` picks CUDA, then Apple MPS, then the CPU. On a GPU, models run in half
precision (bf16 where the hardware supports it, fp16 otherwise); on the CPU in fp32.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from .errors import InvalidInputError

Precision = Literal["auto", "fp32", "fp16", "bf16"]


@dataclass(frozen=True)
class DeviceInfo:
    """One compute device that exists on this machine."""

    name: str
    kind: str
    description: str
    memory_gb: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[DeviceInfo]:
    """List the devices torch can use here, GPUs first and the CPU last.

    Returns
    -------
    list of DeviceInfo
    """
    import os

    import torch

    devices = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append(
                DeviceInfo(f"cuda:{i}", "cuda", props.name, round(props.total_memory / 2**30, 1))
            )
    if _mps_available(torch):
        devices.append(DeviceInfo("mps", "mps", "Apple Metal Performance Shaders"))
    devices.append(DeviceInfo("cpu", "cpu", f"CPU ({os.cpu_count()} cores)"))
    return devices


def resolve_device(device: str | None = "auto") -> str:
    """Turn ``"auto"`` or a user's device name into a torch device string.

    Parameters
    ----------
    device : str or None
        ``"auto"`` (or ``None``), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Returns
    -------
    str
        A device that exists, e.g. ``"cuda:0"`` or ``"cpu"``.

    Raises
    ------
    InvalidInputError
        If the device is unknown or not present on this machine.
    """
    names = [d.name for d in available_devices()]
    if device in (None, "", "auto"):
        return names[0]
    if device == "cuda" and "cuda:0" in names:
        return "cuda:0"
    if device in names:
        return device
    raise InvalidInputError(
        f"device {device!r} is not available here; choose one of: auto, {', '.join(names)}"
    )


def resolve_dtype(device: str, precision: Precision = "auto"):
    """Pick the torch dtype for models on ``device``.

    Parameters
    ----------
    device : str
        A resolved device name.
    precision : {"auto", "fp32", "fp16", "bf16"}
        ``"auto"`` gives fp32 on the CPU, bf16 on GPUs that support it, fp16 otherwise.

    Returns
    -------
    torch.dtype
    """
    import torch

    table = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if precision in table:
        if device == "cpu" and precision == "fp16":
            raise InvalidInputError("fp16 is not supported on the CPU; use fp32 or bf16")
        return table[precision]
    if precision != "auto":
        raise InvalidInputError(f"precision must be auto, fp32, fp16 or bf16, not {precision!r}")
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def release_memory(device: str) -> None:
    """Return cached allocator memory on ``device`` to the system after models are unloaded."""
    import gc

    import torch

    gc.collect()
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and _mps_available(torch):
        torch.mps.empty_cache()
