"""Checking a CLIP's tokenizer against its text model when it loads.

A config whose text vocabulary is smaller than its tokenizer's (an open_clip
``text_cfg.vocab_size`` below the 49,408 tokens of CLIP's BPE, say) builds without
complaint and then fails on the first text with an ``IndexError`` deep in the embedding.
:func:`check_vocab` says so at load time, and which of the two is off.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import CheckpointFormatError

__all__ = ["check_vocab", "text_vocab_rows", "tokenizer_size"]


def text_vocab_rows(net: Any) -> int | None:
    """Rows of the text tower's token embedding (open_clip or transformers), or None."""
    for owner in (net, getattr(net, "text", None), getattr(net, "text_model", None)):
        emb = getattr(owner, "token_embedding", None)
        if emb is None:
            emb = getattr(getattr(owner, "embeddings", None), "token_embedding", None)
        if isinstance(emb, torch.nn.Embedding):
            return emb.num_embeddings
    transformer = getattr(getattr(net, "text", None), "transformer", None)
    get = getattr(transformer, "get_input_embeddings", None)
    emb = get() if callable(get) else None
    return emb.num_embeddings if isinstance(emb, torch.nn.Embedding) else None


def tokenizer_size(tokenizer: Any) -> int | None:
    """How many token ids ``tokenizer`` can give (open_clip or transformers), or None."""
    encoder = getattr(tokenizer, "encoder", None)
    if isinstance(encoder, dict):  # open_clip's SimpleTokenizer (CLIP's BPE)
        return len(encoder)
    inner = getattr(tokenizer, "tokenizer", None)  # open_clip's HFTokenizer
    for tok in (inner, tokenizer):
        try:
            return len(tok)
        except TypeError:
            continue
    return None


def check_vocab(net: Any, tokenizer: Any, model: str, vocab_key: str) -> None:
    """Raise when ``tokenizer`` can give ids the text embedding of ``net`` has no row for.

    Parameters
    ----------
    net, tokenizer
        The built model and its tokenizer.
    model : str
        The model as the user named it, for the message.
    vocab_key : str
        Where its config sets the text vocabulary (``text_cfg.vocab_size``).

    Raises
    ------
    CheckpointFormatError
        Naming both sizes and the config key.
    """
    rows, size = text_vocab_rows(net), tokenizer_size(tokenizer)
    if rows is None or size is None or size <= rows:
        return
    name = type(getattr(tokenizer, "tokenizer", None) or tokenizer).__name__
    raise CheckpointFormatError(
        f"CLIP model {model!r}: its tokenizer ({name}) gives token ids up to {size - 1}, "
        f"but the text model's embedding has only {rows} rows ({vocab_key} = {rows}). The "
        f"config's {vocab_key} is too small for this tokenizer: set it to at least {size}, "
        "or give the config the tokenizer its text model was trained with."
    )
