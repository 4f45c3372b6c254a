"""Decoding: greedy against the original algorithm, beam search, nucleus sampling."""

from __future__ import annotations

import threading

import pytest
import torch

from fixtures.text_models import CLIP_DIM
from napari_clipcap.core.captioning.clipcap.model import load_clipcap_checkpoint
from napari_clipcap.core.decoding import loops as decoding
from napari_clipcap.core.decoding.loops import generate, greedy_reference
from napari_clipcap.core.errors import Cancelled, InvalidInputError


@pytest.fixture(scope="module")
def lm_and_prefix(clipcap_transformer_pt, gpt2_dir):
    model = load_clipcap_checkpoint(clipcap_transformer_pt, decoder=gpt2_dir)
    torch.manual_seed(0)
    with torch.no_grad():
        prefix = model.prefix_embeddings(torch.randn(5, CLIP_DIM))
    return model, prefix


def _flat(ids):
    return [caps[0] for caps in ids]


def test_greedy_equals_reference_algorithm(lm_and_prefix):
    model, prefix = lm_and_prefix
    stops = model.stop_token_ids()
    fast = generate(model.gpt, prefix, max_tokens=16, stop_token_ids=stops)
    assert _flat(fast) == greedy_reference(model.gpt, prefix, max_tokens=16, stop_token_ids=stops)
    # with no stop token every row runs exactly max_tokens
    fast = _flat(generate(model.gpt, prefix[:3], max_tokens=12))
    assert fast == greedy_reference(model.gpt, prefix[:3], max_tokens=12)
    assert all(len(seq) == 12 for seq in fast)


def test_batch_equals_one_by_one(lm_and_prefix):
    model, prefix = lm_and_prefix
    for opts in ({}, {"beam_size": 3, "num_captions": 2}):
        batch = generate(model.gpt, prefix, max_tokens=12, **opts)
        single = [
            generate(model.gpt, prefix[i : i + 1], max_tokens=12, **opts)[0]
            for i in range(len(prefix))
        ]
        assert batch == single


def test_stop_token_ends_caption_and_is_kept(lm_and_prefix):
    model, prefix = lm_and_prefix
    free = _flat(generate(model.gpt, prefix, max_tokens=10))
    stop = free[0][2]  # the third token of row 0 becomes the stop token
    ids = _flat(generate(model.gpt, prefix, max_tokens=10, stop_token_ids=[stop]))
    assert ids[0] == free[0][: free[0].index(stop) + 1]
    for seq, full in zip(ids, free):
        assert seq == (full[: full.index(stop) + 1] if stop in full else full)


def test_all_finished_checked_only_every_k_steps(lm_and_prefix, monkeypatch):
    model, prefix = lm_and_prefix
    calls = []
    real = decoding._done
    monkeypatch.setattr(decoding, "_done", lambda f, c: calls.append(1) or real(f, c))
    generate(model.gpt, prefix, max_tokens=12, check_every=4)
    assert len(calls) == 2  # after steps 4 and 8; step 12 is the last anyway


def _reference_beam(lm, row, k, max_tokens, stops):
    """The original release's generate_beam (mean log-prob ranking), one row, no cache."""
    embed = lm.get_input_embeddings()
    generated, tokens, scores = row[None], None, None
    lengths, stopped = torch.ones(k), torch.zeros(k, dtype=torch.bool)
    for _ in range(max_tokens):
        logp = lm(inputs_embeds=generated).logits[:, -1].log_softmax(-1)
        if scores is None:
            scores, nxt = logp.topk(k, -1)
            generated = generated.expand(k, *generated.shape[1:])
            nxt, scores = nxt.permute(1, 0), scores.squeeze(0)
            tokens = nxt
        else:
            logp[stopped] = -float("inf")
            logp[stopped, 0] = 0
            total = scores[:, None] + logp
            lengths[~stopped] += 1
            avg, nxt = (total / lengths[:, None]).view(-1).topk(k, -1)
            src = nxt // total.shape[1]
            lengths, nxt = lengths[src], (nxt % total.shape[1]).unsqueeze(1)
            tokens = torch.cat((tokens[src], nxt), dim=1)
            generated, stopped = generated[src], stopped[src]
            scores = avg * lengths
        generated = torch.cat((generated, embed(nxt.view(k, 1))), dim=1)
        stopped = stopped | torch.isin(nxt.view(-1), torch.tensor(stops))
        if stopped.all():
            break
    order = (scores / lengths).argsort(descending=True)
    return [tokens[i, : int(lengths[i])].tolist() for i in order]


def test_beam_search_matches_original_algorithm(lm_and_prefix):
    model, prefix = lm_and_prefix
    stops = model.stop_token_ids()
    with torch.no_grad():
        ref = [_reference_beam(model.gpt, row, 4, 12, stops) for row in prefix[:3]]
    got = generate(
        model.gpt, prefix[:3], beam_size=4, num_captions=4, max_tokens=12, stop_token_ids=stops
    )
    assert got == ref


def test_beams_are_distinct_with_any_length_penalty(lm_and_prefix):
    model, prefix = lm_and_prefix
    a = generate(
        model.gpt,
        prefix,
        beam_size=3,
        num_captions=3,
        max_tokens=8,
        stop_token_ids=model.stop_token_ids(),
        length_penalty=0.0,
    )
    assert all(len(caps) == 3 for caps in a)
    assert all(len({tuple(c) for c in caps}) == 3 for caps in a)  # distinct beams


def test_num_captions_larger_than_beam_widens_it(lm_and_prefix):
    model, prefix = lm_and_prefix
    out = generate(model.gpt, prefix[:2], beam_size=1, num_captions=3, max_tokens=6)
    assert [len(c) for c in out] == [3, 3]


def test_nucleus_sampling(lm_and_prefix):
    model, prefix = lm_and_prefix
    kw = {"max_tokens": 10, "top_p": 0.9, "num_captions": 3}
    a = generate(model.gpt, prefix, seed=1, **kw)
    assert a == generate(model.gpt, prefix, seed=1, **kw)
    assert a != generate(model.gpt, prefix, seed=2, **kw)
    assert [len(c) for c in a] == [3] * 5
    greedy = generate(model.gpt, prefix, max_tokens=10)
    tiny_p = generate(model.gpt, prefix, max_tokens=10, top_p=1e-6, seed=0)
    assert tiny_p == greedy  # only the most likely token survives
    assert generate(model.gpt, prefix, max_tokens=10, top_p=0.9, temperature=0) == greedy


def test_bad_arguments(lm_and_prefix):
    model, prefix = lm_and_prefix
    for kw in ({"max_tokens": 0}, {"beam_size": 0}, {"top_p": 1.5}, {"temperature": -1}):
        with pytest.raises(InvalidInputError):
            generate(model.gpt, prefix, **kw)
    with pytest.raises(InvalidInputError, match="B>0"):
        generate(model.gpt, prefix[:0])


def test_cancel(lm_and_prefix):
    model, prefix = lm_and_prefix
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        generate(model.gpt, prefix, max_tokens=10, check_every=2, cancel=flag)
