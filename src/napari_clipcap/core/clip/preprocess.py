"""Image preprocessing for CLIP in torch: batches of equally sized images, resized and
cropped the way open_clip's transforms do, without PIL or a per-image loop."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInputError


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An ``H x W x 3`` view/copy of an image given as ``H x W``, ``H x W x 1|3|4``;
    8-bit values become ``value / 255``."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise InvalidInputError(f"an image must be HxWx3 (or HxW), got shape {a.shape}")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    return a[..., :3]


def same_shape_groups(images: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """(n, H, W, 3) stacks of consecutive equally shaped images, in order."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return [images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images]
    merged: list[list[np.ndarray]] = []
    for im in images:
        g = as_rgb(im)[None]
        if merged and merged[-1][0].shape[1:] == g.shape[1:]:
            merged[-1].append(g)
        else:
            merged.append([g])
    return [m[0] if len(m) == 1 else np.concatenate(m) for m in merged]


def resize_batch(x, size: tuple[int, int], resize_mode: str, interpolation: str = "bicubic"):
    """Resize a (B, 3, h, w) tensor in [0, 1] to ``size`` = (H, W).

    ``"shortest"``: the short side to the target (torchvision ``Resize(int)``), then a
    centre crop; ``"squash"``: straight to the size; ``"longest"``: the long side to the
    target, then zero padding. Antialiased; values clamped to [0, 1].
    """
    import torch
    import torch.nn.functional as F

    th, tw = size
    h, w = x.shape[-2:]
    if (h, w) == (th, tw):
        return x
    mode = interpolation if interpolation in ("bicubic", "bilinear") else "bilinear"

    def interp(t, out_size):
        return F.interpolate(
            t, size=out_size, mode=mode, antialias=True, align_corners=False
        ).clamp_(0.0, 1.0)

    if resize_mode == "squash":
        return interp(x, (th, tw))
    if resize_mode == "longest":
        s = min(th / h, tw / w)
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        y = interp(x, (nh, nw))
        canvas = torch.zeros((*x.shape[:2], th, tw), dtype=y.dtype, device=y.device)
        top, left = (th - nh) // 2, (tw - nw) // 2
        canvas[..., top : top + nh, left : left + nw] = y
        return canvas
    short = min(th, tw)
    if h <= w:
        nh, nw = short, max(short, int(short * w / h))
    else:
        nh, nw = max(short, int(short * h / w)), short
    y = interp(x, (nh, nw))
    top, left = round((nh - th) / 2.0), round((nw - tw) / 2.0)
    return y[..., top : top + th, left : left + tw]
