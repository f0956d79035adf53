"""Shared fixtures. Real datasets come from $ZOO_DATA_DIR (CI sets it to ../shared/data).

The suite runs on pytest-xdist workers (`-n` in setup.cfg) with `--dist loadgroup`: each test goes to
whichever worker is free, except that the tests of a module that share its `trained` fixture (one short
training run) stay together on one worker, so that run happens once.
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


def pytest_collection_modifyitems(items):
    for item in items:
        if "trained" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
