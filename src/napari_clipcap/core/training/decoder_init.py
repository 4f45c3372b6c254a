"""A new, small GPT-2 decoder with a tokenizer trained on the training captions.

For domains whose vocabulary an off-the-shelf GPT-2 does not fit, or to train a whole
captioner from scratch (the synthetic proof-that-it-learns run), ``train-clipcap
--new-decoder 2x64`` builds one of these instead of loading a pretrained GPT-2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidInputError
from ..io.atomic import atomic_dir


def parse_decoder_spec(spec: str) -> tuple[int, int]:
    """Parse ``LAYERSxWIDTH`` (e.g. ``"2x64"``) into ``(n_layer, n_embd)``."""
    try:
        layers, width = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise InvalidInputError(f"decoder size {spec!r} is not LAYERSxWIDTH, e.g. 2x64") from None
    if layers < 1 or width < 8 or width % 2:
        raise InvalidInputError(f"decoder size {spec!r}: need >= 1 layer and an even width >= 8")
    _check_trainable(spec, layers * 12 * width * width + (2000 + 128) * width)
    return layers, width


def _check_trainable(spec: str, parameters: int) -> None:
    """Refuse a decoder whose training state (weights, gradients, two Adam moments:
    16 bytes per parameter) would not fit the memory free now."""
    import psutil

    need, free = 16 * parameters, int(psutil.virtual_memory().available)
    if need > free:
        raise InvalidInputError(
            f"decoder size {spec!r} means about {parameters / 1e9:,.1f} billion parameters "
            f"({need / 2**30:,.1f} GiB to train), more than the {free / 2**30:,.1f} GiB of "
            "memory free; give a smaller LAYERSxWIDTH"
        )


def make_decoder(
    captions: Sequence[str],
    directory,
    *,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 2,
    vocab_size: int = 2000,
    n_positions: int = 128,
    seed: int = 0,
) -> Path:
    """Train a byte-level BPE tokenizer on ``captions`` and save it with a random GPT-2.

    Parameters
    ----------
    captions : sequence of str
        The training captions.
    directory : str or Path
        Where to write ``config.json``, the weights and the tokenizer files; pass it as
        the ``decoder`` of :func:`napari_clipcap.core.training.clipcap.train.train_clipcap`.
    n_layer, n_embd, n_head, n_positions : int
        GPT-2 size.
    vocab_size : int
        Largest vocabulary (a small caption set gives fewer tokens).
    seed : int
        Seed of the random weights.

    Returns
    -------
    Path
        ``directory``, written whole (it replaces what was there) or not at all.
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    texts = [str(c) for c in captions if str(c).strip()]
    if not texts:
        raise InvalidInputError("no captions to train a tokenizer on")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=1, special_tokens=["<|endoftext|>"]
    )
    tok = GPT2TokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        model_max_length=n_positions,
    )
    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=len(tok),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    directory = Path(directory)
    with atomic_dir(directory) as tmp:  # a kill leaves no half-built decoder behind
        GPT2LMHeadModel(cfg).save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return directory


def decoder_is_complete(directory) -> bool:
    """True when ``directory`` holds a whole decoder: config, weights and tokenizer."""
    d = Path(directory)
    weights = (d / "model.safetensors").is_file() or (d / "pytorch_model.bin").is_file()
    tokenizer = (d / "tokenizer.json").is_file() or (
        (d / "vocab.json").is_file() and (d / "merges.txt").is_file()
    )
    return (d / "config.json").is_file() and weights and tokenizer
