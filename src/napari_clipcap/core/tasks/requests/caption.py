"""The request of the Caption task (``napari-clipcap caption``, the Caption dock)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...registry import ModelSpec
from .base import (
    ImageInput,
    RegionFiles,
    TaskResult,
    asked_box,
    check_region_output,
    fit_regions,
    flag,
    region_flags,
    run_collecting,
    shape_entry,
)

__all__ = ["CaptionRequest", "captioner_entries", "load_captioner_spec"]

#: Decoding option -> flag (and its default) of ``napari-clipcap caption``.
DECODING_FLAGS = {
    "beam_size": ("--beam", 1),
    "num_captions": ("--num", 1),
    "max_tokens": ("--max-tokens", 67),
    "length_penalty": ("--length-penalty", 1.0),
    "top_p": ("--top-p", None),
    "temperature": ("--temperature", 1.0),
    "seed": ("--seed", None),
}


def _default_captioner() -> ModelSpec:
    return ModelSpec.for_captioner("clipcap")


def load_captioner_spec(spec: ModelSpec, device: str, precision: str) -> Any:
    """Load the captioner a spec describes (as given: the loader applies its preset)."""
    from ...captioning.protocol import load_captioner

    clip = spec.clip
    return load_captioner(
        spec.name,
        spec.weights,
        clip_model=clip.name if clip is not None else None,
        clip_weights=clip.weights if clip is not None else None,
        decoder=spec.decoder,
        normalize_prefix=spec.option("normalize_prefix"),
        prompt=spec.option("prompt"),
        device=device,
        precision=precision,
    )


def _with_domain_prompt(spec: ModelSpec, cuts) -> ModelSpec:
    """A VLM captioner asked the description prompt of the first image's domain, so the
    prompt is recorded (in provenance and ``to_argv()``) as it was asked."""
    from ...captioning.vlm import DOMAIN_PROMPTS

    image, img = cuts[0][0], cuts[0][1]
    domain = image.domain or ("astronomy" if img.kind == "fits" else "photo")
    prompt = DOMAIN_PROMPTS.get(domain, DOMAIN_PROMPTS["photo"])
    return replace(spec, extras=tuple(sorted({**dict(spec.extras), "prompt": prompt}.items())))


def _asking(captioner: Any, prompt: str | None) -> Any:
    """A VLM captioner handed in (a dock's cached one) asking the request's prompt: the
    prompt recorded in ``to_argv()`` is the one the captions answered, in every door."""
    from ...captioning.vlm import VlmCaptioner

    if prompt and isinstance(captioner, VlmCaptioner) and captioner.prompt != prompt:
        return VlmCaptioner(captioner.vlm, prompt)
    return captioner


def captioner_entries(spec: ModelSpec) -> list[dict]:
    """Provenance entries of a captioner spec (and its decoder and CLIP), resolved."""
    from ...provenance import spec_entries

    return spec_entries("captioner", spec)


@dataclass(frozen=True)
class CaptionRequest:
    """Captions of images or of their regions, all as one batch.

    Attributes
    ----------
    images : tuple of ImageInput
    captioner : ModelSpec
    decoding : tuple of (str, object)
        :class:`~napari_clipcap.core.decoding.options.DecodeOptions` settings
        (``beam_size``, ``num_captions``, ``max_tokens``, ...) as sorted pairs.
    regions : tuple or None
        Boxes and polygons of every image; None for the whole image.
    regions_file : str or None
    batch_size : int
    device, precision : str
    out_regions, out_frame : str or None
        Write the results as a region file (in that frame).
    """

    images: tuple[ImageInput, ...]
    captioner: ModelSpec = field(default_factory=_default_captioner)
    decoding: tuple[tuple[str, Any], ...] = ()
    regions: tuple | None = None
    regions_file: str | None = None
    batch_size: int = 32
    device: str = "auto"
    precision: str = "auto"
    out_regions: str | None = None
    out_frame: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.images, ImageInput):
            object.__setattr__(self, "images", (self.images,))
        if isinstance(self.decoding, dict):
            pairs = tuple(sorted((k, v) for k, v in self.decoding.items() if v is not None))
            object.__setattr__(self, "decoding", pairs)
        if self.regions is not None and self.regions_file is not None:
            raise InvalidInputError("give regions with --region or --regions FILE, not both")
        if self.regions is not None:
            object.__setattr__(self, "regions", tuple(self.regions) or None)
        if self.out_regions and len(self.images) > 1:
            raise InvalidInputError("--out-regions writes one file: give one image")
        self.options()  # bad decoding settings fail before any model loads

    def options(self) -> Any:
        from ...decoding.options import DecodeOptions

        return DecodeOptions(**dict(self.decoding))

    @classmethod
    def from_args(cls, args: Any) -> CaptionRequest:
        """The request the ``napari-clipcap caption`` flags describe."""
        from ...coords.regions import parse_region

        regions = tuple(parse_region(r) for r in args.region) if args.region else None
        decoding = {
            "beam_size": args.beam,
            "num_captions": args.num,
            "max_tokens": args.max_tokens,
            "length_penalty": args.length_penalty,
            "top_p": args.top_p,
            "temperature": args.temperature,
            "seed": args.seed,
        }
        return cls(
            images=tuple(ImageInput.from_args(args, path) for path in args.images),
            captioner=ModelSpec.from_flags(args, "captioner"),
            decoding=decoding,
            regions=regions,
            regions_file=args.regions,
            batch_size=args.batch_size,
            device=args.device,
            precision=args.precision,
            out_regions=args.out_regions,
            out_frame=getattr(args, "out_frame", None),
        )

    def to_argv(self) -> list[str]:
        """``napari-clipcap caption ...``: the command that recomputes this request."""
        argv = ["napari-clipcap", "caption"]
        for img in self.images:
            argv += img.to_argv()
        argv += self.captioner.to_flags()
        for key, value in self.decoding:
            name, default = DECODING_FLAGS[key]
            argv += flag(name, value, default)
        argv += region_flags(self.regions)
        if self.regions_file:
            argv += ["--regions", os.path.abspath(self.regions_file)]
        argv += flag("--batch-size", self.batch_size, 32)
        argv += ["--device", self.device, *flag("--precision", self.precision, "auto")]
        if self.out_regions:
            argv += ["--out-regions", os.path.abspath(self.out_regions)]
            argv += flag("--out-frame", self.out_frame)
        return [*argv, "--json"]

    def models(self) -> list[dict]:
        """Provenance entries of the model this request names (resolved, not loaded)."""
        return captioner_entries(self.captioner)

    def why_no_command(self) -> str | None:
        for img in self.images:
            why = img.why_no_command()
            if why is not None:
                return why
        return None

    def parameters(self) -> dict:
        return {
            "decoding": dict(self.decoding),
            "regions": [np.asarray(r).tolist() for r in self.regions or ()],
            "regions_file": self.regions_file,
            "batch_size": self.batch_size,
            "captioner": self.captioner.to_dict(),
        }

    def inputs(self) -> dict:
        return {"images": [img.path for img in self.images], "layer": self.images[0].name}

    def check_outputs(self) -> None:
        check_region_output(self.out_regions)

    def run(
        self,
        *,
        progress=None,
        cancel=None,
        captioner: Any = None,
        files: RegionFiles | None = None,
        before_load: Any = None,
    ) -> TaskResult:
        """Caption every region of every image as one batch; ``captioner``: already
        loaded; ``files``: how region files are read and written; ``before_load()`` is
        called once every region is checked, before the model loads."""
        self.check_outputs()
        files = files or RegionFiles()
        return run_collecting(lambda: self._run(progress, cancel, captioner, files, before_load))

    def cut(self, files: RegionFiles | None = None) -> list[tuple]:
        """Per image: (ImageInput, LoadedImage, shapes, asked regions, fitted boxes, cut)."""
        from ..crops import cut_regions, region_list

        out = []
        for image in self.images:
            img = image.load(lazy=True)  # only the regions are read (or a reduced whole)
            shapes = (files or RegionFiles()).read(self.regions_file, img)
            asked = region_list(shapes if shapes is not None else self.regions)
            h, w = img.data.shape[:2]
            fitted = fit_regions(asked, img.data.shape, image.name or "image") or [(0, 0, w, h)]
            out.append(
                (image, img, shapes, asked, fitted, cut_regions(img.data, asked, valid=img.valid))
            )
        return out

    def _run(self, progress, cancel, captioner, files, before_load) -> TaskResult:
        from ...captioning.base import check_images

        cuts = self.cut(files)  # every region is checked before the model loads
        if self.captioner.kind == "vlm" and not self.captioner.option("prompt"):
            return replace(self, captioner=_with_domain_prompt(self.captioner, cuts))._run(
                progress, cancel, captioner, files, before_load
            )
        kept = [part for *_, cut in cuts for part in cut.kept]
        if before_load is not None:
            before_load()
        if captioner is None:
            captioner = load_captioner_spec(self.captioner, self.device, self.precision)
        elif self.captioner.kind == "vlm":
            captioner = _asking(captioner, self.captioner.option("prompt"))
        made = iter(
            captioner.caption(
                check_images(kept), options=self.options(), batch_size=self.batch_size,
                progress=progress, cancel=cancel,
            )
            if kept
            else []
        )  # fmt: skip
        data: dict = {"captioner": captioner.name, "images": []}
        lines, rows = [f"captioner: {captioner.name}"], []
        for image, _img, shapes, asked, fitted, cut in cuts:
            caps = cut.fill([next(made) for _ in cut.kept], gap=[])
            regions = []
            for i, (fit, c, blank) in enumerate(zip(fitted, caps, cut.empty)):
                box = asked_box(asked[i]) if asked else list(fit)
                entry = {"box": box, "clipped_to": None if list(fit) == box else list(fit)}
                entry["captions"] = [str(t) for t in c]
                if shapes is not None:
                    entry.update(shape_entry(shapes[i]), box=list(fit), clipped_to=None)
                if blank:
                    entry["no_data"] = True
                regions.append(entry)
                label = (image.name or "image") + (
                    f" [{','.join(map(str, box))}]" if asked else ""
                )
                lines.append(
                    f"{label}: {' | '.join(entry['captions']) or '(no data: not captioned)'}"
                )
            data["images"].append({"image": image.path, "regions": regions})
            rows += regions
        if self.out_regions:
            _, img, shapes, _, fitted, _ = cuts[0]
            texts = [" | ".join(r["captions"]) for r in data["images"][0]["regions"]]
            header = [f"napari-clipcap caption: {captioner.name}"]
            data["out_regions"] = files.write(self.out_regions, img, shapes, fitted, texts, header)
        return TaskResult(
            self, data, rows, "\n".join(lines), models=captioner_entries(self.captioner),
            image=cuts[0][1], extra={"shapes": [c[1].data.shape for c in cuts],
                                     "problems": [c[-1].problems for c in cuts]},
        )  # fmt: skip
