"""``segment`` and ``ground`` read their tiles from the lazy model input (issue 21 item 15).

Each tile is read and scaled when it is run: the results equal those of the whole image
scaled at once (the eager path), and no whole-image scaled copy is ever made.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from astropy.io import fits

from fixtures.scripted_segmenter import BlobSegmenter
from napari_clipcap.core.captioning.florence2.tasks import detect_phrases, ground_caption
from napari_clipcap.core.io.images import read_image
from napari_clipcap.core.scaling.lazy_input import ModelInputView
from napari_clipcap.core.segmentation.tiling import segment_tiles
from napari_clipcap.core.tasks.requests import GroundRequest, ImageInput
from napari_clipcap.core.tasks.segment import SegmentRequest
from napari_clipcap.core.tasks.validity import file_valid_mask

H, W, TILE, OVERLAP = 80, 112, 48, 16


def _scene() -> np.ndarray:
    """Noise with two bright blobs, one across tile edges."""
    rng = np.random.default_rng(5)
    img = rng.normal(100.0, 5.0, (H, W))
    yy, xx = np.mgrid[:H, :W]
    img[(yy - 40) ** 2 + (xx - 40) ** 2 < 12**2] += 400.0
    img[(yy - 20) ** 2 + (xx - 90) ** 2 < 8**2] += 300.0
    return img


@pytest.fixture(params=["fits", "tiff"])
def scene_file(request, tmp_path):
    """A float FITS with a NaN patch, or an uncompressed uint16 TIFF."""
    img = _scene()
    if request.param == "fits":
        data = img.astype(">f4")
        data[70:, :10] = np.nan
        path = tmp_path / "scene.fits"
        fits.PrimaryHDU(data).writeto(path)
    else:
        path = tmp_path / "scene.tif"
        tifffile.imwrite(path, (img * 100).astype(np.uint16))
    return str(path)


class _RecordingSegmenter(BlobSegmenter):
    """The blob segmenter, keeping a copy of every tile it is given."""

    def __init__(self, tile_size: int = TILE):
        super().__init__(tile_size)
        self.tiles: list[np.ndarray] = []

    def segment(self, tile, phrases, **options):
        self.tiles.append(np.array(tile, copy=True))
        return super().segment(tile, phrases, **options)


class _ScriptedFlorence:
    """Answers, per tile and task, one box around the tile's brightest pixel."""

    name = "florence2:scripted"

    def __init__(self):
        self.crops: list[np.ndarray] = []

    def locate(self, images, tasks, **options):
        out = []
        for crop in images:
            self.crops.append(np.array(crop, copy=True))
            h, w = crop.shape[:2]
            y, x = np.unravel_index(int(np.argmax(crop.sum(axis=2))), (h, w))
            bins = [x * 999 // w, y * 999 // h, min(999, (x + 4) * 999 // w), 999]
            out.append([("a blob", np.array([bins]))])
        return out


class _ScaleSpy:
    """Records the shape of every block a lazy model input scales."""

    def __init__(self, monkeypatch):
        self.blocks: list[tuple[int, ...]] = []
        scale = ModelInputView.scale

        def spied(view, block):
            self.blocks.append(np.shape(block)[:2])
            return scale(view, block)

        monkeypatch.setattr(ModelInputView, "scale", spied)

    def check_tiles_only(self, tiles: int) -> None:
        assert len(self.blocks) == tiles  # one scaling per tile: the lazy path ran
        assert max(h * w for h, w in self.blocks) <= TILE * TILE  # never the whole image


def _same_instances(got, want) -> None:
    assert len(got) == len(want) > 0
    for a, b in zip(got, want):
        assert a.box == b.box and a.score == b.score and a.phrase == b.phrase
        assert a.tiles == b.tiles and np.array_equal(a.mask, b.mask)


def test_segment_tiles_from_the_lazy_input_equal_the_eager_path(scene_file, monkeypatch):
    eager = read_image(scene_file)
    reference = _RecordingSegmenter()
    want = segment_tiles(
        reference, eager.data, ["blob"], tile=TILE, overlap=OVERLAP,
        valid=file_valid_mask(eager),
    )  # fmt: skip
    spy = _ScaleSpy(monkeypatch)
    lazy = _RecordingSegmenter()
    request = SegmentRequest(ImageInput.of(scene_file), ("blob",), tile=TILE, overlap=OVERLAP)
    result = request.run(segmenter=lazy)
    spy.check_tiles_only(len(reference.tiles))
    assert len(lazy.tiles) == len(reference.tiles) == 6
    for a, b in zip(lazy.tiles, reference.tiles):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    _same_instances(result.instances, want)
    assert result.labels.shape == (H, W)


def test_segment_areas_read_only_their_windows(scene_file, monkeypatch):
    spy = _ScaleSpy(monkeypatch)
    segmenter = _RecordingSegmenter()
    request = SegmentRequest(
        ImageInput.of(scene_file), ("blob",), tile=TILE, overlap=OVERLAP,
        regions=((20, 20, 60, 60),),
    )  # fmt: skip
    result = request.run(segmenter=segmenter)
    assert spy.blocks == [(40, 40)]
    eager = read_image(scene_file).data
    assert np.array_equal(segmenter.tiles[0], eager[20:60, 20:60])
    assert result.instances and all(i.tiles == [(20, 20, 60, 60)] for i in result.instances)


def test_a_lazy_input_given_as_pixels_stays_lazy(scene_file):
    view = read_image(scene_file, lazy=True).data
    given = ImageInput(path=None, name="x", pixels=lambda: (view, None))
    assert given.load(lazy=True).data is view
    assert isinstance(given.load().data, np.ndarray)


@pytest.mark.parametrize("mode", ["phrases", "caption"])
def test_ground_tiles_from_the_lazy_input_equal_the_eager_path(scene_file, monkeypatch, mode):
    eager = read_image(scene_file).data
    options = {"tile": TILE, "overlap": OVERLAP}
    reference = _ScriptedFlorence()
    if mode == "phrases":
        want = detect_phrases(reference, eager, "blobs, stars", **options)
        asked = {"phrases": "blobs, stars"}
    else:
        want = ground_caption(reference, eager, "a blob", **options)
        asked = {"caption": "a blob"}
    spy = _ScaleSpy(monkeypatch)
    lazy = _ScriptedFlorence()
    result = GroundRequest(ImageInput.of(scene_file), **asked, **options).run(model=lazy)
    spy.check_tiles_only(result.data["tiles"])
    assert len(lazy.crops) == len(reference.crops) > 0
    for a, b in zip(lazy.crops, reference.crops):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    got = result.extra["detections"]
    assert [d.as_dict() for d in got] == [d.as_dict() for d in want] and got


def test_ground_with_the_tiny_florence2_equals_the_eager_path(florence2_dir, scene_file):
    from napari_clipcap.core.captioning.florence2.captioner import build_florence2

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_florence2(florence2_dir, "cpu")
        lazy = read_image(scene_file, lazy=True).data
        eager = np.asarray(lazy)  # the whole image scaled at once
        options = {"tile": 64, "overlap": 16, "max_tokens": 8, "beam_size": 1}
        want = detect_phrases(model, eager, "blobs", **options)
        got = detect_phrases(model, lazy, "blobs", **options)
    finally:
        torch.set_num_threads(threads)
    assert [d.as_dict() for d in got] == [d.as_dict() for d in want] and got
