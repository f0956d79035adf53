import dataclasses
import subprocess
import sys
from typing import ClassVar, Literal

import pytest

import zoo.cli
from zoo.cli import flag
from zoo.errors import DataFormatError
from zoo.train import RunConfig


@dataclasses.dataclass
class DemoConfig(RunConfig):
    cell: Literal["lstm", "gru"] = flag("gru", "recurrent cell")
    rate: float = flag(0.1, "a rate", below=1.0)
    sizes: tuple[int, ...] = flag((1, 2), "layer sizes", at_least=1)
    PRESETS: ClassVar[dict] = {"big": {"epochs": 7, "cell": "lstm"}}


def parse(*argv):
    return zoo.cli.parse(DemoConfig, list(argv), prog="demo")


def test_defaults_need_no_flags():
    assert parse() == DemoConfig()


def test_flags_are_typed_and_hyphenated():
    config = parse("--epochs", "2", "--max-train-samples", "10", "--rate", "0.5", "--cell", "lstm")
    assert (config.epochs, config.max_train_samples, config.rate, config.cell) == (
        2,
        10,
        0.5,
        "lstm",
    )
    assert parse("--sizes", "3", "4", "5").sizes == [3, 4, 5]
    assert parse("--max-train-samples", "none").max_train_samples is None


def test_no_export_switches_export_off():
    assert parse("--no-export").export is False
    assert parse().export is True


def test_preset_applies_and_explicit_flags_win():
    assert (parse("--preset", "big").epochs, parse("--preset", "big").cell) == (7, "lstm")
    assert parse("--preset", "big", "--epochs", "2").epochs == 2
    assert parse("--epochs", "2", "--preset", "big").epochs == 2  # order does not matter


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--epoch", "3"], "unrecognized arguments: --epoch"),  # no silent abbreviation
        (["--epochs", "three"], "argument --epochs: invalid int value: 'three'"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--rate", "1"], "--rate must be in [0, 1), got 1"),
        (["--rate", "-0.1"], "--rate must be a finite number >= 0"),
        (["--sizes", "3", "0"], "--sizes must be at least 1, got 0"),
        (["--cell", "tcn"], "argument --cell: invalid choice: 'tcn'"),
        (["--strategy", "tpu"], "argument --strategy: invalid choice: 'tpu'"),
        (["--preset", "huge"], "argument --preset: invalid choice: 'huge'"),
    ],
)
def test_bad_flags_are_refused_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@dataclasses.dataclass
class NewDefault(DemoConfig):
    rate: float = flag(0.5, "a rate with another default")


def test_a_subclass_changing_a_flags_default_keeps_its_bounds():
    assert NewDefault().rate == 0.5
    with pytest.raises(ValueError, match="--rate must be in"):
        NewDefault(rate=1.5)
    assert DemoConfig(rate=0.99).rate == 0.99


def test_help_lists_every_flag_with_default_and_help():
    help_text = zoo.cli.build_parser(DemoConfig, "demo").format_help()
    for field in dataclasses.fields(DemoConfig):
        assert "--" + field.name.replace("_", "-") in help_text
    assert "recurrent cell (default: gru)" in help_text
    assert "big: --epochs 7 --cell lstm" in help_text  # presets say what they set


def test_run_main_turns_user_errors_into_one_line(capsys):
    def main(argv):
        raise DataFormatError("reviews.tsv", 7, "label must be 0 or 1, got 'x'")

    assert zoo.cli.run_main(main, []) == 1
    assert capsys.readouterr().err == "error: reviews.tsv:7: label must be 0 or 1, got 'x'\n"


def test_recipe_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "recipes.sentiment", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for name in (
        "--dataset",
        "--data-dir",
        "--epochs",
        "--batch-size",
        "--seed",
        "--output-dir",
        "--max-train-samples",
        "--preset",
        "--strategy",
        "--no-export",
        "--cell",
    ):
        assert name in result.stdout
    assert "(default: embedded sample)" in result.stdout


RECIPES = ("sentiment", "ner", "translation", "transformer", "speech_ctc", "captioning", "char_lm",
           "word2vec", "cells")  # fmt: skip
COMMANDS = [[name] for name in RECIPES] + [["sentiment", "predict"], ["char_lm", "generate"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_answers_without_running_tensorflow(command):
    """`--help` builds its parser from the light config modules: TensorFlow and Keras are imported but
    never executed (`recipes._deferred`), and the text is the one a full import prints."""
    deferred = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", f"recipes.{command[0]}", *command[1:], "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deferred.returncode == 0, deferred.stderr
    assert deferred.stdout.startswith(f"usage: python -m recipes.{' '.join(command)}")
    executed = {line.rsplit("|", 1)[-1].strip() for line in deferred.stderr.splitlines() if "|" in line}
    assert not {"tensorflow.python", "keras.src", "sklearn.base"} & executed
    if command == ["word2vec"]:  # the same text as when everything is imported
        program = (
            f"import runpy, sys; sys.argv = ['python -m recipes.{command[0]}', '--help']; "
            f"runpy.run_module('recipes.{command[0]}', run_name='__main__', alter_sys=True)"
        )
        full = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
        assert full.stdout == deferred.stdout
