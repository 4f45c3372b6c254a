"""ClipCap mapping networks: a CLIP image embedding -> a GPT-2 prefix of ``P`` embeddings.

Three layouts exist in the wild, all under the ``clip_project.`` prefix of a checkpoint:

``mlp``
    ``model.0`` Linear -> Tanh -> ``model.2`` Linear (more layers alternate the same way);
    trained with GPT-2 fine-tuned (the original COCO and Conceptual Captions models).
``transformer``
    ``linear`` (CLIP -> ``clip_length`` tokens), a learned ``prefix_const`` of
    ``prefix_length`` tokens and ``transformer.layers.*``; trained with GPT-2 frozen.
``linear``
    a single Linear (``weight``, ``bias``), used by the original release for prefixes
    longer than 10.

Parameter names match the original release exactly, so its state dicts load strictly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ...errors import CheckpointFormatError

MAPPINGS = ("mlp", "transformer", "linear")


@dataclass
class MappingConfig:
    """Shape of a mapping network; everything except ``num_heads`` follows from tensors.

    Attributes
    ----------
    mapping : {"mlp", "transformer", "linear"}
    clip_dim : int
        Size of the CLIP image embedding (512 for ViT-B/32).
    embed_dim : int
        GPT-2 embedding size (768 for GPT-2 small).
    prefix_length : int
        Number of prefix embeddings fed to GPT-2.
    clip_length : int or None
        Transformer only: tokens the CLIP embedding is projected to.
    num_layers : int
        Transformer layers.
    num_heads : int
        Transformer attention heads (8 in the original release).
    mlp_ratio : float
        Transformer feed-forward width / ``embed_dim`` (2 in the original release).
    hidden_sizes : tuple of int
        MLP hidden layer sizes; default ``(embed_dim * prefix_length // 2,)``.
    """

    mapping: str
    clip_dim: int
    embed_dim: int
    prefix_length: int
    clip_length: int | None = None
    num_layers: int = 8
    num_heads: int = 8
    mlp_ratio: float = 2.0
    hidden_sizes: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.mapping not in MAPPINGS:
            raise CheckpointFormatError(
                f"unknown mapping type {self.mapping!r}; expected one of {', '.join(MAPPINGS)}"
            )
        if self.hidden_sizes is None and self.mapping == "mlp":
            self.hidden_sizes = (self.embed_dim * self.prefix_length // 2,)
        if self.hidden_sizes is not None:
            self.hidden_sizes = tuple(int(h) for h in self.hidden_sizes)
        if self.mapping == "transformer" and self.clip_length is None:
            self.clip_length = self.prefix_length


class MLPMapping(nn.Module):
    """Linear layers with tanh between them (keys ``model.0``, ``model.2``, ...)."""

    def __init__(self, sizes: tuple[int, ...]):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.Tanh())
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class _Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.to_queries = nn.Linear(dim, dim, bias=False)
        self.to_keys_values = nn.Linear(dim, 2 * dim, bias=False)
        self.project = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        h = self.num_heads
        q = self.to_queries(x).view(b, n, h, c // h).transpose(1, 2)
        k, v = self.to_keys_values(x).view(b, n, 2, h, c // h).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.project(out.transpose(1, 2).reshape(b, n, c))


class _FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x)))


class _Layer(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = _FeedForward(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _Transformer(nn.Module):
    def __init__(self, dim: int, num_heads: int, num_layers: int, mlp_ratio: float):
        super().__init__()
        self.layers = nn.ModuleList(_Layer(dim, num_heads, mlp_ratio) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class TransformerMapping(nn.Module):
    """CLIP -> ``clip_length`` tokens, joined by ``prefix_length`` learned constants,
    through a transformer; the outputs at the constants' positions are the prefix."""

    def __init__(self, cfg: MappingConfig):
        super().__init__()
        if cfg.embed_dim % cfg.num_heads:
            raise CheckpointFormatError(
                f"embedding size {cfg.embed_dim} is not divisible by {cfg.num_heads} heads"
            )
        self.clip_length = int(cfg.clip_length)
        self.linear = nn.Linear(cfg.clip_dim, self.clip_length * cfg.embed_dim)
        self.prefix_const = nn.Parameter(torch.randn(cfg.prefix_length, cfg.embed_dim))
        self.transformer = _Transformer(
            cfg.embed_dim, cfg.num_heads, cfg.num_layers, cfg.mlp_ratio
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.linear(x).view(x.shape[0], self.clip_length, -1)
        const = self.prefix_const.unsqueeze(0).expand(x.shape[0], -1, -1)
        out = self.transformer(torch.cat((tokens, const), dim=1))
        return out[:, self.clip_length :].reshape(x.shape[0], -1)


def build_mapping(cfg: MappingConfig) -> nn.Module:
    """Build the mapping network ``cfg`` describes, randomly initialised.

    Every mapping maps ``(N, clip_dim)`` to ``(N, prefix_length * embed_dim)``.
    """
    out = cfg.embed_dim * cfg.prefix_length
    if cfg.mapping == "mlp":
        return MLPMapping((cfg.clip_dim, *cfg.hidden_sizes, out))
    if cfg.mapping == "linear":
        return nn.Linear(cfg.clip_dim, out)
    return TransformerMapping(cfg)


def _layout_error(keys: list[str], why: str) -> CheckpointFormatError:
    shown = ", ".join(sorted(keys)[:12]) + (" ..." if len(keys) > 12 else "")
    return CheckpointFormatError(
        f"the mapping network fits no known ClipCap layout ({why}). Found keys under "
        f"'clip_project.': [{shown or 'none'}]. Expected MLP (clip_project.model.0.weight, "
        "clip_project.model.2.weight, ...), transformer (clip_project.linear.*, "
        "clip_project.prefix_const, clip_project.transformer.layers.*) or linear "
        "(clip_project.weight, clip_project.bias)."
    )


def infer_mapping_config(
    mapping_state: dict[str, torch.Tensor], embed_dim: int | None, num_heads: int = 8
) -> MappingConfig:
    """Infer the mapping type and sizes from its tensors (keys without ``clip_project.``).

    Parameters
    ----------
    mapping_state : dict
        The mapping network's tensors.
    embed_dim : int or None
        GPT-2 embedding size when known from the decoder tensors; otherwise taken from
        ``prefix_const`` (transformer) or the decoder configuration must be passed.
    num_heads : int
        Transformer heads, which no tensor shape reveals.

    Raises
    ------
    CheckpointFormatError
        If the keys fit no layout; the message lists them.
    """
    keys = list(mapping_state)
    if not keys:
        raise _layout_error(keys, "no clip_project.* tensors")
    if {"weight", "bias"} == set(keys):
        w = mapping_state["weight"]
        mapping, clip_dim, out = "linear", w.shape[1], w.shape[0]
        extra: dict = {}
    elif "prefix_const" in keys and "linear.weight" in keys:
        layers = {
            int(m.group(1)) for k in keys if (m := re.match(r"transformer\.layers\.(\d+)\.", k))
        }
        if not layers or layers != set(range(len(layers))):
            raise _layout_error(keys, "transformer layers missing or not numbered 0..n-1")
        const = mapping_state["prefix_const"]
        embed_dim = embed_dim or const.shape[1]
        lin = mapping_state["linear.weight"]
        fc1 = mapping_state.get("transformer.layers.0.mlp.fc1.weight")
        if fc1 is None or lin.shape[0] % embed_dim:
            raise _layout_error(keys, "transformer tensors have unexpected shapes")
        return MappingConfig(
            "transformer",
            lin.shape[1],
            embed_dim,
            const.shape[0],
            clip_length=lin.shape[0] // embed_dim,
            num_layers=len(layers),
            num_heads=num_heads,
            mlp_ratio=fc1.shape[0] / embed_dim,
        )
    elif all(re.fullmatch(r"model\.\d+\.(weight|bias)", k) for k in keys):
        idx = sorted({int(k.split(".")[1]) for k in keys})
        if idx != list(range(0, 2 * len(idx), 2)) or len(idx) < 2:
            raise _layout_error(keys, "MLP layers must be model.0, model.2, ...")
        ws = [mapping_state[f"model.{i}.weight"] for i in idx]
        mapping, clip_dim, out = "mlp", ws[0].shape[1], ws[-1].shape[0]
        extra = {"hidden_sizes": tuple(w.shape[0] for w in ws[:-1])}
    else:
        raise _layout_error(keys, "unrecognised key names")
    if embed_dim is None:
        raise CheckpointFormatError(
            "the checkpoint holds no GPT-2 tensors, so the embedding size must come from the "
            "decoder configuration; pass decoder="
        )
    if out % embed_dim:
        raise CheckpointFormatError(
            f"mapping output size {out} is not a multiple of the GPT-2 embedding size "
            f"{embed_dim}: the checkpoint does not match this decoder"
        )
    return MappingConfig(mapping, clip_dim, embed_dim, out // embed_dim, **extra)
