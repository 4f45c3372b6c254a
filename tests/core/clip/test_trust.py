"""Loading a CLIP never runs code from the model's files, whatever its config says.

Each entry point gets a config whose tokenizer folder holds Python that writes a marker
file when imported (``auto_map`` + ``tokenizer_kwargs: {trust_remote_code: true}``):
loading must fail with one clear message, and the marker must never appear."""

from __future__ import annotations

import copy
import json
import uuid

import numpy as np
import pytest

from fixtures.clip_models import TINY_CLIP_CONFIG
from napari_clipcap.core.clip.model import load_clip
from napari_clipcap.core.clip.trust import check_config, remote_code_keys
from napari_clipcap.core.errors import CheckpointFormatError

_EVIL = """
import pathlib
pathlib.Path({marker!r}).write_text("code from the model's files ran")
from transformers import PreTrainedTokenizerFast


class EvilTokenizer(PreTrainedTokenizerFast):
    pass
"""


def _evil_tokenizer(folder, marker):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evil.py").write_text(_EVIL.format(marker=str(marker)))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "EvilTokenizer",
                "auto_map": {"AutoTokenizer": ["evil.EvilTokenizer", None]},
            }
        )
    )
    return folder


def _evil_config(tokenizer_folder, **text_extra):
    cfg = copy.deepcopy(TINY_CLIP_CONFIG)
    cfg["text_cfg"]["hf_tokenizer_name"] = str(tokenizer_folder)
    cfg["text_cfg"]["tokenizer_kwargs"] = {"trust_remote_code": True}
    cfg["text_cfg"].update(text_extra)
    return cfg


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "code from the model's files ran"


@pytest.fixture
def evil_json(tmp_path, marker):
    tok = _evil_tokenizer(tmp_path / "tok", marker)
    path = tmp_path / f"evil-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(_evil_config(tok)))
    return path


@pytest.fixture
def evil_folder(tmp_path, marker):
    folder = _evil_tokenizer(tmp_path / "evil-model", marker)
    config = {"model_cfg": _evil_config(folder), "preprocess_cfg": {}}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    return folder


def _refused(excinfo):
    msg = str(excinfo.value)
    assert "refused" in msg and "trust_remote_code" in msg and "run Python" in msg


def test_a_json_config_asking_for_remote_code_is_refused(evil_json, marker):
    with pytest.raises(CheckpointFormatError) as excinfo:
        load_clip(str(evil_json), None, "cpu")
    _refused(excinfo)
    assert "text_cfg.tokenizer_kwargs.trust_remote_code" in str(excinfo.value)


def test_a_model_folder_asking_for_remote_code_is_refused(evil_folder, marker):
    with pytest.raises(CheckpointFormatError) as excinfo:
        load_clip(str(evil_folder), None, "cpu")
    _refused(excinfo)


def test_the_model_recorded_in_a_collection_is_refused(tmp_path, evil_json, marker, capsys):
    from napari_clipcap.cli import main
    from napari_clipcap.core.collection.store import Collection

    with Collection(tmp_path / "col", create=True) as col:
        col.bind_model("evil", str(evil_json), None)
    with Collection(tmp_path / "col") as col:
        with pytest.raises(CheckpointFormatError) as excinfo:
            load_clip(*col.model_spec, device="cpu")
    _refused(excinfo)
    # the command line reads the model from the collection: one message, exit code 2
    argv = ["search", "--index", str(tmp_path / "col"), "--text", "river", "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "Traceback" not in err


def test_a_batch_run_with_such_a_model_is_refused(tmp_path, evil_json, marker):
    from PIL import Image

    from napari_clipcap.core.batch.chunks import BatchSpec
    from napari_clipcap.core.batch.runner import run_batch

    image = tmp_path / "images" / "a.png"
    image.parent.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(image)
    spec = BatchSpec("embed", clip_model=str(evil_json), clip_weights=None, device="cpu")
    with pytest.raises(CheckpointFormatError) as excinfo:
        run_batch([image.parent], spec, tmp_path / "out")
    _refused(excinfo)


def test_a_clean_config_naming_a_code_tokenizer_folder_is_refused(tmp_path, marker):
    tok = _evil_tokenizer(tmp_path / "tok", marker)
    cfg = copy.deepcopy(TINY_CLIP_CONFIG)
    cfg["text_cfg"]["hf_tokenizer_name"] = str(tok)
    path = tmp_path / f"quiet-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointFormatError, match="auto_map") as excinfo:
        load_clip(str(path), None, "cpu")
    assert "tokenizer_config.json" in str(excinfo.value)


def test_a_transformers_folder_with_auto_map_is_refused(tmp_path, tiny_clip_files, marker):
    import shutil

    folder = tmp_path / "hf"
    shutil.copytree(tiny_clip_files.hf_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointFormatError, match="auto_map"):
        load_clip(str(folder), None, "cpu")


@pytest.mark.parametrize(
    ("config", "found"),
    [
        ({"trust_remote_code": True}, ["trust_remote_code"]),
        ({"a": {"b": [{"trust_remote_code": 1}]}}, ["a.b[0].trust_remote_code"]),
        ({"text_cfg": {"auto_map": {}}}, ["text_cfg.auto_map"]),
        ({"model_cfg": {"code_revision": "x"}}, ["model_cfg.code_revision"]),
        ({"trust_remote_code": False, "x": [1, "auto_map"]}, []),
    ],
)
def test_remote_code_keys_are_found_anywhere(config, found):
    assert list(remote_code_keys(config)) == found


def test_check_config_accepts_the_tiny_config():
    check_config(TINY_CLIP_CONFIG, "tiny")
