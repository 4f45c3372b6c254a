"""Region-label results: the results record and its text on the shapes."""

from __future__ import annotations

import numpy as np

from ...._napari.region_text import contrast_colours, set_text

TEXT_COLUMN = "clipcap_text"
#: Label text over dark ground; dark text over bright ground (see region_text).
LABEL_COLOUR = "yellow"
#: Canvas text of a shape that lies outside the image.
OUTSIDE = "outside the image"


def label_results(image_name, labels, template, kept, boxes, probs, skipped=()) -> dict:
    """The results record: per scored shape its box, top label and probabilities;
    ``outside`` lists the shapes outside the image (not scored)."""
    top = probs.argmax(axis=1)
    return {
        "labels": labels,
        "template": template,
        "image": image_name,
        "regions": [
            {
                "shape": int(i),
                "box": [int(v) for v in box],
                "label": labels[t],
                "probability": float(p[t]),
                "probabilities": {lab: float(v) for lab, v in zip(labels, p)},
            }
            for i, box, t, p in zip(kept, boxes, top, probs)
        ],
        "outside": [int(i) for i in skipped],
    }


def write_label_text(shapes, results: dict, ground) -> None:
    """Top label and probability as shape features and text (colour by the ground
    under each text); shapes outside the image say so."""
    n = len(shapes.data)
    label_col, prob_col, text_col = [""] * n, np.full(n, np.nan), [""] * n
    colours = [LABEL_COLOUR] * n
    for r, colour in zip(results["regions"], contrast_colours(ground, LABEL_COLOUR)):
        label_col[r["shape"]] = r["label"]
        prob_col[r["shape"]] = r["probability"]
        text_col[r["shape"]] = f"{r['label']} {r['probability']:.2f}"
        colours[r["shape"]] = colour
    for i in results.get("outside", []):
        if i < n:
            text_col[i] = OUTSIDE
    features = shapes.features.copy()
    features["label"], features["probability"] = label_col, prob_col
    features[TEXT_COLUMN] = text_col
    shapes.features = features
    set_text(shapes, TEXT_COLUMN, colours, LABEL_COLOUR)
