"""The inference benchmark's helpers: timing, percentiles, sizes, side files, the size goal and the report,
on fake callables and a made-up result (no model is trained or loaded)."""

from __future__ import annotations

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
