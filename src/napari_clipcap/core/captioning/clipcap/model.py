"""ClipCap: a mapping network turns a CLIP image embedding into a GPT-2 prefix.

Two checkpoint formats load here:

* the original release: one flat state dict (``.pt``) with GPT-2 under ``gpt.`` and the
  mapping network under ``clip_project.``; the mapping type and sizes are inferred from
  the tensors, and the GPT-2 configuration and tokenizer come from ``decoder`` (a hub id
  or local directory);
* napari-clipcap's own: a directory with ``clipcap.json``, ``model.safetensors`` and the
  decoder's configuration and tokenizer in ``decoder/`` (written by :func:`save_clipcap`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import torch
from torch import nn

from ...errors import CheckpointFormatError, ModelNotFoundError
from ...registry.trust import NO_REMOTE_CODE, check_model_source
from .checkpoint import load_strict, read_state_dict
from .mapping import MappingConfig, build_mapping, infer_mapping_config

FORMAT = "napari-clipcap/clipcap"
CONFIG_NAME = "clipcap.json"
WEIGHTS_NAME = "model.safetensors"
DECODER_DIR = "decoder"


class ClipCapModel(nn.Module):
    """Mapping network ``clip_project`` + GPT-2 language model ``gpt`` + its tokenizer.

    Parameters
    ----------
    mapping : MappingConfig
        Shape of the mapping network.
    gpt : transformers.GPT2LMHeadModel
        The decoder.
    tokenizer : transformers tokenizer
        Must not hold more tokens than ``gpt`` has embeddings.
    normalize_prefix : bool
        L2-normalise CLIP embeddings before the mapping (as the model was trained).
    stop_token : str or None
        Text that ends a caption (``"."`` in the original release); ``None`` runs until
        end-of-text or ``max_tokens``.
    meta : dict, optional
        Free-form information kept in the saved config (CLIP model, decoder id, ...).
    """

    def __init__(
        self,
        mapping: MappingConfig,
        gpt,
        tokenizer,
        *,
        normalize_prefix=False,
        stop_token: str | None = ".",
        meta: dict | None = None,
    ):
        super().__init__()
        vocab = gpt.get_input_embeddings().weight.shape
        if vocab[1] != mapping.embed_dim:
            raise CheckpointFormatError(
                f"the mapping produces {mapping.embed_dim}-d embeddings but the decoder's "
                f"embeddings are {vocab[1]}-d"
            )
        if len(tokenizer) > vocab[0]:
            raise CheckpointFormatError(
                f"the tokenizer has {len(tokenizer)} tokens but the decoder embeds only "
                f"{vocab[0]}: tokenizer and decoder do not belong together"
            )
        self.mapping_config = mapping
        self.clip_project = build_mapping(mapping)
        self.gpt = gpt
        self.tokenizer = tokenizer
        self.normalize_prefix = bool(normalize_prefix)
        self.stop_token = stop_token
        self.meta = dict(meta or {})

    @property
    def prefix_length(self) -> int:
        return self.mapping_config.prefix_length

    def stop_token_ids(self) -> list[int]:
        """Token ids that end a caption: the stop token's first token and end-of-text."""
        ids = []
        if self.stop_token:
            ids.append(self.tokenizer.encode(self.stop_token)[0])
        if self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    def prefix_embeddings(self, clip_embeddings: torch.Tensor) -> torch.Tensor:
        """``(N, clip_dim)`` CLIP embeddings -> ``(N, prefix_length, embed_dim)`` prefixes."""
        x = clip_embeddings.to(self.clip_project_dtype)
        if self.normalize_prefix:
            x = x / x.norm(dim=-1, keepdim=True)
        return self.clip_project(x).view(x.shape[0], self.prefix_length, -1)

    @property
    def clip_project_dtype(self) -> torch.dtype:
        return next(self.clip_project.parameters()).dtype

    def forward(self, clip_embeddings, tokens, attention_mask=None) -> torch.Tensor:
        """Teacher-forced logits: ``(N, T, vocab)`` where row ``t`` predicts ``tokens[:, t]``.

        ``attention_mask`` (N, T) marks real caption tokens; the prefix is always attended.
        """
        prefix = self.prefix_embeddings(clip_embeddings)
        embeds = torch.cat((prefix, self.gpt.get_input_embeddings()(tokens)), dim=1)
        if attention_mask is not None:
            ones = attention_mask.new_ones(tokens.shape[0], self.prefix_length)
            attention_mask = torch.cat((ones, attention_mask), dim=1)
        logits = self.gpt(inputs_embeds=embeds, attention_mask=attention_mask).logits
        return logits[:, self.prefix_length - 1 : -1]

    @torch.inference_mode()
    def generate(
        self, clip_embeddings: torch.Tensor, options=None, *, cancel=None, **changes
    ) -> list[list[str]]:
        """Captions for ``(N, clip_dim)`` embeddings: N lists of captions.

        ``options`` is a :class:`~napari_clipcap.core.decoding.options.DecodeOptions`
        (keywords such as ``max_tokens=12`` apply over it); without stop tokens it stops
        at this model's (:meth:`stop_token_ids`).
        """
        from ...decoding.loops import generate
        from ...decoding.options import DecodeOptions

        opts = DecodeOptions.of(options, **changes).with_stops(self.stop_token_ids())
        ids = generate(self.gpt, self.prefix_embeddings(clip_embeddings), opts, cancel=cancel)
        return [[self.decode(seq) for seq in per_image] for per_image in ids]

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True).strip()


def load_decoder(decoder: str | Path, *, weights: bool):
    """GPT-2 configuration (and weights when ``weights``) + tokenizer from a hub id or folder.

    Raises
    ------
    ModelNotFoundError
        If neither a local folder nor the hub provides it.
    """
    from transformers import AutoConfig, AutoTokenizer, GPT2LMHeadModel

    check_model_source(decoder)  # --decoder, or the decoder/ inside a ClipCap folder
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(decoder), **NO_REMOTE_CODE)
        if len(tokenizer) < 2:  # transformers builds an empty tokenizer from a bare config
            raise OSError("the folder holds no tokenizer files (vocab.json/tokenizer.json)")
        if weights:
            gpt = GPT2LMHeadModel.from_pretrained(str(decoder), **NO_REMOTE_CODE)
        else:
            gpt = GPT2LMHeadModel(AutoConfig.from_pretrained(str(decoder), **NO_REMOTE_CODE))
    except (OSError, ValueError) as exc:  # ValueError: a folder without tokenizer files
        raise ModelNotFoundError(
            f"could not load the GPT-2 decoder {str(decoder)!r} (config and tokenizer) from a "
            "local folder or the Hugging Face hub; pass decoder= (--decoder) a local folder "
            f"holding config.json and the tokenizer files. ({exc})"
        ) from None
    return gpt.eval(), tokenizer


def _original(path: Path, decoder, overrides: dict) -> ClipCapModel:
    state = read_state_dict(path)
    mapping_state = {
        k.removeprefix("clip_project."): v
        for k, v in state.items()
        if k.startswith("clip_project.")
    }
    has_gpt = any(k.startswith("gpt.") for k in state)
    gpt, tokenizer = load_decoder(decoder or "gpt2", weights=not has_gpt)
    wte = state.get("gpt.transformer.wte.weight")
    embed = wte.shape[1] if wte is not None else gpt.config.n_embd
    cfg = infer_mapping_config(mapping_state, embed, overrides.pop("num_heads", 8))
    for key in ("prefix_length", "clip_length", "mapping"):
        if overrides.get(key) not in (None, getattr(cfg, key)):
            raise CheckpointFormatError(
                f"{key}={overrides[key]!r} was given but the checkpoint's tensors say "
                f"{getattr(cfg, key)!r}"
            )
    normalize = overrides.get("normalize_prefix")
    if normalize is None:  # the release trained its transformer mapping on unit vectors
        normalize = cfg.mapping == "transformer"
    model = ClipCapModel(
        cfg,
        gpt,
        tokenizer,
        normalize_prefix=bool(normalize),
        meta={"decoder": str(decoder or "gpt2"), "source": str(path)},
    )
    load_strict(model, state)
    return model


def _own(directory: Path, decoder) -> ClipCapModel:
    try:
        cfg = json.loads((directory / CONFIG_NAME).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointFormatError(f"cannot read {directory / CONFIG_NAME}: {exc}") from None
    if cfg.get("format") != FORMAT:
        raise CheckpointFormatError(f"{directory / CONFIG_NAME} is not a {FORMAT} config")
    names = {f.name for f in fields(MappingConfig)}
    mapping = MappingConfig(**{k: v for k, v in cfg["mapping"].items() if k in names})
    state = read_state_dict(directory / WEIGHTS_NAME)
    has_gpt = any(k.startswith("gpt.") for k in state)
    local = directory / DECODER_DIR
    saved_id = (cfg.get("meta") or {}).get("decoder")
    # the saved decoder/ folder has config + tokenizer; weights come from the hub id then
    source = decoder or (local if has_gpt and local.is_dir() else saved_id)
    gpt, tokenizer = load_decoder(source or "gpt2", weights=not has_gpt)
    model = ClipCapModel(
        mapping,
        gpt,
        tokenizer,
        normalize_prefix=cfg.get("normalize_prefix"),
        stop_token=cfg.get("stop_token", "."),
        meta=cfg.get("meta"),
    )
    load_strict(model, state)
    return model


def is_own_format(path: str | Path) -> bool:
    """Whether ``path`` is (a file in) a folder written by :func:`save_clipcap`."""
    path = Path(path).expanduser()
    directory = path if path.is_dir() else path.parent
    return (path.is_dir() or path.name in (CONFIG_NAME, WEIGHTS_NAME)) and (
        directory / CONFIG_NAME
    ).is_file()


def load_clipcap_checkpoint(
    path: str | Path, decoder: str | Path | None = None, *, device: str = "cpu", **overrides
) -> ClipCapModel:
    """Load a ClipCap model from the original release's ``.pt`` or napari-clipcap's folder.

    Parameters
    ----------
    path : str or Path
        A state-dict file (``.pt``/``.bin``/``.safetensors``) in the original layout, or a
        folder written by :func:`save_clipcap`.
    decoder : str or Path, optional
        GPT-2 hub id or local folder (config + tokenizer). Default: ``"gpt2"`` for the
        original format, the saved ``decoder/`` folder for the own format. When the file
        holds no ``gpt.*`` tensors (a frozen decoder), its weights come from here too.
    device : str
        Torch device to move the model to.
    **overrides
        ``normalize_prefix``: L2-normalise CLIP embeddings before the mapping. The
        original files do not record it; ``None`` (default) follows the release:
        ``True`` for the transformer mapping (trained on ``prefix / prefix.norm()``),
        ``False`` otherwise; own-format folders keep what they saved. ``num_heads``
        (transformer mapping; 8 by default), and ``prefix_length`` / ``clip_length`` /
        ``mapping``, which are checked against the tensors.

    Raises
    ------
    CheckpointFormatError
        If the tensors fit no known layout (the message names the keys) or the tokenizer
        does not match the embedding size.
    ModelNotFoundError
        If the file or the decoder cannot be found.
    """
    path = Path(path).expanduser()
    if path.is_dir() and not (path / CONFIG_NAME).is_file():
        raise ModelNotFoundError(f"{str(path)!r} is a folder without {CONFIG_NAME}")
    if is_own_format(path):
        model = _own(path if path.is_dir() else path.parent, decoder)
        if overrides.get("normalize_prefix") is not None:
            model.normalize_prefix = bool(overrides["normalize_prefix"])
    else:
        model = _original(path, decoder, dict(overrides))
    return model.to(device).eval()


def save_clipcap(
    model: ClipCapModel, directory: str | Path, *, include_decoder_weights: bool = True
) -> Path:
    """Write ``model`` in napari-clipcap's format: config JSON + safetensors + decoder files.

    With ``include_decoder_weights=False`` only the mapping network is stored (for a
    frozen GPT-2) and loading takes the decoder weights from ``meta["decoder"]``. The
    folder is written whole or not at all: it replaces a model saved there before, and a
    folder that holds something else is refused.
    """
    from safetensors.torch import save_file

    from ...errors import InvalidInputError
    from ...io.atomic import atomic_dir

    directory = Path(directory)
    if directory.exists() and not (directory / CONFIG_NAME).is_file():
        if not directory.is_dir() or any(directory.iterdir()):
            raise InvalidInputError(
                f"{directory} exists and is not a ClipCap model folder; save to a new folder"
            )
    full = model.state_dict()
    tied = full["gpt.lm_head.weight"].data_ptr() == full["gpt.transformer.wte.weight"].data_ptr()
    state = {
        k: v.detach().cpu().contiguous()
        for k, v in full.items()
        if not (tied and k == "gpt.lm_head.weight")
        and (include_decoder_weights or k.startswith("clip_project."))
    }
    cfg = {
        "format": FORMAT,
        "version": 1,
        "mapping": asdict(model.mapping_config),
        "normalize_prefix": model.normalize_prefix,
        "stop_token": model.stop_token,
        "meta": model.meta,
    }
    # a kill keeps the model saved there before; a user's notes in the folder stay
    with atomic_dir(directory, keep_foreign=True) as tmp:
        save_file(state, str(tmp / WEIGHTS_NAME))
        model.gpt.config.save_pretrained(tmp / DECODER_DIR)
        model.tokenizer.save_pretrained(tmp / DECODER_DIR)
        (tmp / CONFIG_NAME).write_text(json.dumps(cfg, indent=2))
    return directory
