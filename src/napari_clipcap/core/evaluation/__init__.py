"""Captioning, CLIP-score, zero-shot and retrieval metrics; evaluation runs and reports.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "metrics": ["caption_metrics", "classification_metrics", "clip_score", "retrieval_recall"],
        "runs": [
            "evaluate_captions",
            "evaluate_retrieval",
            "evaluate_zeroshot",
            "generate_captions",
        ],
        "report": ["write_report"],
        "predictions": ["match_predictions"],
        "word_groups": ["audit_word_groups", "parse_word_groups"],
    },
)
