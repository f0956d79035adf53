"""The shared runner: every recipe trains, resumes, logs and reports the same way.

A recipe builds its data and model and hands them to a `Run`:

```python
run = zoo.train.Run(config, recipe="sentiment")        # output dir, lock, seeds, strategy
with run.strategy.scope():
    model = build_model(config, ...)                    # variables live on the strategy's devices
run.fit(model, train, validation, monitor="val_auc")    # checkpoints, backup/resume, early stop, logs
run.finish({"test_accuracy": 0.91})                     # metrics.json (last), curves PNG, summary table
```

Nothing is lost, whenever the process dies:

- **A lock** (`.lock`, an OS file lock released when its process dies) refuses a second run on the same
  folder. The folder is checked for room and writability before any data is read.
- **A backup** (`backup/`: weights, optimizer and epoch) is written every `backup_every_steps` batches and
  at every epoch boundary, so the same command started again resumes there (Keras restarts the
  interrupted epoch's data from its first batch). It is kept until `finish` has written metrics.json:
  a run killed in evaluation or export resumes with its trained weights, never from scratch.
- **Non-finite weights are never saved**, neither as backup nor as best: after a NaN stop, the last finite
  backup and best weights stay.
- **Every file is written whole** (`zoo.io`): under a temporary name, then renamed.
- **metrics.json is written last**: it marks a finished run. Started again, a finished run says so and
  exits (`RunFinished`). A rerun whose model flags differ from the backup's (`config.json`), or a damaged
  history.csv, is refused with the reason. `--overwrite` discards a finished run or one made with other
  flags, and still resumes an interrupted run of its own flags.

What `fit` wires at each epoch end, in order: with `--ema`, `SwapEMAWeights` (the moving average of the
weights into the model, for everything after it); a recipe's `extra_callbacks` (so a metric they add can
be monitored); `EpochTimer` (adds `epoch_seconds`), `StopOnNaN`, `BestWeights` (the best weights on the
monitored metric, `best.weights.h5` and `best.json`), `ResumedEarlyStopping` (its patience counts the
epochs before a resume too), `CSVLogger` (`history.csv`), and
`TensorBoard` (`logs/`); `Backup` saves at the next epoch's start, after `SwapEMAWeights` has put the
trained weights back. With `--max-train-minutes` (`zoo.config.TimeBudgetConfig`), `TimeBudget` ends
training at the first batch past the budget, and that epoch is validated and checkpointed like any other.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import gc
import json
import math
import pathlib
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import filelock
import keras
import numpy as np
import tensorflow as tf

import zoo.distributed
import zoo.errors
import zoo.io
from zoo.config import RunConfig  # noqa: F401 (the runner's config, named here too)
from zoo.errors import DataFormatError, OutputDirError, RunFinished, TrainingDivergedError

# A run needs room for its backups and exports; below this, refuse before reading any data.
MIN_FREE_BYTES = 64 * 2**20


def make_strategy(name: str) -> tf.distribute.Strategy:
    """`default` -> the no-op default strategy; `mirrored` -> all GPUs, or every logical CPU when there is
    no GPU (split a CPU into several with `tf.config.set_logical_device_configuration` to test it)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    raise ValueError(f"unknown strategy {name!r}; expected 'default' or 'mirrored' (multi-worker: Run)")


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


def ema_options(config: RunConfig) -> dict[str, Any]:
    """The optimizer arguments of `--ema` (`zoo.config.EMAConfig`): `use_ema` and `ema_momentum` when it
    is on, none when it is off or the config has no such flag. Keras's optimizer then keeps the moving
    average beside the weights, and `Run.fit` swaps it into the model at each epoch end.

    Example:

    >>> import keras, zoo.config, zoo.train
    >>> config = zoo.config.EMAConfig(ema=0.999)
    >>> keras.optimizers.Adam(1e-3, **zoo.train.ema_options(config)).ema_momentum
    0.999
    >>> zoo.train.ema_options(zoo.config.RunConfig())
    {}
    """
    momentum = getattr(config, "ema", 0.0)
    return {"use_ema": True, "ema_momentum": momentum} if momentum else {}


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (training and validation wall time) to each epoch's logs and history.csv."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the first batch that ends more than `minutes` after training began (wall time,
    validation included): `--max-train-minutes` (`zoo.config.TimeBudgetConfig`), which `Run.fit` wires. Keras
    then validates the interrupted epoch and calls `on_epoch_end`, so the checkpoint and history see it like
    any other epoch. A run resumed from its backup starts a new budget.

    Args:
        minutes: the budget; None never stops.
    """

    def __init__(self, minutes: float | None):
        super().__init__()
        self.minutes = minutes
        self.stopped_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.minutes is not None and time.perf_counter() - self._start > 60.0 * self.minutes:
            self.model.stop_training = True
            self.stopped_at = self.stopped_at or (self._epoch, batch)


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


def finite_losses(logs: dict | None) -> bool:
    """Whether every loss in a batch's or epoch's logs is finite: weights can be finite (and huge) while
    the loss they give has overflowed."""
    return all(math.isfinite(float(value)) for key, value in (logs or {}).items() if key.endswith("loss"))


def _variables(model: keras.Model) -> list:
    variables = list(model.weights)
    if getattr(model, "optimizer", None) is not None and model.optimizer.built:
        variables += list(model.optimizer.variables)
    return variables


def all_finite(model: keras.Model) -> bool:
    """Whether every weight of `model` and every variable of its optimizer is finite."""
    return all(
        np.isfinite(keras.ops.convert_to_numpy(variable)).all()
        for variable in _variables(model)
        if keras.backend.standardize_dtype(variable.dtype).startswith(("float", "bfloat"))
    )


def save_weights_whole(model: keras.Model, path: str | pathlib.Path) -> None:
    """`model.save_weights(path)`, written under a temporary name and renamed when whole.

    The disk's room is checked first: HDF5 meeting a full disk in the middle of a file leaves a handle
    that fails again, fatally, when the interpreter exits. Raises `OSError(ENOSPC)` instead, before a byte
    is written, when the disk cannot take the file; if the disk fills during the write, the failed file is
    closed and removed before the `OSError` is raised."""
    path = pathlib.Path(path)
    size = sum(int(np.prod(variable.shape)) * 4 for variable in _variables(model))
    needed = size * 1.2 + 2**20  # HDF5 metadata and alignment
    if shutil.disk_usage(path.parent).free < needed:
        raise OSError(errno.ENOSPC, f"No space left on device for {path.name} ({needed / 2**20:.0f} MB)")
    failure = None
    try:
        with zoo.io.replacing(path) as staging:
            model.save_weights(str(staging))
    except OSError as error:
        failure = (error.errno or errno.EIO, str(error))
    if failure:
        # The failed HDF5 file stays open while the error's traceback holds it. Close it now, with the
        # traceback gone, while the library can still do so; not at interpreter exit, where it crashes.
        gc.collect()
        raise OSError(*failure)


class Backup(keras.callbacks.BackupAndRestore):
    """Keras's `BackupAndRestore` (it restores weights, optimizer and epoch when `fit` starts), saving
    every `save_freq` batches and also at every epoch boundary, each file written whole, never with
    non-finite values, and never deleted by `fit` (the runner deletes it once the run is finished).

    The epoch-boundary backup is taken when the next epoch begins rather than when one ends: by then
    callbacks that swap weights for validation (`keras.callbacks.SwapEMAWeights(swap_on_epoch=True)`)
    have swapped the training weights back, so a resumed run continues from the weights it trained.
    """

    def __init__(self, backup_dir: str | pathlib.Path, save_freq: int):
        super().__init__(str(backup_dir), save_freq=save_freq, delete_checkpoint=False)
        self.diverged = False  # once a loss is NaN/inf, nothing later is saved
        self._batches_done = 0  # of the current epoch, recorded with each backup

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.diverged = self.diverged or not finite_losses(logs)
        self._batches_done = batch + 1
        super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        self._batches_done = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self._first_epoch = getattr(self.model, "_initial_epoch", 0) or 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch > self._first_epoch:  # the state the previous epoch ended with
            self._save_model()

    def _save_model(self) -> None:
        if self.diverged or not all_finite(self.model):
            self.diverged = True
            return
        pathlib.Path(self.backup_dir).mkdir(parents=True, exist_ok=True)
        save_weights_whole(self.model, self._weights_path)
        # `batches_done`: batches of `epoch` trained into these weights (0 at an epoch boundary), which
        # `--strategy multi-worker` skips when it resumes; `model.fit` restarts the epoch instead.
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "batches_done": self._batches_done,
        }
        zoo.io.write_text(self._training_metadata_path, json.dumps(metadata))


class BestWeights(keras.callbacks.Callback):
    """Saves the model's weights whenever the monitored metric improves: `best.weights.h5` and, beside
    it, `best.json` with the epoch and value, so a resumed run knows the best it has to beat.

    Keras's `ModelCheckpoint` with `save_best_only` does this too, but writes in place (a kill or a full
    disk leaves a truncated file) and saves a diverged model whose metric happens to improve (after a NaN
    loss, an accuracy of 0.5 beats none); this one writes each file whole and skips non-finite values
    and weights.

    Args:
        path: the weights file (`.weights.h5`).
        monitor: a key of the epoch logs, e.g. "val_loss".
        mode: "min" or "max".
        best: the value to beat (a resumed run's best), or None.
    """

    def __init__(self, path: pathlib.Path, monitor: str, mode: str, best: float | None = None):
        super().__init__()
        self.path, self.monitor, self.mode, self.best = pathlib.Path(path), monitor, mode, best
        self.record_path = self.path.with_name("best.json")

    def _improves(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"BestWeights: {self.monitor!r} is not in the logs; no best weights saved", stacklevel=2
            )
            return
        value = float(value)
        if not math.isfinite(value) or not self._improves(value):
            return
        if not finite_losses(logs) or not all_finite(self.model):
            return
        save_weights_whole(self.model, self.path)
        zoo.io.write_text(self.record_path, json.dumps({"epoch": epoch, self.monitor: value}) + "\n")
        self.best = value


class ResumedEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's `EarlyStopping`, starting from the epochs an interrupted run already trained: the best value
    so far and the epochs since it, read from history.csv, so patience does not start afresh on resume.

    Args:
        previous: the monitored metric of each earlier epoch, in order (empty for a fresh run).
        **kwargs: `EarlyStopping`'s (`monitor`, `mode`, `patience`, ...).
    """

    def __init__(self, previous: list[float], **kwargs):
        super().__init__(**kwargs)
        self.previous = [float(value) for value in previous]

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        scored = [(value, epoch) for epoch, value in enumerate(self.previous) if math.isfinite(value)]
        if scored:
            pick = max if self.mode == "max" else min
            self.best, self.best_epoch = pick(scored, key=lambda item: item[0])  # the first of equals
            self.wait = len(self.previous) - 1 - self.best_epoch


def read_history(path: pathlib.Path) -> list[dict[str, float]]:
    """Rows of a CSVLogger file as dicts of floats (empty list when the file does not exist). Keras writes
    "NA" in the val_ columns of a run without validation data; those read as NaN.

    A last row cut short (the process was killed while writing it) is dropped; any other damage raises
    `DataFormatError` naming the line."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        lines = lines[:-1]  # half-written by a killed run: that epoch is redone from the backup
    if not lines:
        return []
    rows = []
    reader = csv.DictReader(lines)
    for number, row in enumerate(reader, start=2):
        if None in row or None in row.values():
            raise DataFormatError(path, number, f"expected {len(reader.fieldnames)} columns")
        try:
            rows.append({key: math.nan if value == "NA" else float(value) for key, value in row.items()})
        except ValueError as error:
            raise DataFormatError(path, number, f"not a number ({error})") from None
    return rows


def _write_history(path: pathlib.Path, rows: list[dict[str, float]]) -> None:
    with zoo.io.replacing(path) as staging, staging.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: int(v) if key == "epoch" else v for key, v in row.items()})


def _config_record(config: RunConfig) -> dict[str, Any]:
    """The config as JSON would give it back (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


class Run:
    """One training run of a recipe: output folder, lock, seeds, strategy, callbacks and artifacts.

    Args:
        config: the recipe's config (a `RunConfig` subclass).
        recipe: the recipe's name; the default output folder is `saved_models/<recipe>`.

    Raises:
        RunFinished: the folder holds a finished run (metrics.json) and `config.overwrite` is off.
        OutputDirError: the folder is a file, is not writable, is nearly full, or another run holds it;
            or it holds an interrupted run whose model flags differ from `config`'s.
    """

    def __init__(self, config: RunConfig, recipe: str):
        self.config = config
        self.recipe = recipe
        self.output_dir = pathlib.Path(config.output_dir or pathlib.Path("saved_models") / recipe)
        self.cluster: zoo.distributed.Cluster | None = None
        if config.strategy == "multi-worker":  # the collective strategy comes before any op
            self.cluster = zoo.distributed.Cluster.from_environment()
            self._collective = zoo.distributed.make_strategy()
            if not self.cluster.is_chief:  # only the chief writes the run's folder
                self.output_dir = self.output_dir / ".workers" / str(self.cluster.index)
        self.backup_dir = self.output_dir / "backup"
        self.history_path = self.output_dir / "history.csv"
        self.best_weights_path = self.output_dir / "best.weights.h5"
        self.metrics_path = self.output_dir / "metrics.json"
        self.config_path = self.output_dir / "config.json"
        self._trained_path = self.backup_dir / "trained.json"
        self._final_weights_path = self.backup_dir / "final.weights.h5"
        self._check_output_dir()
        self._lock = filelock.FileLock(self.output_dir / ".lock", blocking=False, is_singleton=True)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise OutputDirError(
                f"{self.output_dir} is in use by another run (it holds {self.output_dir / '.lock'}); "
                "wait for it to finish, or pass another --output-dir"
            ) from None
        try:
            self._prepare()
        except BaseException:
            self._lock.release()
            raise
        keras.utils.set_random_seed(config.seed)  # Python, NumPy and TensorFlow in one call
        # Under multi-worker the model is built as in one process; only `fit`'s step is collective.
        self.strategy = make_strategy("default" if self.cluster else config.strategy)
        print(f"strategy: {type(self.strategy).__name__}, replicas: {self.strategy.num_replicas_in_sync}")
        self.monitor: str | None = None
        self.mode: str = "min"
        self._initial_epoch = self._initial_batches = 0  # where a backup resumes (`_resume_epoch`)

    def _check_output_dir(self) -> None:
        """Fail now, not after an hour of data loading, if nothing can be written here."""
        if self.output_dir.exists() and not self.output_dir.is_dir():
            raise OutputDirError(f"--output-dir {self.output_dir} is a file, not a folder")
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            zoo.io.write_text(self.output_dir / ".write-test", "")
            (self.output_dir / ".write-test").unlink()
        except OSError as error:
            raise OutputDirError(
                f"cannot write to --output-dir {self.output_dir}: {error.strerror}"
            ) from None
        free = shutil.disk_usage(self.output_dir).free
        if free < MIN_FREE_BYTES:
            raise OutputDirError(
                f"only {free / 2**20:.1f} MB free on the disk of {self.output_dir}; a run needs at least "
                f"{MIN_FREE_BYTES // 2**20} MB for its backups and exports"
            )

    def _prepare(self) -> None:
        """Decide between a fresh run, a resumed one and a finished one, under the lock."""
        zoo.io.remove_partials(self.output_dir)
        zoo.io.remove_partials(self.backup_dir)
        if self.metrics_path.exists():
            if not self.config.overwrite:
                shutil.rmtree(self.backup_dir, ignore_errors=True)  # left if killed right after metrics.json
                try:
                    metrics = json.loads(self.metrics_path.read_text())
                except ValueError:
                    metrics = {}
                raise RunFinished(self.output_dir, metrics)
            self._discard()
        record = _config_record(self.config)
        changed = self._changed_flags(record) if self.backup_dir.exists() else []
        if changed and self.config.overwrite:
            self._discard()
        elif changed:
            raise OutputDirError(
                f"{self.output_dir} holds an interrupted run with other flags ({'; '.join(changed)}); "
                "run the same command to resume it, or pass --overwrite to start afresh"
            )
        zoo.io.write_text(self.config_path, json.dumps(record, indent=2) + "\n")

    def _changed_flags(self, record: dict[str, Any]) -> list[str]:
        """The model and data flags of `record` that differ from those the backup was made with."""
        if not self.config_path.exists():
            return []
        try:
            before = json.loads(self.config_path.read_text())
        except ValueError:
            raise DataFormatError(self.config_path, None, "not JSON; pass --overwrite") from None
        return [
            f"--{name.replace('_', '-')} {before.get(name)!r} -> {value!r}"
            for name, value in record.items()
            if name not in self.config.RESUMABLE_CHANGES and before.get(name) != value
        ]

    def _discard(self) -> None:
        """Remove an earlier run's state and mark, so nothing of it is resumed or looks finished."""
        print(f"--overwrite: discarding the earlier run in {self.output_dir}")
        for name in ("metrics.json", "best.weights.h5", "best.json", "history.csv", "config.json"):
            (self.output_dir / name).unlink(missing_ok=True)
        shutil.rmtree(self.backup_dir, ignore_errors=True)

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
        metadata = json.loads(metadata_path.read_text())
        epoch = int(metadata["epoch"])
        self._initial_batches = int(metadata.get("batches_done", 0))
        rows = [row for row in read_history(self.history_path) if row["epoch"] < epoch]
        if rows:
            _write_history(self.history_path, rows)
        else:
            self.history_path.unlink(missing_ok=True)
        return epoch

    def _best_so_far(self, monitor: str) -> float | None:
        record = self.best_weights_path.with_name("best.json")
        if self.best_weights_path.exists() and record.exists():
            value = json.loads(record.read_text()).get(monitor)
            return None if value is None else float(value)
        return None

    def callbacks(self, monitor: str, mode: str) -> tuple[list[keras.callbacks.Callback], StopOnNaN]:
        resume_epoch = self._initial_epoch = self._resume_epoch()
        best_so_far, previous = None, []
        if resume_epoch or self.backup_dir.exists():
            best_so_far = self._best_so_far(monitor)
            previous = [row[monitor] for row in read_history(self.history_path) if monitor in row]
            print(f"Resuming from the backup in {self.backup_dir} at epoch {resume_epoch + 1}")
        else:  # a fresh run must not inherit an old best
            self.best_weights_path.unlink(missing_ok=True)
            self.best_weights_path.with_name("best.json").unlink(missing_ok=True)
        nan_guard = StopOnNaN()
        callbacks = [
            Backup(
                self.backup_dir, self.config.backup_every_steps
            ),  # first at an epoch's start: it saves before the others begin the epoch
            EpochTimer(),
            nan_guard,
            BestWeights(self.best_weights_path, monitor, mode, best_so_far),
            ResumedEarlyStopping(
                previous,
                monitor=monitor,
                mode=mode,
                patience=self.config.patience,
            ),
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

        With `--ema` (`zoo.config.EMAConfig`; the model's optimizer made with `ema_options`), Keras's
        `SwapEMAWeights(swap_on_epoch=True)` comes first of all: from each epoch's end to the next
        epoch's start the model holds the moving average, so validation, `extra_callbacks`, the best
        checkpoint and what follows training see the average, and training and its backups the
        trained weights.

        If an earlier run with this folder finished training and was killed later (in evaluation or
        export), nothing is trained: its weights are loaded and returned.
        """
        self.monitor, self.mode = monitor, mode
        if self._trained_path.exists():
            print(f"Training finished in an earlier run ({self._trained_path}); loading its weights")
            self._leave_if_worker()
            return self._load_trained(model)
        # Keras warns about any tf.data input: that fit's default shuffle=True does not apply to it (our
        # pipelines shuffle themselves) and, at the end of an epoch of unknown length, that the input
        # "ran out of data" (that is how such an epoch ends). Neither is actionable here.
        warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        resuming = self.backup_dir.exists()
        ema = self._ema_swap(model)  # refused before anything on disk changes
        callbacks, nan_guard = self.callbacks(monitor, mode)
        budget = TimeBudget(getattr(self.config, "max_train_minutes", None))
        callbacks = [*ema, *extra_callbacks, *callbacks, budget]
        try:
            with self._writing():
                if self.cluster is None:
                    model.fit(
                        train,
                        validation_data=validation,
                        epochs=self.config.epochs,
                        callbacks=callbacks,
                        verbose=self.verbose,
                    )
                else:
                    self._fit_in_cluster(model, train, validation, callbacks)
        except ValueError as error:
            if resuming and ("could not be loaded" in str(error) or "mismatch" in str(error).lower()):
                raise OutputDirError(
                    f"the backup in {self.backup_dir} was written by a different model ({error}); "
                    "run with the flags it was made with, or pass --overwrite to start afresh"
                ) from error
            raise
        if nan_guard.diverged_at is not None or not all_finite(model):
            where = "the weights became NaN/inf"
            if nan_guard.diverged_at is not None:
                epoch, batch = nan_guard.diverged_at
                where = f"the loss became NaN/inf at epoch {epoch + 1}, batch {batch + 1}"
            kept = [
                f"the best finite weights so far are in {self.best_weights_path}"
                if self.best_weights_path.exists()
                else "no finite weights scored on validation before that",
                f"the last finite backup is in {self.backup_dir}"
                if (self.backup_dir / "training_metadata.json").exists()
                else "no backup was due before that",
            ]
            raise TrainingDivergedError(
                f"{where}; training stopped: {'; '.join(kept)}. Try a lower learning rate or gradient "
                "clipping, then run again with --overwrite or a new --output-dir."
            )
        if budget.stopped_at:
            epoch, batch = budget.stopped_at
            print(
                f"--max-train-minutes {budget.minutes:g}: stopped in epoch {epoch + 1} at batch {batch + 1}"
            )
        # Training is over: keep its end state until the run is finished, so a kill in evaluation or
        # export never trains again.
        self.backup_dir.mkdir(parents=True, exist_ok=True)  # a run too short for any backup has none
        with self._writing():
            save_weights_whole(model, self._final_weights_path)
            zoo.io.write_text(
                self._trained_path, json.dumps({"epochs": len(read_history(self.history_path))})
            )
        self._leave_if_worker()
        if self.best_weights_path.exists():
            model.load_weights(str(self.best_weights_path))
        return model

    def _ema_swap(self, model: keras.Model) -> list[keras.callbacks.Callback]:
        """`SwapEMAWeights` under `--ema`, none without; refuses a model whose optimizer keeps no average."""
        if not getattr(self.config, "ema", 0.0):
            return []
        optimizer = getattr(model, "optimizer", None)
        if not getattr(getattr(optimizer, "inner_optimizer", optimizer), "use_ema", False):
            raise ValueError(
                "--ema is on but the model's optimizer keeps no moving average: compile it with "
                "zoo.train.ema_options(config), e.g. keras.optimizers.Adam(rate, **ema_options(config))"
            )
        return [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]

    def _fit_in_cluster(self, model: keras.Model, train, validation, callbacks: list) -> None:
        """`fit` under `--strategy multi-worker` (`zoo.distributed.Trainer`); a lost worker stops the run
        with the way to resume."""
        trainer = zoo.distributed.Trainer(model, self._collective, self.cluster)
        try:
            trainer.fit(
                train,
                validation,
                epochs=self.config.epochs,
                callbacks=callbacks,
                initial_epoch=self._initial_epoch,
                initial_batches=self._initial_batches,
                verbose=self.verbose,
            )
        except (
            tf.errors.UnavailableError,
            tf.errors.CancelledError,
            tf.errors.DeadlineExceededError,
        ) as error:
            raise zoo.errors.ClusterError(
                f"a worker of the cluster was lost ({type(error).__name__}); the last backup is in "
                f"{self.backup_dir}: start every worker again with the same command to resume"
            ) from error

    def _leave_if_worker(self) -> None:
        """A worker other than the chief ends once training is over: the chief evaluates and exports."""
        if self.cluster is not None and not self.cluster.is_chief:
            self._lock.release()
            print(f"worker {self.cluster.index}: training is over; the chief evaluates and exports")
            raise SystemExit(0)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A failed write (a full disk, a folder gone read-only) becomes one clear error."""
        try:
            yield
        except OSError as error:
            full = error.errno == errno.ENOSPC or "space" in str(error).lower()
            raise OutputDirError(
                f"could not write to {self.output_dir} ({'the disk is full' if full else error}); the last "
                "backup and best weights are intact: "
                + ("free some space, then " if full else "")
                + "run the same command again to resume"
            ) from error

    def _load_trained(self, model: keras.Model) -> keras.Model:
        if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # the files hold the optimizer's variables
        path = self.best_weights_path if self.best_weights_path.exists() else self._final_weights_path
        model.load_weights(str(path))
        return model

    def finish(self, metrics: dict[str, float]) -> dict[str, float]:
        """Write the training-curves PNG and then metrics.json (flat name -> number, plus train_seconds
        and epochs; null for a figure the run leaves undefined and a list for a set of labels), the mark
        of a finished run; delete the backup, release the folder and print a summary table. Returns the
        metrics written."""
        history = read_history(self.history_path)
        summary = {
            "train_seconds": round(sum(row.get("epoch_seconds", 0.0) for row in history), 2),
            "epochs": len(history),
        }
        if self.monitor and history and self.monitor in history[0]:
            best = max if self.mode == "max" else min
            summary[f"best_{self.monitor}"] = best(row[self.monitor] for row in history)
        metrics = {**summary, **{k: _json_value(v) for k, v in metrics.items()}}
        if history:
            from zoo.plots import plot_history

            plot_history(
                history,
                self.output_dir / "training_curves.png",
                title=self.recipe,
                monitor=self.monitor or "val_loss",
                mode=self.mode,
            )
        zoo.io.write_text(self.metrics_path, json.dumps(metrics, indent=2) + "\n")
        shutil.rmtree(self.backup_dir, ignore_errors=True)
        shutil.rmtree(self.output_dir / ".workers", ignore_errors=True)  # other workers' state, if here
        self._lock.release()
        print(format_table(metrics, title=f"{self.recipe}: {self.output_dir}"))
        if (self.output_dir / "deploy.json").exists():
            from zoo.predict import command

            ask = command(self.recipe, self.output_dir)
            print(f"\nAsk the trained model:\n  {ask}")
        presets = getattr(type(self.config), "PRESETS", {})
        if getattr(self.config, "dataset", "") is None and presets:
            real = f"python -m recipes.{self.recipe} --preset {next(iter(presets))}"
            print(
                "\nThis run trained on the embedded demo sample: its figures show that the recipe works "
                "end to end, not how good the model can be. A real model (the dataset from --data-dir, "
                f"$ZOO_DATA_DIR or its public URL):\n  {real}"
            )
        return metrics


def train_members(
    config: RunConfig,
    run: Run,
    count: int,
    train: Callable[[int, RunConfig, Run], tuple[Any, dict[str, float]]],
    load: Callable[[int, RunConfig, pathlib.Path], Any],
    keep: Sequence[str] = (),
) -> tuple[list, dict[str, float]]:
    """An ensemble as `count` ordinary runs: member i trains with seed `config.seed + i` in
    `<output_dir>/member_<i>/`, with its own checkpoints, history, resume and metrics.json, so a kill
    loses at most the member in progress, and each member is what one run of the recipe would give.

    Args:
        config: the ensemble's config; each member gets a copy with its seed and folder.
        run: the ensemble's run (its folder holds the members' folders).
        count: members.
        train: `(index, member_config, member_run) -> (model, metrics)`: trains member `index` and
            returns what its run's `finish` writes (e.g. its own test scores).
        load: `(index, member_config, folder) -> model`: a member finished in an earlier run, rebuilt
            and loaded from its folder (`best.weights.h5`), not trained again.
        keep: metrics of each member to report as `member_<i>_<name>`.

    Returns:
        The members' models, and the ensemble's metrics: `train_seconds` and `epochs` summed over the
        members, and the kept metrics of each.
    """
    models, metrics = [], {"train_seconds": 0.0, "epochs": 0}
    for index in range(count):
        member = dataclasses.replace(
            config, seed=config.seed + index, output_dir=str(run.output_dir / f"member_{index}")
        )
        try:
            member_run = Run(member, recipe=f"{run.recipe} member {index}")
        except RunFinished as finished:
            print(f"member {index}: trained in an earlier run ({finished.output_dir}); loading its weights")
            model, member_metrics = load(index, member, pathlib.Path(finished.output_dir)), finished.metrics
        else:
            model, member_metrics = train(index, member, member_run)
            member_metrics = member_run.finish(member_metrics)
        models.append(model)
        metrics["train_seconds"] = round(metrics["train_seconds"] + member_metrics["train_seconds"], 2)
        metrics["epochs"] += member_metrics["epochs"]
        metrics |= {f"member_{index}_{name}": member_metrics[name] for name in keep}
    return models, metrics


def _json_value(value: Any) -> float | int | list | None:
    """A metric as metrics.json holds it: a number; None (null) for a figure the run leaves undefined,
    such as a divergence that is infinite; a list for a set of labels (both as
    `zoo.metrics.prediction_information` gives them)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [item.item() if isinstance(item, np.generic) else item for item in value]
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
