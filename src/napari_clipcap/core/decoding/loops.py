"""Decoding captions from prefix embeddings with a causal language model (GPT-2).

Every function starts from ``prefix`` embeddings ``(B, P, E)``: the ClipCap mapping
output, or anything else a training loop wants sampled. All ``B`` rows are decoded as one
batch with a KV cache; finished rows are tracked in a device tensor, and the host only
asks whether all rows are done every ``check_every`` steps, so there is no GPU -> CPU
synchronisation per token.

:func:`greedy_reference` is the slow algorithm of the original ClipCap release (GPT-2
re-run over the whole prefix + sequence at every step, one image at a time). It exists to
check the fast path in tests and benchmarks.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Protocol

import torch

from ..errors import InvalidInputError
from ..jobs import CancelFlag, check_cancel
from ._cpu import cpu_stepper
from .options import DecodeOptions


class Stepper(Protocol):
    """One decoder's incremental forward pass, as the decoding loops use it.

    ``start(prefix)`` and ``step(tokens)`` return ``(rows, vocab)`` float logits for the
    next token; ``repeat(n)`` repeats every row's state ``n`` times (row-major);
    ``reorder(index)`` keeps the rows ``index`` picks (beam search). Greedy decoding sets
    ``argmax_only = True`` on steppers that have the attribute; they then return the
    ``(rows,)`` argmax token ids instead of logits, which lets them skip most of the
    output layer (:mod:`~napari_clipcap.core.decoding._cpu.head`).
    """

    def start(self, prefix: Any) -> torch.Tensor: ...

    def step(self, tokens: torch.Tensor) -> torch.Tensor: ...

    def repeat(self, n: int) -> None: ...

    def reorder(self, index: torch.Tensor) -> None: ...


class CausalLMStepper:
    """A transformers causal LM (GPT-2) fed prefix embeddings, with a KV cache."""

    def __init__(self, lm):
        self.lm, self.embed, self.cache = lm, lm.get_input_embeddings(), None
        keep = "logits_to_keep" in inspect.signature(lm.forward).parameters
        self.extra = {"logits_to_keep": 1} if keep else {}

    def _forward(self, embeds):
        out = self.lm(
            inputs_embeds=embeds, past_key_values=self.cache, use_cache=True, **self.extra
        )
        self.cache = out.past_key_values
        return out.logits[:, -1].float()

    def start(self, prefix):
        self.cache = None
        return self._forward(prefix)

    def step(self, tokens):
        return self._forward(self.embed(tokens)[:, None])

    def repeat(self, n):
        self.cache.batch_repeat_interleave(n)

    def reorder(self, index):
        self.cache.reorder_cache(index)


def _trim(seq: list[int], stop: set[int], length: int | None = None) -> list[int]:
    seq = seq[:length] if length is not None else seq
    for i, tok in enumerate(seq):
        if tok in stop:
            return seq[: i + 1]
    return seq


def _check_prefix(prefix) -> None:
    if prefix.ndim != 3 or prefix.shape[0] == 0:
        raise InvalidInputError(f"prefix must be (B>0, P, E), got {tuple(prefix.shape)}")


@torch.inference_mode()
def generate(
    lm,
    prefix: torch.Tensor,
    options: DecodeOptions | None = None,
    *,
    cancel: CancelFlag | None = None,
    cpu_fast_path: bool | None = None,
    **changes,
) -> list[list[list[int]]]:
    """Decode token ids for every prefix row.

    Parameters
    ----------
    lm : transformers causal LM
        Accepts ``inputs_embeds``, ``past_key_values`` and ``use_cache``.
    prefix : torch.Tensor
        ``(B, P, E)`` prefix embeddings on the model's device and dtype.
    options : DecodeOptions, optional
        How to decode (strategy, lengths, stop tokens); default settings when ``None``.
    cancel : CancelFlag, optional
        Checked every ``options.check_every`` steps.
    **changes
        Single :class:`DecodeOptions` fields (``max_tokens=12``) applied over ``options``.
    cpu_fast_path : bool, optional
        False: never the CPU GPT-2 fast path (:mod:`._cpu`). Default: on unless the
        environment variable ``NAPARI_CLIPCAP_CPU_FAST_PATH`` is ``0``.

    Returns
    -------
    list of list of list of int
        ``[row][caption]`` -> token ids, ending with the stop token when one was reached.
    """
    _check_prefix(prefix)
    options = DecodeOptions.of(options, **changes)
    stepper = cpu_stepper(lm, prefix, enabled=cpu_fast_path) or CausalLMStepper(lm)
    return decode(stepper, prefix, options, cancel=cancel)


@torch.inference_mode()
def decode(
    stepper: Stepper,
    start: Any,
    options: DecodeOptions | None = None,
    *,
    cancel: CancelFlag | None = None,
    **changes,
) -> list[list[list[int]]]:
    """:func:`generate` for any :class:`Stepper`; ``start`` is what ``stepper.start`` takes
    (a tensor with the batch on its first axis)."""
    if start.shape[0] == 0:
        raise InvalidInputError("nothing to decode: the batch is empty")
    o = DecodeOptions.of(options, **changes)
    stop = torch.tensor(list(o.stop_token_ids), dtype=torch.long, device=start.device)
    every = o.check_every
    if o.strategy == "sample":
        args = (o.max_tokens, stop, o.num_captions, o.top_p, o.temperature, o.seed)
        return _sample(stepper, start, *args, every, cancel)
    if o.strategy == "beam":
        width = max(o.beam_size, o.num_captions)
        args = (o.max_tokens, stop, width, o.num_captions, o.length_penalty)
        return _beam(stepper, start, *args, every, cancel)
    return _run(stepper, start, o.max_tokens, stop, _greedy, 1, every, cancel)


def _greedy(logits: torch.Tensor) -> torch.Tensor:
    return logits.argmax(-1)


def _given(ids: torch.Tensor) -> torch.Tensor:
    return ids


def _run(stepper, prefix, max_tokens, stop, choose, repeats, check_every, cancel):
    """Shared loop of greedy and sampling: ``choose(logits) -> (rows,)`` next tokens."""
    if hasattr(stepper, "argmax_only"):
        stepper.argmax_only = choose is _greedy
        if stepper.argmax_only:
            choose = _given  # the stepper returns the argmax ids themselves
    logits = stepper.start(prefix)
    if repeats > 1:
        logits = logits.repeat_interleave(repeats, 0)
        stepper.repeat(repeats)
    rows = logits.shape[0]
    pad = int(stop[0]) if len(stop) else 0
    tokens = torch.full((rows, max_tokens), pad, dtype=torch.long, device=prefix.device)
    finished = torch.zeros(rows, dtype=torch.bool, device=prefix.device)
    for t in range(max_tokens):
        nxt = choose(logits).masked_fill(finished, pad)
        tokens[:, t] = nxt
        finished |= torch.isin(nxt, stop)
        if t + 1 == max_tokens or ((t + 1) % check_every == 0 and _done(finished, cancel)):
            break
        logits = stepper.step(nxt)
    stops = set(stop.tolist())
    ids = [_trim(seq, stops) for seq in tokens.tolist()]
    return [ids[i : i + repeats] for i in range(0, rows, repeats)]


def _done(finished: torch.Tensor, cancel) -> bool:
    check_cancel(cancel)
    return bool(finished.all())


def _sample(stepper, prefix, max_tokens, stop, n, top_p, temperature, seed, check_every, cancel):
    if temperature == 0:
        return _run(stepper, prefix, max_tokens, stop, _greedy, n, check_every, cancel)
    gen = torch.Generator(device=prefix.device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))

    def choose(logits):
        logits = logits / temperature
        if top_p < 1:
            srt, idx = logits.sort(-1, descending=True)
            remove = srt.softmax(-1).cumsum(-1) > top_p
            remove[:, 1:] = remove[:, :-1].clone()
            remove[:, 0] = False
            logits = logits.scatter(-1, idx, srt.masked_fill(remove, float("-inf")))
        return torch.multinomial(logits.softmax(-1), 1, generator=gen).squeeze(1)

    return _run(stepper, prefix, max_tokens, stop, choose, n, check_every, cancel)


def _beam(stepper, prefix, max_tokens, stop, k, n, alpha, check_every, cancel):
    b, dev = prefix.shape[0], prefix.device
    if hasattr(stepper, "argmax_only"):
        stepper.argmax_only = False  # beams rank every continuation
    logits = stepper.start(prefix)
    vocab = logits.shape[-1]
    k = min(k, vocab)
    scores, first = logits.log_softmax(-1).topk(k, -1)  # (B, K)
    stepper.repeat(k)
    tokens = torch.zeros((b, k, max_tokens), dtype=torch.long, device=dev)
    tokens[:, :, 0] = first
    lengths = torch.ones((b, k), device=dev)
    finished = torch.isin(first, stop)
    # a finished beam continues only with token 0, at no cost, so it keeps its score
    stay = torch.full((vocab,), float("-inf"), device=dev)
    stay[0] = 0.0
    offsets = (torch.arange(b, device=dev) * k)[:, None]
    for t in range(1, max_tokens):
        if t % check_every == 0 and _done(finished, cancel):
            break
        logits = stepper.step(tokens[:, :, t - 1].reshape(-1))
        logp = logits.log_softmax(-1).view(b, k, vocab)
        logp = torch.where(finished[..., None], stay, logp)
        cand = scores[..., None] + logp
        cand_len = lengths + (~finished).float()
        ranked = (cand / cand_len[..., None] ** alpha).view(b, -1)
        idx = ranked.topk(k, -1).indices
        src, tok = idx // vocab, idx % vocab
        scores = cand.view(b, -1).gather(1, idx)
        lengths = cand_len.gather(1, src)
        tokens = tokens.gather(1, src[..., None].expand(-1, -1, max_tokens))
        tokens[:, :, t] = tok
        finished = finished.gather(1, src) | torch.isin(tok, stop)
        stepper.reorder((src + offsets).reshape(-1))
    order = (scores / lengths**alpha).argsort(-1, descending=True)[:, :n]
    lengths = lengths.gather(1, order).long().tolist()
    tokens = tokens.gather(1, order[..., None].expand(-1, -1, max_tokens)).tolist()
    stops = set(stop.tolist())
    return [
        [_trim(seq, stops, ln) for seq, ln in zip(row, lens)] for row, lens in zip(tokens, lengths)
    ]


@torch.inference_mode()
def greedy_reference(
    lm, prefix: torch.Tensor, *, max_tokens: int = 67, stop_token_ids: Sequence[int] = ()
) -> list[list[int]]:
    """The original release's greedy decoding: one row at a time, no KV cache.

    Slow on purpose (quadratic in length, batch size one); used to check
    :func:`generate` and to measure its speed-up.
    """
    embed, stops, result = lm.get_input_embeddings(), set(stop_token_ids), []
    for row in prefix:
        generated, ids = row[None], []
        for _ in range(max_tokens):
            nxt = int(lm(inputs_embeds=generated).logits[0, -1].argmax())
            ids.append(nxt)
            if nxt in stops:
                break
            next_embed = embed(torch.tensor([[nxt]], device=prefix.device))
            generated = torch.cat((generated, next_embed), dim=1)
        result.append(ids)
    return result
