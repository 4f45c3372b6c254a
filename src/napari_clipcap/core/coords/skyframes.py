"""Sky frames as DS9 and CASA mean them, and shapes carried between the sky and pixels.

A region file names its frame (``fk5``, ``icrs``, ``fk4``, ``galactic``, ``ecliptic``);
:func:`sky_frame` gives the astropy frame that name means where DS9 or CASA would put
it:

- ``fk4`` is B1950 with the *epoch of observation* of the image (``MJD-OBS`` /
  ``DATE-OBS``, J2000.0 when the header has none), as DS9 converts it through AST;
  astropy's own default epoch (B1950) lands 0.25" away;
- ``ecliptic`` (DS9) is the mean ecliptic whose equinox is that epoch (DS9 sets AST's
  ``Equinox`` to the ``Epoch`` "to agree with WCSSUBS"); in a CRTF file it is CASA's
  J2000 ecliptic. The ``regions`` package reads both as fixed frames 23-40" away;
- ``fk5`` is J2000, ``icrs`` and ``galactic`` need no epoch.

Rotated shapes keep their orientation across frames: a position angle in a file is
measured from *that frame's* north, so the local Jacobian :func:`local_jacobian`
(pixels per arcsecond along the frame's east and north, at each centre) takes the
shape to pixels, and its inverse brings it back. Everything is vectorised over arrays
of centres: a file of 100,000 regions is a handful of WCS calls.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InvalidInputError

__all__ = [
    "FILE_FRAMES",
    "frame_name",
    "local_jacobian",
    "observation_epoch",
    "pixel_to_world_in",
    "sky_frame",
    "wcs_frame",
    "world_to_pixel_from",
]

#: Sky frame names the project reads and writes (DS9 spelling).
FILE_FRAMES = ("icrs", "fk5", "fk4", "galactic", "ecliptic")
#: Other spellings of the same frames.
ALIASES = {
    "j2000": "fk5",
    "b1950": "fk4",
    "barycentricmeanecliptic": "ecliptic",
    "geocentrictrueecliptic": "ecliptic",
    "barycentrictrueecliptic": "ecliptic",
}
_STEP_ARCSEC = 1.0  # finite-difference step of the Jacobian: far below any curvature


def canonical_frame(name: str) -> str:
    """A frame name in the project's spelling, or :class:`InvalidInputError`."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in FILE_FRAMES:
        raise InvalidInputError(f"unknown sky frame {name!r}; use one of {', '.join(FILE_FRAMES)}")
    return key


def observation_epoch(wcs: Any) -> Any:
    """The image's epoch of observation (``MJD-OBS``, else ``DATE-OBS``), else J2000.0,
    as an astropy ``Time``: what DS9 uses for fk4 and ecliptic conversions."""
    from astropy.time import Time

    inner = getattr(wcs, "wcs", None)
    mjd = float(getattr(inner, "mjdobs", math.nan)) if inner is not None else math.nan
    if math.isfinite(mjd):
        return Time(mjd, format="mjd", scale="utc")
    date = str(getattr(inner, "dateobs", "") or "").strip() if inner is not None else ""
    if date:
        try:
            return Time(date, scale="utc")
        except ValueError:
            pass
    return Time("J2000.0")


def sky_frame(name: str, epoch: Any = None, fmt: str = "ds9") -> Any:
    """The astropy frame a region file's frame ``name`` means (see the module notes).

    Parameters
    ----------
    name : str
        ``icrs``, ``fk5``, ``fk4``, ``galactic`` or ``ecliptic`` (or an alias).
    epoch : astropy.time.Time, optional
        Epoch of observation (:func:`observation_epoch`); J2000.0 by default.
    fmt : {"ds9", "crtf"}
        Whose meaning of ``ecliptic``.
    """
    from astropy.coordinates import FK4, FK5, ICRS, BarycentricMeanEcliptic, Galactic
    from astropy.time import Time

    key = canonical_frame(name)
    epoch = Time("J2000.0") if epoch is None else epoch
    if key == "icrs":
        return ICRS()
    if key == "fk5":
        return FK5(equinox="J2000")
    if key == "fk4":
        return FK4(equinox="B1950", obstime=epoch)
    if key == "galactic":
        return Galactic()
    return BarycentricMeanEcliptic(equinox=epoch if fmt == "ds9" else Time("J2000.0"))


def wcs_frame(wcs: Any) -> tuple[Any, str]:
    """The frame of a 2D celestial WCS and its file name (``fk5``, ``galactic``, ...).

    Ecliptic WCS axes (``ELON``/``ELAT``) are the mean ecliptic of ``EQUINOX`` (J2000 by
    default); an FK4 WCS uses the epoch of observation, as DS9 does.
    """
    from astropy.coordinates import FK4, FK5, ICRS, BarycentricMeanEcliptic, Galactic
    from astropy.time import Time
    from astropy.wcs.utils import wcs_to_celestial_frame

    ctype = str(wcs.wcs.ctype[wcs.wcs.lng]).upper()
    equinox = float(wcs.wcs.equinox) if math.isfinite(float(wcs.wcs.equinox)) else None
    if ctype.startswith("ELON"):
        eq = Time(f"J{equinox or 2000.0}")
        return BarycentricMeanEcliptic(equinox=eq), "ecliptic"
    if ctype.startswith("GLON"):
        return Galactic(), "galactic"
    if not ctype.startswith("RA"):
        raise InvalidInputError(
            f"the image's sky axes ({ctype.split('-')[0]}) are not a frame region files use"
        )
    frame = wcs_to_celestial_frame(wcs)
    if isinstance(frame, FK4):
        return FK4(equinox=frame.equinox, obstime=observation_epoch(wcs)), "fk4"
    if isinstance(frame, FK5):
        return frame, "fk5"
    if isinstance(frame, ICRS):
        return frame, "icrs"
    raise InvalidInputError(f"the image's sky frame ({frame.name}) is not one region files use")


def frame_name(frame: Any) -> str | None:
    """The file name of an astropy frame (``fk5`` for FK5, ...), or None."""
    name = getattr(frame, "name", str(frame)).lower()
    name = ALIASES.get(name, name)
    return name if name in FILE_FRAMES else None


def world_to_pixel_from(coords: Any, wcs: Any) -> np.ndarray:
    """``(N, 2)`` 0-based pixel ``(x, y)`` of sky ``coords`` (any frame) through ``wcs``,
    distortions included."""
    frame, _ = wcs_frame(wcs)
    inner = coords.transform_to(frame)
    lon = np.atleast_1d(inner.spherical.lon.deg)
    lat = np.atleast_1d(inner.spherical.lat.deg)
    world = np.zeros((lon.size, 2))
    world[:, wcs.wcs.lng], world[:, wcs.wcs.lat] = lon, lat
    return np.asarray(wcs.all_world2pix(world, 0, quiet=True), float)


def pixel_to_world_in(xy: np.ndarray, wcs: Any, frame: Any) -> Any:
    """Sky coordinates in ``frame`` of 0-based pixel ``(x, y)`` rows through ``wcs``."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    world = np.asarray(wcs.all_pix2world(np.atleast_2d(xy), 0), float)
    own, _ = wcs_frame(wcs)
    coords = SkyCoord(world[:, wcs.wcs.lng] * u.deg, world[:, wcs.wcs.lat] * u.deg, frame=own)
    return coords.transform_to(frame)


def local_jacobian(coords: Any, wcs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres and local Jacobians at sky ``coords`` (N centres in their own frame).

    Returns
    -------
    centres : ndarray
        ``(N, 2)`` 0-based pixel ``(x, y)``.
    jacobian : ndarray
        ``(N, 2, 2)``: column 0 is the pixel step of one arcsecond towards the frame's
        east, column 1 towards its north.
    """
    from astropy import units as u

    step = _STEP_ARCSEC * u.arcsec
    centres = world_to_pixel_from(coords, wcs)
    east = world_to_pixel_from(coords.directional_offset_by(90 * u.deg, step), wcs)
    north = world_to_pixel_from(coords.directional_offset_by(0 * u.deg, step), wcs)
    jac = np.stack([east - centres, north - centres], axis=2) / _STEP_ARCSEC
    return centres, jac


def sky_axes_to_pixel(
    jacobian: np.ndarray, width: np.ndarray, height: np.ndarray, angle_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Half-axis pixel vectors of shapes given in the sky (``regions``' convention: full
    ``width`` and ``height`` in arcsec, ``angle`` counter-clockwise from the frame's
    longitude axis, i.e. the width axis points at position angle ``angle - 90``).

    Returns ``(half_width, half_height)``, each ``(N, 2)`` pixel vectors.
    """
    pa = np.deg2rad(np.asarray(angle_deg, float) - 90.0)  # of the width axis, N through E
    w_dir = np.stack([np.sin(pa), np.cos(pa)], axis=1)  # (east, north)
    h_dir = np.stack([np.sin(pa + np.pi / 2), np.cos(pa + np.pi / 2)], axis=1)
    half_w = np.einsum("nij,nj->ni", jacobian, w_dir) * (np.asarray(width, float)[:, None] / 2)
    half_h = np.einsum("nij,nj->ni", jacobian, h_dir) * (np.asarray(height, float)[:, None] / 2)
    return half_w, half_h


def pixel_axes_to_sky(
    jacobian: np.ndarray, half_w: np.ndarray, half_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`sky_axes_to_pixel`: full width, height (arcsec) and angle (deg)."""
    inv = np.linalg.inv(jacobian)
    sky_w = np.einsum("nij,nj->ni", inv, half_w)
    sky_h = np.einsum("nij,nj->ni", inv, half_h)
    pa = np.rad2deg(np.arctan2(sky_w[:, 0], sky_w[:, 1]))
    angle = np.mod(pa + 90.0, 360.0)
    return 2 * np.hypot(*sky_w.T), 2 * np.hypot(*sky_h.T), angle
