"""The shared runner: every recipe trains, resumes, logs and reports the same way.

A recipe builds its data and model and hands them to a `Run`:

```python
run = zoo.train.Run(config, recipe="sentiment")        # output dir, seeds, strategy
with run.strategy.scope():
    model = build_model(config, ...)                    # variables live on the strategy's devices
run.fit(model, train, validation, monitor="val_auc")    # checkpoints, backup/resume, early stop, logs
run.finish({"test_accuracy": 0.91})                     # metrics.json, curves PNG, summary table
```

What `fit` wires, in order (order matters: the backup is written before the CSV row of the same epoch):
`EpochTimer` (adds `epoch_seconds` to the logs), `keras.callbacks.BackupAndRestore` (weights, optimizer and
epoch every `backup_every_steps` batches, so a killed run started again with the same command resumes from
there; Keras restarts the interrupted epoch's data from its first batch), `StopOnNaN`, `ModelCheckpoint` of
the best weights on the monitored metric, `EarlyStopping`, `CSVLogger` (`history.csv`, appended on resume)
and `TensorBoard` (`logs/`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import pathlib
import sys
import time
import warnings
from typing import Any, Literal

import keras
import numpy as np
import tensorflow as tf

from zoo.cli import flag
from zoo.errors import TrainingDivergedError


@dataclasses.dataclass
class RunConfig:
    """Flags every recipe has. A recipe's `Config` subclasses this and adds its own fields."""

    dataset: str | None = flag(None, "dataset name, found in --data-dir, $ZOO_DATA_DIR/NAME or downloaded")
    data_dir: str | None = flag(None, "folder holding the dataset files (skips the lookup and download)")
    skip_checksum: bool = flag(
        False, "read the dataset without checking its files' hashes (for your own edited copy)"
    )
    epochs: int = flag(3, "maximum number of epochs (early stopping may end sooner)")
    batch_size: int = flag(32, "global batch size, split across replicas under --strategy mirrored")
    seed: int = flag(0, "seed for Python, NumPy, TensorFlow and the data split")
    output_dir: str | None = flag(None, "where artifacts go (default: saved_models/<recipe>)")
    max_train_samples: int | None = flag(None, "use only the first N training examples (quick runs)")
    preset: str | None = flag(None, "named full-scale setting")
    strategy: Literal["default", "mirrored"] = flag(
        "default",
        "tf.distribute strategy: mirrored replicates over all GPUs, else all logical CPUs",
    )
    export: bool = flag(True, "write SavedModel and TFLite exports and check their parity")
    patience: int = flag(2, "epochs without improvement of the monitored metric before stopping")
    backup_every_steps: int = flag(
        200, "batches between resumable backups (a killed run loses at most this much work)"
    )

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience", "backup_every_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.max_train_samples is not None and self.max_train_samples < 1:
            raise ValueError("--max-train-samples must be at least 1")


def make_strategy(name: str) -> tf.distribute.Strategy:
    """`default` -> the no-op default strategy; `mirrored` -> all GPUs, or every logical CPU when there is
    no GPU (split a CPU into several with `tf.config.set_logical_device_configuration` to test it)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    raise ValueError(f"unknown strategy {name!r}; expected 'default' or 'mirrored'")


def dtype_policy(precision: str) -> str:
    """A `--precision` flag -> a Keras dtype policy name, for the `dtype=` of the layers a recipe builds
    (per layer, not `keras.mixed_precision.set_global_policy`: nothing global changes for other models in
    the process). `auto` picks `mixed_bfloat16` on a machine without a GPU whose CPU computes bfloat16
    natively (AVX512-BF16 or AMX: on this project's AVX512-BF16 CPU a bfloat16 matrix product ran about
    twice as fast as a float32 one), `float32` elsewhere (without those instructions bfloat16 is emulated,
    which we expect, but have not measured, to be slower)."""
    if precision != "auto":
        return precision
    if tf.config.list_physical_devices("GPU"):
        return "float32"
    return "mixed_bfloat16" if _cpu_flags() & {"avx512_bf16", "amx_bf16"} else "float32"


def _cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The instruction-set flags of the first CPU in /proc/cpuinfo; empty where there is none (macOS,
    Windows)."""
    try:
        text = pathlib.Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (training and validation wall time) to each epoch's logs and history.csv."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class StopOnNaN(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where, so the runner can raise a clear
    error (Keras's `TerminateOnNaN` only prints) while the last good backup and best checkpoint stay."""

    def __init__(self) -> None:
        super().__init__()
        self.diverged_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_at = (self._epoch, batch)
            self.model.stop_training = True


def read_history(path: pathlib.Path) -> list[dict[str, float]]:
    """Rows of a CSVLogger file as dicts of floats (empty list when the file does not exist). Keras writes
    "NA" in the val_ columns of a run without validation data; those read as NaN."""
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            {key: math.nan if value == "NA" else float(value) for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]


def _write_history(path: pathlib.Path, rows: list[dict[str, float]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: int(v) if key == "epoch" else v for key, v in row.items()})


class Run:
    """One training run of a recipe: output folder, seeds, strategy, callbacks and artifacts.

    Args:
        config: the recipe's config (a `RunConfig` subclass).
        recipe: the recipe's name; the default output folder is `saved_models/<recipe>`.
    """

    def __init__(self, config: RunConfig, recipe: str):
        self.config = config
        self.recipe = recipe
        self.output_dir = pathlib.Path(config.output_dir or pathlib.Path("saved_models") / recipe)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.backup_dir = self.output_dir / "backup"
        self.history_path = self.output_dir / "history.csv"
        self.best_weights_path = self.output_dir / "best.weights.h5"
        keras.utils.set_random_seed(config.seed)  # Python, NumPy and TensorFlow in one call
        self.strategy = make_strategy(config.strategy)
        print(f"strategy: {type(self.strategy).__name__}, replicas: {self.strategy.num_replicas_in_sync}")
        self.monitor: str | None = None
        self.mode: str = "min"

    @property
    def verbose(self) -> int:
        """A live progress bar on a terminal, one line per epoch in logs and CI."""
        return 1 if sys.stdout.isatty() else 2

    def _resume_epoch(self) -> int:
        """Epoch the backup will restore (0 without a backup); trims history.csv to match, so epochs that
        finished after the last backup are not listed twice."""
        metadata_path = self.backup_dir / "training_metadata.json"
        if not metadata_path.exists():
            return 0
        epoch = int(json.loads(metadata_path.read_text())["epoch"])
        rows = [row for row in read_history(self.history_path) if row["epoch"] < epoch]
        if rows:
            _write_history(self.history_path, rows)
        else:
            self.history_path.unlink(missing_ok=True)
        return epoch

    def callbacks(self, monitor: str, mode: str) -> tuple[list[keras.callbacks.Callback], StopOnNaN]:
        resume_epoch = self._resume_epoch()
        best_so_far = None
        previous = [row[monitor] for row in read_history(self.history_path) if monitor in row]
        if resume_epoch and previous:
            best_so_far = max(previous) if mode == "max" else min(previous)
            print(f"Resuming from the backup in {self.backup_dir} at epoch {resume_epoch + 1}")
        elif not resume_epoch:
            self.best_weights_path.unlink(missing_ok=True)  # a fresh run must not inherit an old best
        nan_guard = StopOnNaN()
        callbacks = [
            EpochTimer(),
            keras.callbacks.BackupAndRestore(
                str(self.backup_dir),
                save_freq=self.config.backup_every_steps,
                double_checkpoint=True,
            ),
            nan_guard,
            keras.callbacks.ModelCheckpoint(
                str(self.best_weights_path),
                monitor=monitor,
                mode=mode,
                save_best_only=True,
                save_weights_only=True,
                initial_value_threshold=best_so_far,
            ),
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=self.config.patience),
            keras.callbacks.CSVLogger(str(self.history_path), append=resume_epoch > 0),
            keras.callbacks.TensorBoard(str(self.output_dir / "logs")),
        ]
        return callbacks, nan_guard

    def fit(
        self,
        model: keras.Model,
        train: tf.data.Dataset,
        validation: tf.data.Dataset,
        *,
        monitor: str = "val_loss",
        mode: Literal["min", "max"] = "min",
        extra_callbacks: list[keras.callbacks.Callback] | tuple = (),
    ) -> keras.Model:
        """Train `model` (compiled, built) with checkpoints, resume and early stopping; return it holding
        the best weights seen on `monitor`.

        `extra_callbacks` run before the runner's own at each epoch end, so a callback that adds a
        metric to the logs (such as `zoo.metrics.EntityF1Callback`'s `val_entity_f1`) can be the
        `monitor` of the checkpoint and early stopping, and reaches history.csv and TensorBoard.
        """
        self.monitor, self.mode = monitor, mode
        # Keras warns about any tf.data input: that fit's default shuffle=True does not apply to it (our
        # pipelines shuffle themselves) and, at the end of an epoch of unknown length, that the input
        # "ran out of data" (that is how such an epoch ends). Neither is actionable here.
        warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        callbacks, nan_guard = self.callbacks(monitor, mode)
        model.fit(
            train,
            validation_data=validation,
            epochs=self.config.epochs,
            callbacks=[*extra_callbacks, *callbacks],
            verbose=self.verbose,
        )
        if nan_guard.diverged_at is not None:
            epoch, batch = nan_guard.diverged_at
            raise TrainingDivergedError(
                f"the loss became NaN/inf at epoch {epoch + 1}, batch {batch + 1}; training stopped. "
                f"The best weights so far are in {self.best_weights_path}. Try a lower learning rate "
                "or gradient clipping, then run again with a new --output-dir."
            )
        if self.best_weights_path.exists():
            model.load_weights(str(self.best_weights_path))
        return model

    def finish(self, metrics: dict[str, float]) -> dict[str, float]:
        """Write metrics.json (flat name -> number, plus train_seconds and epochs), the training-curves
        PNG, and print a summary table. Returns the metrics written."""
        history = read_history(self.history_path)
        summary = {
            "train_seconds": round(sum(row.get("epoch_seconds", 0.0) for row in history), 2),
            "epochs": len(history),
        }
        if self.monitor and history and self.monitor in history[0]:
            best = max if self.mode == "max" else min
            summary[f"best_{self.monitor}"] = best(row[self.monitor] for row in history)
        metrics = {**summary, **{k: _to_number(v) for k, v in metrics.items()}}
        (self.output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        if history:
            from zoo.plots import plot_history

            plot_history(history, self.output_dir / "training_curves.png", title=self.recipe)
        print(format_table(metrics, title=f"{self.recipe}: {self.output_dir}"))
        return metrics


def _to_number(value: Any) -> float | int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return float(value)


def format_table(metrics: dict[str, float], title: str = "") -> str:
    """A Markdown table of metric -> value, as printed at the end of every run."""
    width = max(len("metric"), *(len(name) for name in metrics))
    lines = [title, ""] if title else []
    lines += [f"| {'metric':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    for name, value in metrics.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"| {name:<{width}} | {shown} |")
    return "\n".join(lines)
