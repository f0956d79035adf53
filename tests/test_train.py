import dataclasses
import errno
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.config
import zoo.io
import zoo.train
from zoo.errors import DataFormatError, TrainingDivergedError


def tiny_data(seed=0, n=64):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 4)).astype("float32")
    labels = (features[:, 0] + features[:, 1] > 0).astype("float32")
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(8)


def tiny_model(loss="binary_crossentropy"):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss, metrics=["accuracy"])
    return model


def test_run_writes_every_artifact(tmp_path):
    config = zoo.train.RunConfig(epochs=3, output_dir=str(tmp_path), patience=5)
    run = zoo.train.Run(config, recipe="tiny")
    model = run.fit(tiny_model(), tiny_data(), tiny_data(1), monitor="val_accuracy", mode="max")
    metrics = run.finish(
        {"test_accuracy": np.float32(0.5), "count": np.int64(3), "undefined": None, "unseen": [np.int64(1)]}
    )

    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written == metrics
    # Flat numbers, but for null (a figure the run leaves undefined) and a list of labels.
    numbers = {name: value for name, value in written.items() if name not in ("undefined", "unseen")}
    assert all(isinstance(value, (int, float)) for value in numbers.values())
    assert written["undefined"] is None and written["unseen"] == [1]
    assert written["epochs"] == 3 and written["train_seconds"] > 0
    assert written["count"] == 3 and written["test_accuracy"] == 0.5
    history = zoo.train.read_history(tmp_path / "history.csv")
    assert [row["epoch"] for row in history] == [0, 1, 2]
    assert written["best_val_accuracy"] == max(row["val_accuracy"] for row in history)
    assert (tmp_path / "training_curves.png").stat().st_size > 1000
    assert any((tmp_path / "logs").rglob("*tfevents*"))  # TensorBoard
    assert not (tmp_path / "backup").exists()  # kept until metrics.json is written, then removed
    # The returned model holds the best checkpoint's weights.
    best = tiny_model()
    best.load_weights(tmp_path / "best.weights.h5")
    for got, want in zip(model.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_nan_loss_stops_with_a_clear_error(tmp_path):
    config = zoo.train.RunConfig(epochs=3, output_dir=str(tmp_path))
    run = zoo.train.Run(config, recipe="tiny")
    nan_loss = lambda y_true, y_pred: keras.ops.log(y_pred - 2.0)  # noqa: E731  log of a negative
    with pytest.raises(TrainingDivergedError, match=r"NaN/inf at epoch 1, batch 1"):
        run.fit(tiny_model(nan_loss), tiny_data(), tiny_data(1), monitor="val_accuracy", mode="max")
    # The weights stay finite while the loss is NaN: their validation accuracy must not make them "best".
    assert not (tmp_path / "best.weights.h5").exists()


def test_resume_trims_history_to_the_backup(tmp_path):
    # A run killed after epoch 2's CSV row but with a backup from inside epoch 2 (index 1):
    # the restarted run redoes epoch index 1, so its old row must go.
    (tmp_path / "history.csv").write_text("epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.75\n")
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "training_metadata.json").write_text('{"epoch": 1, "batch": 3}')
    run = zoo.train.Run(zoo.train.RunConfig(output_dir=str(tmp_path)), recipe="tiny")
    assert run._resume_epoch() == 1
    assert [row["epoch"] for row in zoo.train.read_history(tmp_path / "history.csv")] == [0]


def test_format_table():
    table = zoo.train.format_table({"test_accuracy": 0.91234, "epochs": 3})
    assert "| test_accuracy | 0.9123 |" in table and "| epochs        | 3 |" in table


def test_config_refuses_nonsense():
    with pytest.raises(ValueError, match="--batch-size must be at least 1"):
        zoo.train.RunConfig(batch_size=0)


@pytest.mark.parametrize(
    "flags, gpus, expected",
    [
        ({"fpu", "avx512f", "avx512_bf16"}, [], "mixed_bfloat16"),
        ({"fpu", "amx_bf16", "amx_tile"}, [], "mixed_bfloat16"),
        ({"fpu", "avx512f", "avx2"}, [], "float32"),  # bfloat16 would be emulated: slower
        (set(), [], "float32"),  # no /proc/cpuinfo (macOS, Windows)
        ({"avx512_bf16"}, ["GPU:0"], "float32"),
    ],
)
def test_auto_precision_picks_bfloat16_only_where_the_cpu_computes_it(monkeypatch, flags, gpus, expected):
    monkeypatch.setattr(zoo.train, "_cpu_flags", lambda: flags)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    assert zoo.train.dtype_policy("auto") == expected
    assert zoo.train.dtype_policy("float32") == "float32"
    assert zoo.train.dtype_policy("mixed_bfloat16") == "mixed_bfloat16"


def test_cpu_flags_are_read_from_proc_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512_bf16\nbugs\t\t: spectre_v1\n")
    assert zoo.train._cpu_flags(str(cpuinfo)) == {"fpu", "sse2", "avx512_bf16"}
    assert zoo.train._cpu_flags(str(tmp_path / "absent")) == set()


# ## Nothing lost: kills, NaN, a second run, a damaged folder


@dataclasses.dataclass
class UnitsConfig(zoo.train.RunConfig):
    units: int = 1
    learning_rate: float = 0.05


class CountEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


class KillAt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (a kill) when training reaches batch `batch` of epoch `epoch`."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def fit(tmp_path, callbacks=(), **config):
    config = {"epochs": 3, "output_dir": str(tmp_path), "patience": 5, **config}
    run = zoo.train.Run(UnitsConfig(**config), recipe="tiny")
    model = run.fit(tiny_model(), tiny_data(), tiny_data(1), extra_callbacks=list(callbacks))
    return run, model


def test_a_kill_in_the_first_batch_of_an_epoch_resumes_at_that_epoch(tmp_path):
    # Backups every 1,000 batches never come in 8-batch epochs: only the epoch-boundary backup saves.
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path, [KillAt(epoch=2, batch=0)], backup_every_steps=1000)
    assert json.loads((tmp_path / "backup" / "training_metadata.json").read_text())["epoch"] == 2
    counter = CountEpochs()
    run, _ = fit(tmp_path, [counter], backup_every_steps=1000)
    assert counter.epochs == [2]
    run.finish({})
    assert [row["epoch"] for row in zoo.train.read_history(tmp_path / "history.csv")] == [0, 1, 2]


def test_a_kill_after_training_resumes_without_training_and_finish_marks_the_run(tmp_path):
    _, trained = fit(tmp_path)  # then killed in evaluation or export: finish never ran
    assert (tmp_path / "backup").exists() and not (tmp_path / "metrics.json").exists()
    counter = CountEpochs()
    run, model = fit(tmp_path, [counter])
    assert counter.epochs == []  # nothing trained again
    for got, want in zip(model.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(got, want)
    run.finish({"test_accuracy": 0.5})
    assert not (tmp_path / "backup").exists()
    with pytest.raises(zoo.train.RunFinished, match="holds a finished run") as finished:
        zoo.train.Run(UnitsConfig(output_dir=str(tmp_path)), recipe="tiny")
    assert finished.value.metrics["test_accuracy"] == 0.5
    zoo.train.Run(UnitsConfig(output_dir=str(tmp_path), overwrite=True), recipe="tiny")
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "best.weights.h5").exists()


class PoisonAt(keras.callbacks.Callback):
    """Sets every weight to NaN before batch `batch` of the first epoch: a diverging step."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.batch:
            self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])


def test_after_a_nan_neither_best_weights_nor_backup_hold_non_finite_values(tmp_path):
    config = zoo.train.RunConfig(epochs=3, output_dir=str(tmp_path), backup_every_steps=2)
    run = zoo.train.Run(config, recipe="tiny")
    with pytest.raises(TrainingDivergedError, match="last finite backup"):
        # val_accuracy of a NaN model (0.5 or so) would beat "no best yet"
        run.fit(tiny_model(), tiny_data(), tiny_data(1), monitor="val_accuracy", mode="max",
                extra_callbacks=[PoisonAt(batch=3)])  # fmt: skip
    assert not (tmp_path / "best.weights.h5").exists()
    backup = tiny_model()
    backup.load_weights(tmp_path / "backup" / "latest.weights.h5")  # saved after batch index 1
    assert all(np.isfinite(w).all() for w in backup.get_weights())


def test_a_resume_with_other_model_flags_is_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path, [KillAt(epoch=1, batch=2)])
    with pytest.raises(zoo.train.OutputDirError, match=r"--units 1 -> 2.*--overwrite"):
        zoo.train.Run(UnitsConfig(output_dir=str(tmp_path), units=2), recipe="tiny")
    # flags that do not shape the model may change; --overwrite resumes a run of its own flags
    zoo.train.Run(UnitsConfig(output_dir=str(tmp_path), patience=9, overwrite=True), recipe="tiny")
    assert (tmp_path / "backup").exists()
    # and discards one made with other flags
    zoo.train.Run(UnitsConfig(output_dir=str(tmp_path), units=2, overwrite=True), recipe="tiny")
    assert not (tmp_path / "backup").exists()


def test_a_second_run_on_the_folder_is_refused_and_a_dead_runs_lock_is_not(tmp_path):
    program = (
        "import filelock, sys, time\n"
        "lock = filelock.FileLock(sys.argv[1])\n"
        "lock.acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", program, str(tmp_path / ".lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(zoo.train.OutputDirError, match="in use by another run"):
            zoo.train.Run(UnitsConfig(output_dir=str(tmp_path)), recipe="tiny")
    finally:
        holder.kill()  # kill -9: the lock file stays behind, its OS lock does not
        holder.wait()
    assert (tmp_path / ".lock").exists()
    zoo.train.Run(UnitsConfig(output_dir=str(tmp_path)), recipe="tiny")


def test_a_half_written_last_history_row_is_dropped_and_other_damage_named(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.7")  # killed while writing row 1
    assert [row["epoch"] for row in zoo.train.read_history(history)] == [0]
    history.write_text("epoch,loss,val_loss\n0,0.9,0.8\n1,0.7\n2,0.6,0.6\n")
    with pytest.raises(DataFormatError, match=r"history.csv:3: expected 3 columns"):
        zoo.train.read_history(history)
    history.write_text("epoch,loss,val_loss\n0,0.9,oops\n")
    with pytest.raises(DataFormatError, match=r"history.csv:2: not a number"):
        zoo.train.read_history(history)


def test_an_output_dir_that_cannot_take_a_run_is_refused_before_anything_else(tmp_path, monkeypatch):
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(zoo.train.OutputDirError, match="is a file, not a folder"):
        zoo.train.Run(UnitsConfig(output_dir=str(a_file)), recipe="tiny")

    def read_only(path, text, encoding="utf-8"):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(zoo.io, "write_text", read_only)
    with pytest.raises(zoo.train.OutputDirError, match="cannot write to --output-dir .*Permission denied"):
        zoo.train.Run(UnitsConfig(output_dir=str(tmp_path / "ro")), recipe="tiny")
    monkeypatch.undo()
    monkeypatch.setattr(zoo.train.shutil, "disk_usage", lambda path: shutil_usage(free=2**20))
    with pytest.raises(zoo.train.OutputDirError, match="only 1.0 MB free"):
        zoo.train.Run(UnitsConfig(output_dir=str(tmp_path / "full")), recipe="tiny")


def shutil_usage(free):
    import collections

    return collections.namedtuple("usage", "total used free")(10 * free, 9 * free, free)


class DiskFullAt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_during_training_says_so_and_keeps_the_backup(tmp_path):
    with pytest.raises(zoo.train.OutputDirError, match="the disk is full.*resume"):
        fit(tmp_path, [DiskFullAt()], backup_every_steps=1000)
    assert json.loads((tmp_path / "backup" / "training_metadata.json").read_text())["epoch"] == 1


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), 0.0])
def test_rates_and_sizes_refuse_negative_and_non_finite_values(value):
    with pytest.raises(ValueError, match="--learning-rate must be"):
        UnitsConfig(learning_rate=value)
    if value != 0.0:
        with pytest.raises(ValueError, match="--units must be a finite number >= 0"):
            UnitsConfig(units=-1)


def test_a_run_too_short_for_any_backup_still_keeps_its_trained_weights(tmp_path):
    fit(tmp_path, epochs=1, backup_every_steps=1000)
    assert (tmp_path / "backup" / "trained.json").exists()
    assert (tmp_path / "backup" / "final.weights.h5").exists()


class Stoppable:
    stop_training = False


@pytest.mark.parametrize("previous, stops", [([0.5, 0.6], True), ([0.6, 0.5], False), ([], False)])
def test_patience_counts_the_epochs_before_a_resume(previous, stops):
    # patience 2: best at epoch 0 and epoch 1 worse (wait 1), so a worse epoch 2 ends training, as it would
    # have without the interruption; a resume that started patience afresh would train two more epochs.
    early = zoo.train.ResumedEarlyStopping(previous, monitor="val_loss", mode="min", patience=2)
    early.set_model(Stoppable())
    early.on_train_begin()
    early.on_epoch_end(len(previous), {"val_loss": 0.7})
    assert early.model.stop_training is stops


# ## --ema: the runner swaps the moving average of the weights in at each epoch's end


class TrainedWeights(keras.callbacks.Callback):
    """The weights after every training step (the trained ones: the average is swapped out during an
    epoch) and the weights the model holds at each epoch's end, when the callbacks after the swap run."""

    def __init__(self):
        super().__init__()
        self.steps, self.epoch_ends = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(self.model.get_weights())

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_ends.append((len(self.steps), self.model.get_weights()))


def ema_model(config):
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.05, **zoo.train.ema_options(config)), loss="mse")
    return model


def moving_average(steps, momentum):
    """Keras's `use_ema` by hand: the first step's weights, then `momentum * average + (1 - momentum) * w`."""
    average = steps[0]
    for weights in steps[1:]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
    return average


def assert_weights_close(got, want):
    for got_array, want_array in zip(got, want, strict=True):
        np.testing.assert_allclose(got_array, want_array, rtol=1e-5, atol=1e-6)


def test_ema_validates_checkpoints_and_ends_with_the_averaged_weights(tmp_path):
    config = zoo.config.EMAConfig(epochs=3, patience=5, output_dir=str(tmp_path), ema=0.9)
    run = zoo.train.Run(config, recipe="tiny")
    model, trained = ema_model(config), TrainedWeights()
    model = run.fit(model, tiny_data(), tiny_data(1), monitor="val_loss", extra_callbacks=[trained])
    assert len(trained.steps) == 24  # 8 batches in each of 3 epochs
    # At every epoch's end, the callbacks after the swap (validation, extra_callbacks, the checkpoint)
    # see the average of the steps so far, not the trained weights.
    averages = [moving_average(trained.steps[:steps], 0.9) for steps, _ in trained.epoch_ends]
    for average, (steps, held) in zip(averages, trained.epoch_ends):
        assert_weights_close(held, average)
        assert not np.allclose(held[0], trained.steps[steps - 1][0], atol=1e-3)
    # fit ends with the last average in the model (kept in the backup until `finish`); the best
    # checkpoint holds the average of its epoch, and `fit` returns it.
    model.load_weights(tmp_path / "backup" / "final.weights.h5")
    assert_weights_close(model.get_weights(), averages[-1])
    best_epoch = json.loads((tmp_path / "best.json").read_text())["epoch"]
    model.load_weights(tmp_path / "best.weights.h5")
    assert_weights_close(model.get_weights(), averages[best_epoch])


def test_ema_backups_hold_the_trained_weights(tmp_path):
    # The epoch-boundary backup is taken after the swap has put the trained weights back: a resumed run
    # trains on from them, with the average beside them in the optimizer.
    config = zoo.config.EMAConfig(epochs=3, output_dir=str(tmp_path), ema=0.9, backup_every_steps=1000)
    run = zoo.train.Run(config, recipe="tiny")
    model, trained = ema_model(config), TrainedWeights()
    with pytest.raises(KeyboardInterrupt):
        run.fit(model, tiny_data(), tiny_data(1), extra_callbacks=[trained, KillAt(epoch=2, batch=0)])
    model.load_weights(tmp_path / "backup" / "latest.weights.h5")
    assert_weights_close(model.get_weights(), trained.steps[15])  # after epoch 2's last step


def test_ema_refuses_an_optimizer_without_the_average(tmp_path):
    config = zoo.config.EMAConfig(epochs=1, output_dir=str(tmp_path), ema=0.9)
    run = zoo.train.Run(config, recipe="tiny")
    with pytest.raises(ValueError, match=r"ema_options\(config\)"):
        run.fit(tiny_model(), tiny_data(), tiny_data(1))
    assert not (tmp_path / "history.csv").exists()
    assert zoo.train.ema_options(dataclasses.replace(config, ema=0.0)) == {}
