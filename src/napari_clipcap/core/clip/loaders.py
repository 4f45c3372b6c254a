"""Finding and building CLIP models: open_clip and transformers formats.

:func:`napari_clipcap.core.clip.model.load_clip` decides *what* to load; this module does
the loading. Every way a model can be missing ends in one
:class:`~napari_clipcap.core.errors.ModelNotFoundError` that names the model, where it
was looked for, and how to point at a local file instead.

Safety: weight files are read with safetensors when they are ``.safetensors`` and with
``torch.load(weights_only=True)`` otherwise (open_clip's loader does this); transformers
models are loaded with ``use_safetensors`` preferred and never ``trust_remote_code``.
Every config is scanned first (:mod:`.trust`): one that asks for code from the model's
files (``trust_remote_code``, ``auto_map``, nested anywhere, or in the tokenizer folder
it names) is refused. The tokenizer is checked against the text model (:mod:`.vocab`).
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import hub_cache_dir, hub_offline
from ..errors import CheckpointFormatError, InvalidInputError, ModelNotFoundError
from ..registry.trust import NO_REMOTE_CODE, check_model_source, remote_code_refused
from .archcheck import check_architecture
from .hub import hub_file as _hub_file
from .quiet import quiet_random_init
from .trust import check_config, check_open_clip
from .vocab import check_vocab

#: OpenAI CLIP normalisation, the default when a model says nothing else.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")

_HOW_TO = (
    "To use a file you already have, pass its path as the weights "
    "(Python: load_clip(model, '/path/to/weights.safetensors'); command line: "
    "--clip MODEL --clip-weights /path/to/weights.safetensors), or a transformers "
    "CLIP directory as the model."
)


@dataclass
class Built:
    """What a loader hands back to :class:`~napari_clipcap.core.clip.model.ClipModel`."""

    backend: str  # "open_clip" or "transformers"
    model: Any
    tokenizer: Any
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    resize_mode: str = "shortest"
    interpolation: str = "bicubic"
    extra: dict = field(default_factory=dict)


def _looks_like_path(text: str) -> bool:
    """A local path rather than a hub id: absolute/relative marker, file suffix, or exists."""
    return (
        text.startswith(("/", ".", "~"))
        or (os.sep != "/" and os.sep in text)
        or text.lower().endswith((*WEIGHT_SUFFIXES, ".json"))
        or Path(text).expanduser().exists()
    )


def _missing(
    model: str, weights: str | None, where: str, cause: object = None
) -> ModelNotFoundError:
    what = f"CLIP model {model!r}" + (f" with weights {weights!r}" if weights else "")
    offline = " (HF_HUB_OFFLINE is set, so nothing was downloaded)" if hub_offline() else ""
    msg = f"{what} was not found: looked in {where}{offline}."
    if cause:
        msg += f" Cause: {str(cause).splitlines()[0][:300]}"
    return ModelNotFoundError(f"{msg} {_HOW_TO}")


def detect_source(model: str) -> str:
    """Say which loader handles ``model``: ``"open_clip"`` or ``"transformers"``.

    A local directory with ``config.json`` (and no ``open_clip_config.json``) and a
    hub id ``org/name`` that is not an open_clip architecture are transformers models.
    """
    import open_clip

    path = Path(model).expanduser()
    if model.startswith("hf-hub:") or model.startswith("local-dir:"):
        return "open_clip"
    if path.is_dir():
        if (path / "open_clip_config.json").is_file():
            return "open_clip"
        if (path / "config.json").is_file():
            return "transformers"
        raise ModelNotFoundError(
            f"directory {str(path)!r} holds neither a transformers CLIP (config.json) nor an "
            f"open_clip model (open_clip_config.json). {_HOW_TO}"
        )
    if model.lower().endswith(".json") or model in open_clip.list_models():
        return "open_clip"
    if model.replace("/", "-") in open_clip.list_models():
        return "open_clip"
    if "/" in model and not _looks_like_path(model) and model.count("/") == 1:
        return "transformers"
    if _looks_like_path(model):
        raise _missing(model, None, f"the file or directory {str(path)!r}, which does not exist")
    known = ", ".join(open_clip.list_models()[:12])
    raise ModelNotFoundError(
        f"CLIP model {model!r} is neither an open_clip architecture (e.g. {known}, ...), "
        "an hf-hub: id, a model-config JSON file, nor a transformers hub id or directory. "
        + _HOW_TO
    )


def _register_config(path: Path) -> str:
    """Register an open_clip model-config JSON and return the architecture name."""
    import open_clip

    if not path.is_file():
        raise _missing(str(path), None, f"the file {str(path)!r}, which does not exist")
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointFormatError(
            f"model config {str(path)!r} is not valid JSON: {exc}"
        ) from exc
    if not isinstance(cfg, dict):  # before anything calls .get on it
        check_architecture(cfg, repr(str(path)))
    check_config(cfg, repr(str(path)))
    cfg = cfg.get("model_cfg", cfg)
    if not isinstance(cfg, dict) or not all(
        k in cfg for k in ("embed_dim", "vision_cfg", "text_cfg")
    ):
        raise CheckpointFormatError(
            f"model config {str(path)!r} needs the keys embed_dim, vision_cfg and text_cfg"
        )
    check_architecture(cfg, repr(str(path)))  # before open_clip builds it
    name = path.stem
    existing = open_clip.get_model_config(name)
    if existing is not None and existing != cfg:
        raise InvalidInputError(
            f"model config {str(path)!r} is named like another architecture ({name!r}) "
            "with a different configuration; rename the file"
        )
    if existing is None:
        # open_clip reads only files that hold exactly a model config.
        if "model_cfg" in json.loads(path.read_text()):
            raise CheckpointFormatError(
                f"{str(path)!r} wraps its config in 'model_cfg'; pass its directory "
                "(open_clip local-dir layout) instead, or save the inner config alone"
            )
        open_clip.add_model_config(path)
    return name


def _tag_checkpoint(arch: str, tag: str, progress: Callable | None) -> tuple[str, dict]:
    """Resolve an open_clip pretrained tag to a local file (downloading it if allowed)."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if "file" in cfg:
        return cfg["file"], cfg
    hub, url = cfg.get("hf_hub", ""), cfg.get("url", "")
    where = f"the Hugging Face cache {hub_cache_dir()}"
    last: Exception | None = None
    if hub:
        repo_id, filename = os.path.split(hub)
        names = [filename] if filename else []
        for name in [*names, "open_clip_model.safetensors", "open_clip_pytorch_model.bin"]:
            try:
                return _hub_file(repo_id, name, progress), cfg
            except Exception as exc:  # try the next file name, then the URL
                last = exc
    if url and not hub_offline():
        from open_clip.pretrained import download_pretrained_from_url

        where += " and ~/.cache/clip"
        try:
            return download_pretrained_from_url(url), cfg
        except Exception as exc:  # any download failure means "missing"
            last = exc
    raise _missing(arch, tag, where, last)


def build_open_clip(
    model: str, weights: str | None, device: str, precision: str, progress: Callable | None
) -> tuple[Built, str]:
    """Build an open_clip model; returns it and the architecture name."""
    import open_clip

    path = Path(model).expanduser()
    kwargs: dict[str, Any] = {"precision": precision, "device": device}
    if model.startswith("local-dir:") or (path.is_dir() and not model.startswith("hf-hub:")):
        arch = model if model.startswith("local-dir:") else f"local-dir:{path}"
        if weights:
            raise InvalidInputError(
                "an open_clip directory holds its own weights; give no weights"
            )
        pretrained = None
        _check_folder_architecture(Path(arch[len("local-dir:") :]).expanduser())
    elif model.startswith("hf-hub:"):
        arch, pretrained = model, None
    else:
        arch = _register_config(path) if model.lower().endswith(".json") else model
        arch = arch if arch in open_clip.list_models() else arch.replace("/", "-")
        pretrained = None
        if weights:
            wpath = Path(weights).expanduser()
            if wpath.is_file():
                pretrained = str(wpath)
            elif weights.startswith("hf-hub:"):
                parts = weights[len("hf-hub:") :].split("/")
                repo_id = "/".join(parts[:2])
                filename = "/".join(parts[2:]) or "open_clip_pytorch_model.bin"
                try:
                    pretrained = _hub_file(repo_id, filename, progress)
                except Exception as exc:
                    raise _missing(
                        model, weights, f"the Hugging Face cache {hub_cache_dir()}", exc
                    ) from exc
            elif open_clip.get_pretrained_cfg(arch, weights):
                pretrained, tag_cfg = _tag_checkpoint(arch, weights, progress)
                kwargs["force_quick_gelu"] = bool(tag_cfg.get("quick_gelu", False))
                kwargs["force_preprocess_cfg"] = {
                    k: tag_cfg[k]
                    for k in ("mean", "std", "interpolation", "resize_mode")
                    if k in tag_cfg
                }
            else:
                tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
                raise _missing(
                    model,
                    weights,
                    f"the file {str(wpath)!r} (no such file) and "
                    f"the open_clip pretrained tags of {arch} ({tags})",
                )
    text_cfg = check_open_clip(
        model, arch, lambda repo: _hub_file(repo, "open_clip_config.json", None)
    )
    # never from the config: open_clip hands its tokenizer_kwargs to AutoTokenizer
    no_code = NO_REMOTE_CODE if text_cfg.get("hf_tokenizer_name") else {}
    try:
        with quiet_random_init(), remote_code_refused():  # see their docstrings
            net = open_clip.create_model(arch, pretrained=pretrained, **kwargs)
            tokenizer = open_clip.get_tokenizer(arch, **no_code)
    except RuntimeError as exc:
        if "state_dict" in str(exc) or "size mismatch" in str(exc):
            raise CheckpointFormatError(
                f"weights {weights!r} do not fit the open_clip architecture {arch!r}: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
        if weights and Path(weights).expanduser().is_file():  # e.g. a cut-short .pt
            cause = _first_line(exc).split(". ")[0][:200]
            raise CheckpointFormatError(
                f"cannot read weights {weights!r} ({cause}); is the file complete (a "
                ".safetensors or .pt state dict)?"
            ) from exc
        raise _missing(model, weights, f"open_clip and {hub_cache_dir()}", exc) from exc
    except pickle.UnpicklingError as exc:
        raise CheckpointFormatError(
            f"weights {weights!r} are not a plain state dict: loading them would run pickled "
            "code, which is refused (torch.load weights_only=True); re-save the state dict "
            f"with torch.save(model.state_dict()) or as .safetensors. Cause: {_first_line(exc)}"
        ) from exc
    except (OSError, ValueError) as exc:
        if weights and Path(weights).expanduser().is_file():
            raise CheckpointFormatError(
                f"cannot read weights {weights!r}: {_first_line(exc)}"
            ) from exc
        raise _missing(model, weights, f"open_clip and {hub_cache_dir()}", exc) from exc
    except Exception as exc:  # e.g. safetensors' SafetensorError for a corrupt file
        if weights and Path(weights).expanduser().is_file():
            raise CheckpointFormatError(
                f"cannot read weights {weights!r} ({type(exc).__name__}: {_first_line(exc)}); "
                "is it a complete .safetensors/.pt state dict?"
            ) from exc
        raise
    net.eval()
    check_vocab(net, tokenizer, model, "text_cfg.vocab_size")
    pp = getattr(net.visual, "preprocess_cfg", {}) or {}
    built = Built(
        "open_clip",
        net,
        tokenizer,
        mean=tuple(pp.get("mean", OPENAI_MEAN)),
        std=tuple(pp.get("std", OPENAI_STD)),
        resize_mode=pp.get("resize_mode", "shortest"),
        interpolation=pp.get("interpolation", "bicubic"),
    )
    return built, arch


def _check_folder_architecture(folder: Path) -> None:
    """:func:`check_architecture` on an open_clip folder's ``open_clip_config.json``."""
    file = folder / "open_clip_config.json"
    try:
        cfg = json.loads(file.read_text())
    except (OSError, ValueError):
        return  # open_clip reports a missing or broken config itself
    model_cfg = cfg.get("model_cfg", cfg) if isinstance(cfg, dict) else cfg
    check_architecture(model_cfg, repr(str(file)))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def build_transformers(model: str, device: str, dtype) -> Built:
    """Build a transformers ``CLIPModel`` from a hub id or a local directory."""
    from transformers import AutoTokenizer, CLIPModel

    path = Path(model).expanduser()
    source = str(path) if path.is_dir() else model
    where = str(path) if path.is_dir() else f"the Hugging Face cache {hub_cache_dir()}"
    check_model_source(source)  # a folder's configs, or a hub id's cached ones
    try:
        net = CLIPModel.from_pretrained(source, torch_dtype=dtype, **NO_REMOTE_CODE)
        tokenizer = AutoTokenizer.from_pretrained(source, **NO_REMOTE_CODE)
    except OSError as exc:
        raise _missing(model, None, where, exc) from exc
    except ValueError as exc:
        raise CheckpointFormatError(f"{model!r} is not a transformers CLIP model: {exc}") from exc
    except Exception as exc:  # e.g. SafetensorError for a truncated weights file
        if not path.is_dir():
            raise
        raise CheckpointFormatError(
            f"cannot read the transformers CLIP in {str(path)!r} "
            f"({type(exc).__name__}: {_first_line(exc)}); are its weight files complete?"
        ) from exc
    net.to(device).eval()
    check_vocab(net, tokenizer, model, "text_config.vocab_size")
    mean, std = _image_normalisation(path) if path.is_dir() else (OPENAI_MEAN, OPENAI_STD)
    return Built("transformers", net, tokenizer, mean=mean, std=std)


def _image_normalisation(folder: Path) -> tuple[tuple, tuple]:
    """The image mean and std of a transformers CLIP folder, as transformers reads them:
    ``processor_config.json`` (``image_processor``; transformers 5 saves it there) before
    ``preprocessor_config.json``; OpenAI's values when neither says."""
    for name, section in (
        ("processor_config.json", "image_processor"),
        ("preprocessor_config.json", None),
    ):
        file = folder / name
        if not file.is_file():
            continue
        try:
            pp = json.loads(file.read_text())
        except ValueError as exc:
            raise CheckpointFormatError(f"{str(file)!r} is not valid JSON: {exc}") from exc
        pp = pp.get(section) if section else pp
        if isinstance(pp, dict) and "image_mean" in pp:
            return tuple(pp["image_mean"]), tuple(pp.get("image_std", OPENAI_STD))
    return OPENAI_MEAN, OPENAI_STD
