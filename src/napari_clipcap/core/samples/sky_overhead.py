"""Sample images made offline: a sky image with a WCS and an aerial scene.

:func:`bundled_sky` finds a real sky image that ships inside astropy (a Digitized Sky
Survey image of the globular cluster M13 with its TAN WCS, from SkyView).
:func:`synthetic_sky` makes a star field with a spiral galaxy when that file is absent.
:func:`synthetic_overhead` paints an aerial-photo-like RGB scene: fields, a river,
roads, houses with shadows, trees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["bundled_sky", "sky_wcs_header", "synthetic_overhead", "synthetic_sky"]


def bundled_sky() -> Path | None:
    """Path of astropy's bundled M13 FITS image (300 x 300, DSS), or ``None``."""
    import astropy

    path = Path(astropy.__file__).parent / "io/fits/hdu/compressed/tests/data/m13.fits"
    return path if path.is_file() else None


def sky_wcs_header(ny: int, nx: int, ra: float, dec: float, arcsec: float):
    """An ICRS TAN header centred on ``(ra, dec)`` degrees, north up, east left."""
    from astropy.io import fits

    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRPIX1"], h["CRPIX2"] = (nx + 1) / 2, (ny + 1) / 2
    h["CRVAL1"], h["CRVAL2"] = ra, dec
    h["CDELT1"], h["CDELT2"] = -arcsec / 3600, arcsec / 3600
    h["CUNIT1"], h["CUNIT2"] = "deg", "deg"
    h["RADESYS"], h["EQUINOX"] = "ICRS", 2000.0
    return h


def _moffat(img: np.ndarray, y, x, flux, fwhm=3.0, beta=2.5):
    ny, nx = img.shape
    r = int(6 * fwhm)
    y0, y1 = max(0, int(y) - r), min(ny, int(y) + r + 1)
    x0, x1 = max(0, int(x) - r), min(nx, int(x) + r + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
    prof = (1 + ((yy - y) ** 2 + (xx - x) ** 2) / alpha**2) ** -beta
    img[y0:y1, x0:x1] += flux * prof * (beta - 1) / (np.pi * alpha**2)


def synthetic_sky(size: int = 512, seed: int = 0):
    """A float32 star field with a spiral galaxy, noise and a NaN edge, and its header.

    Returns
    -------
    data : ndarray
        ``(size, size)`` float32 counts: sky ~1000, Poisson-like noise, a few hundred
        stars with power-law fluxes (some saturating), a face-on two-armed spiral and
        small background galaxies; the first 6 columns are NaN (a dither edge).
    header : astropy.io.fits.Header
        TAN WCS near M51 with 0.5 arcsec pixels, plus ``OBJECT`` and ``BUNIT``.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = 1000 + 40 * (xx / size) + 25 * (yy / size)
    # spiral galaxy: bulge + exponential disk with two logarithmic arms
    cy, cx = 0.55 * size, 0.45 * size
    dy, dx = (yy - cy), (xx - cx) / 0.8
    r = np.hypot(dy, dx) + 1e-3
    theta = np.arctan2(dy, dx)
    arms = 1 + 0.8 * np.cos(2 * (theta - 2.2 * np.log(r / 6)))
    scale = size / 18
    img += 2500 * np.exp(-r / scale) * arms + 9000 * np.exp(-((r / (scale / 4)) ** 0.5) * 3)
    for _ in range(12):  # small background galaxies
        gy, gx = rng.uniform(0, size, 2)
        q, ang, rad = rng.uniform(0.3, 1), rng.uniform(0, np.pi), rng.uniform(2, 6)
        u = (xx - gx) * np.cos(ang) + (yy - gy) * np.sin(ang)
        v = (-(xx - gx) * np.sin(ang) + (yy - gy) * np.cos(ang)) / q
        img += rng.uniform(80, 400) * np.exp(-np.hypot(u, v) / rad)
    n_stars = size * size // 900
    flux = 2e3 * (rng.pareto(1.3, n_stars) + 1)
    for y, x, f in zip(*rng.uniform(0, size, (2, n_stars)), flux):
        _moffat(img, y, x, f)
    img = rng.normal(img, np.sqrt(img)).astype(np.float32)
    img = np.minimum(img, 60000, dtype=np.float32)  # saturation
    img[:, :6] = np.nan
    from astropy.io import fits

    header = fits.PrimaryHDU(img).header  # SIMPLE, BITPIX, NAXIS...
    header.update(sky_wcs_header(size, size, ra=202.4696, dec=47.1952, arcsec=0.5))
    header["OBJECT"], header["BUNIT"] = "synthetic field (M51-like spiral)", "count"
    return img, header


def _fill_polygon(img: np.ndarray, rows, cols, colour) -> None:
    from skimage.draw import polygon

    rr, cc = polygon(rows, cols, img.shape[:2])
    img[rr, cc] = colour


def synthetic_overhead(size: int = 512, seed: int = 0) -> np.ndarray:
    """An aerial-photo-like uint8 RGB scene ``(size, size, 3)``.

    Field parcels in greens and browns with furrows, a meandering river with banks,
    a forest patch, a grid of roads with a village of houses (roofs and shadows), and
    scattered trees.
    """
    from skimage.draw import disk, line

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    img = np.zeros((size, size, 3), np.float32)
    # fields: Voronoi-like parcels, each with a crop colour and row direction
    palette = np.array(
        [
            [96, 128, 58],
            [130, 150, 70],
            [170, 150, 95],
            [120, 100, 70],
            [80, 112, 50],
            [190, 175, 110],
        ],
        np.float32,
    )
    seeds = rng.uniform(0, size, (24, 2))
    dist = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    parcel = dist.argmin(-1)
    colours = palette[rng.integers(0, len(palette), 24)]
    angle = rng.uniform(0, np.pi, 24)[parcel]
    furrows = 1 + 0.08 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 0.9)
    img[:] = colours[parcel] * furrows[..., None]
    # forest patch: dark, blotchy green
    forest = np.hypot((yy - 0.8 * size) / 1.4, xx - 0.82 * size) < 0.16 * size
    canopy = 1 + 0.25 * rng.standard_normal((size, size))
    img[forest] = np.array([40, 70, 35], np.float32) * canopy[forest, None]
    # river: a meandering band with lighter banks
    centre = (
        0.3 * size + 0.08 * size * np.sin(yy / size * 7) + 0.03 * size * np.sin(yy / size * 19)
    )
    off = np.abs(xx - centre)
    img[off < 14] = [150, 140, 110]
    img[off < 10] = [45, 70, 85]
    # roads: a grid of grey roads with a centre line; a village at a crossing
    for pos in (int(0.55 * size), int(0.78 * size)):
        img[pos - 5 : pos + 5, :] = [115, 115, 112]
        img[:, pos - 5 : pos + 5] = [115, 115, 112]
        img[pos, ::12] = img[::12, pos] = [230, 230, 220]
    rr, cc = line(0, int(0.1 * size), size - 1, int(0.62 * size))
    for d in range(-3, 4):
        ok = (cc + d >= 0) & (cc + d < size)
        img[rr[ok], cc[ok] + d] = [125, 120, 115]
    roofs = np.array([[170, 70, 55], [140, 60, 50], [200, 195, 185], [90, 90, 95]], np.float32)
    for _ in range(45):
        cy = int(rng.normal(0.55 * size, 0.07 * size))
        cx = int(rng.normal(0.55 * size, 0.07 * size))
        h, w = rng.integers(8, 16, 2)
        if abs(cy - 0.55 * size) < 12 or abs(cx - 0.55 * size) < 12:
            continue  # not on the road
        corners_r = [cy, cy, cy + h, cy + h]
        corners_c = [cx, cx + w, cx + w, cx]
        _fill_polygon(img, [r + 3 for r in corners_r], [c + 3 for c in corners_c], [50, 55, 45])
        _fill_polygon(img, corners_r, corners_c, roofs[rng.integers(0, len(roofs))])
        img[cy : cy + h, cx + w // 2] *= 0.8  # roof ridge
    for _ in range(140):  # scattered trees with shadows
        ty, tx = rng.uniform(0, size, 2)
        rad = rng.uniform(3, 6)
        sr, sc = disk((ty + 2, tx + 2), rad, shape=(size, size))
        img[sr, sc] *= 0.55
        tr, tc = disk((ty, tx), rad, shape=(size, size))
        img[tr, tc] = np.array([45, 85, 40], np.float32) * rng.uniform(0.8, 1.2)
    img *= 1 + 0.04 * rng.standard_normal((size, size, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)
