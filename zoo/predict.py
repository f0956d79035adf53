"""`python -m recipes.<name> predict`: a finished run's export answers, one JSON object per input.

Every recipe that exports a model has the same subcommand:

    python -m recipes.sentiment predict --output-dir saved_models/sentiment "A moving film." "Dull."
    cat reviews.txt | python -m recipes.sentiment predict --output-dir saved_models/sentiment

Inputs come from the arguments, or one per line from standard input when there are none (blank lines are
skipped); each answer is printed as one line of JSON, in input order, as soon as its batch is done (a
terminal gets an answer per line typed). The answers come from the exported SavedModel, the model a
server would run, loaded without the zoo's Keras code; a recipe only says how to turn its inputs into the
SavedModel's and its outputs into JSON (`answer(export, inputs, options) -> list[dict]`).

A folder that holds no finished run (no metrics.json), or a run trained without export (no deploy.json),
is refused with the command that makes one.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import zoo.cli
from zoo.cli import flag
from zoo.errors import ZooError

OptionsT = TypeVar("OptionsT", bound="PredictConfig")


@dataclasses.dataclass
class PredictConfig:
    output_dir: str | None = flag(None, "folder of a finished run (default: saved_models/<recipe>)")
    batch_size: int = flag(32, "inputs answered together when they come from arguments or a pipe")
    inputs: list[str] = zoo.cli.positional("inputs to answer; without any, one per line from standard input")

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {self.batch_size}")


class Export:
    """A finished run's exports: `manifest` (deploy.json), `metrics` (metrics.json), the SavedModel
    loaded on first use (`call`), and `cache`, where an answer keeps what it computes once per run (a
    table of every word's vector, ...)."""

    def __init__(self, folder: str | pathlib.Path, recipe: str):
        self.folder, self.recipe = pathlib.Path(folder), recipe
        train = f"python -m recipes.{recipe} --output-dir {self.folder}"
        if not (self.folder / "metrics.json").is_file():
            raise ZooError(
                f"{self.folder} holds no finished run of recipes.{recipe} (no metrics.json); train one "
                f"with: {train}"
            )
        if not (self.folder / "deploy.json").is_file():
            raise ZooError(f"{self.folder} holds a run trained without export (no deploy.json): {train}")
        self.manifest = json.loads((self.folder / "deploy.json").read_text(encoding="utf-8"))
        self.metrics = json.loads((self.folder / "metrics.json").read_text(encoding="utf-8"))
        self.cache: dict[str, Any] = {}

    @functools.cached_property
    def saved_model(self):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401 (registers the text ops a tokenizer in the graph calls)

        import zoo.export

        return tf.saved_model.load(str(zoo.export.saved_model_path(self.folder / "saved_model")))

    def call(self, endpoint: str, *inputs) -> Any:
        """The SavedModel's `endpoint` on `inputs` (converted to tensors by TensorFlow), as numpy."""
        import tensorflow as tf

        function = getattr(self.saved_model, endpoint, None)
        if function is None:
            raise ZooError(f"{self.folder}: the SavedModel has no endpoint {endpoint!r}")
        outputs = function(*inputs)
        return tf.nest.map_structure(lambda tensor: tensor.numpy(), outputs)


def asked(argv: Sequence[str] | None) -> bool:
    """Whether the command line (`sys.argv[1:]` when `argv` is None) is a `predict` subcommand."""
    return list(sys.argv[1:] if argv is None else argv)[:1] == ["predict"]


def main(
    recipe: str,
    answer: Callable[[Export, list[str], OptionsT], list[dict]],
    argv: Sequence[str] | None = None,
    config_cls: type[OptionsT] = PredictConfig,
) -> list[dict]:
    """Run `predict` for `recipe`: parse `argv` (after the word `predict`), load the export, answer every
    input with `answer` and print each answer as a JSON line. Returns the answers."""
    argv = list(sys.argv[1:] if argv is None else argv)[1:]
    options = zoo.cli.parse(config_cls, argv, prog=f"python -m recipes.{recipe} predict")
    export = Export(options.output_dir or f"saved_models/{recipe}", recipe)
    interactive = not options.inputs and sys.stdin.isatty()
    inputs = options.inputs or _lines(sys.stdin)
    answers = []
    for batch in _batches(inputs, 1 if interactive else options.batch_size):
        results = answer(export, batch, options)
        for result in results:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        answers.extend(results)
    return answers


EXAMPLES = {  # what each recipe's finished run prints: how to ask its model
    "sentiment": 'predict --output-dir {} "A moving, beautifully acted film."',
    "ner": 'predict --output-dir {} "Alice flew from Paris to New York with Air France."',
    "translation": 'predict --output-dir {} "A sentence to translate."',
    "transformer": 'predict --output-dir {} "A sentence to translate."',
    "speech_ctc": "predict --output-dir {} CLIP.wav",
    "captioning": "predict --output-dir {} PHOTO.jpg",
    "word2vec": 'predict --output-dir {} film "king - man + woman"',
    "char_lm": 'generate --output-dir {} --prompt "The "',
}


def command(recipe: str, output_dir: str | pathlib.Path) -> str:
    """The command a finished run prints: its model answering an example input."""
    example = EXAMPLES.get(recipe, "predict --output-dir {} INPUT")
    return f"python -m recipes.{recipe} {example.format(output_dir)}"


def _lines(stream) -> Iterator[str]:
    for line in stream:
        if line.strip():
            yield line.rstrip("\r\n")


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
