"""The inference benchmark's helpers: timing, percentiles, sizes, side files, the size goal, the report and
`measure` over a workload of its own callables, on fake callables, a made-up run folder and result (no model
is trained or loaded; one tiny TFLite file is converted)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from benchmarks import inference


class FakeClock:
    """`time.perf_counter` that moves only when the fake model is called: each call takes `step` seconds."""

    def __init__(self, step: float):
        self.now, self.step, self.calls = 0.0, step, []

    def __call__(self) -> float:
        return self.now

    def model(self, inputs):
        self.calls.append(inputs)
        self.now += self.step * (len(inputs) if isinstance(inputs, list) else 1)


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock(step=0.002)
    monkeypatch.setattr(inference.time, "perf_counter", clock)
    return clock


def test_latencies_skip_the_warmup_and_cycle_through_the_inputs(clock):
    seconds = inference.latencies(clock.model, ["a", "b", "c"], calls=7, warmup=2)
    assert len(clock.calls) == 9
    assert clock.calls[:2] == ["a", "b"]  # warm-up
    assert clock.calls[2:] == ["a", "b", "c", "a", "b", "c", "a"]  # timed, in turn
    np.testing.assert_allclose(seconds, 0.002)


def test_percentiles_in_milliseconds():
    seconds = np.arange(1, 101) / 1000  # 1 ms .. 100 ms
    summary = inference.percentiles(seconds)
    assert summary == {"p50_ms": pytest.approx(50.5), "p95_ms": pytest.approx(95.05), "calls": 100}


def test_throughput_counts_examples_after_the_warmup_batches(clock):
    batches = [(["x"] * 4, 4)] * 5  # each batch: 4 examples, 4 * 2 ms
    assert inference.throughput(clock.model, batches, warmup=2, min_seconds=0) == pytest.approx(500.0)
    assert len(clock.calls) == 5
    # Calls too quick to time once are timed again until min_seconds have passed: 24 ms per round.
    assert inference.throughput(clock.model, batches, warmup=2, min_seconds=0.1) == pytest.approx(500.0)
    assert len(clock.calls) == 5 + 2 + 3 * 5


def test_size_of_a_file_and_of_a_folder(tmp_path):
    (tmp_path / "model.tflite").write_bytes(b"0" * 1_500_000)
    (tmp_path / "saved_model" / "1" / "variables").mkdir(parents=True)
    (tmp_path / "saved_model" / "1" / "saved_model.pb").write_bytes(b"0" * 250_000)
    (tmp_path / "saved_model" / "1" / "variables" / "variables.data").write_bytes(b"0" * 750_000)
    assert inference.size_mb(tmp_path / "model.tflite") == pytest.approx(1.5)
    assert inference.size_mb(tmp_path / "saved_model") == pytest.approx(1.0)


def test_side_file_lines_split_at_newlines_only(tmp_path):
    path = tmp_path / "chars.txt"
    path.write_text("a\n\u2028\n\x85\n", encoding="utf-8")
    assert inference.read_lines(path) == ["a", "\u2028", "\x85"]


def test_test_subset_is_seeded_and_in_order():
    assert inference.test_subset(5, None).tolist() == [0, 1, 2, 3, 4]
    picked = inference.test_subset(1000, 10)
    assert len(picked) == 10 and picked.tolist() == sorted(picked.tolist())
    assert picked.tolist() == inference.test_subset(1000, 10).tolist()


def fake_entry(preset: str | None) -> dict:
    timing = {"p50_ms": 4.2, "p95_ms": 6.0, "calls": 100, "throughput": 1234.5}
    return {
        "folder": "benchmarks/runs/inference_sentiment",
        "config": {"dataset": "imdb", "preset": preset, "quantize": ["none", "dynamic"]},
        "metric": "test_accuracy",
        "test_examples": 20,
        "notes": ["TFLite rows: 0 of 20 differ"],
        "formats": {
            "keras": {"file": "model.keras", "size_mb": 30.0, **timing, "metric": 0.91},
            "saved_model": {"file": "saved_model/1", "size_mb": 31.0, **timing},
            "tflite none": {
                "file": "model.tflite",
                "size_mb": 30.0,
                **timing,
                "metric": 0.91,
                "difference": 0.0,
                "agreement": 1.0,
            },
            "tflite dynamic": {
                "file": "model.dynamic.tflite",
                "size_mb": 8.0,
                **timing,
                "metric": 0.909,
                "difference": -0.001,
                "difference_vs_float_tflite": -0.001,
                "agreement": 0.995,
            },
        },  # fmt: skip
        "measure_seconds": 12.0,
        "benchmark_command": "python -m benchmarks.inference",
        "settings": {"calls": 100, "warmup": 10, "batches": 10, "tflite_threads": None},
    }


def test_goal_is_judged_on_preset_runs_only():
    entry = fake_entry("imdb")
    inference.judge("sentiment", entry)
    assert entry["formats"]["tflite none"]["goal_met"] is False  # 30 MB > 12 MB
    assert entry["formats"]["tflite dynamic"]["goal_met"] is True  # 8 MB, 0.001 <= 0.003
    assert "goal_met" not in entry["formats"]["keras"]
    default = fake_entry(None)
    inference.judge("sentiment", default)
    assert "goal" not in default and "goal_met" not in default["formats"]["tflite dynamic"]


def test_report_has_a_row_per_format():
    entry = fake_entry("imdb")
    inference.judge("sentiment", entry)
    report = inference.markdown({"machine": {"cpus": 2}, "runs": {"sentiment: --preset imdb": entry}})
    assert "### sentiment: --preset imdb" in report
    rows = [line for line in report.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 5  # header + keras, saved_model, two TFLite files
    assert "| tflite dynamic | model.dynamic.tflite | 8.00 | 4.2 | 6 | 1,234 | 0.9090 | -0.0010 |" in report
    assert rows[-1].endswith("| met |") and rows[-2].endswith("| not met |")


def test_share_equal():
    assert inference.share_equal(["a b", "c", "d"], ["a b", "x", "d"]) == pytest.approx(2 / 3)
    assert inference.share_equal([], []) == 0.0
    with pytest.raises(ValueError):
        inference.share_equal(["a"], ["a", "b"])


def test_next_character_windows_keep_the_last_ids_padded_on_the_right():
    ids = np.array([5, 6, 7, 8, 9])
    windows = inference.next_character_windows(ids, np.array([1, 3, 4]), window=3)
    assert windows.dtype == np.int32
    assert windows.tolist() == [[5, 0, 0], [5, 6, 7], [6, 7, 8]]


def test_next_character_answer_from_logits_or_log_probabilities():
    logits = np.array([9.0, 8.0, 1.0, 3.0, 2.0])  # padding and unknown score highest: never the answer
    log_probability, best = inference.next_character_answer(logits, target=4)
    log_probs = logits - np.log(np.sum(np.exp(logits)))
    assert log_probability == pytest.approx(log_probs[4])
    assert best == 3
    assert inference.next_character_answer(log_probs, target=4) == pytest.approx((log_probability, best))


class FakeModel:
    def __init__(self, *shapes):
        self.weights = [np.zeros(shape) for shape in shapes]

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights


def test_with_run_weights_copies_weights_of_the_same_shapes(monkeypatch, tmp_path):
    import zoo

    saved = FakeModel((2, 3), (3,))
    saved.weights = [np.ones((2, 3)), np.full(3, 2.0)]
    monkeypatch.setattr(zoo, "load_model", lambda folder, compile: saved)
    rebuilt = FakeModel((2, 3), (3,))
    inference.with_run_weights(rebuilt, tmp_path)
    assert rebuilt.weights is saved.weights
    with pytest.raises(ValueError, match="does not hold the weights"):
        inference.with_run_weights(FakeModel((2, 3), (4,)), tmp_path)


def test_tflite_signature_runner_names_inputs_and_outputs(tmp_path):
    tf = pytest.importorskip("tensorflow")

    class Clip(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec([1, 3], tf.float32, name="waveform"),
                tf.TensorSpec([1], tf.int32, name="length"),
            ]
        )
        def serve(self, waveform, length):
            return {"total": tf.reduce_sum(waveform, axis=1), "twice": 2 * length}

    clip = Clip()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([clip.serve.get_concrete_function()], clip)
    path = tmp_path / "model.tflite"
    path.write_bytes(converter.convert())
    run = inference.tflite_signature_runner(path, threads=1)
    outputs = run({"waveform": np.array([[1.0, 2.0, 3.5]], np.float32), "length": np.array([4], np.int32)})
    assert set(outputs) == {"total", "twice"}
    assert outputs["total"].tolist() == [6.5] and outputs["twice"].tolist() == [8]
    with pytest.raises(ValueError, match="takes inputs"):
        run({"waveform": np.zeros((1, 3), np.float32)})


def fake_run_folder(tmp_path):
    folder = tmp_path / "run"
    (folder / "saved_model" / "1").mkdir(parents=True)
    (folder / "saved_model" / "1" / "saved_model.pb").write_bytes(b"0" * 1_000_000)
    (folder / "model.keras").write_bytes(b"0" * 2_000_000)
    (folder / "model.tflite").write_bytes(b"0" * 500_000)
    (folder / "model.dynamic.tflite").write_bytes(b"0" * 250_000)
    (folder / "config.json").write_text(json.dumps({"dataset": None, "quantize": ["none", "dynamic"]}))
    quantization = {"model.tflite": "none", "model.dynamic.tflite": "dynamic"}
    (folder / "deploy.json").write_text(json.dumps({"quantization": quantization}))
    (folder / "metrics.json").write_text(json.dumps({"train_seconds": 12.0}))
    return folder


def fake_workload(clock, saved_model_offset=0):
    """Numbers in, ten times them out; the TFLite rows are dicts; the dynamic TFLite answers one more."""
    calls = {"keras": [], "saved_model": []}

    def keras_call(batch):
        clock.model(batch)
        calls["keras"].append(batch)
        return [10 * x for x in batch]

    def saved_call(batch):  # takes the strings `saved_model_batch` makes
        clock.model(list(batch))
        calls["saved_model"].append(batch)
        return [10 * int(x) + saved_model_offset for x in batch]

    def tflite(path, threads):
        extra = 1 if "dynamic" in path.name else 0
        return lambda row: (clock.model(row), {"y": 10 * row["x"] + extra})[1]

    workload = inference.Workload(
        examples=[1, 2, 3, 4, 5],
        batch=list,
        answers=lambda output, examples: list(output),
        rows=[{"x": np.array([x])} for x in range(1, 6)],
        tflite_answer=lambda output, example: int(output["y"][0]),
        score=lambda answers: {"mean": float(np.mean(answers))},
        metric="mean",
        agreement=inference.share_equal,
        notes=["fake"],
        keras=lambda folder: keras_call,
        saved_model=lambda loaded: saved_call,
        saved_model_batch=lambda examples: tuple(str(x) for x in examples),
        tflite=tflite,
        check_saved_model=True,
    )
    return workload, calls


def test_measure_runs_a_workload_of_its_own_callables(clock, monkeypatch, tmp_path):
    folder = fake_run_folder(tmp_path)
    workload, calls = fake_workload(clock)
    monkeypatch.setitem(inference.RECIPES, "fake", inference.Recipe(lambda folder, config, limit: workload))
    monkeypatch.setattr(inference, "load_saved_model", lambda folder: (folder / "saved_model" / "1", None))
    settings = argparse.Namespace(calls=4, warmup=1, batches=1, tflite_threads=None, max_test_examples=None)
    entry = inference.measure("fake", folder, settings)
    formats = entry["formats"]
    assert list(formats) == ["keras", "saved_model", "tflite none", "tflite dynamic"]
    assert formats["keras"]["metric"] == 30.0 and formats["keras"]["size_mb"] == pytest.approx(2.0)
    assert formats["saved_model"]["file"] == "saved_model/1" and "metric" not in formats["saved_model"]
    assert all(isinstance(batch, tuple) for batch in calls["saved_model"])  # its own input
    assert all(isinstance(batch, list) for batch in calls["keras"])
    assert formats["tflite none"]["difference"] == 0.0 and formats["tflite none"]["agreement"] == 1.0
    dynamic = formats["tflite dynamic"]
    assert dynamic["metric"] == 31.0 and dynamic["difference"] == 1.0 and dynamic["agreement"] == 0.0
    assert dynamic["difference_vs_float_tflite"] == 1.0 and dynamic["size_mb"] == pytest.approx(0.25)
    assert formats["keras"]["p50_ms"] == pytest.approx(2.0)  # one example, 2 ms on the fake clock
    assert entry["notes"] == ["fake"] and entry["test_examples"] == 5


def test_measure_refuses_a_saved_model_answering_otherwise(clock, monkeypatch, tmp_path):
    folder = fake_run_folder(tmp_path)
    workload, _ = fake_workload(clock, saved_model_offset=1)
    monkeypatch.setitem(inference.RECIPES, "fake", inference.Recipe(lambda folder, config, limit: workload))
    monkeypatch.setattr(inference, "load_saved_model", lambda folder: (folder / "saved_model" / "1", None))
    settings = argparse.Namespace(calls=4, warmup=1, batches=1, tflite_threads=None, max_test_examples=None)
    with pytest.raises(RuntimeError, match="not the same model"):
        inference.measure("fake", folder, settings)
