"""Opening vision-language models: presets, local folders and hub ids.

:func:`load_vlm` opens a ``save_pretrained`` folder or a hub id with ``AutoProcessor`` /
``AutoModelForImageTextToText`` (never ``trust_remote_code``: every config in a local
folder is checked first); :func:`cached_vlm` keeps it in the shared model cache;
:func:`vlm_problem` says, without loading, why a name cannot be opened here and now.
"""

from __future__ import annotations

from pathlib import Path

from ..devices import resolve_device, resolve_dtype
from ..errors import CheckpointFormatError, InvalidInputError, ModelNotFoundError
from .families import family_of
from .model import VisionLanguageModel

__all__ = ["cached_vlm", "load_vlm", "vlm_problem", "vlm_source"]


def _model_type(source: str) -> str:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    return str(getattr(config, "model_type", ""))


def load_vlm(
    weights: str | Path, device: str = "auto", precision: str = "auto"
) -> VisionLanguageModel:
    """Load a vision-language model from a ``save_pretrained`` folder or a hub id.

    Parameters
    ----------
    weights : str or Path
        A local folder (model + processor with its chat template) or a hub id.
    device, precision : str
        See :mod:`napari_clipcap.core.devices`; ``"auto"`` is bf16/fp16 on GPUs.

    Raises
    ------
    ModelNotFoundError
        Neither a local folder nor in the hub cache (or downloadable).
    CheckpointFormatError
        A folder whose configs ask for code from the model's files, of a model type no
        family covers, or that does not hold a complete native model and processor.
    """
    import transformers

    from ..registry.trust import check_model_source

    source = str(weights)
    path = Path(source).expanduser()
    local = path.is_dir()
    if path.exists() and not local:
        raise InvalidInputError(f"{source!r} is a file; a vision-language model is a folder")
    if local:
        source = str(path)
    check_model_source(source)  # a folder's configs, or a hub id's cached ones
    dev = resolve_device(device)
    dtype = resolve_dtype(dev, precision)
    try:
        family = family_of(_model_type(source))
        processor = transformers.AutoProcessor.from_pretrained(source, trust_remote_code=False)
        model = transformers.AutoModelForImageTextToText.from_pretrained(
            source, dtype=dtype, trust_remote_code=False
        )
    except OSError as exc:
        where = (
            "as a local folder" if local else "as a local folder or in the Hugging Face hub cache"
        )
        raise ModelNotFoundError(
            f"vision-language model {source!r} was not found {where} (offline, or not "
            "downloaded); give a folder saved with save_pretrained (model and processor). "
            f"({(str(exc).strip().splitlines() or [''])[0]})"
        ) from None
    except CheckpointFormatError:
        raise
    except Exception as exc:  # a folder that is not a native image-text-to-text model
        first = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointFormatError(
            f"cannot load a vision-language model from {source!r} ({type(exc).__name__}: "
            f"{first}); it needs transformers' native image-text-to-text format "
            "(save_pretrained of the model and its processor)"
        ) from exc
    model = model.to(dev).eval()
    name = f"vlm:{path.name if local else source}"
    return VisionLanguageModel(model, processor, name, family, dev, dtype)


def vlm_source(name: str) -> str:
    """What a ``--vlm`` value loads: a preset's hub id, or the folder or hub id itself."""
    from ..registry import get_preset, presets

    if name in {p.name for p in presets("vlm")}:
        return get_preset(name).model
    return str(name)


def cached_vlm(name: str, device: str = "auto", precision: str = "auto") -> VisionLanguageModel:
    """:func:`load_vlm` of a preset, folder or hub id, kept in the shared model cache."""
    from ..model_cache import get_or_load

    dev = resolve_device(device)
    source = vlm_source(name)
    key = (source, dev, precision)
    return get_or_load("vlm", key, lambda: load_vlm(source, dev, precision), dev)


def vlm_problem(name: str) -> str:
    """Why ``name`` cannot be loaded here and now ('' when it can), without loading it.

    A local folder needs its ``config.json``; a preset or hub id needs to be in the hub
    cache when downloads are off (``HF_HUB_OFFLINE``).
    """
    from ..cache import hub_cache_dir, hub_offline

    name = str(name or "").strip()
    if not name:
        return "Choose a vision-language model."
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        if not path.is_dir():
            return f"{name} is not a folder."
        if not (path / "config.json").is_file():
            return f"{path.name} holds no config.json: not a saved model folder."
        return ""
    if not hub_offline():
        return ""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(
        vlm_source(name), "config.json", cache_dir=str(hub_cache_dir())
    )
    if isinstance(cached, str):
        return ""
    return f"{name} is not downloaded and downloads are off: choose a local folder."
