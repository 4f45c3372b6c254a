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

The query may also be a region of the image itself (:func:`region_heatmap`, "more like
this"): the region is cut with :func:`~napari_clipcap.core.tasks.crops.cut_regions` and
embedded by the CLIP image encoder the way the mode sees the image, L2-normalised, in
place of the text embedding. Sliding mode encodes the crop whole, as it encodes a window;
dense mode takes the mean of the crop's own patch tokens (the dense pass over the crop),
because the global image embedding and the patch tokens are not aligned well enough for
an image-to-image match (with it, a region need not even score highest on itself).

Several queries give a ``(Q, H, W)`` stack; ``softmax=True`` turns it into a softmax
across queries of ``logit_scale * cosine``. Only batches of windows go to the device,
never the whole image; progress is reported and the cancel flag checked per batch.

Pixels without data (NaN or inf in a float image, or False in ``valid``) are NaN in the
map, so napari shows them transparent. They enter the model as 0, as
``to_model_input`` makes them; a window with no valid pixel at all is not encoded.
Valid pixels get the same values as without a mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..clip.prompts import parse_labels, resolve_templates, text_embeddings
from ..coords.regions import is_all_nan
from ..errors import InvalidInputError
from ..jobs import ProgressCallback, batched, check_cancel, report
from .windows import DEFAULT_STRIDE, DEFAULT_WINDOW, WindowGrid, window_starts

__all__ = [
    "MODES",
    "WindowGrid",
    "map_summary",
    "naive_sliding_heatmap",
    "region_embeddings",
    "region_heatmap",
    "text_heatmap",
    "window_starts",
]

MODES = ("sliding", "dense")


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
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
    template: str = "{}",
    templates: str | Sequence[str] | None = None,
    softmax: bool = False,
    batch_size: int = 16,
    valid: np.ndarray | None = None,
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
    valid : ndarray of bool, optional
        ``(H, W)``, False where the source has no data (see
        :mod:`napari_clipcap.core.tasks.validity`); needed when ``image`` is a model
        input, where such pixels are already 0. Non-finite pixels of ``image`` count as
        no data whether or not it is given.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs`.

    Returns
    -------
    ndarray
        float32 ``(H, W)`` for one query string, ``(Q, H, W)`` for a list; NaN where
        the image has no data.

    Raises
    ------
    InvalidInputError
        Bad mode, shape, window or stride; an image or mask without any valid pixel.
    """
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    image = _check_image(image)
    queries, single = _queries(query)
    if softmax and len(queries) < 2:
        raise InvalidInputError("softmax across queries needs at least two queries")
    text = text_embeddings(clip, queries, resolve_templates(template, templates))
    out = _embedding_maps(
        image, text, clip, mode, window, stride, softmax, batch_size, valid, progress, cancel
    )
    return out[0] if single else out


def region_embeddings(
    image: np.ndarray,
    regions: Any,
    clip: Any,
    *,
    mode: str = "sliding",
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """The L2-normalised CLIP image embeddings of regions of ``image``: image queries.

    Parameters
    ----------
    image : ndarray
        The model input, as :func:`text_heatmap` takes it.
    regions : sequence
        Boxes ``(x0, y0, x1, y1)`` or polygons ``(N, 2)`` of ``(x, y)`` in image pixels,
        cut with :func:`~napari_clipcap.core.tasks.crops.cut_regions` (a polygon's
        outside masked); one box on its own is one region.
    clip : ClipModel
    mode : {"sliding", "dense"}
        Sliding: each crop encoded whole (resized as a window is); dense: the mean of
        the crop's patch tokens (:func:`~napari_clipcap.core.clip.dense.patch_features`
        of the crop squashed to the model input, as a dense tile is).
    valid : ndarray of bool, optional
        Where the source holds data, as for :func:`text_heatmap`.

    Returns
    -------
    ndarray
        ``(R, D)`` float32, one L2-normalised row per region.

    Raises
    ------
    InvalidInputError
        No region, a malformed or outside region, or one without any valid pixel.
    """
    from .crops import cut_regions, region_list

    if not region_list(regions):
        raise InvalidInputError("give at least one query region")
    names = [f"query region {i}" for i in range(1, len(region_list(regions)) + 1)]
    cut = cut_regions(image, regions, valid=valid, names=names)
    if cut.empty.any():
        first = int(np.flatnonzero(cut.empty)[0]) + 1
        raise InvalidInputError(f"query region {first} holds no data (all NaN or nodata)")
    if mode != "dense":
        return clip.encode_images(list(cut.parts)).astype(np.float32)
    import torch

    from ..clip.dense import patch_features

    rows = []
    for part in cut.parts:
        tokens = patch_features(clip, clip.preprocess([np.asarray(part)], "squash"))
        rows.append(torch.nn.functional.normalize(tokens.mean(dim=(1, 2)), dim=-1)[0])
    return torch.stack(rows).float().cpu().numpy()


def region_heatmap(
    image: np.ndarray,
    regions: Any,
    clip: Any,
    *,
    mode: str = "sliding",
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
    softmax: bool = False,
    batch_size: int = 16,
    valid: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    cancel=None,
) -> np.ndarray:
    """Map how much each pixel's neighbourhood looks like a region of the same image.

    The "more like this" query: each region's CLIP image embedding
    (:func:`region_embeddings`) takes the place of :func:`text_heatmap`'s text embedding,
    in sliding mode (cosine with each window's embedding) and in dense mode (cosine of
    the region's mean patch token with each patch token).

    Parameters
    ----------
    image : ndarray
        As for :func:`text_heatmap`.
    regions : sequence
        Query boxes or polygons in image pixels (see :func:`region_embeddings`).
    clip : ClipModel
    mode, window, stride, softmax, batch_size, valid, progress, cancel
        As for :func:`text_heatmap` (``softmax`` needs two regions or more).

    Returns
    -------
    ndarray
        float32 ``(R, H, W)``, one map per region, NaN where the image has no data.

    Raises
    ------
    InvalidInputError
        As :func:`text_heatmap` and :func:`region_embeddings`.
    """
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    image = _check_image(image)
    queries = region_embeddings(image, regions, clip, mode=mode, valid=valid)
    if softmax and len(queries) < 2:
        raise InvalidInputError("softmax across queries needs at least two query regions")
    return _embedding_maps(
        image, queries, clip, mode, window, stride, softmax, batch_size, valid, progress, cancel
    )


def _embedding_maps(
    image, queries, clip, mode, window, stride, softmax, batch_size, valid, progress, cancel
) -> np.ndarray:
    """``(Q, H, W)`` maps of the normalised query embeddings ``queries`` (text or image)."""
    grid = WindowGrid.of(image.shape[0], image.shape[1], window, stride)
    # a lazy model input holds no NaN, so the windows never clear pixels of the mask:
    # the caller's mask is used as it is (no copy), and without one there is none at all
    lazy = hasattr(image, "reduced")
    mask = None if lazy and valid is None else _mask(valid, image.shape[:2], copy=not lazy)
    run = _sliding if mode == "sliding" else _dense
    out = run(image, queries, clip, grid, mask, softmax, int(batch_size), progress, cancel)
    if mask is None:
        return out
    if not mask.any():
        raise InvalidInputError("the image has no valid pixel (all NaN or nodata)")
    for r in range(0, out.shape[1], 512):  # a band at a time: no full-size ~mask copy
        band = out[:, r : r + 512]
        band[:, ~mask[r : r + 512]] = np.nan
    return out


def map_summary(maps: np.ndarray, chunk_rows: int = 512) -> dict[str, float]:
    """``min``, ``max``, ``mean`` of the finite values and the ``valid_fraction`` of a map.

    Read a band of rows at a time (``np.nanmean`` copies the whole map); NaN when no
    value is finite.
    """
    stack = maps.reshape(-1, *maps.shape[-2:]) if maps.ndim > 2 else maps[None]
    lo, hi, total, count = np.inf, -np.inf, 0.0, 0
    for r in range(0, stack.shape[1], chunk_rows):
        band = stack[:, r : r + chunk_rows]
        finite = band[np.isfinite(band)]
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
            total += float(finite.sum(dtype=np.float64))
            count += finite.size
    if not count:
        return {"min": np.nan, "max": np.nan, "mean": np.nan, "valid_fraction": 0.0}
    return {"min": lo, "max": hi, "mean": total / count, "valid_fraction": count / stack.size}


def _mask(valid: np.ndarray | None, shape: tuple[int, int], copy: bool = True) -> np.ndarray:
    if valid is None:
        return np.ones(shape, dtype=bool)
    # a mask computed where sliced (FiniteRows) stays so: never made whole
    mask = (
        valid if not copy and hasattr(valid, "rows") else np.array(valid, bool, copy=copy or None)
    )
    if mask.shape != tuple(shape):
        raise InvalidInputError(f"valid mask has shape {mask.shape}, the image {tuple(shape)}")
    if not mask.any():
        raise InvalidInputError("the valid mask is empty: the image has no data to match")
    return mask


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


def _encode_valid(clip, grid, image, pos, mask, squash: bool = False):
    """Windows of one batch that hold data and their pixels for the model (or None)."""
    windows, has_data = grid.cut(image, pos, mask)
    if not has_data.any():
        return [], None
    kept = [p for p, keep in zip(pos, has_data) if keep]
    windows = windows[has_data]
    return kept, clip.preprocess(windows, "squash") if squash else clip.preprocess(windows)


def _sliding(image, text, clip, grid, mask, softmax, batch_size, progress, cancel):
    import torch

    by, bx = grid.edges()
    sums = np.zeros((len(text), len(by) - 1, len(bx) - 1))
    counts = np.zeros((len(by) - 1, len(bx) - 1))
    text_t = torch.from_numpy(text).to(clip.device)
    for pos, done, total in _batches(grid, batch_size):
        check_cancel(cancel)
        pos, pixels = _encode_valid(clip, grid, image, pos, mask)
        if pixels is None:
            report(progress, done, total)
            continue
        feats = clip.encode_pixels(pixels)
        cos = (torch.nn.functional.normalize(feats, dim=-1) @ text_t.T).cpu().numpy()
        for (y, x), c in zip(pos, cos.astype(np.float64)):
            r0, r1 = np.searchsorted(by, [y, y + grid.wh])
            c0, c1 = np.searchsorted(bx, [x, x + grid.ww])
            sums[:, r0:r1, c0:c1] += c[:, None, None]
            counts[r0:r1, c0:c1] += 1
        report(progress, done, total)
    cells = (sums / np.maximum(counts, 1)).astype(np.float32)  # 0 windows: no data
    if softmax:
        cells = _softmax_inplace(cells, clip.logit_scale)
    rows = np.repeat(cells, np.diff(by), axis=1)
    return np.ascontiguousarray(np.repeat(rows, np.diff(bx), axis=2))


def _dense(image, text, clip, grid, mask, softmax, batch_size, progress, cancel):
    import torch
    import torch.nn.functional as F

    from ..clip.dense import patch_features

    out = np.zeros((len(text), grid.height, grid.width), dtype=np.float32)
    text_t = torch.from_numpy(text).to(clip.device)
    for pos, done, total in _batches(grid, batch_size):
        check_cancel(cancel)
        pos, pixels = _encode_valid(clip, grid, image, pos, mask, squash=True)
        if pixels is None:
            report(progress, done, total)
            continue
        tokens = patch_features(clip, pixels)
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
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
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
