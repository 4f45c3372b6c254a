"""The flags of how an image file becomes a model's input, shared by every image task.

This module imports no other module of the command line, so every one of them may use it.
"""

from __future__ import annotations

import argparse


def add_scaling_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``input scaling`` group: ``--domain``, ``--interval``, ``--stretch``, ``--hdu``."""
    s = parser.add_argument_group("input scaling")
    s.add_argument("--domain", default=None, help="astronomy, satellite or photo")
    s.add_argument("--interval", default=None, help="e.g. zscale, minmax, percentile")
    s.add_argument("--stretch", default=None, help="e.g. asinh, linear, log, sqrt")
    s.add_argument("--hdu", default=None, help="FITS HDU index or name")
