"""Label and caption each instance: the other tasks run on a segmentation's instances.

An instance becomes a polygon region: its outline in the label image, in image pixel
coordinates (pixel-edge ``(x, y)``, the exact boundary of its largest part, holes left
out; :func:`~napari_clipcap.core.segmentation.measure.instance_outlines`). The polygons
go into the Region labels request (:class:`~..requests.labels.LabelsRequest`) and the
Caption request (:class:`~..requests.caption.CaptionRequest`) as any drawn polygon does,
so each instance is cut by the one crops function
(:func:`~napari_clipcap.core.tasks.crops.cut_regions`: its bounding box, the outside
masked) and gets the same scores and captions as ``napari-clipcap labels``/``caption``
give for the same ``--region`` polygons. :class:`InstanceTasks` is the part of a
:class:`~.request.SegmentRequest` that asks for them (``--labels``, ``--caption``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...registry import ModelSpec
from ..requests.base import ImageInput, LoadedImage, flag

__all__ = ["InstanceTasks", "instance_polygons"]


def instance_polygons(labels: np.ndarray, rows: Sequence[dict]) -> list[np.ndarray | None]:
    """Each row's instance outline in ``labels`` as an ``(N, 2)`` polygon of pixel-edge
    ``(x, y)`` image coordinates, as regions take polygons; None for an instance that no
    pixel of ``labels`` shows (painted over by another).

    Only the instance's box (``row["box"]``) of ``labels`` is read, so the cost grows with
    the instances' sizes, not with the scene.
    """
    from ...segmentation.measure import instance_outlines

    out: list[np.ndarray | None] = []
    for row in rows:
        x0, y0, x1, y1 = (int(v) for v in row["box"])
        ring = instance_outlines(labels[y0:y1, x0:x1], [row["id"]])[0]
        out.append(ring + np.array([x0, y0], float) if len(ring) >= 3 else None)
    return out


@dataclass(frozen=True)
class InstanceTasks:
    """What to do with each instance once found: score labels, caption.

    Attributes
    ----------
    labels : tuple of str
        Labels scored per instance with CLIP (empty: none); ``--labels``.
    template, templates : str
        The prompt (``{}`` takes the label) or a template ensemble preset.
    clip : ModelSpec or None
        The CLIP model of the labels and of a ClipCap captioner (None: the default
        CLIP, and the captioner's own); ``--clip``/``--clip-weights``.
    caption : bool
        Caption each instance; ``--caption``.
    captioner, captioner_weights, decoder : str
        The captioner (a kind or preset), its weights and decoder, as ``napari-clipcap
        caption`` takes ``--captioner``/``--weights``/``--decoder``.
    max_tokens : int
        The longest caption, in tokens (``--max-tokens``).
    batch_size : int
        Instances per model call.
    """

    labels: tuple[str, ...] = ()
    template: str = "{}"
    templates: str | None = None
    clip: ModelSpec | None = None
    caption: bool = False
    captioner: str = "clipcap"
    captioner_weights: str | None = None
    decoder: str | None = None
    max_tokens: int = 67
    batch_size: int = 16

    def __post_init__(self) -> None:
        from ...clip.prompts import parse_labels, resolve_templates

        if isinstance(self.labels, str):
            object.__setattr__(self, "labels", tuple(self.labels.split(",")))
        if self.labels:
            object.__setattr__(self, "labels", tuple(parse_labels(self.labels)))
            resolve_templates(self.template, self.templates)  # a bad template fails here

    @property
    def active(self) -> bool:
        """Whether anything is asked of the instances."""
        return bool(self.labels) or self.caption

    @classmethod
    def from_args(cls, args: Any) -> InstanceTasks:
        """The instance tasks of the ``napari-clipcap segment`` flags."""
        get = args.get if isinstance(args, dict) else (lambda k, d=None: getattr(args, k, d))
        clip_name, clip_weights = get("clip"), get("clip_weights")
        clip = ModelSpec.for_clip(clip_name, clip_weights) if clip_name or clip_weights else None
        return cls(
            labels=tuple(str(get("labels") or "").split(",")) if get("labels") else (),
            template=get("template") or "{}",
            templates=get("templates"),
            clip=clip,
            caption=bool(get("caption")),
            captioner=get("captioner") or "clipcap",
            captioner_weights=get("captioner_weights"),
            decoder=get("decoder"),
            max_tokens=int(get("max_tokens") or 67),
            batch_size=int(get("batch_size") or 16),
        )

    def to_argv(self) -> list[str]:
        """The flags of ``napari-clipcap segment`` that ask for these tasks."""
        argv: list[str] = []
        if self.labels:
            argv += ["--labels", ",".join(self.labels), *flag("--template", self.template, "{}")]
            argv += flag("--templates", self.templates)
        if self.caption:
            argv += ["--caption", *flag("--captioner", self.captioner, "clipcap")]
            argv += flag("--captioner-weights", self.captioner_weights)
            argv += flag("--decoder", self.decoder) + flag("--max-tokens", self.max_tokens, 67)
        if self.active and self.clip is not None:
            argv += self.clip.resolve().to_flags()
        if self.active:
            argv += flag("--batch-size", self.batch_size, 16)
        return argv

    def parameters(self) -> dict:
        """The settings as provenance records them."""
        return {
            "labels": list(self.labels),
            "template": self.template,
            "templates": self.templates,
            "clip": None if self.clip is None else self.clip.to_dict(),
            "caption": self.caption,
            "max_tokens": self.max_tokens,
            "captioner": self.captioner_spec().to_dict() if self.caption else None,
        }

    def clip_spec(self) -> ModelSpec:
        """The CLIP model that scores the labels (the default one when none is named)."""
        return self.clip if self.clip is not None else ModelSpec.for_clip(None, None)

    def captioner_spec(self) -> ModelSpec:
        """The captioner (a ClipCap with :attr:`clip` as its CLIP when one is named; other
        captioners hold their own image encoder)."""
        spec = ModelSpec.for_captioner(
            self.captioner, self.captioner_weights, decoder=self.decoder
        )
        return replace(spec, clip=self.clip) if spec.kind == "clipcap" else spec

    # -- the requests the instances go through -------------------------------------
    def labels_request(self, image: ImageInput, polygons: Sequence, device: str, precision: str):
        """The Region labels request of the instance polygons (image pixel coordinates)."""
        from ..requests.labels import LabelsRequest

        return LabelsRequest(
            image=image,
            labels=self.labels,
            regions=tuple(polygons),
            template=self.template,
            templates=self.templates,
            clip=self.clip_spec(),
            batch_size=self.batch_size,
            device=device,
            precision=precision,
        )

    def caption_request(self, image: ImageInput, polygons: Sequence, device: str, precision: str):
        """The Caption request of the instance polygons (image pixel coordinates)."""
        from ..requests.caption import CaptionRequest

        return CaptionRequest(
            images=(image,),
            captioner=self.captioner_spec(),
            decoding={"max_tokens": int(self.max_tokens)},
            regions=tuple(polygons),
            batch_size=self.batch_size,
            device=device,
            precision=precision,
        )

    def run(
        self,
        image: ImageInput,
        loaded: LoadedImage,
        labels: np.ndarray,
        rows: Sequence[dict],
        *,
        device: str = "auto",
        precision: str = "auto",
        clip: Any = None,
        captioner: Any = None,
        progress=None,
        cancel=None,
    ) -> tuple[list[dict], list[dict], list[str]]:
        """Label and caption every instance of ``rows`` (outlines from ``labels``).

        Parameters
        ----------
        image : ImageInput
            The segmented image (its pixels are not read again: ``loaded`` is used).
        loaded : LoadedImage
            The model input and valid mask the segmentation ran on.
        labels : ndarray
            The label image (one id per instance, ``rows[i]["id"]``).
        rows : sequence of dict
            The instance table.
        clip, captioner : optional
            Already loaded models (else loaded from :attr:`clip` / the captioner).

        Returns
        -------
        rows, models, warnings
            The rows with ``polygon`` (the outline scored, pixel-edge ``(x, y)``),
            ``label`` and ``probabilities`` (with labels) and ``caption`` (with
            captions) added, None for an instance without pixels or data; the
            provenance entries of the models; the warnings met.
        """
        rows = [dict(r) for r in rows]
        polygons = instance_polygons(labels, rows)
        for r, p in zip(rows, polygons):
            r["polygon"] = None if p is None else p.tolist()
        shown = [i for i, p in enumerate(polygons) if p is not None]
        regions = [polygons[i] for i in shown]
        same = replace(image, pixels=lambda: (loaded.data, loaded.valid))
        models: list[dict] = []
        found: list[str] = []
        if self.labels:
            for r in rows:
                r.update(label=None, probabilities=None)
            if regions:
                req = self.labels_request(same, regions, device, precision)
                result = req.run(progress=progress, cancel=cancel, clip=clip, image=loaded)
                for i, got in zip(shown, result.rows):
                    _add_label(rows[i], got)
                models += result.models
                found += result.warnings
        if self.caption:
            for r in rows:
                r["caption"] = None
            if regions:
                req = self.caption_request(same, regions, device, precision)
                result = req.run(progress=progress, cancel=cancel, captioner=captioner)
                for i, got in zip(shown, result.rows):
                    rows[i]["caption"] = got["captions"][0] if got["captions"] else None
                models += result.models
                found += result.warnings
        return rows, models, list(dict.fromkeys(found))


def _add_label(row: dict, scored: dict) -> None:
    """``label`` (the best) and ``probabilities`` of one Region labels row."""
    if scored.get("no_data"):
        return
    row["probabilities"] = dict(scored["scores"])
    row["label"] = scored["ranked"][0][0] if scored["ranked"] else None
