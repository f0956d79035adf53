"""RNN vs LSTM vs GRU: which recurrent cell learns a dependency across many steps (many-to-one).

A sequence goes in and one answer comes out after its last step, so what the model needs from the start
must survive the whole recurrence, and training's error signal must travel back through every step. A
simple RNN's gradient shrinks geometrically on the way; the LSTM's additive memory and the GRU's update
gate give it paths along which it need not.

Data (`--tasks`): the adding problem (`zoo.data.adding_problem`: sum the two marked values among
`--lengths` steps), and scikit-learn's 8x8 digits read by rows (8 steps) or by pixels (64 steps).
Model: sequence -> `keras.layers.SimpleRNN`, `LSTM` or `GRU` (`--implementation zoo`: the `zoo.layers`
cells in `keras.layers.RNN`) -> Dense. Each task trains each cell; results.md, metrics.json and
gradient_norms.png report test accuracy (and MSE), parameters, seconds per epoch and how much of the
loss's gradient reaches the first step, at initialisation and after training (`zoo.gradients`).

Expected (seed 0): on the adding problem at length 20 the simple RNN stays at the always-1.0 MSE (0.166
against 0.169) while the LSTM reaches 0.0017 and the GRU 0.0005 (each run's results.md). Commands:

    python -m recipes.cells
    python -m recipes.cells --preset full
"""

from __future__ import annotations

import csv
import dataclasses
import sys
import time
import warnings
from typing import ClassVar, Literal, NamedTuple

import keras
import numpy as np
import tensorflow as tf

import zoo.cli
import zoo.config
import zoo.data
import zoo.export
import zoo.gradients
import zoo.io
import zoo.layers
import zoo.plots
import zoo.train
from zoo.cli import flag

TASKS = ("adding", "digits-rows", "digits-pixels")
CELLS = ("rnn", "lstm", "gru")


@dataclasses.dataclass
class Config(zoo.config.RunConfig):
    tasks: list[str] = flag(list(TASKS), f"tasks to run, any of {', '.join(TASKS)}")
    cells: list[str] = flag(list(CELLS), f"recurrent cells to compare, any of {', '.join(CELLS)}")
    lengths: list[int] = flag(
        [20], "sequence lengths of the adding problem, e.g. --lengths 50 100 200", at_least=2
    )
    implementation: Literal["keras", "zoo"] = flag(
        "keras", "keras: the fused keras.layers.SimpleRNN/LSTM/GRU; zoo: zoo.layers cells in keras.layers.RNN"
    )
    units: int = flag(
        32, "hidden state size of every cell (the same size, not the same parameters)", at_least=1
    )
    adding_samples: int = flag(
        3000, "training sequences of the adding problem (validation and test: 1,000)", at_least=1
    )
    epochs: int = flag(5, "maximum epochs per model (early stopping on validation loss may end sooner)")
    patience: int = flag(3, "epochs without a lower validation loss before a model stops")
    learning_rate: float = flag(1e-2, "Adam's learning rate (high for RNNs; --clip-norm keeps it sane)")
    clip_norm: float = flag(1.0, "largest gradient norm of a step: a simple RNN's gradients can explode")
    tolerance: float = flag(0.04, "an adding-problem answer this close to the target counts as correct")
    gradient_samples: int = flag(
        128, "test sequences in the batch whose gradient norms are measured", at_least=1
    )
    export: bool = flag(True, "save each trained model as models/<task>_<cell>.keras (no SavedModel/TFLite)")

    PRESETS: ClassVar[dict[str, dict]] = {
        # The adding problem at the literature's lengths, with 10,000 fresh training sequences each.
        "full": {"lengths": [50, 100, 200], "adding_samples": 10000, "epochs": 10, "patience": 3},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, values, allowed in (("tasks", self.tasks, TASKS), ("cells", self.cells, CELLS)):
            unknown = sorted(set(values) - set(allowed))
            if unknown or not values:
                raise ValueError(f"--{name} must be some of {', '.join(allowed)}, got {' '.join(values)}")
        if self.learning_rate <= 0 or self.clip_norm <= 0 or self.tolerance <= 0:
            raise ValueError("--learning-rate, --clip-norm and --tolerance must be > 0")
        if self.dataset or self.data_dir:
            raise ValueError("recipes.cells makes or loads its own data: choose with --tasks, not --dataset")


# ## Data


class Task(NamedTuple):
    name: str  # the prefix of its metrics: adding_100, digits_rows, digits_pixels
    regression: bool  # adding: one number, MSE; digits: ten classes, cross-entropy
    train: tuple[np.ndarray, np.ndarray]  # (sequences (n, T, features), targets)
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def digits_task(name: str, seed: int, max_train_samples: int | None) -> Task:
    """The 1,797 digits by rows or by pixels, split 60/15/25 (`zoo.data.digit_sequences`)."""
    splits = zoo.data.digit_sequences("rows" if name == "digits-rows" else "pixels", seed)
    train = tuple(array[:max_train_samples] for array in splits["train"])
    return Task(name.replace("-", "_"), False, train, splits["validation"], splits["test"])


def load_data(config: Config) -> list[Task]:
    tasks = []
    for name in config.tasks:
        if name != "adding":
            tasks.append(digits_task(name, config.seed, config.max_train_samples))
            continue
        for length in config.lengths:
            # One seed per (run seed, length, split): the test set does not depend on --adding-samples.
            train = zoo.data.adding_problem(config.adding_samples, length, seed=[config.seed, length, 0])
            train = (train[0][: config.max_train_samples], train[1][: config.max_train_samples])
            validation = zoo.data.adding_problem(1000, length, seed=[config.seed, length, 1])
            test = zoo.data.adding_problem(1000, length, seed=[config.seed, length, 2])
            tasks.append(Task(f"adding_{length}", True, train, validation, test))
    return tasks


def batches(arrays: tuple[np.ndarray, np.ndarray], config: Config, training: bool) -> tf.data.Dataset:
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if training:
        dataset = dataset.shuffle(len(arrays[0]), seed=config.seed, reshuffle_each_iteration=True)
    return dataset.batch(config.batch_size).prefetch(tf.data.AUTOTUNE)


# ## Model


def recurrent_layer(config: Config, cell: str) -> keras.layers.Layer:
    """The recurrent layer, named "recurrent": Keras's fused layer or a zoo cell in `keras.layers.RNN`."""
    if config.implementation == "keras":
        layer_cls = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
        return layer_cls(config.units, name="recurrent")
    cell_cls = {"rnn": zoo.layers.SimpleRNNCell, "lstm": zoo.layers.LSTMCell, "gru": zoo.layers.GRUCell}[cell]
    return keras.layers.RNN(cell_cls(config.units), name="recurrent")


def build_model(config: Config, cell: str, task: Task) -> keras.Model:
    """Sequence -> recurrent layer (its last state) -> Dense "head": the sum (adding) or 10 logits."""
    sequences = keras.Input(shape=task.train[0].shape[1:], name="sequences")
    hidden = recurrent_layer(config, cell)(sequences)
    outputs = keras.layers.Dense(1 if task.regression else 10, name="head")(hidden)
    model = keras.Model(sequences, outputs, name=f"{task.name}_{cell}")
    loss = (
        keras.losses.MeanSquaredError()
        if task.regression
        else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    # No XLA: compiling each model's while loop costs more time than these short runs save.
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clip_norm),
        loss=loss,
        metrics=None if task.regression else ["accuracy"],
        jit_compile=False,
    )
    return model


# ## Training, evaluation, gradients


def gradient_norms(model: keras.Model, task: Task, config: Config) -> np.ndarray:
    """`||dL/dh_t||` for t = 1..T on the first `--gradient-samples` test sequences, L the training loss."""
    sequences, targets = (array[: config.gradient_samples] for array in task.test)
    head = model.get_layer("head")

    def loss_fn(outputs):
        return model.loss(targets, head(outputs[:, -1]))

    return zoo.gradients.hidden_state_gradient_norms(model.get_layer("recurrent").cell, sequences, loss_fn)


def train_and_evaluate(config: Config, task: Task, cell: str, run: zoo.train.Run) -> dict[str, dict]:
    """Train one model; return its "metrics" (unprefixed) and its "curves": history and gradient norms."""
    keras.utils.set_random_seed(config.seed)  # every model starts from the same seed, whatever ran before
    with run.strategy.scope():
        model = build_model(config, cell, task)
    initial_norms = gradient_norms(model, task, config)
    nan_guard = zoo.train.StopOnNaN()
    stopping = keras.callbacks.EarlyStopping("val_loss", patience=config.patience, restore_best_weights=True)
    print(f"\n{task.name} / {cell}: {model.get_layer('recurrent').count_params():,} recurrent parameters")
    history = model.fit(
        batches(task.train, config, training=True),
        validation_data=batches(task.validation, config, training=False),
        epochs=config.epochs,
        callbacks=[zoo.train.EpochTimer(), nan_guard, stopping],
        verbose=run.verbose,
    ).history
    if nan_guard.diverged_at is not None:
        epoch, batch = nan_guard.diverged_at
        print(
            f"warning: {task.name} / {cell} diverged at epoch {epoch + 1}, batch {batch + 1}; "
            "kept its best epoch"
        )
    trained_norms = gradient_norms(model, task, config)
    # A direct call, not `predict`: nine models' predict functions would each be traced for one call.
    predictions = keras.ops.convert_to_numpy(model(task.test[0], training=False))
    targets = task.test[1]
    seconds = history["epoch_seconds"]
    metrics = {
        "accuracy": float(np.mean(np.abs(predictions - targets) < config.tolerance))
        if task.regression
        else float(np.mean(predictions.argmax(axis=-1) == targets)),
        "parameters": model.get_layer("recurrent").count_params(),
        "epoch_seconds": float(np.median(seconds[1:] or seconds)),
        "train_seconds": float(np.sum(seconds)),
        "epochs": len(seconds),
        "gradient_ratio_init": initial_norms[0] / initial_norms[-1],
        "gradient_ratio": trained_norms[0] / trained_norms[-1],
    }
    if task.regression:
        metrics["mse"] = float(np.mean((predictions - targets) ** 2))
    if config.export:
        (run.output_dir / "models").mkdir(exist_ok=True)
        zoo.export.export_keras(model, run.output_dir / "models" / f"{task.name}_{cell}.keras")
    curves = {"history": history, "initial_norms": initial_norms, "trained_norms": trained_norms}
    return {"metrics": metrics, "curves": curves}


def trained_once(config: Config, task: Task, cell: str, run: zoo.train.Run) -> dict[str, dict]:
    """`train_and_evaluate`, its results kept in the run's backup folder as each model finishes, so a
    killed comparison started again trains only the models it had not finished (the runner removes the
    folder once metrics.json is written, and discards it with `--overwrite` or other flags)."""
    path = run.backup_dir / f"{task.name}_{cell}.json"
    if path.exists():
        print(f"{task.name} / {cell}: trained in an earlier run ({path})")
    return zoo.io.computed_once(path, lambda: train_and_evaluate(config, task, cell, run))


def baseline(task: Task, config: Config) -> dict[str, float]:
    """Adding: always answer 1.0, the mean target (MSE 1/6 in expectation). Digits: the commonest class."""
    targets = task.test[1]
    if task.regression:
        return {
            "mse": float(np.mean((targets - 1.0) ** 2)),
            "accuracy": float(np.mean(np.abs(targets - 1.0) < config.tolerance)),
        }
    return {"accuracy": float(np.max(np.bincount(targets)) / len(targets))}


# ## Report


COLUMNS = {  # the results table's: metric -> (column title, format)
    "accuracy": ("test accuracy", ".3f"),
    "mse": ("test MSE", ".4f"),
    "parameters": ("parameters", ","),
    "epoch_seconds": ("s/epoch", ".2f"),
    "epochs": ("epochs", "d"),
    "gradient_ratio_init": ("grad ratio at init", ".1e"),
    "gradient_ratio": ("grad ratio trained", ".1e"),
}


def results_table(metrics: dict[str, float], tasks: list[Task], cells: list[str]) -> str:
    """The comparison as a Markdown table: one row per task and cell, after the task's baseline; "-" for
    what a row does not have (the baseline's parameters, the digits' MSE)."""

    def shown(key: str, form: str) -> str:
        return format(metrics[key], form) if key in metrics else "-"

    lines = ["| task | cell | " + " | ".join(title for title, _ in COLUMNS.values()) + " |", "|---" * 9 + "|"]
    for task in tasks:
        for cell in ["baseline", *cells]:
            row = (shown(f"{task.name}_{cell}_{name}", form) for name, (_, form) in COLUMNS.items())
            lines.append(f"| {task.name} | {cell} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot_results(
    curves: dict[tuple[str, str], dict], tasks: list[Task], cells: list[str], output_dir
) -> None:
    """gradient_norms.png: per task, `||dL/dh_t|| / ||dL/dh_T||` against t, dashed at initialisation,
    solid after training; validation_curves.png: per task, the validation loss of each cell by epoch."""
    colours = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}
    norms, losses = {}, {}
    for task in tasks:
        norms[task.name], losses[task.name] = [], []
        for cell in cells:
            curve = curves[task.name, cell]
            for key, style, when in (("initial_norms", "--", "init"), ("trained_norms", "-", "trained")):
                relative = np.asarray(curve[key]) / curve[key][-1]
                norms[task.name].append((f"{cell} {when}", relative, style, colours[cell]))
            losses[task.name].append((cell, curve["history"]["val_loss"], "-o", colours[cell]))
    zoo.plots.plot_panels(
        norms, output_dir / "gradient_norms.png", "step t", "||dL/dh_t|| / ||dL/dh_T||", log_scale=True
    )
    zoo.plots.plot_panels(
        losses, output_dir / "validation_curves.png", "epoch", "validation loss", log_scale=True
    )


def write_histories(curves: dict[tuple[str, str], dict], path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "cell", "epoch", "loss", "val_loss", "epoch_seconds"])
        for (task, cell), curve in curves.items():
            history = curve["history"]
            for epoch, row in enumerate(zip(history["loss"], history["val_loss"], history["epoch_seconds"])):
                writer.writerow([task, cell, epoch, *(f"{value:.6g}" for value in row)])


def main(argv: list[str] | None = None) -> dict[str, float]:
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.cells")
    run = zoo.train.Run(config, recipe="cells")
    # As in Run.fit: fit's default shuffle=True does not apply to tf.data input, which shuffles itself.
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
    start = time.perf_counter()
    tasks = load_data(config)
    metrics: dict[str, float] = {}
    curves: dict[tuple[str, str], dict] = {}
    for task in tasks:
        metrics |= {f"{task.name}_baseline_{key}": value for key, value in baseline(task, config).items()}
        for cell in config.cells:
            result = trained_once(config, task, cell, run)
            curves[task.name, cell] = result["curves"]
            metrics |= {f"{task.name}_{cell}_{key}": value for key, value in result["metrics"].items()}
    table = results_table(metrics, tasks, config.cells)
    zoo.io.write_text(
        run.output_dir / "results.md", f"# RNN vs LSTM vs GRU ({config.implementation})\n\n{table}\n"
    )
    write_histories(curves, run.output_dir / "histories.csv")
    plot_results(curves, tasks, config.cells, run.output_dir)
    print(f"\n{table}\n")
    # The runner's own summary counts epochs and seconds from history.csv, which this recipe does not
    # write (each model trains by its own `fit`): these two replace them, summed over every model.
    metrics["train_seconds"] = sum(v for k, v in metrics.items() if k.endswith("_train_seconds"))
    metrics["epochs"] = sum(v for k, v in metrics.items() if k.endswith("_epochs"))
    metrics["total_seconds"] = time.perf_counter() - start
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
