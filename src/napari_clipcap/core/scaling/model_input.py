"""Model-input scaling: any layer's data -> float32 ``H x W x 3`` in ``[0, 1]``.

What a model sees is not napari's display contrast. :func:`to_model_input` is the one
function every model call uses. It picks the plane of a stack and three channels of a
multichannel image, applies an interval (which data values map to 0 and 1) and a
stretch (how values in between are spread), and returns what CLIP and the captioners
take. NaN and inf are ignored when choosing limits and become 0.

Defaults depend on the domain:

=============  ===============================  =====================================
domain         interval                         stretch
=============  ===============================  =====================================
``astronomy``  :class:`ZScaleInterval`           :class:`AsinhStretch`
``photo``      :class:`DtypeInterval`            :class:`LinearStretch` (unchanged)
``satellite``  :class:`DtypeInterval` for 8-bit,   :class:`LinearStretch`
               else 2-98 % percentile per band
=============  ===============================  =====================================

"Unchanged" means ``value / 255`` for 8-bit, ``/ 65535`` for 16-bit, floats clipped.
Satellite data deeper than 8 bits (uint16 reflectance, float radiance) fill a small part
of their type's range, so each band gets its own 2-98 % percentile stretch instead, as a
remote-sensing analyst would show it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .intervals import (
    BaseInterval,
    DtypeInterval,
    ManualInterval,
    MinMaxInterval,
    PercentileInterval,
    ZScaleInterval,
)
from .lazy_input import ModelInputView, fitted_stretch
from .stretches import (
    AsinhStretch,
    BaseStretch,
    HistEqStretch,
    LinearStretch,
    LogStretch,
    Pipeline,
    PowerStretch,
    SqrtStretch,
)

__all__ = [
    "DOMAINS",
    "INTERVALS",
    "STRETCHES",
    "AsinhStretch",
    "BaseInterval",
    "BaseStretch",
    "DtypeInterval",
    "HistEqStretch",
    "LinearStretch",
    "LogStretch",
    "ManualInterval",
    "MinMaxInterval",
    "ModelInputView",
    "PercentileInterval",
    "Pipeline",
    "PowerStretch",
    "SqrtStretch",
    "ZScaleInterval",
    "default_scaling",
    "make_interval",
    "make_stretch",
    "model_input_view",
    "resolve_domain",
    "to_model_input",
]

#: Interval names accepted wherever an interval may be given as text.
INTERVALS: dict[str, type[BaseInterval]] = {
    "dtype": DtypeInterval,
    "minmax": MinMaxInterval,
    "percentile": PercentileInterval,
    "zscale": ZScaleInterval,
}
#: Stretch names accepted wherever a stretch may be given as text.
STRETCHES: dict[str, type[BaseStretch]] = {
    "linear": LinearStretch,
    "sqrt": SqrtStretch,
    "log": LogStretch,
    "asinh": AsinhStretch,
    "power": PowerStretch,
    "histeq": HistEqStretch,
}
#: Canonical domains and the names that mean them.
DOMAINS: dict[str, tuple[str, ...]] = {
    "astronomy": ("astronomy", "astro", "fits", "sky"),
    "photo": ("photo", "photograph", "natural"),
    "satellite": ("satellite", "remote-sensing", "aerial", "overhead", "earth"),
}


def resolve_domain(domain: str | None) -> str:
    """Return the canonical domain name (``None`` means ``"photo"``)."""
    if domain is None:
        return "photo"
    key = str(domain).strip().lower().replace("_", "-")
    for name, aliases in DOMAINS.items():
        if key in aliases:
            return name
    known = ", ".join(a for aliases in DOMAINS.values() for a in aliases)
    raise InvalidInputError(f"unknown domain {domain!r}; use one of: {known}")


def default_scaling(
    domain: str | None, dtype: Any = None
) -> tuple[BaseInterval, BaseStretch, bool]:
    """Return the default ``(interval, stretch, per_channel)`` for a domain and data type.

    See the module table; ``dtype`` matters for satellite data only.
    """
    name = resolve_domain(domain)
    if name == "astronomy":
        return ZScaleInterval(), AsinhStretch(), False
    if name == "satellite" and dtype is not None and np.dtype(dtype) != np.uint8:
        return PercentileInterval(96.0, n_samples=1 << 20), LinearStretch(), True
    return DtypeInterval(), LinearStretch(), False


def _make(kind: str, table: dict[str, type], spec: Any, **kwargs: Any) -> Any:
    if not isinstance(spec, str):
        return spec
    cls = table.get(spec.strip().lower())
    if cls is None:
        raise InvalidInputError(f"unknown {kind} {spec!r}; use one of: {', '.join(table)}")
    return cls(**kwargs)


def make_interval(spec: str | BaseInterval, **kwargs: Any) -> BaseInterval:
    """Return an interval from its name in :data:`INTERVALS` (objects pass through)."""
    return _make("interval", INTERVALS, spec, **kwargs)


def make_stretch(spec: str | BaseStretch, **kwargs: Any) -> BaseStretch:
    """Return a stretch from its name in :data:`STRETCHES` (objects pass through)."""
    return _make("stretch", STRETCHES, spec, **kwargs)


def _plane_index(plane: Any, lead: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    if lead == 0:
        return ()
    if plane is None:
        return (0,) * lead
    idx = (plane,) if np.isscalar(plane) else tuple(plane)
    if len(idx) < lead:
        raise InvalidInputError(f"plane {plane!r} needs {lead} indices for shape {shape}")
    idx = tuple(int(i) for i in idx[:lead])
    for i, n in zip(idx, shape):
        if not -n <= i < n:
            raise InvalidInputError(f"plane {plane!r} is outside the stack of shape {shape}")
    return idx


def _select(data: Any, rgb: bool | None, channels: Any, channel_axis: int, plane: Any):
    """Return (numpy array H x W or H x W x C, is_colour) for the chosen plane."""
    if not hasattr(data, "ndim") or not hasattr(data, "shape"):
        data = np.asarray(data)
    if channels is not None:
        chans = [int(c) for c in np.atleast_1d(channels)]
        if len(chans) not in (1, 3):
            raise InvalidInputError(f"channels must name 1 or 3 channels, got {channels!r}")
        if data.ndim < 3:
            raise InvalidInputError(f"channels given but the image has shape {data.shape}")
        axis = channel_axis % data.ndim
        n = data.shape[axis]
        if any(not -n <= c < n for c in chans):
            raise InvalidInputError(f"channels {chans} outside the {n} channels of the image")
        data = np.moveaxis(data, axis, -1)[..., chans]
        rgb = True
    elif rgb is None:
        rgb = data.ndim >= 3 and data.shape[-1] in (3, 4)
    spatial = 3 if rgb else 2
    lead = data.ndim - spatial
    if lead < 0:
        raise InvalidInputError(f"cannot make an image from data of shape {data.shape}")
    if lead == 0 and hasattr(data, "rows"):  # rows read where sliced: kept unread
        arr = data
    else:
        arr = np.asarray(data[_plane_index(plane, lead, data.shape)])
    if arr.ndim == 3:
        if arr.shape[-1] == 4:
            arr = arr[..., :3]  # alpha is dropped, not composited
        if arr.shape[-1] == 1:
            arr = arr[..., 0]
        elif arr.shape[-1] != 3:
            raise InvalidInputError(
                f"an RGB image needs 3 or 4 channels, got {arr.shape[-1]}; pass channels="
            )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInputError(f"the image is empty (shape {arr.shape})")
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"cannot scale data of type {arr.dtype}")
    return arr, arr.ndim == 3


def to_model_input(
    data: Any,
    *,
    interval: str | BaseInterval | None = None,
    stretch: str | BaseStretch | None = None,
    channels: int | tuple[int, ...] | None = None,
    domain: str | None = None,
    rgb: bool | None = None,
    plane: int | tuple[int, ...] | None = None,
    per_channel: bool = False,
    channel_axis: int = 0,
) -> np.ndarray:
    """Turn layer data into the float32 ``H x W x 3`` array in ``[0, 1]`` models take.

    Parameters
    ----------
    data : array-like
        2D grey, ``(..., H, W, 3|4)`` RGB(A), a stack ``(..., H, W)``, or a
        multichannel array (with ``channels``). NumPy, memmap or dask: only the chosen
        plane is read.
    interval : str or interval, optional
        Which values map to 0 and 1 (``"zscale"``, ``PercentileInterval(99)``, ...).
        Defaults to the domain's (see the module table).
    stretch : str or stretch, optional
        How values in between are spread (``"asinh"``, ``LogStretch(a=100)``, ...).
        Defaults to linear when an interval is given, else to the domain's.
    channels : int or tuple of int, optional
        One channel (shown as grey) or three (as R, G, B) along ``channel_axis``.
    domain : str, optional
        ``"astronomy"``, ``"photo"`` (default) or ``"satellite"``, or an alias.
    rgb : bool, optional
        Whether the last axis holds colour; guessed as napari does (size 3 or 4).
    plane : int or tuple of int, optional
        Indices on the leading (stack) axes, e.g. ``viewer.dims.current_step``; extra
        trailing entries are ignored. Default: the first plane.
    per_channel : bool
        Choose interval limits for each colour channel on its own (per-band stretch)
        instead of once for all three.
    channel_axis : int
        Axis of ``data`` holding channels when ``channels`` is given (bands first, as
        rasterio reads them, by default).

    Returns
    -------
    ndarray
        C-contiguous float32 array of shape ``(H, W, 3)`` in ``[0, 1]``; non-finite
        input pixels are 0.
    """
    return np.ascontiguousarray(
        np.asarray(
            model_input_view(
                data,
                interval=interval,
                stretch=stretch,
                channels=channels,
                domain=domain,
                rgb=rgb,
                plane=plane,
                per_channel=per_channel,
                channel_axis=channel_axis,
            )
        )
    )


def model_input_view(
    data: Any,
    *,
    interval: str | BaseInterval | None = None,
    stretch: str | BaseStretch | None = None,
    channels: int | tuple[int, ...] | None = None,
    domain: str | None = None,
    rgb: bool | None = None,
    plane: int | tuple[int, ...] | None = None,
    per_channel: bool = False,
    channel_axis: int = 0,
) -> ModelInputView:
    """:func:`to_model_input` as a view that scales only the pixels sliced out of it.

    Takes the same arguments. The raw plane is read (NumPy, memmap or dask: only the
    chosen plane) and the interval limits and stretch are fitted to it whole, so a
    slice of the view holds exactly what the same slice of :func:`to_model_input`'s
    array would; memory is the raw plane plus what is sliced.

    Returns
    -------
    ModelInputView
        Read-only, ``shape`` ``(H, W, 3)``, ``dtype`` float32; ``np.asarray`` gives the
        whole array.
    """
    raw, colour = _select(data, rgb, channels, channel_axis, plane)
    arr = raw.astype(np.uint8) * 255 if raw.dtype.kind == "b" else raw
    default_interval, default_stretch, default_per_channel = default_scaling(domain, arr.dtype)
    if interval is None:
        interval = default_interval
        stretch = default_stretch if stretch is None else stretch
        per_channel = per_channel or default_per_channel
    interval = make_interval(interval)
    stretch = LinearStretch() if stretch is None else make_stretch(stretch)
    if hasattr(arr, "rows") and not _samples_by_rows(interval, stretch, arr.dtype):
        raw = arr = np.asarray(arr)  # limits fitted to the pixels: read the plane
    layers = [arr[..., c] for c in range(3)] if colour and per_channel else [arr]
    limits = [interval.get_limits(values) for values in layers]
    stretches = [fitted_stretch(stretch, v, lim) for v, lim in zip(layers, limits)]
    return ModelInputView(raw, limits, stretches)


def _samples_by_rows(interval: BaseInterval, stretch: BaseStretch, dtype: Any) -> bool:
    """Whether the limits can be fitted to a plane read a band of rows at a time: the
    scaling needs no pixels, or it is zscale (sampled band by band) with a stretch that
    fits nothing to the data."""
    if _needs_no_pixels(interval, stretch, dtype):
        return True
    unfitted = isinstance(stretch, HistEqStretch) and stretch.data is None
    return isinstance(interval, ZScaleInterval) and not unfitted


def _needs_no_pixels(interval: BaseInterval, stretch: BaseStretch, dtype: Any) -> bool:
    """Whether the scaling is fixed without looking at the pixels: given limits, or the
    8/16-bit or float type's range, and a stretch that fits nothing to the data."""
    if isinstance(stretch, HistEqStretch) and stretch.data is None:
        return False
    if isinstance(interval, ManualInterval):
        return interval.vmin is not None and interval.vmax is not None
    dtype = np.dtype(dtype)
    return type(interval) is DtypeInterval and (
        dtype in (np.uint8, np.uint16) or dtype.kind == "f"
    )
