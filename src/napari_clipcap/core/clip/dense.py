"""Training-free dense CLIP features for ViT image towers.

CLIP's patch tokens after the last block are poorly localised: the last attention mixes
every token towards a few global ones. Following ClearCLIP (Lan et al., 2024) and SCLIP
(Wang et al., 2024), the last block is run differently: its attention uses query-query
similarities (each patch attends to patches that look like it), and its residual
connection and feed-forward network are dropped. The resulting tokens go through the
final layer norm and the image projection, landing in the joint image-text space, so
their cosine with a text embedding is a patch-level match score.

Supported: open_clip ``VisionTransformer`` towers with the standard residual blocks, and
transformers ``CLIPModel``. Others raise
:class:`~napari_clipcap.core.errors.InvalidInputError` (use sliding mode).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError


def _qq_attention(y, q_proj, v_proj, heads: int):
    """Self-attention of ``y`` whose weights come from query-query similarity."""
    import torch.nn.functional as F

    b, n, c = y.shape
    q = q_proj(y).view(b, n, heads, c // heads).transpose(1, 2)
    v = v_proj(y).view(b, n, heads, c // heads).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, q, v)
    return out.transpose(1, 2).reshape(b, n, c)


def _open_clip_tokens(clip: Any, pixels):
    import torch.nn.functional as F
    from torch import nn

    v = clip.model.visual
    blocks = getattr(getattr(v, "transformer", None), "resblocks", None)
    if (
        blocks is None
        or not hasattr(v, "_embeds")
        or getattr(v, "attn_pool", None) is not None
        or not isinstance(getattr(blocks[-1], "attn", None), nn.MultiheadAttention)
    ):
        raise InvalidInputError(
            f"dense mode needs a standard ViT image tower; {clip.name} has "
            f"{type(v).__name__}. Use sliding mode."
        )
    last = blocks[-1]
    x = v._embeds(pixels)
    batch_first = getattr(v.transformer, "batch_first", True)
    if not batch_first:
        x = x.transpose(0, 1)
    for blk in blocks[:-1]:
        x = blk(x)
    if not batch_first:
        x = x.transpose(0, 1)
    y = last.ln_1(x)
    w, b = last.attn.in_proj_weight, last.attn.in_proj_bias
    c = y.shape[-1]

    def proj(i):
        return lambda t: F.linear(
            t, w[i * c : (i + 1) * c], None if b is None else b[i * c : (i + 1) * c]
        )

    out = _qq_attention(y, proj(0), proj(2), last.attn.num_heads)
    out = last.ls_1(last.attn.out_proj(out))
    tokens = v.ln_post(out[:, 1:])
    if v.proj is not None:
        tokens = tokens @ v.proj
    return tokens


def _transformers_tokens(clip: Any, pixels):
    vm = clip.model.vision_model
    hidden = vm(pixel_values=pixels, output_hidden_states=True).hidden_states[-2]
    layer = vm.encoder.layers[-1]
    attn = layer.self_attn
    y = layer.layer_norm1(hidden)
    out = attn.out_proj(_qq_attention(y, attn.q_proj, attn.v_proj, attn.num_heads))
    return clip.model.visual_projection(vm.post_layernorm(out[:, 1:]))


def patch_features(clip: Any, pixels):
    """Dense, L2-normalised patch embeddings of a preprocessed batch.

    Parameters
    ----------
    clip : ClipModel
    pixels : torch.Tensor
        (B, 3, H, W) from ``clip.preprocess`` at the model's input size.

    Returns
    -------
    torch.Tensor
        (B, H // patch, W // patch, D) float32 on the model's device.
    """
    import torch

    if not clip.patch_size:
        raise InvalidInputError(f"dense mode needs a ViT model; {clip.name} has no patches")
    gh, gw = pixels.shape[-2] // clip.patch_size, pixels.shape[-1] // clip.patch_size
    with torch.inference_mode():
        if clip.backend == "open_clip":
            tokens = _open_clip_tokens(clip, pixels)
        else:
            tokens = _transformers_tokens(clip, pixels)
        tokens = torch.nn.functional.normalize(tokens.float(), dim=-1)
    if tokens.shape[1] != gh * gw:
        raise InvalidInputError(
            f"{clip.name} gave {tokens.shape[1]} patch tokens, expected {gh} x {gw}; "
            "dense mode needs a plain patch grid. Use sliding mode."
        )
    return tokens.reshape(tokens.shape[0], gh, gw, -1)
