"""Deferred imports for `--help`: a module is created at import but executed only when one of its
attributes is first read.

A recipe module imports TensorFlow, Keras and the zoo's layers at the top, as a tutorial should, and
defines its `Config` from the light `zoo.config`. Printing its help reads only `Config`, so under
`defer_imports()` every other module the recipe imports is bound without being executed (as
`importlib.util.LazyLoader` does). Unlike `LazyLoader`, a deferred package answers the import system's
own questions (`__path__`, `__spec__`, ...) without executing, so importing `zoo.data.corpora` does not
run `zoo/data/__init__.py`. Anything that does read a deferred module's attribute gets the real module,
executed at that moment, so a wrong guess costs time, never correctness.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

# Modules `--help` runs for real: what builds the parser, and the recipes themselves.
EXECUTED = ("zoo", "zoo.cli", "zoo.config", "zoo.errors", "zoo.predict", "recipes")
# Attributes the import system reads from a parent package or a module it binds.
_IMPORT_ATTRIBUTES = frozenset(
    {"__path__", "__spec__", "__name__", "__loader__", "__package__", "__file__", "__class__", "__dict__"}
)


class _DeferredModule(types.ModuleType):
    def __getattribute__(self, name: str):
        if name in _IMPORT_ATTRIBUTES:
            return object.__getattribute__(self, name)
        submodule = sys.modules.get(f"{object.__getattribute__(self, '__name__')}.{name}")
        if submodule is not None:  # `import zoo.data.characters as c` reads `characters` from zoo.data
            return submodule
        _execute(self)
        return getattr(self, name)


def _execute(module: types.ModuleType) -> None:
    # Deferral ends at the first module that is really needed: a package executed out of its usual order
    # can break its own circular imports, so from here on everything imports as usual.
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _DeferringFinder)]
    object.__setattr__(module, "__class__", types.ModuleType)
    spec = module.__spec__
    spec.loader = spec.loader_state  # the real loader
    spec.loader.exec_module(module)


class _DeferringLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        module.__class__ = _DeferredModule


class _DeferringFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or name in EXECUTED or top == "recipes":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec  # extension modules and namespace packages import as usual
        spec.loader_state = spec.loader
        spec.loader = _DeferringLoader()
        return spec


def defer_imports() -> None:
    """From now on, modules outside the standard library and `EXECUTED` execute on first use."""
    if not any(isinstance(finder, _DeferringFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeferringFinder())
