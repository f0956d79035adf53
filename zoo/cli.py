"""A recipe's `Config` dataclass becomes its command-line flags, written once for every recipe.

Each dataclass field is one flag: `max_train_samples` -> `--max-train-samples`, with the field's type checked
by argparse, `Literal[...]` fields limited to their choices, `bool` fields as `--name/--no-name`, and the
help text taken from the field's metadata (`flag(default, "help")`). A `PRESETS` class attribute maps a preset
name to overrides; `--preset NAME` applies them first and explicit flags win over the preset.

Example:

```python
@dataclasses.dataclass
class Config(zoo.train.RunConfig):
    units: int = zoo.cli.flag(64, "recurrent units per direction")


config = zoo.cli.parse(Config, ["--units", "128", "--epochs", "2"], prog="recipes.demo")
```
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import sys
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from zoo.errors import RunFinished, ZooError

ConfigT = TypeVar("ConfigT")


def flag(
    default: Any,
    help: str,
    *,
    at_least: float | None = None,
    below: float | None = None,
    signed: bool = False,
    **field_kwargs: Any,
) -> Any:
    """A dataclass field with the help text its flag shows: `units: int = flag(64, "units per layer")`.

    `at_least` and `below` bound its value (each number of a list), checked when the config is made
    (`zoo.config.RunConfig`): `flag(0.1, "dropout rate", below=1.0)` refuses 1.0 and above, and as every
    number a recipe takes, anything negative; `flag(64, "units", at_least=1)` refuses 0. None and
    `None`-valued flags are not checked. `signed=True` lets a number be negative, for the rare flag where
    that means something (a column counted from the end of a line, as Python indexes).
    """
    metadata = {"help": help, "at_least": at_least, "below": below, "signed": signed}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(
            default_factory=lambda: type(default)(default), metadata=metadata, **field_kwargs
        )
    return dataclasses.field(default=default, metadata=metadata, **field_kwargs)


def _bound(config: Any, name: str, bound: str) -> float | None:
    """A field's bound, from the nearest class that declares one: a subclass that only changes a flag's
    default or help keeps the bounds its base gave."""
    for cls in type(config).__mro__:
        field = getattr(cls, "__dataclass_fields__", {}).get(name)
        if field is not None and field.metadata.get(bound) is not None:
            return field.metadata[bound]
    return None


def check_bounds(config: Any) -> None:
    """Raise ValueError naming the flag whose value is outside its `flag(at_least=, below=)` bounds."""
    for field in dataclasses.fields(config):
        at_least, below = _bound(config, field.name, "at_least"), _bound(config, field.name, "below")
        value = getattr(config, field.name)
        for number in value if isinstance(value, (tuple, list)) else (value,):
            if not isinstance(number, (int, float)) or isinstance(number, bool):
                continue
            if at_least is not None and number < at_least:
                raise ValueError(f"{_flag_name(field.name)} must be at least {at_least:g}, got {number:g}")
            if below is not None and number >= below:
                raise ValueError(f"{_flag_name(field.name)} must be in [0, {below:g}), got {number:g}")


def positional(help: str) -> Any:
    """A list field read from the command line's positional arguments (zero or more), e.g. the inputs of
    `predict`: `inputs: list[str] = positional("texts to answer")`."""
    return dataclasses.field(default_factory=list, metadata={"help": help, "positional": True})


def _flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """`int | None` -> (int, True); anything else -> (annotation, False)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0], True
    return annotation, False


def _parse_none(converter: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        return None if text.lower() == "none" else converter(text)

    convert.__name__ = getattr(converter, "__name__", "value")  # argparse names it in errors
    return convert


def _argument(field: dataclasses.Field, annotation: Any) -> dict[str, Any]:
    """argparse keyword arguments for one dataclass field."""
    annotation, optional = _unwrap_optional(annotation)
    kwargs: dict[str, Any] = {"default": argparse.SUPPRESS}
    if annotation is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif typing.get_origin(annotation) is Literal:
        choices = list(typing.get_args(annotation))
        kwargs["choices"] = choices
        kwargs["type"] = type(choices[0])
        kwargs["metavar"] = "{" + ",".join(map(str, choices)) + "}"
    elif typing.get_origin(annotation) in (tuple, list):
        item_type = typing.get_args(annotation)[0]
        kwargs["nargs"] = "+"
        if typing.get_origin(item_type) is Literal:  # several values, each one of the choices
            kwargs["choices"] = list(typing.get_args(item_type))
            kwargs["type"] = type(kwargs["choices"][0])
        else:
            kwargs["type"] = item_type
            kwargs["metavar"] = item_type.__name__.upper()
    elif annotation in (int, float, str):
        kwargs["type"] = annotation
        kwargs["metavar"] = annotation.__name__.upper()
    else:
        raise TypeError(f"zoo.cli cannot make a flag for {field.name}: {annotation!r}")
    if optional and "type" in kwargs:
        kwargs["type"] = _parse_none(kwargs["type"])
    return kwargs


def _default_of(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"Config field {field.name} needs a default: every recipe must run with no flags")


def build_parser(config_cls: type, prog: str | None = None) -> argparse.ArgumentParser:
    """An `argparse.ArgumentParser` with one flag per field of the dataclass `config_cls`."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(sys.modules[config_cls.__module__].__doc__ or "").strip().split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # `--epoch` must not silently mean `--epochs`
    )
    hints = typing.get_type_hints(config_cls)
    presets: dict[str, dict[str, Any]] = getattr(config_cls, "PRESETS", {})
    for field in dataclasses.fields(config_cls):
        if not field.init:
            continue
        if field.metadata.get("positional"):
            help_text = field.metadata.get("help", "")
            parser.add_argument(field.name, nargs="*", default=argparse.SUPPRESS, help=help_text)
            continue
        kwargs = _argument(field, hints[field.name])
        default = _default_of(field)
        help_text = field.metadata.get("help", "")
        if field.name == "preset" and presets:
            kwargs["choices"] = list(presets)
            kwargs["metavar"] = "{" + ",".join(presets) + "}"
            help_text += "; " + "; ".join(
                f"{name}: " + " ".join(f"{_flag_name(k)} {v}" for k, v in overrides.items())
                for name, overrides in presets.items()
            )
        shown_default = "embedded sample" if field.name == "dataset" and default is None else default
        # A help text that already explains its default (e.g. "default: saved_models/<recipe>") keeps it.
        kwargs["help"] = help_text if "default:" in help_text else f"{help_text} (default: {shown_default})"
        parser.add_argument(_flag_name(field.name), dest=field.name, **kwargs)
    return parser


def parse(config_cls: type[ConfigT], argv: Sequence[str] | None = None, prog: str | None = None) -> ConfigT:
    """Parse `argv` (default `sys.argv[1:]`) into an instance of the dataclass `config_cls`.

    Unknown flags, values of the wrong type, values outside a field's choices and values the dataclass's
    `__post_init__` rejects with `ValueError` all exit with status 2 and a message naming the flag.
    """
    parser = build_parser(config_cls, prog)
    positionals = any(field.metadata.get("positional") for field in dataclasses.fields(config_cls))
    # Inputs may come before, between or after the flags: `predict "a text" --output-dir DIR "another"`.
    given = vars(parser.parse_intermixed_args(argv) if positionals else parser.parse_args(argv))
    values: dict[str, Any] = {}
    preset = given.get("preset")
    if preset is not None:
        values.update(getattr(config_cls, "PRESETS", {})[preset])
    values.update(given)
    try:
        return config_cls(**values)
    except ValueError as error:
        parser.error(str(error))
    raise AssertionError("unreachable: parser.error exits")


def run_main(main: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None = None) -> int:
    """Call a recipe's `main(argv)` the way `python -m recipes.X` should: errors a user can fix become one
    line on stderr and exit status 1, an interrupt says how to resume, a run already finished in the
    output folder says so and exits with status 0."""
    try:
        main(argv)
    except RunFinished as finished:
        print(finished)
        return 0
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        if _disk_full(error):
            # An HDF5 file that met a full disk stays open in the library, which retries the write at
            # interpreter exit and crashes the process. Everything worth keeping is on disk already.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        return 1
    except KeyboardInterrupt:
        print(
            "\ninterrupted: run the same command again to resume from the last backup",
            file=sys.stderr,
        )
        return 130
    return 0


def _disk_full(error: BaseException) -> bool:
    cause = error.__cause__
    return isinstance(cause, OSError) and cause.errno == errno.ENOSPC
