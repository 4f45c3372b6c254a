"""The npe2 manifest is valid and every python_name in it imports."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

import napari_clipcap

MANIFEST = Path(napari_clipcap.__file__).parent / "napari.yaml"


def test_every_python_name_imports():
    data = yaml.safe_load(MANIFEST.read_text())
    names = [c["python_name"] for c in data["contributions"]["commands"]]
    assert names
    for name in names:
        module, attr = name.split(":")
        assert callable(getattr(importlib.import_module(module), attr)), name


def test_npe2_validates_manifest():
    from npe2 import PluginManifest

    pm = PluginManifest.from_file(MANIFEST)
    assert pm.name == "napari-clipcap"


def test_plugin_is_discoverable_through_entry_point():
    from npe2 import PluginManager

    pm = PluginManager.instance()
    pm.discover()
    assert "napari-clipcap" in pm._manifests


def test_grounding_dock_is_declared():
    data = yaml.safe_load(MANIFEST.read_text())
    commands = {c["id"]: c["python_name"] for c in data["contributions"]["commands"]}
    widgets = {w["display_name"]: w["command"] for w in data["contributions"]["widgets"]}
    assert commands[widgets["Grounding"]].endswith("grounding.widget:GroundingWidget")
