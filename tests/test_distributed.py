"""`--strategy multi-worker`: the cluster description, the batch slices, and two local workers training
as one process does (step losses and weights), on a small model and on the sentiment recipe."""

from __future__ import annotations

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.cluster
import zoo.distributed
from zoo.errors import ClusterError

ROOT = pathlib.Path(__file__).parent.parent


def tf_config(cluster: dict, kind: str, index: int) -> dict[str, str]:
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})}


def test_the_cluster_is_read_from_tf_config():
    workers = {"worker": ["a:1", "b:1", "c:1"]}
    assert zoo.distributed.Cluster.from_environment(tf_config(workers, "worker", 2)) == (
        zoo.distributed.Cluster(workers=3, index=2, task="worker", task_index=2)
    )
    assert zoo.distributed.Cluster.from_environment(tf_config(workers, "worker", 0)).is_chief
    with_chief = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}
    chief = zoo.distributed.Cluster.from_environment(tf_config(with_chief, "chief", 0))
    worker = zoo.distributed.Cluster.from_environment(tf_config(with_chief, "worker", 0))
    assert (chief.is_chief, chief.workers) == (True, 3)
    assert (worker.is_chief, worker.index) == (False, 1)


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "needs the TF_CONFIG environment variable"),
        ({"TF_CONFIG": "{not json"}, "not a cluster description"),
        (tf_config({"worker": ["a:1"]}, "worker", 1), "not in its cluster"),
        (tf_config({"worker": ["a:1"]}, "ps", 0), "not in its cluster"),
    ],
)
def test_a_missing_or_wrong_tf_config_is_refused_clearly(environ, message):
    with pytest.raises(ClusterError, match=message):
        zoo.distributed.Cluster.from_environment(environ)


def test_the_workers_slices_make_up_each_batch_in_order():
    batches = tf.data.Dataset.from_tensor_slices((np.arange(10), np.arange(10) * 10)).batch(4)
    slices = [list(zoo.distributed.shard(batches, index, 3)) for index in range(3)]
    for step, (ids, labels) in enumerate(batches):
        joined = np.concatenate([slices[index][step][0] for index in range(3)])
        np.testing.assert_array_equal(joined, ids)
        np.testing.assert_array_equal(np.concatenate([slices[i][step][1] for i in range(3)]), labels)
    assert [len(slices[index][-1][0]) for index in range(3)] == [0, 1, 1]  # a batch of 2 for 3 workers


def test_a_model_with_its_own_train_step_is_refused():
    class Custom(keras.Model):
        def train_step(self, data):
            return {}

    inputs = keras.Input((3,))
    model = Custom(inputs, keras.layers.Dense(1)(inputs))
    cluster = zoo.distributed.Cluster(workers=1, index=0, task="worker", task_index=0)
    with pytest.raises(ClusterError, match="its own train_step"):
        zoo.distributed.Trainer(model, tf.distribute.get_strategy(), cluster)
    Custom.summed_loss = Custom.track = lambda *args: None  # a loss summed over rows: accepted
    assert zoo.distributed.Trainer(model, tf.distribute.get_strategy(), cluster).summed


def test_a_failing_worker_stops_the_local_cluster(tmp_path):
    script = (
        "import json, os, sys, time; index = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
        "sys.exit(3) if index == 1 else time.sleep(60)"
    )
    assert zoo.cluster.run_local([sys.executable, "-c", script], workers=2, timeout=50) == 3


def run_cluster(command: list[str], workers: int, tmp_path: pathlib.Path, timeout: float = 400) -> None:
    log = tmp_path / f"cluster-{workers}.log"
    with log.open("w") as out:
        cluster = ["-m", "zoo.cluster", "local", "--workers", str(workers), "--timeout", str(timeout)]
        status = subprocess.run(
            [sys.executable, *cluster, "--", *command],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout + 60,
        ).returncode
    assert status == 0, log.read_text()[-3000:]


def test_two_workers_take_the_steps_of_one_process(tmp_path):
    reference = tmp_path / "one.json"
    script = str(ROOT / "tests" / "distributed_steps.py")
    subprocess.run([sys.executable, script, str(reference)], check=True, cwd=ROOT, timeout=300)
    run_cluster([sys.executable, script, str(tmp_path / "two.json")], 2, tmp_path)
    one = json.loads(reference.read_text())
    for index in range(2):
        two = json.loads((tmp_path / f"two.json.{index}").read_text())
        assert len(two["steps"]) == len(one["steps"]) == 12
        np.testing.assert_allclose(two["steps"], one["steps"], atol=1e-5)
        for mine, theirs in zip(two["weights"], one["weights"]):
            np.testing.assert_allclose(mine, theirs, atol=1e-5)
        for mine, theirs in zip(two["epochs"], one["epochs"]):
            assert mine.keys() == theirs.keys()
            np.testing.assert_allclose(list(mine.values()), list(theirs.values()), atol=1e-5)


def weights(path: pathlib.Path) -> dict[str, np.ndarray]:
    found = {}
    with h5py.File(path) as file:
        file.visititems(
            lambda name, item: found.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None
        )
    return found


SENTIMENT = ["-m", "recipes.sentiment", "--strategy", "multi-worker", "--epochs", "2", "--dropout", "0"]
SENTIMENT += ["--backup-every-steps", "2", "--no-export"]


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory) -> pathlib.Path:
    """The sentiment recipe trained by two workers, uninterrupted."""
    folder = tmp_path_factory.mktemp("two_workers")
    run_cluster([sys.executable, *SENTIMENT, "--output-dir", str(folder / "run")], 2, folder)
    return folder / "run"


def history(folder: pathlib.Path) -> list[dict[str, str]]:
    with (folder / "history.csv").open() as file:
        return list(csv.DictReader(file))


def assert_same_training(folder: pathlib.Path, reference: pathlib.Path, columns: tuple[str, ...]) -> None:
    mine, theirs = history(folder), history(reference)
    assert len(mine) == len(theirs) == 2
    for name in columns:
        np.testing.assert_allclose(
            [float(r[name]) for r in mine], [float(r[name]) for r in theirs], atol=1e-5
        )
    first, second = weights(folder / "best.weights.h5"), weights(reference / "best.weights.h5")
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_allclose(first[name], second[name], atol=1e-5, err_msg=name)


def test_the_sentiment_recipe_trains_alike_on_one_and_two_workers(tmp_path, two_worker_run):
    one = tmp_path / "one_worker"
    run_cluster([sys.executable, *SENTIMENT, "--output-dir", str(one)], 1, tmp_path)
    for folder in (one, two_worker_run):  # finished by the chief alone
        assert (folder / "metrics.json").exists() and not (folder / ".workers").exists()
    columns = ("loss", "val_loss", "positive_accuracy", "val_positive_accuracy")
    assert_same_training(two_worker_run, one, columns)


def test_the_translation_recipe_trains_alike_on_one_and_two_workers(tmp_path):
    """A sequence-to-sequence model: masked target tokens, so the loss is a mean over the batch's tokens,
    which a mean of the workers' means would not give."""
    flags = ["-m", "recipes.translation", "--strategy", "multi-worker", "--epochs", "2", "--dropout", "0"]
    flags += ["--units", "32", "--embedding-dim", "32", "--bleu-samples", "20", "--max-test-samples", "20"]
    flags += ["--heatmaps", "0", "--beam-size", "1", "--no-export"]
    for workers in (1, 2):
        run_cluster(
            [sys.executable, *flags, "--output-dir", str(tmp_path / f"w{workers}")], workers, tmp_path
        )
    assert_same_training(tmp_path / "w2", tmp_path / "w1", ("loss", "val_loss", "val_chrf"))


def test_word2vec_trains_alike_in_one_process_and_on_two_workers(tmp_path):
    """A model with its own step whose loss is a sum over the batch's rows (`summed_loss`): each worker
    scores its rows with the draws they have in one process, and the summed gradients are the batch's."""
    flags = ["-m", "recipes.word2vec", "--epochs", "2", "--dimension", "16", "--max-train-samples", "60"]
    flags += ["--no-export"]
    one = tmp_path / "one"
    subprocess.run(
        [sys.executable, *flags, "--output-dir", str(one)], cwd=ROOT, check=True, capture_output=True
    )
    two = tmp_path / "two"
    run_cluster([sys.executable, *flags, "--strategy", "multi-worker", "--output-dir", str(two)], 2, tmp_path)
    assert_same_training(two, one, ("loss", "pairs"))


def test_a_worker_killed_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path, two_worker_run):
    folder = tmp_path / "run"
    command = [sys.executable, *SENTIMENT, "--output-dir", str(folder)]
    backups = [folder / "backup", folder / ".workers" / "1" / "backup"]

    def start() -> list[subprocess.Popen]:
        configs = zoo.cluster.tf_configs(zoo.cluster.free_ports(2))
        logs = [(tmp_path / f"worker{i}.log").open("a") for i in range(2)]
        return [
            subprocess.Popen(
                command, cwd=ROOT, env={**os.environ, "TF_CONFIG": config}, stdout=log, stderr=log
            )
            for config, log in zip(configs, logs)
        ]

    def position(backup: pathlib.Path) -> tuple[int, int] | None:
        try:
            metadata = json.loads((backup / "training_metadata.json").read_text())
        except (OSError, ValueError):
            return None
        return metadata["epoch"], metadata.get("batches_done", 0)

    chief, worker = start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and chief.poll() is None:
        positions = {position(backup) for backup in backups}
        if len(positions) == 1 and (here := positions.pop()) and here[0] == 1 and here[1] > 0:
            worker.send_signal(signal.SIGKILL)  # both saved the same mid-epoch backup of epoch 2
            break
        time.sleep(0.02)
    else:
        pytest.fail("no mid-epoch backup of the second epoch was seen")
    assert chief.wait(timeout=240) != 0  # the chief stops: a worker was lost
    assert "a worker of the cluster was lost" in (tmp_path / "worker0.log").read_text()
    assert not (folder / "metrics.json").exists()

    chief, worker = start()  # the same command again
    assert chief.wait(timeout=300) == 0 and worker.wait(timeout=60) == 0, (
        tmp_path / "worker0.log"
    ).read_text()[-3000:]
    assert "Resuming from the backup" in (tmp_path / "worker0.log").read_text()
    assert_same_training(folder, two_worker_run, ("val_loss", "val_positive_accuracy"))
