"""What the trainers share: reading dataset images, cached CLIP embeddings, and the
process group when a launcher (``torchrun``, ``accelerate launch``) starts several
processes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..io.image_sets import load_image, load_images  # noqa: F401  (still importable from here)


def _cache_key(model_id: str, paths: Sequence) -> str:
    h = hashlib.sha1(model_id.encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


@dataclass
class Embeddings:
    """CLIP image embeddings of the dataset images that could be read."""

    vectors: np.ndarray  # (N, D) float32, not normalised
    kept: list[int]  # indices into the input paths
    problems: list[str]


def image_embeddings(
    clip,
    paths: Sequence,
    *,
    model_id: str,
    cache_dir=None,
    batch_size: int = 64,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel=None,
) -> Embeddings:
    """Unnormalised CLIP embeddings of ``paths``, cached on disk.

    The cache file is named after ``model_id`` and every path's size and modification
    time, so changed images or another model give a new file.
    """
    paths = [str(p) for p in paths]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise InvalidInputError(f"{len(missing)} image(s) do not exist, e.g. {missing[0]}")
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"clip-emb-{_cache_key(model_id, paths)}.npz"
        if cache_file.is_file():
            try:
                with np.load(cache_file) as z:
                    return Embeddings(z["vectors"], z["kept"].tolist(), z["problems"].tolist())
            except (OSError, ValueError, KeyError, EOFError):
                pass  # cut short by a crash (older versions): computed again below
    images, kept, problems = load_images(paths, strict=strict, cancel=cancel)
    if not images:
        raise InvalidInputError("no dataset image could be read: " + "; ".join(problems[:3]))
    vectors = clip.encode_images(
        images, normalize=False, batch_size=batch_size, progress=progress, cancel=cancel
    )
    if cache_file is not None:
        from ..io.atomic import atomic_file

        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(cache_file) as f:
            np.savez(
                f,
                vectors=vectors,
                kept=np.asarray(kept, dtype=np.int64),
                problems=np.asarray(problems, dtype=str),
            )
    return Embeddings(vectors, kept, problems)


@dataclass
class Dist:
    """This process's place in a multi-process run (rank 0 of 1 when run alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str) -> tuple[Dist, str]:
    """Join the process group a launcher set up through ``WORLD_SIZE``/``RANK`` env vars.

    Returns the process's :class:`Dist` and its device (``cuda:LOCAL_RANK`` on GPUs).
    Run alone, nothing is initialised and ``device`` comes back unchanged.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), device
    import torch
    import torch.distributed as tdist

    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
    if not tdist.is_initialized():
        tdist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Dist(rank, world, local), device


def barrier(dist: Dist) -> None:
    """Wait for every process (no-op when run alone)."""
    if dist.enabled:
        import torch.distributed as tdist

        tdist.barrier()


def amp_context(device: str):
    """``(autocast factory, GradScaler or None)``: bf16/fp16 autocast on CUDA, none elsewhere."""
    import contextlib

    import torch

    if not device.startswith("cuda"):
        return contextlib.nullcontext, None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler
