"""Why a choice of local files cannot run, said before any click and naming the panel row
to fix, in GUI words (no Python, no command-line flags).

Pure Python (no Qt, no torch): only the file system is looked at. The offline side (a
preset not downloaded while the hub is out of reach) is :mod:`.offline`.
"""

from __future__ import annotations

from pathlib import Path

from ...core.registry import get_preset
from .specs import CUSTOM, ModelChoice, _pathlike

#: The file that makes a folder a ClipCap saved by napari-clipcap (it names its CLIP);
#: the name :data:`napari_clipcap.core.captioning.clipcap.model.CONFIG_NAME` holds.
CLIPCAP_CONFIG = "clipcap.json"


def _missing(text: str) -> bool:
    return not Path(text).expanduser().exists()


def _row_problem(row: str, text: str) -> str:
    return f"{row} row: {Path(text).name or text} was not found." if _missing(text) else ""


def _names_its_clip(weights: str) -> bool:
    path = Path(weights).expanduser()
    folder = path if path.is_dir() else path.parent
    return (folder / CLIPCAP_CONFIG).is_file()


def _encoder_problem(choice: ModelChoice) -> str:
    """A custom ClipCap: its CLIP comes from the Encoder rows unless its folder says it."""
    if choice.clip_model:
        if _pathlike(choice.clip_model) and _missing(choice.clip_model):
            return _row_problem("Encoder", choice.clip_model)
        if choice.clip_model.lower().endswith(".json") and not choice.clip_weights:
            return (
                "Fill the Enc. weights row: a CLIP config file alone gives random weights "
                "(choose the weights file of the ClipCap's CLIP)."
            )
        if choice.clip_weights and _pathlike(choice.clip_weights):
            return _row_problem("Enc. weights", choice.clip_weights)
        return ""
    if _names_its_clip(choice.weights):
        return ""
    return (
        "Fill the Encoder row (and Enc. weights): a ClipCap checkpoint file does not say "
        "which CLIP it was trained with (for example ViT-B-32, or a CLIP config file)."
    )


def captioner_problem(choice: ModelChoice) -> str:
    """Why a captioner choice cannot load its local files ('' when nothing is known wrong)."""
    if choice.preset != CUSTOM:
        preset = get_preset(choice.preset)
        if preset.kind != "clipcap":
            return ""
        if not choice.weights:
            if preset.source == "local":
                return (
                    f"{preset.name} is not on a model hub: download its checkpoint file and "
                    "choose it in the Checkpoint row."
                )
            return ""
        return _row_problem("Checkpoint", choice.weights)
    if not choice.weights:
        what = "model folder" if choice.kind not in ("clipcap", "coca") else "checkpoint file"
        return f"Choose the captioner's {what} in the Checkpoint row."
    problem = _row_problem("Checkpoint", choice.weights)
    if problem or (choice.kind or "clipcap") != "clipcap":
        return problem
    if choice.decoder and _pathlike(choice.decoder) and _missing(choice.decoder):
        return _row_problem("Decoder", choice.decoder)
    return _encoder_problem(choice)


def clip_problem(choice: ModelChoice) -> str:
    """Why a CLIP choice cannot load its local files ('' when nothing is known wrong)."""
    if choice.preset != CUSTOM:
        return ""
    if not (choice.model or choice.weights):
        return "Choose a CLIP preset, or fill the Model and Weights rows with local files."
    if choice.model and _pathlike(choice.model) and _missing(choice.model):
        return _row_problem("Model", choice.model)
    if choice.weights and _pathlike(choice.weights):
        return _row_problem("Weights", choice.weights)
    return ""
