import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.train
from zoo.errors import TrainingDivergedError


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
    metrics = run.finish({"test_accuracy": np.float32(0.5), "count": np.int64(3)})

    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written == metrics
    assert all(isinstance(value, (int, float)) for value in written.values())  # flat numbers only
    assert written["epochs"] == 3 and written["train_seconds"] > 0
    assert written["count"] == 3 and written["test_accuracy"] == 0.5
    history = zoo.train.read_history(tmp_path / "history.csv")
    assert [row["epoch"] for row in history] == [0, 1, 2]
    assert written["best_val_accuracy"] == max(row["val_accuracy"] for row in history)
    assert (tmp_path / "training_curves.png").stat().st_size > 1000
    assert any((tmp_path / "logs").rglob("*tfevents*"))  # TensorBoard
    assert not (tmp_path / "backup").exists()  # removed after a finished fit
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
        run.fit(tiny_model(nan_loss), tiny_data(), tiny_data(1))


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
