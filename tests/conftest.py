"""Shared fixtures. Real datasets come from $ZOO_DATA_DIR (CI sets it to ../shared/data).

The suite runs on pytest-xdist workers (`-n` in setup.cfg) with `--dist loadfile`: each test module goes
whole to one worker, so a module's `trained` fixture (one short training run its tests share) is built
once. (With `--dist loadgroup` and the sharing tests grouped, a worker still tore the module fixture down
between them and trained it again, three times for the NER module.)
"""

from __future__ import annotations

import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture
def shared_data():
    """Return a function `name -> Path` of a real dataset under $ZOO_DATA_DIR.

    Skips when ZOO_DATA_DIR is unset (a user without the data); fails when it is set but the dataset is
    missing, so CI can never pass by silently skipping.
    """

    def get(name: str) -> pathlib.Path:
        root = os.environ.get("ZOO_DATA_DIR")
        if not root:
            pytest.skip("ZOO_DATA_DIR is not set; real-data tests need it")
        path = pathlib.Path(root) / name
        if not path.exists():
            pytest.fail(f"ZOO_DATA_DIR={root} has no {name}/")
        return path

    return get
