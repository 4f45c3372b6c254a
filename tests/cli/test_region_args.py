"""``--region`` with negative coordinates parses as a value in every command."""

from __future__ import annotations

import pytest

from napari_clipcap.cli import build_parser

# the arguments each command needs besides --region
REQUIRED = {
    "caption": ["a.png"],
    "labels": ["a.png", "--labels", "x,y"],
    "batch": ["in", "--task", "labels", "--out", "o"],
    "search": ["--index", "col", "--image", "a.png"],
}


def _regions(command: str, *region_args: str):
    args = build_parser().parse_args([command, *REQUIRED[command], *region_args])
    return args.region if isinstance(args.region, list) else [args.region]


@pytest.mark.parametrize("command", sorted(REQUIRED))
@pytest.mark.parametrize(
    "region_args",
    [
        ["--region", "-5,0,10,10"],
        ["--region=-5,0,10,10"],
        ["--region", "-5.5,-2,10,10"],
        ["--region", "-.5,0,10,10"],
    ],
)
def test_negative_region_is_a_value(command, region_args):
    assert _regions(command, *region_args) == [region_args[-1].removeprefix("--region=")]


@pytest.mark.parametrize("command", sorted(REQUIRED))
def test_negative_region_before_other_options(command):
    argv = [command, *REQUIRED[command], "--region", "-5,-5,10,10", "--json"]
    args = build_parser().parse_args(argv)
    assert args.json is True
    assert args.region in ("-5,-5,10,10", ["-5,-5,10,10"])


@pytest.mark.parametrize("command", ["caption", "labels"])
def test_several_regions_after_one_flag(command):
    got = _regions(command, "--region", "0,0,5,5", "-5,0,10,10", "--region", "-1,-1,2,2")
    assert got == ["0,0,5,5", "-5,0,10,10", "-1,-1,2,2"]


def test_batch_repeats_the_flag():
    got = _regions("batch", "--region", "-5,0,10,10", "--region=-1,-1,2,2", "--region", "1,1,3,3")
    assert got == ["-5,0,10,10", "-1,-1,2,2", "1,1,3,3"]


def test_search_takes_one_region():
    # a second box after the one --region takes is not silently swallowed
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            [*["search", *REQUIRED["search"]], "--region", "0,0,5,5", "-5,0,9,9"]
        )


def test_unknown_dash_options_are_still_errors(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["caption", "a.png", "--regoin", "1,2,3,4"])
    assert "unrecognized arguments: --regoin" in capsys.readouterr().err
