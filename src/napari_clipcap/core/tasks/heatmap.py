"""Text-match heatmaps: where does an image look like a text query?

Two modes, both with the image's height and width and float32 values:

``"sliding"``
    Windows of ``window`` pixels every ``stride`` pixels are cut on the CPU (views of
    the image; only one batch is ever copied), encoded whole in batches, and each
    window's cosine with the query is averaged over the pixels it covers. The last
    window of a row or column is flush with the border, so edges are covered; an image
    smaller than the window is one window. Averages are kept per *cell* (the pieces the
    window edges cut the image into), so memory beyond the output is tiny.
``"dense"``
    Each window (tile) gets one forward pass that yields a patch-level similarity grid
    (:mod:`napari_clipcap.core.clip.dense`), upsampled bilinearly to the tile's pixels and
    averaged where tiles overlap. With ``stride == window`` every pixel is seen once.

Several queries give a ``(Q, H, W)`` stack; ``softmax=True`` turns it into a softmax
across queries of ``logit_scale * cosine``. Only batches of windows go to the device,
never the whole image; progress is reported and the cancel flag checked per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..clip.prompts import parse_labels, resolve_templates, text_embeddings
from ..coords.regions import is_all_nan
from ..errors import InvalidInputError
from ..jobs import ProgressCallback, batched, check_cancel, report

MODES = ("sliding", "dense")


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start offsets of windows along an axis of length ``n``; the last one is flush."""
    w = min(window, n)
    starts = list(range(0, n - w + 1, stride))
    if starts[-1] + w < n:
        starts.append(n - w)
    return np.asarray(starts, dtype=np.int64)


@dataclass(frozen=True)
class WindowGrid:
    """Where the windows of an image lie."""

    height: int
    width: int
    wh: int
    ww: int
    ys: np.ndarray
    xs: np.ndarray

    @classmethod
    def of(cls, height: int, width: int, window: int, stride: int) -> WindowGrid:
        if int(window) < 1 or int(stride) < 1:
            raise InvalidInputError(f"window and stride must be positive, got {window}, {stride}")
        if int(stride) > int(window):
            raise InvalidInputError(
                f"stride {stride} is larger than the window {window}: pixels between "
                "windows would get no value; use a stride no larger than the window"
            )
        return cls(
            height,
            width,
            min(int(window), height),
            min(int(window), width),
            window_starts(height, int(window), int(stride)),
            window_starts(width, int(window), int(stride)),
        )

    def positions(self) -> list[tuple[int, int]]:
        return [(int(y), int(x)) for y in self.ys for x in self.xs]

    def cut(self, image: np.ndarray, positions: Sequence[tuple[int, int]]) -> np.ndarray:
        """Copy one batch of windows out of the image: (B, wh, ww, 3) float32."""
        out = np.empty((len(positions), self.wh, self.ww, 3), dtype=np.float32)
        for i, (y, x) in enumerate(positions):
            win = image[y : y + self.wh, x : x + self.ww]
            out[i] = win[..., None] if win.ndim == 2 else win[..., :3]
        if image.dtype == np.uint8:
            out /= 255.0
        return out


def _check_image(image: Any) -> np.ndarray:
    if not hasattr(image, "shape") or not hasattr(image, "__getitem__"):
        image = np.asarray(image)
    shape = tuple(image.shape)
    ok = len(shape) == 2 or (len(shape) == 3 and shape[2] in (3, 4))
    if not ok or shape[0] < 1 or shape[1] < 1:
        raise InvalidInputError(f"image must be H x W or H x W x 3, got shape {shape}")
    if is_all_nan(image):
        raise InvalidInputError("the image is entirely NaN; there is nothing to match")
    return image


def _queries(query: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(query, str):
        return parse_labels([query]), True
    return parse_labels(list(query)), False


def text_heatmap(
    image: np.ndarray,
    query: str | Sequence[str],
    clip: Any,
    *,
    mode: str = "sliding",
    window: int = 224,
    stride: int = 112,
    template: str = "{}",
    templates: str | Sequence[str] | None = None,
    softmax: bool = False,
    batch_size: int = 16,
    progress: ProgressCallback | None = None,
    cancel=None,
) -> np.ndarray:
    """Map how well each pixel's neighbourhood matches a text query.

    Parameters
    ----------
    image : ndarray
        ``H x W x 3`` float32 in [0, 1] (``to_model_input``'s output) or ``H x W``; a
        memmap works and is read one batch of windows at a time.
    query : str or sequence of str
        One query, or several for a ``(Q, H, W)`` stack.
    clip : ClipModel
        From :func:`~napari_clipcap.core.clip.model.load_clip`.
    mode : {"sliding", "dense"}
        See the module docstring. Dense needs a ViT model.
    window, stride : int
        Window size and step in image pixels; windows are resized to the model input.
    template : str
        Prompt with ``{}``; ignored when ``templates`` (a preset name or list) is given.
    softmax : bool
        Softmax across queries of ``logit_scale * cosine`` instead of the raw cosine.
    batch_size : int
        Windows per forward pass; bounds the memory used.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`.

    Returns
    -------
    ndarray
        float32 ``(H, W)`` for one query string, ``(Q, H, W)`` for a list.
    """
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    image = _check_image(image)
    queries, single = _queries(query)
    if softmax and len(queries) < 2:
        raise InvalidInputError("softmax across queries needs at least two queries")
    text = text_embeddings(clip, queries, resolve_templates(template, templates))
    grid = WindowGrid.of(image.shape[0], image.shape[1], window, stride)
    run = _sliding if mode == "sliding" else _dense
    out = run(image, text, clip, grid, softmax, int(batch_size), progress, cancel)
    return out[0] if single else out


def _batches(grid: WindowGrid, batch_size: int):
    pos = grid.positions()
    for sl in batched(len(pos), batch_size):
        yield pos[sl], sl.stop, len(pos)


def _softmax_inplace(maps: np.ndarray, scale: float, chunk_rows: int = 512) -> np.ndarray:
    """Softmax over axis 0 of (Q, H, W), a band of rows at a time."""
    for r in range(0, maps.shape[1], chunk_rows):
        band = maps[:, r : r + chunk_rows].astype(np.float64) * scale
        band -= band.max(axis=0, keepdims=True)
        np.exp(band, out=band)
        band /= band.sum(axis=0, keepdims=True)
        maps[:, r : r + chunk_rows] = band
    return maps


def _sliding(image, text, clip, grid, softmax, batch_size, progress, cancel) -> np.ndarray:
    import torch

    by = np.unique(np.concatenate([grid.ys, grid.ys + grid.wh]))
    bx = np.unique(np.concatenate([grid.xs, grid.xs + grid.ww]))
    sums = np.zeros((len(text), len(by) - 1, len(bx) - 1))
    counts = np.zeros((len(by) - 1, len(bx) - 1))
    text_t = torch.from_numpy(text).to(clip.device)
    for pos, done, total in _batches(grid, batch_size):
        check_cancel(cancel)
        feats = clip.encode_pixels(clip.preprocess(grid.cut(image, pos)))
        cos = (torch.nn.functional.normalize(feats, dim=-1) @ text_t.T).cpu().numpy()
        for (y, x), c in zip(pos, cos.astype(np.float64)):
            r0, r1 = np.searchsorted(by, [y, y + grid.wh])
            c0, c1 = np.searchsorted(bx, [x, x + grid.ww])
            sums[:, r0:r1, c0:c1] += c[:, None, None]
            counts[r0:r1, c0:c1] += 1
        report(progress, done, total)
    cells = (sums / counts).astype(np.float32)
    if softmax:
        cells = _softmax_inplace(cells, clip.logit_scale)
    rows = np.repeat(cells, np.diff(by), axis=1)
    return np.ascontiguousarray(np.repeat(rows, np.diff(bx), axis=2))


def _dense(image, text, clip, grid, softmax, batch_size, progress, cancel) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    from ..clip.dense import patch_features

    out = np.zeros((len(text), grid.height, grid.width), dtype=np.float32)
    text_t = torch.from_numpy(text).to(clip.device)
    for pos, done, total in _batches(grid, batch_size):
        check_cancel(cancel)
        tokens = patch_features(clip, clip.preprocess(grid.cut(image, pos), "squash"))
        sim = torch.einsum("bhwd,qd->bqhw", tokens, text_t)
        up = F.interpolate(sim, size=(grid.wh, grid.ww), mode="bilinear", align_corners=False)
        up = up.cpu().numpy()
        for (y, x), tile in zip(pos, up):
            out[:, y : y + grid.wh, x : x + grid.ww] += tile
        report(progress, done, total)
    cy = np.zeros(grid.height, dtype=np.float32)
    cx = np.zeros(grid.width, dtype=np.float32)
    for y in grid.ys:
        cy[y : y + grid.wh] += 1
    for x in grid.xs:
        cx[x : x + grid.ww] += 1
    out /= cy[None, :, None]
    out /= cx[None, None, :]
    return _softmax_inplace(out, clip.logit_scale) if softmax else out


def naive_sliding_heatmap(
    image: np.ndarray,
    queries: Sequence[str],
    clip: Any,
    *,
    window: int = 224,
    stride: int = 112,
    template: str = "{}",
) -> np.ndarray:
    """Reference for tests and benchmarks: one forward pass per window in a Python loop,
    accumulated over full-size sum and count maps. Returns (Q, H, W) float32."""
    h, w = image.shape[:2]
    text = clip.encode_texts([template.format(q) for q in queries])
    sums = np.zeros((len(queries), h, w))
    counts = np.zeros((h, w))
    wh, ww = min(window, h), min(window, w)
    for y in window_starts(h, window, stride):
        for x in window_starts(w, window, stride):
            emb = clip.encode_images([image[y : y + wh, x : x + ww]])[0]
            sums[:, y : y + wh, x : x + ww] += (text @ emb)[:, None, None]
            counts[y : y + wh, x : x + ww] += 1
    return (sums / counts).astype(np.float32)
