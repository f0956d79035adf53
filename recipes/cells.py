"""RNN vs LSTM vs GRU: which recurrent cell learns a dependency across many steps, and why.

Every task here is many-to-one: a sequence goes in, and one answer comes out after its last step, so
what the model needs from the start of the sequence must survive the whole way through the recurrence.
Training makes the same trip backwards: the error at the last step reaches step t only through the
Jacobians of every step in between. In a simple (Elman) RNN that is a product of `T - t` matrices
`diag(tanh') U^T`, which shrinks geometrically: the gradient vanishes and the network cannot learn what
happened long ago (Bengio et al. 1994). The LSTM's memory cell is updated by addition, through a forget
gate that can be held open (Hochreiter & Schmidhuber 1997, Gers et al. 2000); the GRU copies its state
forward wherever its update gate says so (Cho et al. 2014). Both have a path along which the gradient
need not shrink.

The measured gradients (default run) say more than the slogan. At initialisation every cell loses its
gradient with distance, the gated ones faster: their gates start near 0.5, a leak at every step (a
fresh GRU passes 3e-13 of it back across the 64 pixel steps, a fresh simple RNN with its orthogonal U
6e-4). Training changes that: the gated cells learn to hold their paths open, and after training 14%
(LSTM) and 43% (GRU) of the gradient reaches the first of 20 adding-problem steps. The simple RNN went
the other way there, to 4e-5, and learned nothing; on the pixels its ratio grew to 0.2, but its
accuracy stayed below the GRU's.

Tasks (`--tasks`):
- `adding`: the adding problem (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015): each step
  is a pair (value in U[0, 1], marker); exactly two markers are 1, one in each half of the sequence, and
  the target is the sum of the two marked values. Generated from `--seed` by `adding_problem`, at every
  length in `--lengths`. Predicting 1.0 always gives MSE 1/6 = 0.167 (reported as the `baseline` row);
  "accuracy" is the share of answers within 0.04 of the target, Hochreiter & Schmidhuber's criterion.
- `digits-rows`: scikit-learn's 8x8 handwritten digits (1,797 images), read one row of 8 pixels per
  step: 8 steps, a short sequence every cell can handle.
- `digits-pixels`: the same images one pixel per step, 64 steps: a longer dependency (pixel-by-pixel
  MNIST at small scale, Le et al. 2015).

For each task and cell: test accuracy (and MSE for `adding`), parameters of the recurrent layer, median
seconds per epoch (the first epoch also traces the graph), and `||dL/dh_1|| / ||dL/dh_T||`, how much of
the loss's gradient reaches the first step's hidden state, at initialisation and after training
(`zoo.gradients.hidden_state_gradient_norms`, the total derivative through time). Keras's fused
`keras.layers.SimpleRNN/LSTM/GRU` train by default; `--implementation zoo` runs the same models with
`zoo.layers.SimpleRNNCell/LSTMCell/GRUCell` inside `keras.layers.RNN`: the same equations and weight
layout, but the initial weights are drawn in another order, so the results differ a little.

Written to `--output-dir` (default saved_models/cells): `results.md` (the comparison table),
`metrics.json` (flat keys such as `adding_100_lstm_mse`, `digits_rows_gru_accuracy`,
`adding_100_rnn_gradient_ratio`), `histories.csv`, `gradient_norms.png` (per task, `||dL/dh_t||`
relative to the last step, log scale, dashed at initialisation, solid after training),
`validation_curves.png`, and with `--export` each trained model as `models/<task>_<cell>.keras`. Nine
small models are compared, not one deployed, so there is no SavedModel or TFLite export.

The shared runner gives the seeds, output folder and metrics.json (`zoo.train.Run`), but each model is
trained with `model.fit` directly, with the runner's epoch timer and NaN guard and Keras's early stopping:
`Run.fit` keeps one backup, one best checkpoint and one history.csv per output folder, which nine models
trained one after another would overwrite (and a resumed run would restore the wrong model). Instead each
finished model's results go to the run's backup folder: a killed comparison started again with the same
command trains only the models it had not finished.

Expected (seed 0, a 2-core CPU shared with other jobs): the defaults train nine models in 65 s (main()
takes 90 s with the data and the gradients; 52 s of CPU time). Adding problem at length 20: always-1.0
MSE 0.169, simple RNN 0.166 (it learns nothing), LSTM 0.0017 (65% within 0.04), GRU 0.0005 (91%).
Digits by rows: RNN 0.918, LSTM 0.884, GRU 0.940 test accuracy; by pixels (5 epochs, far from
converged): 0.567, 0.478, 0.607. `--preset full` (lengths 50, 100, 200, 10,000 sequences, 10 epochs)
took 38 minutes at the lowest priority on a CPU busy with other jobs: at every length the simple RNN stays
at the always-1.0 MSE (0.167, 0.169, 0.157) while LSTM (0.0001, 0.0002, 0.0004) and GRU (below 0.0001)
solve the task; 14-23% of the gradient reaches step 1 of a trained LSTM or GRU at length 50 (3.5% and 41%
at length 200), 1e-23 of a trained simple RNN; digits by pixels 0.689 / 0.716 / 0.762. Commands:

    python -m recipes.cells
    python -m recipes.cells --preset full
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
import time
import warnings
from typing import ClassVar, Literal, NamedTuple

import keras
import numpy as np
import sklearn.datasets
import sklearn.model_selection
import tensorflow as tf

import zoo.cli
import zoo.config
import zoo.export
import zoo.gradients
import zoo.io
import zoo.layers
import zoo.train
from zoo.cli import flag

TASKS = ("adding", "digits-rows", "digits-pixels")
CELLS = ("rnn", "lstm", "gru")


@dataclasses.dataclass
class Config(zoo.config.RunConfig):
    tasks: list[str] = flag(list(TASKS), f"tasks to run, any of {', '.join(TASKS)}")
    cells: list[str] = flag(list(CELLS), f"recurrent cells to compare, any of {', '.join(CELLS)}")
    lengths: list[int] = flag([20], "sequence lengths of the adding problem, e.g. --lengths 50 100 200")
    implementation: Literal["keras", "zoo"] = flag(
        "keras", "keras: the fused keras.layers.SimpleRNN/LSTM/GRU; zoo: zoo.layers cells in keras.layers.RNN"
    )
    units: int = flag(
        32, "size of the hidden state of every cell (the same for all, not the same parameters)"
    )
    adding_samples: int = flag(3000, "training sequences of the adding problem (validation and test: 1,000)")
    epochs: int = flag(5, "maximum epochs per model (early stopping on validation loss may end sooner)")
    patience: int = flag(3, "epochs without a lower validation loss before a model stops")
    learning_rate: float = flag(
        1e-2, "Adam's learning rate (high for RNNs; the gradient clipping keeps it sane)"
    )
    clip_norm: float = flag(1.0, "largest gradient norm of a step: a simple RNN's gradients can explode")
    tolerance: float = flag(0.04, "an adding-problem answer this close to the target counts as correct")
    gradient_samples: int = flag(128, "test sequences in the batch whose gradient norms are measured")
    export: bool = flag(True, "save each trained model as models/<task>_<cell>.keras (no SavedModel/TFLite)")

    PRESETS: ClassVar[dict[str, dict]] = {
        # The literature's lengths. At length 100, LSTM and GRU solve the problem within 3 epochs of
        # 10,000 sequences (the adding data is generated, so every sequence is new); an epoch at length
        # 200 takes about 40 s per cell on a 2-core CPU.
        "full": {"lengths": [50, 100, 200], "adding_samples": 10000, "epochs": 10, "patience": 3},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, values, allowed in (("tasks", self.tasks, TASKS), ("cells", self.cells, CELLS)):
            unknown = sorted(set(values) - set(allowed))
            if unknown or not values:
                raise ValueError(f"--{name} must be some of {', '.join(allowed)}, got {' '.join(values)}")
        if min(self.lengths, default=0) < 2:
            raise ValueError("--lengths must be at least 2 (one marker in each half)")
        if min(self.units, self.adding_samples, self.gradient_samples) < 1:
            raise ValueError("--units, --adding-samples and --gradient-samples must be >= 1")
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


def adding_problem(count: int, length: int, seed: int | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """`count` sequences `(length, 2)` of (value, marker) and their targets `(count, 1)`, the sum of the
    two marked values; the first marker is in the first half, the second in the second half."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(size=(count, length)).astype("float32")
    half = length // 2
    first, second = rng.integers(0, half, count), rng.integers(half, length, count)
    rows = np.arange(count)
    markers = np.zeros((count, length), "float32")
    markers[rows, first] = markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=-1), targets[:, None]


def digits_task(name: str, seed: int, max_train_samples: int | None) -> Task:
    """Stratified 60/15/25 train/validation/test split of the 1,797 digits, pixels scaled to [0, 1]."""
    digits = sklearn.datasets.load_digits()
    images = (digits.images / 16.0).astype("float32")
    sequences = images.reshape(-1, 8, 8) if name == "digits-rows" else images.reshape(-1, 64, 1)
    split = sklearn.model_selection.train_test_split
    x, x_test, y, y_test = split(
        sequences, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )
    x_train, x_val, y_train, y_val = split(x, y, test_size=0.2, random_state=seed, stratify=y)
    train = (x_train[:max_train_samples], y_train[:max_train_samples])
    return Task(name.replace("-", "_"), False, train, (x_val, y_val), (x_test, y_test))


def load_data(config: Config) -> list[Task]:
    tasks = []
    for name in config.tasks:
        if name != "adding":
            tasks.append(digits_task(name, config.seed, config.max_train_samples))
            continue
        for length in config.lengths:
            # One seed per (run seed, length, split): the test set does not depend on --adding-samples.
            train = adding_problem(config.adding_samples, length, seed=[config.seed, length, 0])
            train = (train[0][: config.max_train_samples], train[1][: config.max_train_samples])
            validation = adding_problem(1000, length, seed=[config.seed, length, 1])
            test = adding_problem(1000, length, seed=[config.seed, length, 2])
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
    # No XLA: compiling each model's while loop doubled the time of a 3-epoch run on CPU.
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


def train_and_evaluate(config: Config, task: Task, cell: str, run: zoo.train.Run) -> tuple[dict, dict]:
    """Train one model; return its metrics (unprefixed) and its history and gradient curves."""
    keras.utils.set_random_seed(config.seed)  # every model starts from the same seed, whatever ran before
    with run.strategy.scope():
        model = build_model(config, cell, task)
    initial_norms = gradient_norms(model, task, config)
    nan_guard = zoo.train.StopOnNaN()
    callbacks = [
        zoo.train.EpochTimer(),
        nan_guard,
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True
        ),
    ]
    print(f"\n{task.name} / {cell}: {model.get_layer('recurrent').count_params():,} recurrent parameters")
    history = model.fit(
        batches(task.train, config, training=True),
        validation_data=batches(task.validation, config, training=False),
        epochs=config.epochs,
        callbacks=callbacks,
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
    return metrics, {"history": history, "initial_norms": initial_norms, "trained_norms": trained_norms}


def trained_once(config: Config, task: Task, cell: str, run: zoo.train.Run) -> tuple[dict, dict]:
    """`train_and_evaluate`, its results kept in the run's backup folder as each model finishes, so a
    killed comparison started again trains only the models it had not finished (the runner removes the
    folder once metrics.json is written, and discards it with `--overwrite` or other flags)."""
    path = run.backup_dir / f"{task.name}_{cell}.json"
    if path.exists():
        print(f"{task.name} / {cell}: trained in an earlier run ({path})")
        saved = json.loads(path.read_text())
        curves = {key: np.asarray(value) for key, value in saved["curves"].items() if key != "history"}
        return saved["metrics"], {**curves, "history": saved["curves"]["history"]}
    metrics, curves = train_and_evaluate(config, task, cell, run)
    run.backup_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "metrics": {
            key: int(v) if isinstance(v, (int, np.integer)) else float(v) for key, v in metrics.items()
        },
        "curves": {
            "history": {key: [float(v) for v in values] for key, values in curves["history"].items()},
            **{key: np.asarray(value).tolist() for key, value in curves.items() if key != "history"},
        },
    }
    zoo.io.write_text(path, json.dumps(record))
    return metrics, curves


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


def results_table(metrics: dict[str, float], tasks: list[Task], cells: list[str]) -> str:
    """The comparison as a Markdown table: one row per task and cell, after the task's baseline."""
    lines = [
        "| task | cell | test accuracy | test MSE | parameters | s/epoch | epochs "
        "| grad ratio at init | grad ratio trained |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def shown(key: str, form: str) -> str:
        return format(metrics[key], form) if key in metrics else "-"

    for task in tasks:
        for cell in ["baseline", *cells]:
            key = f"{task.name}_{cell}"
            lines.append(
                f"| {task.name} | {cell} | {shown(key + '_accuracy', '.3f')} | {shown(key + '_mse', '.4f')} "
                f"| {shown(key + '_parameters', ',')} | {shown(key + '_epoch_seconds', '.2f')} "
                f"| {shown(key + '_epochs', 'd')} | {shown(key + '_gradient_ratio_init', '.1e')} "
                f"| {shown(key + '_gradient_ratio', '.1e')} |"
            )
    return "\n".join(lines)


def plot_results(
    curves: dict[tuple[str, str], dict], tasks: list[Task], cells: list[str], output_dir
) -> None:
    """gradient_norms.png: per task, `||dL/dh_t|| / ||dL/dh_T||` against t; validation_curves.png: per
    task, the validation loss of each cell by epoch."""
    from zoo.plots import plt  # matplotlib with the file-only backend

    colours = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}
    for filename, draw in (("gradient_norms.png", _draw_norms), ("validation_curves.png", _draw_validation)):
        figure, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False)
        for axis, task in zip(axes[0], tasks):
            for cell in cells:
                draw(axis, curves[task.name, cell], colours[cell], cell)
            axis.set_title(task.name)
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(output_dir / filename, dpi=100)
        plt.close(figure)


def _draw_norms(axis, curve: dict, colour: str, cell: str) -> None:
    for key, style, label in (
        ("initial_norms", "--", f"{cell} init"),
        ("trained_norms", "-", f"{cell} trained"),
    ):
        norms = curve[key]
        axis.semilogy(np.arange(1, len(norms) + 1), norms / norms[-1], style, color=colour, label=label)
    axis.set_xlabel("step t")
    axis.set_ylabel("||dL/dh_t|| / ||dL/dh_T||")


def _draw_validation(axis, curve: dict, colour: str, cell: str) -> None:
    losses = curve["history"]["val_loss"]
    axis.plot(np.arange(1, len(losses) + 1), losses, "-o", color=colour, label=cell, markersize=3)
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation loss")
    axis.set_yscale("log")


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
            model_metrics, curves[task.name, cell] = trained_once(config, task, cell, run)
            metrics |= {f"{task.name}_{cell}_{key}": value for key, value in model_metrics.items()}
    table = results_table(metrics, tasks, config.cells)
    zoo.io.write_text(
        run.output_dir / "results.md", f"# RNN vs LSTM vs GRU ({config.implementation})\n\n{table}\n"
    )
    write_histories(curves, run.output_dir / "histories.csv")
    plot_results(curves, tasks, config.cells, run.output_dir)
    print(f"\n{table}\n")
    # The runner's own summary counts epochs and seconds from history.csv, which this recipe does not
    # write (see the docstring): these two replace them, summed over every model.
    metrics["train_seconds"] = sum(v for k, v in metrics.items() if k.endswith("_train_seconds"))
    metrics["epochs"] = sum(v for k, v in metrics.items() if k.endswith("_epochs"))
    metrics["total_seconds"] = time.perf_counter() - start
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
