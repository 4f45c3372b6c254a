"""Metric values checked against cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.errors import InvalidInputError
from napari_clipcap.core.evaluation.metrics import (
    caption_metrics,
    classification_metrics,
    clip_score,
    multilabel_topk,
    ref_clip_score,
    retrieval_recall,
    simple_tokenize,
)
from napari_clipcap.core.evaluation.report import plot_confusion, write_report


def test_simple_tokenize_drops_punctuation_and_case():
    assert simple_tokenize("A Red circle, at the TOP.") == "a red circle at the top"


def test_bleu_and_rouge_by_hand():
    # unigrams: the, cat, on, the, mat match -> 5/6; bigrams: "the cat", "on the",
    # "the mat" -> 3/5; same length so no brevity penalty: BLEU-2 = sqrt(5/6 * 3/5).
    # LCS = 5 words, so P = R = 5/6 and ROUGE-L (beta 1.2) = 5/6.
    out = caption_metrics(
        ["the cat sat on the mat."],
        [["The cat is on the mat."]],
        metrics=("bleu", "rouge"),
        tokenizer="simple",
    )
    assert out["Bleu_1"] == pytest.approx(5 / 6, abs=1e-6)
    assert out["Bleu_2"] == pytest.approx(np.sqrt(0.5), abs=1e-6)
    assert out["ROUGE_L"] == pytest.approx(5 / 6, abs=1e-9)


def test_cider_by_hand():
    # Two images, two-word captions: every n-gram occurs in one of the N=2 reference
    # sets, so idf = log 2 everywhere; identical tf-idf vectors give cosine 1 for n=1,2
    # and there are no 3- or 4-grams: CIDEr = 10 * mean(1, 1, 0, 0) = 5.
    refs = [["a b."], ["c d."]]
    assert caption_metrics(["a b", "c d"], refs, metrics=("cider",), tokenizer="simple")[
        "CIDEr"
    ] == pytest.approx(5.0)
    # swapped predictions share no n-gram with their references
    assert caption_metrics(["c d", "a b"], refs, metrics=("cider",), tokenizer="simple")[
        "CIDEr"
    ] == pytest.approx(0.0)


def test_empty_prediction_scores_zero_not_crash():
    out = caption_metrics(["", "c d"], [["a b"], ["c d"]], metrics=("bleu",), tokenizer="simple")
    assert 0 <= out["Bleu_1"] < 1


def test_caption_metrics_reject_bad_input():
    with pytest.raises(InvalidInputError, match="2 predictions but 1"):
        caption_metrics(["a", "b"], [["a"]], tokenizer="simple")
    with pytest.raises(InvalidInputError, match="no reference"):
        caption_metrics(["a"], [[""]], tokenizer="simple")
    with pytest.raises(InvalidInputError, match="unknown caption metrics"):
        caption_metrics(["a"], [["a"]], metrics=("spice",), tokenizer="simple")


def test_evaluate_captions_rejects_unknown_metric_names():
    from napari_clipcap.core.evaluation.runs import evaluate_captions

    with pytest.raises(InvalidInputError, match="unknown caption metric"):
        evaluate_captions(["a"], [["a"]], metrics=("blue",), tokenizer="simple")


@pytest.mark.slow
def test_ptb_tokenizer_and_meteor_run_through_java():
    out = caption_metrics(["a red circle."], [["a red circle."]], metrics=("meteor",))
    assert out["METEOR"] == pytest.approx(1.0, abs=1e-3)


def test_clip_score_and_ref_clip_score_by_hand():
    img = np.array([[1.0, 0.0], [1.0, 0.0]])
    cap = np.array([[0.6, 0.8], [-1.0, 0.0]])  # cos 0.6, then cos -1 (clipped to 0)
    np.testing.assert_allclose(clip_score(img, cap), [2.5 * 0.6, 0.0])
    refs = [np.array([[0.0, 2.0], [1.0, 0.0]]), np.array([[1.0, 0.0]])]
    # image 0: CLIP-S 1.5, best reference cosine max(0.8, 0.6) = 0.8
    # -> RefCLIP-S = 2 * 1.5 * 0.8 / 2.3; image 1: CLIP-S 0 -> 0
    np.testing.assert_allclose(ref_clip_score(img, cap, refs), [2 * 1.5 * 0.8 / 2.3, 0.0])


def test_classification_metrics_by_hand():
    scores = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]])
    true = [0, 1, 2, 2]
    out = classification_metrics(scores, true, k=2)
    assert out["top1"] == 0.5  # rows 0 and 2 right
    assert out["topk"] == 0.75  # row 1 has class 1 second; row 3 misses class 2
    assert out["confusion"] == [[1, 0, 0], [1, 0, 0], [1, 0, 1]]
    assert out["per_class_recall"] == [1.0, 0.0, 0.5]


def test_multilabel_any_of_and_all_of():
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.2, 0.3, 0.9]])
    out = multilabel_topk(scores, [{0, 2}, {3}], k=2)
    assert out == {"k": 2, "any_of": 1.0, "all_of": 0.5}


def test_retrieval_recall_by_hand():
    sim = np.array([[0.9, 0.1, 0.0], [0.8, 0.7, 0.0], [0.1, 0.2, 0.3]])
    # query 0 hits at rank 1, query 1 at rank 2, query 2 at rank 3
    out = retrieval_recall(sim, [0, 1, 0], ks=(1, 2, 3))
    assert out == {"R@1": 1 / 3, "R@2": 2 / 3, "R@3": 1.0}
    # image-to-image with itself excluded: query 0's own score is ignored
    out = retrieval_recall(sim, [{1}, {0}, {1}], ks=(1,), exclude_self=True)
    assert out == {"R@1": 1.0}


def test_report_writes_json_markdown_and_png(tmp_path):
    png = plot_confusion([[3, 1], [0, 4]], ["forest", "river"], tmp_path / "cm.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    paths = write_report(
        {"zeroshot": {"top1": 0.875, "confusion": [[3, 1], [0, 4]]}},
        tmp_path,
        plots={"confusion matrix": "cm.png"},
    )
    md = paths["markdown"].read_text()
    assert "| top1 | 0.8750 |" in md and "![confusion matrix](cm.png)" in md
    assert '"top1": 0.875' in paths["json"].read_text()


def test_report_files_replace_links_instead_of_writing_through_them(tmp_path):
    """Issue 21.8: ``report.json -> ~/notes.txt`` in --out must not overwrite the notes."""
    victims = {}
    out = tmp_path / "out"
    out.mkdir()
    for name in ("report.json", "report.md", "cm.png"):
        victim = tmp_path / f"victim-{name}"
        victim.write_text(f"user file behind {name}")
        (out / name).symlink_to(victim)
        victims[name] = victim
    plot_confusion([[1, 0], [0, 1]], ["a", "b"], out / "cm.png")
    paths = write_report({"zeroshot": {"top1": 1.0}}, out, plots={"cm": "cm.png"})
    for name, victim in victims.items():
        assert victim.read_text() == f"user file behind {name}"
        assert not (out / name).is_symlink()
    assert '"top1": 1.0' in paths["json"].read_text()
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]


class _RecordingClip:
    """Stands in for a CLIP model: fixed image embeddings, remembers the texts embedded."""

    def __init__(self):
        self.texts: list[str] = []

    def encode_images(self, images):
        return np.ones((len(images), 4), np.float32)

    def encode_texts(self, texts):
        self.texts += list(texts)
        return np.tile(np.linspace(1, 2, 4, dtype=np.float32), (len(texts), 1))


def test_clipscore_prefixes_captions_like_the_reference_code():
    from napari_clipcap.core.evaluation.metrics import CLIPSCORE_PREFIX, clipscore_texts
    from napari_clipcap.core.evaluation.report import markdown_report
    from napari_clipcap.core.evaluation.runs import evaluate_captions

    assert CLIPSCORE_PREFIX == "A photo depicts"
    assert clipscore_texts(["a dog."]) == ["A photo depicts a dog."]
    assert clipscore_texts(["a dog."], prefix=False) == ["a dog."]
    images = [np.zeros((8, 8, 3), np.float32)]
    for prefix, said in ((True, "comparable with published"), (False, "not comparable")):
        clip = _RecordingClip()
        res = evaluate_captions(
            ["a dog."],
            [["a dog on grass.", "a puppy."]],
            metrics=["clipscore"],
            images=images,
            clip=clip,
            clipscore_prefix=prefix,
        )
        plain = ["a dog.", "a dog on grass.", "a puppy."]
        assert clip.texts == (clipscore_texts(plain) if prefix else plain)
        assert res["clipscore_prefix"] == ("A photo depicts" if prefix else "")
        assert said in markdown_report({"captions": res})
    default = evaluate_captions(
        ["a dog."], [["a dog."]], metrics=["clipscore"], images=images, clip=_RecordingClip()
    )
    assert default["clipscore_prefix"] == "A photo depicts"  # on unless turned off
