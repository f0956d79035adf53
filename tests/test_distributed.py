"""`--strategy multi-worker`: the cluster description, the batch slices, and two local workers training
as one process does (step losses and weights), on a small model and on the sentiment recipe."""

from __future__ import annotations

import csv
import json
import pathlib
import subprocess
import sys

import h5py
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


def test_the_sentiment_recipe_trains_alike_on_one_and_two_workers(tmp_path):
    flags = ["--strategy", "multi-worker", "--epochs", "2", "--dropout", "0", "--no-export"]
    for workers in (1, 2):
        folder = tmp_path / f"workers{workers}"
        run_cluster(
            [sys.executable, "-m", "recipes.sentiment", *flags, "--output-dir", str(folder)],
            workers,
            tmp_path,
        )
        assert (folder / "metrics.json").exists() and not (folder / ".workers").exists()
    one, two = (list(csv.DictReader((tmp_path / f"workers{n}" / "history.csv").open())) for n in (1, 2))
    assert len(one) == len(two) == 2
    for name in ("loss", "val_loss", "positive_accuracy", "val_positive_accuracy"):
        np.testing.assert_allclose([float(r[name]) for r in two], [float(r[name]) for r in one], atol=1e-5)
    first, second = (weights(tmp_path / f"workers{n}" / "best.weights.h5") for n in (1, 2))
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_allclose(second[name], first[name], atol=1e-5, err_msg=name)
