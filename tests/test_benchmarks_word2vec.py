"""The word2vec benchmark's per-process rows: one row (PPMI + SVD on gensim's Lee corpus, a few seconds)
run in a child process reports its scores, time and memory; and, on made-up rows, the summary of repeated
runs and the Markdown table with its ratios to gensim of the same run."""

from __future__ import annotations

import pytest

from benchmarks import word2vec as benchmark


def test_a_row_runs_in_a_process_of_its_own_and_reports_its_memory():
    row = benchmark.run_in_child("ppmi", "lee", seed=0)
    assert row["vocabulary_size"] > 1000 and row["train_seconds"] > 0
    assert {"analogy_accuracy", "wordsim353_spearman", "simlex999_spearman"} <= set(row)
    assert set(benchmark.MEMORY_KEYS) <= set(row)
    # The process holds TensorFlow and gensim before the row starts: hundreds of MB.
    assert row["corpus_rss_mb"] > 100
    # The counts, the PPMI matrix and its SVD take some memory, far less than the libraries on the Lee corpus.
    assert 0 < row["row_memory_mb"] < row["corpus_rss_mb"]
    assert row["peak_rss_mb"] >= row["corpus_rss_mb"] + row["row_memory_mb"] - 0.2  # rounded to 0.1 MB


def fake_run(seconds: float, row_memory: float, analogy: float = 0.1) -> dict[str, float]:
    return {
        "analogy_accuracy": analogy, "wordsim353_spearman": 0.3, "simlex999_spearman": 0.2,
        "words_per_second": 1000 / seconds, "train_seconds": seconds,
        "corpus_rss_mb": 800.0, "peak_rss_mb": 800.0 + row_memory, "row_memory_mb": row_memory,
    }  # fmt: skip


def test_summary_keeps_the_median_time_and_the_largest_memory():
    row = benchmark.summary([fake_run(10, 50, 0.1), fake_run(30, 70, 0.2), fake_run(20, 60, 0.3)])
    assert row["train_seconds"] == 20
    assert row["analogy_accuracy"] == pytest.approx(0.2)
    assert row["row_memory_mb"] == 70 and row["peak_rss_mb"] == 870 and row["corpus_rss_mb"] == 800
    assert len(row["runs"]) == 3


def test_markdown_gives_time_and_memory_ratios_to_gensim_of_the_same_run():
    same, other = {"run": "a"}, {"run": "b"}
    results = {
        "corpora": {
            "lee": {
                benchmark.GENSIM: {**benchmark.summary([fake_run(10, 40)]), **same},
                "ours: recipes.word2vec": {**benchmark.summary([fake_run(25, 100)]), **same},
                benchmark.PPMI: {**benchmark.summary([fake_run(5, 20)]), **same},
                "ours: recipes.word2vec --tie-weights": {**benchmark.summary([fake_run(20, 90)]), **other},
            }
        }
    }
    lines = benchmark.markdown(results).splitlines()
    cells = {line.split(" | ")[1]: line.strip("| ").split(" | ") for line in lines[2:]}
    assert lines[0].split(" | ")[-4:] == ["peak RSS MB", "row MB", "time ratio", "memory ratio |"]
    assert cells[benchmark.GENSIM][-4:] == ["840", "40", "1.00", "1.00"]
    assert cells["ours: recipes.word2vec"][-4:] == ["900", "100", "2.50", "2.50"]
    assert cells[benchmark.PPMI][-4:] == ["820", "20", "0.50", "0.50"]
    assert cells["ours: recipes.word2vec --tie-weights"][-2:] == ["(other run)", "(other run)"]
