"""Every `>>>` example in the docstrings of `zoo` and `recipes` runs and prints what it shows.

Each docstring runs with empty globals, as it would for a reader who pastes it into a fresh interpreter:
an example imports what it uses, and a name the module happens to import is no help. Examples that need
a dataset on disk are marked `# doctest: +SKIP`; everything else uses tiny shapes and at most one
training step, so the whole file takes seconds. Code in Markdown fences (```python) is prose, not run.
`python -m pytest --doctest-modules zoo recipes` runs the same examples with each module's globals added,
and passes too.
"""

from __future__ import annotations

import doctest
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("zoo", "recipes", "benchmarks")


def _module_names() -> list[str]:
    """Dotted names of the modules whose source holds an example (the others are not imported)."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ">>>" in path.read_text(encoding="utf-8"):
                names.append(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"))
    return names


def _docstring_tests() -> list:
    finder = doctest.DocTestFinder()
    tests = []
    for name in _module_names():
        for test in finder.find(importlib.import_module(name), globs={}):
            if test.examples:
                tests.append(pytest.param(test, id=test.name))
    return tests


def test_every_module_with_an_example_is_found():
    assert {"zoo.layers.crf", "zoo.text.normalization", "zoo.captioning", "zoo.decoding"} <= set(
        _module_names()
    )


@pytest.mark.parametrize("test", _docstring_tests())
def test_docstring_example(test: doctest.DocTest):
    report: list[str] = []
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test, out=report.append)
    if result.attempted == 0:
        pytest.skip("every example is marked +SKIP (it reads a dataset on disk)")
    assert result.failed == 0, "".join(report)
