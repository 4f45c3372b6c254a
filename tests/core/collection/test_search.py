"""Text, image and region queries on a small generated collection."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.collection_data import ColourEncoder, colour_image, make_image_folder
from napari_clipcap.core.collection.indexing import index_paths
from napari_clipcap.core.collection.search import region_query, search_image, search_text
from napari_clipcap.core.collection.store import Collection, ModelMismatchError
from napari_clipcap.core.errors import InvalidInputError


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    folder = make_image_folder(root / "images")
    index_paths(root / "col", [folder], ColourEncoder(), model="m", weights="w")
    return root / "col"


def _colour(hit):
    return hit.item.path.rsplit("/", 1)[-1].split("_")[0]


@pytest.mark.parametrize("word", ["red", "green", "blue", "yellow"])
def test_text_query_ranks_matching_images_first(collection, word):
    hits = search_text(collection, f"something {word}", ColourEncoder(), k=3)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert [_colour(h) for h in hits[:2]] == [word, word]
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert hits[0].to_dict()["path"].endswith(".png")


def test_template_is_applied(collection):
    enc = ColourEncoder()
    seen = []
    enc.encode_texts = lambda texts, **kw: (
        seen.extend(texts) or ColourEncoder().encode_texts(texts)
    )
    search_text(collection, "red", enc, k=1, template="a photo of {}")
    assert seen == ["a photo of red"]


def test_image_query_and_region_query(collection):
    blue = colour_image("blue", seed=5).astype(np.float32) / 255
    hits = search_image(collection, blue, ColourEncoder(), k=2)
    assert [_colour(h) for h in hits] == ["blue", "blue"]
    # left half yellow, right half green: the region picks the colour
    two = np.concatenate([colour_image("yellow"), colour_image("green")], axis=1) / 255.0
    hits = search_image(collection, two, ColourEncoder(), k=2, region=(24, 0, 48, 24))
    assert [_colour(h) for h in hits] == ["green", "green"]
    hits = search_image(collection, two, ColourEncoder(), k=2, region=(0, 0, 24, 24))
    assert [_colour(h) for h in hits] == ["yellow", "yellow"]


def test_k_larger_than_collection_returns_everything_once(collection):
    hits = search_text(collection, "grey", ColourEncoder(), k=100)
    assert len(hits) == 12
    assert len({(h.item.path, h.item.hdu) for h in hits}) == 12


def test_fits_hdus_are_separate_hits(collection):
    with Collection(collection) as col:
        sci = next(it for it in col.items() if it.hdu == 1)
        ids, vecs = col.vectors()
        top = col.search(vecs[list(ids).index(sci.id)], k=1)[0][0]
    assert top[0].hdu == 1 and top[0].path.endswith("sky.fits") and top[1] == pytest.approx(1)


def test_other_encoder_and_bad_queries_are_refused(collection):
    with pytest.raises(ModelMismatchError, match="colour-z"):
        search_text(collection, "red", ColourEncoder("colour-z"), k=3)
    with pytest.raises(InvalidInputError, match="empty"):
        search_text(collection, "  ", ColourEncoder())
    with pytest.raises(InvalidInputError, match="empty"):
        region_query(np.zeros((10, 10, 3)), (5, 5, 5, 9))
    with pytest.raises(InvalidInputError, match="k must be positive"):
        search_text(collection, "red", ColourEncoder(), k=0)
    with pytest.raises(ModelMismatchError, match="8-d"):
        Collection(collection).search(np.ones((1, 8)), k=1)


def test_public_api_names():
    import napari_clipcap
    from napari_clipcap.core.batch.runner import run_batch

    assert napari_clipcap.search_text is search_text
    assert napari_clipcap.search_image is search_image
    assert napari_clipcap.index_paths is index_paths
    assert napari_clipcap.Collection is Collection and napari_clipcap.run_batch is run_batch


def test_a_search_by_pixels_has_no_command_and_says_why():
    from napari_clipcap.core.collection.requests import SearchRequest
    from napari_clipcap.core.tasks.requests.base import ImageInput, command_of

    pixels = ImageInput(name="sketch", pixels=lambda: (np.zeros((8, 8, 3), np.float32), None))
    request = SearchRequest(index="col", layer=pixels)
    assert "not read from a file" in request.why_no_command()
    assert command_of(request) is None
    with pytest.raises(InvalidInputError, match="no command"):
        request.to_argv()
    with pytest.raises(InvalidInputError, match="one query"):
        SearchRequest(index="col", text="red", layer=pixels)
