"""What the widgets and the command line run: region labels, captions, heatmaps, word
relevance, grounding, and the one crops function they share.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "labels": ["rank_labels", "score_regions", "top_k_hits"],
        "heatmap": ["region_heatmap", "text_heatmap"],
        "captions": ["caption_regions"],
        "crops": ["RegionCrops", "cut_regions"],
        "word_relevance": ["caption_words", "word_maps"],
        "ask": ["AskRequest", "AskResult", "ask", "ask_image"],
    },
)
