"""The sentiment recipe's longer runs, apart from the SST-2 run `test_sentiment.py` shares, so the test
workers (`--dist loadfile`) can take them side by side: two replicas, a kill and a resume, the embedded
default."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import zoo.train
from recipes import sentiment
from tests.recipes.test_sentiment import QUICK


def test_mirrored_strategy_on_two_logical_cpus(tmp_path, shared_data):
    shared_data("sst2")
    argv = [*QUICK, "--no-export", "--strategy", "mirrored", "--output-dir", str(tmp_path)]
    script = textwrap.dedent(
        f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from recipes import sentiment
        metrics = sentiment.main({argv!r})
        print("accuracy", metrics["test_accuracy"])
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas: 2" in result.stdout
    assert float(result.stdout.split("accuracy")[-1]) > 0.6


def test_killed_run_resumes_and_finishes_with_the_same_epochs(tmp_path, shared_data):
    shared_data("sst2")
    epochs = 2
    # 3,000 phrases in batches of 16: 188 short steps an epoch, backed up every 20, so the second epoch
    # lasts long enough to be caught between two backups.
    command = [sys.executable, "-m", "recipes.sentiment", *QUICK, "--max-train-samples", "3000",
               "--batch-size", "16", "--epochs", str(epochs), "--patience", "10",
               "--backup-every-steps", "20", "--no-export", "--output-dir", str(tmp_path)]  # fmt: skip
    metadata = tmp_path / "backup" / "training_metadata.json"
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    # Kill it in the middle of the second epoch, after at least one mid-epoch backup.
    while time.time() < deadline and first.poll() is None:
        if metadata.exists():
            state = json.loads(metadata.read_text() or "{}")
            if state.get("epoch") == 1 and state.get("batch", 0) > 0:
                break
        time.sleep(0.05)
    assert first.poll() is None, "the run finished before it could be interrupted"
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (tmp_path / "metrics.json").exists()

    second = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from the backup" in second.stdout
    history = zoo.train.read_history(tmp_path / "history.csv")
    assert [int(row["epoch"]) for row in history] == list(range(epochs))
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == epochs
    assert not (tmp_path / "backup").exists()


def test_embedded_default_runs_with_no_data(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    metrics = sentiment.main(["--epochs", "1", "--output-dir", str(tmp_path)])
    assert {"test_accuracy", "tflite_max_abs_diff", "savedmodel_max_abs_diff"} <= set(metrics)
