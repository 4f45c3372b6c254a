"""Contrastive fine-tuning of an open_clip model on image-caption data.

Images are resized to the model's input once and kept as uint8; every step augments
them on the device with the transformations that suit overhead and sky images, where
"up" means nothing: random resized crops, horizontal and vertical flips and 90-degree
rotations (turn flips and rotations off when captions name positions or directions).
Each step pairs every image with one of its captions, drawn at random; with caption
augmentation the image's label or a caption may also be wrapped in a prompt template.

The result is ``out_dir/clip.safetensors`` (+ the model-config JSON for custom
architectures), loadable with :func:`napari_clipcap.core.clip.model.load_clip`; zero-shot
accuracy on the test (or val) split's labels is measured at the end with it. Every
finished epoch is a checkpoint, and running again with the same ``out_dir`` resumes
after the last one, bit for bit (:mod:`.finetune_resume`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..clip.prompts import check_template
from ..errors import InvalidInputError
from ..io.atomic import (
    atomic_path,
    check_output_folder,
    mark_output_folder,
    write_bytes,
    write_json,
)
from ..jobs import check_cancel, report
from .augment import AUGMENTATIONS, augment_batch, captions_for
from .checkpoint import clean_run_folder, remove_checkpoints
from .data import amp_context, barrier, init_distributed, load_images
from .datasets import CaptionDataset
from .finetune_resume import is_finetune_run, restore_finetune, save_finetune_checkpoint
from .loop import epoch_batches, optimizer_step, step_counts, wrap_distributed

__all__ = [
    "FinetuneConfig",
    "FinetuneResult",
    "contrastive_loss",
    "finetune_clip",
    "is_finetune_run",
    "zero_shot_eval",
]


@dataclass
class FinetuneConfig:
    """Fine-tuning settings."""

    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-5
    weight_decay: float = 0.1
    warmup_steps: int = 100
    augment: tuple[str, ...] = AUGMENTATIONS
    crop_scale: tuple[float, float] = (0.6, 1.0)
    caption_augment: bool = False
    template: str = "{}"
    seed: int = 0

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise :class:`InvalidInputError` for a setting no run can use."""
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidInputError(f"learning rate must be a positive number, got {self.lr}")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise InvalidInputError(f"weight decay must be >= 0, got {self.weight_decay}")
        if int(self.warmup_steps) < 0:
            raise InvalidInputError(f"warm-up steps must be >= 0, got {self.warmup_steps}")
        unknown = sorted(set(self.augment) - set(AUGMENTATIONS))
        if unknown:
            raise InvalidInputError(f"unknown augmentations {unknown}; use {AUGMENTATIONS}")
        check_template(self.template)
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise InvalidInputError(
                f"crop scale must be 0 < low <= high <= 1, got {self.crop_scale}"
            )


@dataclass
class FinetuneResult:
    """Paths of the fine-tuned model and the figures of the run."""

    model: str
    weights: Path
    history: list[dict] = field(default_factory=list)
    zeroshot: dict | None = None
    problems: list[str] = field(default_factory=list)
    resumed_from_epoch: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["weights"] = str(self.weights)
        return d


def contrastive_loss(img, txt, logit_scale):
    """Symmetric InfoNCE of CLIP: image ``i`` matches text ``i`` in both directions.

    Repeated captions in a batch need no special care: identical texts have identical
    embeddings, so matching image ``i`` to any copy of its text scores the same.
    """
    import torch
    import torch.nn.functional as F

    img, txt = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
    logits = logit_scale * img @ txt.T
    target = torch.arange(len(img), device=img.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _save(net, clip_model: str, out: Path) -> tuple[str, Path]:
    """Write the weights (and a custom model's config JSON), each whole or not at all."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    weights = out / "clip.safetensors"
    state = {k: v.detach().float().cpu().contiguous() for k, v in net.state_dict().items()}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp))
    model = clip_model
    if clip_model.lower().endswith(".json"):
        target = out / Path(clip_model).name
        if Path(clip_model).resolve() != target.resolve():
            write_bytes(target, Path(clip_model).read_bytes())
        model = str(target)
    return model, weights


def zero_shot_eval(clip, records, *, template: str = "{}", k: int = 5) -> dict:
    """Zero-shot top-1/top-k accuracy of ``clip`` on records that have labels."""
    from ..clip.prompts import text_embeddings
    from ..evaluation.metrics import classification_metrics

    recs = [r for r in records if r.label]
    if not recs:
        raise InvalidInputError("no record has a label; zero-shot accuracy needs labels")
    classes = sorted({r.label for r in recs})
    images, kept, _ = load_images([r.image for r in recs])
    img = clip.encode_images(images)
    txt = text_embeddings(clip, classes, [template])
    true = [classes.index(recs[i].label) for i in kept]
    out = classification_metrics(img @ txt.T, true, k=k)
    out["classes"] = classes
    out["n_images"] = len(kept)
    return out


def finetune_clip(
    dataset: CaptionDataset,
    out_dir,
    *,
    clip_model: str,
    clip_weights: str | None = None,
    config: FinetuneConfig | None = None,
    device: str = "auto",
    resume: bool = True,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel=None,
    log: Callable[[str], None] | None = None,
) -> FinetuneResult:
    """Fine-tune (or, with ``clip_weights="none"``, train from scratch) an open_clip model.

    Parameters
    ----------
    dataset : CaptionDataset
        Trains on the ``train`` split (or every record); zero-shot accuracy is measured
        on the ``test`` split, else ``val``, when its records have labels.
    out_dir : str or Path
        Receives ``clip.safetensors``, the config JSON of custom models, ``finetune.json``
        and ``checkpoints/`` (one per finished epoch).
    clip_model, clip_weights : str
        As :func:`napari_clipcap.core.clip.model.load_clip` takes them (open_clip only):
        ``clip_weights=None`` starts from the model's published weights, ``"none"`` from
        random ones (a model-config JSON alone: random too); docs/models.md.
    config : FinetuneConfig, optional
    device : str
    resume : bool
        Continue the run found in ``out_dir`` after its last finished epoch (its fixed
        settings must match); False starts over (deleting only its own checkpoints).
    overwrite : bool
        Accept an ``out_dir`` that napari-clipcap did not create and that is not empty
        (otherwise refused); only the run's own names there are replaced.
    progress, cancel, log
        ``progress(step, total_steps)``; cancel flag; one line per epoch.
    """
    cfg = config or FinetuneConfig()
    cfg.check()  # before anything is loaded or written
    out = check_output_folder(out_dir, "output folder", owned=is_finetune_run,
                              overwrite=overwrite)  # fmt: skip
    from ..devices import resolve_device

    dist, device = init_distributed(resolve_device(device))
    say = (log or (lambda _m: None)) if dist.is_main else (lambda _m: None)
    clip, spec, train, pixels, problems = _prepare(dataset, clip_model, clip_weights, cfg,
                                                   device, cancel)  # fmt: skip
    if dist.is_main:
        mark_output_folder(out, "finetune-clip")
        clean_run_folder(out)  # what a killed save left (only the project's temporaries)
    net, trainer, steps = _trainer(clip, len(train), cfg, dist)
    settings = (cfg, clip_model, clip_weights)
    done, history = restore_finetune(out, net, trainer, settings) if resume else (0, [])
    if dist.is_main and not resume:
        remove_checkpoints(out)  # only the epochs it saved
    if done:
        say(f"resuming after epoch {done}")
    step_net = wrap_distributed(net, dist, clip.device)
    for epoch in range(done, cfg.epochs):
        loss = _epoch(clip, step_net, net, train, pixels, trainer, epoch, steps, cfg, dist,
                      progress, cancel)  # fmt: skip
        history.append({"epoch": epoch + 1, "loss": loss})
        say(f"epoch {epoch + 1}/{cfg.epochs}: contrastive loss {loss:.4f}")
        if dist.is_main:
            save_finetune_checkpoint(out, net, epoch + 1, history, trainer, settings)
        barrier(dist)
    if not dist.is_main:  # only the first process writes and evaluates
        barrier(dist)
        return FinetuneResult(clip_model, out / "clip.safetensors", history, None, problems,
                              done)  # fmt: skip
    run = {"history": history, "problems": problems, "resumed_from_epoch": done}
    return _finish(net, clip_model, spec, out, device, dataset, cfg, run, say, dist)


def _prepare(dataset, clip_model, clip_weights, cfg, device, cancel):
    """The model, its resolved description, the training records and their model-size
    uint8 pixels."""
    import torch

    from ..clip.model import load_clip, resolve_clip, unload_clip

    # a model without weights is drawn from torch's generator as it is built: build it
    # afresh (not from the model cache) after seeding, or the same seed would start
    # from other weights
    start = resolve_clip(clip_model, clip_weights)
    if start.random:
        unload_clip(start, device=device, precision="fp32")
    torch.manual_seed(cfg.seed)
    clip = load_clip(start, device=device, precision="fp32")
    if clip.backend != "open_clip":
        raise InvalidInputError("fine-tuning supports open_clip models only")
    splits = dataset.splits
    train = dataset.split("train" if "train" in splits else "all").records
    if len(train) < 2:
        raise InvalidInputError(
            f"fine-tuning needs at least 2 training images (it contrasts each image with "
            f"the others in its batch); the data set has {len(train)}"
        )
    images, kept, problems = load_images([r.image for r in train], cancel=cancel)
    train = [train[i] for i in kept]
    mean, std = clip.normalisation
    pixels = torch.cat(
        [  # model-size uint8 copies, in chunks to bound memory
            ((clip.preprocess(images[i : i + 256]).float() * std + mean).clamp(0, 1) * 255)
            .round()
            .to(torch.uint8)
            .cpu()
            for i in range(0, len(images), 256)
        ]
    )
    return clip, start, train, pixels, problems


def _trainer(clip, n_train: int, cfg: FinetuneConfig, dist):
    """The network to train, its optimizer, schedule, scaler and random generators."""
    import copy

    import torch
    from transformers import get_cosine_schedule_with_warmup

    net = copy.deepcopy(clip.model).float().train()
    torch.manual_seed(cfg.seed)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = step_counts(n_train, dist.world_size, cfg.batch_size, cfg.epochs)
    warmup = min(cfg.warmup_steps, steps.total // 10 + 1)
    amp, scaler = amp_context(clip.device)
    trainer = {
        "opt": opt,
        "sched": get_cosine_schedule_with_warmup(opt, warmup, steps.total),
        "gen": torch.Generator().manual_seed(cfg.seed),
        "rng": np.random.default_rng(cfg.seed),
        "amp": amp,
        "scaler": scaler,
    }
    return net, trainer, steps


def _epoch(clip, step_net, net, train, pixels, tr, epoch, steps, cfg, dist, progress, cancel):
    """Train one epoch; returns its mean contrastive loss."""
    import torch

    mean, std = clip.normalisation
    losses = []
    batches = epoch_batches(len(train), epoch, cfg.seed, steps, cfg.batch_size, dist)
    for b, idx in enumerate(batches):
        check_cancel(cancel)
        x = pixels[torch.as_tensor(idx)].to(clip.device).float() / 255
        if cfg.augment:
            x = augment_batch(x, cfg.augment, cfg.crop_scale, tr["gen"])
        texts = captions_for([train[i] for i in idx], tr["rng"], cfg.caption_augment)
        tokens = clip.tokenizer(texts).to(clip.device)
        with tr["amp"]():  # CLIP.forward: (image features, text features, logit scale, ...)
            feats = step_net(image=(x - mean) / std, text=tokens)
        loss = contrastive_loss(feats[0].float(), feats[1].float(), feats[2].float())
        optimizer_step(loss, tr["opt"], tr["sched"], tr["scaler"])
        with torch.no_grad():
            net.logit_scale.clamp_(0, np.log(100))
        losses.append(loss.item())
        report(progress, epoch * steps.per_epoch + b + 1, steps.total)
    return float(np.mean(losses))


def _finish(net, clip_model, start, out, device, dataset, cfg, run: dict, say, dist):
    """Save the weights, measure zero-shot accuracy, write ``finetune.json`` last.

    ``start`` is the resolved description of the starting model; ``run`` holds the
    ``history``, ``problems`` and ``resumed_from_epoch`` of the result.
    """
    from ..clip.model import load_clip, unload_clip

    model, weights = _save(net, clip_model, out)
    unload_clip(model, str(weights), device)
    tuned = load_clip(model, str(weights), device)
    zs = None
    splits = dataset.splits
    eval_split = "test" if "test" in splits else "val" if "val" in splits else None
    if eval_split and any(r.label for r in dataset.split(eval_split).records):
        zs = zero_shot_eval(tuned, dataset.split(eval_split).records, template=cfg.template)
        zs["split"] = eval_split
        say(f"zero-shot top-1 on {eval_split}: {zs['top1']:.3f}")
    result = FinetuneResult(model, weights, zeroshot=zs, **run)
    barrier(dist)
    # last: the record that the run finished
    record = {**result.to_dict(), "started_from": start.to_dict(), "config": asdict(cfg)}
    write_json(out / "finetune.json", record, default=str)
    return result
