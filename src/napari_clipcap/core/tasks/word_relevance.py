"""Words to places: for each word of a caption, a relevance map over the image.

* BLIP, ViT-GPT2 (encoder-decoder): the decoder's cross-attention from the step that
  produced each token to the image patches, averaged over layers and heads;
* GIT: the same from its self-attention, text positions to image-token positions;
* ClipCap and CoCa: the CLIP similarity of each word, as a dense patch map
  (:func:`~napari_clipcap.core.tasks.heatmap.text_heatmap`, ``mode="dense"``; CoCa uses
  ``"sliding"``, which works for any CLIP-like image tower).

Maps are float32 ``(H, W)`` arrays aligned with the image, one per word, ready to be
shown as image layers. Tokens are grouped into words through the tokenizer's character
offsets, so sub-word pieces of one word share one map.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError

_WORD = re.compile(r"[^\W_][\w'-]*")


@dataclass
class WordMaps:
    """Words of a caption and their relevance maps.

    Attributes
    ----------
    words : list of str
    spans : list of (int, int)
        Character span of each word in the caption.
    maps : ndarray
        float32 ``(N, H, W)``: ``maps[i]`` belongs to ``words[i]``.
    method : str
        ``"cross-attention"``, ``"self-attention"`` or ``"clip-dense"`` / ``"clip-sliding"``.
    """

    words: list[str]
    spans: list[tuple[int, int]]
    maps: np.ndarray
    method: str

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{word: map}``; a repeated word keeps its first map."""
        out: dict[str, np.ndarray] = {}
        for w, m in zip(self.words, self.maps):
            out.setdefault(w, m)
        return out


def caption_words(caption: str) -> list[tuple[str, tuple[int, int]]]:
    """Words (letters/digits, inner ``'`` and ``-``) of a caption with their spans."""
    return [(m.group(0), m.span()) for m in _WORD.finditer(caption)]


def word_maps(
    captioner,
    image: np.ndarray,
    caption: str,
    *,
    window: int = 224,
    stride: int = 112,
    progress=None,
    cancel=None,
) -> WordMaps:
    """Relevance map of every word of ``caption`` over ``image``.

    Parameters
    ----------
    captioner : Captioner
        From :func:`~napari_clipcap.core.captioning.protocol.load_captioner`.
    image : ndarray
        The ``H x W x 3`` float32 image (or region crop) that was captioned.
    caption : str
        Usually one of the captions ``captioner`` gave for ``image``.
    window, stride : int
        Window of the CLIP maps (ClipCap, CoCa), in image pixels.
    progress, cancel
        See :mod:`napari_clipcap.core.jobs` (CLIP maps report per batch of windows).

    Raises
    ------
    InvalidInputError
        For a caption without words or an image that is not H x W x 3.
    """
    from ..captioning.protocol import check_images

    image = check_images([image])[0]
    found = caption_words(caption)
    if not found:
        raise InvalidInputError(f"caption {caption!r} has no words to map")
    words, spans = [w for w, _ in found], [s for _, s in found]
    kind = getattr(captioner, "kind", None)
    if kind in ("clipcap", "coca"):
        from .heatmap import text_heatmap

        mode = "dense" if kind == "clipcap" else "sliding"
        size = min(window, *image.shape[:2])
        unique = list(dict.fromkeys(w.lower() for w in words))  # each word encoded once
        maps = text_heatmap(
            image,
            unique,
            captioner.clip,
            mode=mode,
            window=size,
            stride=min(stride, size),
            progress=progress,
            cancel=cancel,
        )
        maps = np.asarray(maps, np.float32)[[unique.index(w.lower()) for w in words]]
        return WordMaps(words, spans, maps, f"clip-{mode}")
    if kind in ("blip", "vit-gpt2", "git"):
        token_maps, offsets = _attention_maps(captioner, image, caption)
        maps = np.stack([_mean_over_tokens(token_maps, offsets, s) for s in spans])
        method = "self-attention" if kind == "git" else "cross-attention"
        return WordMaps(words, spans, maps.astype(np.float32), method)
    raise InvalidInputError(f"word maps are not available for captioner kind {kind!r}")


def clip_word_map(
    image: np.ndarray,
    word: str,
    clip,
    *,
    window: int = 224,
    stride: int = 112,
    progress=None,
    cancel=None,
) -> np.ndarray:
    """Dense CLIP similarity of one word over ``image`` (sliding windows for CLIP models
    without patches), float32 ``(H, W)``: ClipCap's words-to-places map."""
    from .heatmap import text_heatmap

    size = min(window, *image.shape[:2])
    mode = "dense" if getattr(clip, "patch_size", None) else "sliding"
    heat = text_heatmap(
        image,
        word,
        clip,
        mode=mode,
        window=size,
        stride=min(stride, size),
        progress=progress,
        cancel=cancel,
    )
    return np.asarray(heat, np.float32)


def word_relevance(
    image: np.ndarray, caption: str, word: str, model, *, progress=None, cancel=None
) -> np.ndarray:
    """The relevance map of one ``word`` of ``caption``, float32 ``(H, W)``.

    ``model`` is a captioner (maps as in :func:`word_maps`) or a CLIP model from
    :func:`~napari_clipcap.core.clip.model.load_clip` (the dense CLIP map of the word, as for
    ClipCap). For a captioner the word must occur in the caption (case-insensitive).
    """
    if getattr(model, "kind", None) is None:
        return clip_word_map(image, word, model, progress=progress, cancel=cancel)
    res = word_maps(model, image, caption, progress=progress, cancel=cancel)
    for w, m in zip(res.words, res.maps):
        if w.lower() == word.strip().lower():
            return m
    raise InvalidInputError(f"{word!r} is not a word of the caption {caption!r}")


def _mean_over_tokens(token_maps, offsets, span) -> np.ndarray:
    hits = [i for i, (a, b) in enumerate(offsets) if a < span[1] and b > span[0]]
    if not hits:
        return np.zeros(token_maps.shape[1:], np.float32)
    return token_maps[hits].mean(axis=0)


@contextmanager
def _eager_attention(model):
    """Attention weights need the eager implementation; restore the previous one after."""
    prev = getattr(model.config, "_attn_implementation", "eager")
    if prev != "eager":
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if prev != "eager":
            model.set_attn_implementation(prev)


def _attention_maps(captioner, image, caption):
    """Per caption token, the attention to image patches, as ``(T, H, W)`` maps."""
    import torch

    m, tok = captioner.model, captioner.tokenizer
    enc = tok(caption, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    if not ids:
        raise InvalidInputError(f"caption {caption!r} has no tokens")
    px = captioner.pixels([image])
    with torch.inference_mode(), _eager_attention(m):
        if captioner.kind == "blip":
            start = m.config.text_config.bos_token_id
            emb = m.vision_model(pixel_values=px)[0]
            t = torch.tensor([[start, *ids]], device=px.device)
            att = m.text_decoder(
                input_ids=t, encoder_hidden_states=emb, output_attentions=True
            ).cross_attentions
        elif captioner.kind == "vit-gpt2":
            start = m.config.decoder_start_token_id
            emb = m.encoder(pixel_values=px).last_hidden_state
            t = torch.tensor([[start, *ids]], device=px.device)
            att = m.decoder(
                input_ids=t, encoder_hidden_states=emb, output_attentions=True
            ).cross_attentions
        else:  # git: image tokens come first in one self-attention sequence
            t = torch.tensor([[tok.cls_token_id, *ids]], device=px.device)
            att = m(input_ids=t, pixel_values=px, output_attentions=True).attentions
            n_img = att[0].shape[-1] - t.shape[1]
            att = [a[..., -t.shape[1] :, :n_img] for a in att]
    # (layers, heads) mean -> (T+1, patches); row k predicts token k (after the start token)
    a = torch.stack([x[0].float() for x in att]).mean(dim=(0, 1))[: len(ids)]
    grid = _patch_grid(a.shape[-1])
    maps = a[:, -grid * grid :].reshape(len(ids), grid, grid).cpu().numpy()
    return _to_image(maps, image.shape[:2], captioner.processor), offsets


def _patch_grid(n_tokens: int) -> int:
    for extra in (0, 1):  # with or without a CLS token
        g = round((n_tokens - extra) ** 0.5)
        if g * g == n_tokens - extra:
            return g
    raise InvalidInputError(f"cannot lay {n_tokens} image tokens out on a square grid")


def _to_image(maps: np.ndarray, shape, processor) -> np.ndarray:
    """Resize patch maps onto the image, following the processor's resize / centre crop."""
    import torch
    import torch.nn.functional as F

    h, w = shape
    box = (0, 0, w, h)
    crop = getattr(processor, "crop_size", None)
    size = getattr(processor, "size", None)
    short = getattr(size, "shortest_edge", None) if size is not None else None
    if getattr(processor, "do_center_crop", False) and crop is not None and short:
        scale = short / min(h, w)
        ch, cw = crop["height"] / scale, crop["width"] / scale
        x0, y0 = (w - cw) / 2, (h - ch) / 2
        box = tuple(round(v) for v in (max(x0, 0), max(y0, 0), min(x0 + cw, w), min(y0 + ch, h)))
    x0, y0, x1, y1 = box
    up = F.interpolate(
        torch.from_numpy(maps)[:, None],
        size=(y1 - y0, x1 - x0),
        mode="bilinear",
        align_corners=False,
    )[:, 0].numpy()
    out = np.zeros((len(maps), h, w), np.float32)
    out[:, y0:y1, x0:x1] = up
    return out
