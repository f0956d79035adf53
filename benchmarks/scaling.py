"""Scaling benchmark: word2vec's training time and peak memory as its corpus grows 1x, 2x, 4x, 8x.

The base corpus is the first `--base-words` whitespace tokens of WikiText-2's training split (whole
paragraphs, section titles left out, as `zoo.data.corpora.read_wikitext` reads them), written as plain
text, one paragraph per line; the larger corpora repeat it 2, 4 and 8 times. Each size trains
`recipes.word2vec --dataset text --data-dir FILE --epochs 1 --no-export` in a fresh subprocess, one at a
time, with `--min-count` scaled by the factor (5, 10, 20, 40): a repeated corpus multiplies every count,
so every size keeps the same vocabulary, the same subsampling and noise distributions, hence the same
model; only the number of tokens grows.

Measured per size: wall time of the subprocess, the recipe's `train_seconds` (metrics.json: the epochs'
wall time inside `fit`) and the subprocess's peak resident memory, `ru_maxrss` of its own `os.wait4`
rusage (the kernel's high-water mark of that process, not a sampled value). The goals (from the issue):
training time within 10% of linear from 1x to 8x (`train_seconds / (factor * train_seconds at 1x)`
between 0.9 and 1.1) and peak memory at 8x less than 20% above 1x.

`--readers` name the row sets, each a way the recipe reads its corpus ("in-memory": every text tokenised
into lists first, the recipe's original reader; "stream": `--stream`, read with tf.data). Rows of a reader
not run are kept from the JSON. `--workers 1 2` measures instead the 1x corpus streamed with
`--strategy multi-worker` on one and on two local workers (`zoo.cluster local`) at the same global batch:
time and the largest process's peak RSS (on one machine, two workers share its cores: no speed-up is
expected, the row shows the cost of the collective step). `--repeats N` runs every size N times (sizes
and readers alternating), and a row holds the median times and the largest peak RSS, every run listed
under `runs`. Also recorded: the subprocess's CPU seconds (user + system, whole run), less swayed than
wall time by other jobs. Writes `benchmarks/results/scaling.json`, `scaling.md` and `scaling.png` (time
and memory against corpus size).

    ZOO_DATA_DIR=../shared/data python -m benchmarks.scaling --readers in-memory stream --repeats 2
    ZOO_DATA_DIR=../shared/data python -m benchmarks.scaling --workers 1 2 --repeats 3
    ZOO_DATA_DIR=../shared/data python -m benchmarks.scaling --factors 1 2 --base-words 100000  # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import time

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs" / "scaling"
READER_FLAGS = {"in-memory": [], "stream": ["--stream"]}
MIN_COUNT = 5  # the recipe's default, at 1x
TIME_TOLERANCE = 0.10  # time within 10% of linear
MEMORY_TOLERANCE = 0.20  # peak memory grows by less than 20% from 1x to 8x


def base_paragraphs(base_words: int) -> list[str]:
    """WikiText-2's training paragraphs, in file order, until `base_words` whitespace tokens are reached."""
    from zoo.data.corpora import read_wikitext
    from zoo.data.registry import find_dataset

    paragraphs, words = [], 0
    for paragraph in read_wikitext(find_dataset("wikitext2", None).folder):
        if words >= base_words:
            break
        paragraphs.append(paragraph.strip())
        words += len(paragraph.split())
    if words < base_words:
        raise SystemExit(f"WikiText-2's training split has only {words:,} words (asked {base_words:,})")
    return paragraphs


def write_corpora(base_words: int, factors: list[int]) -> dict[int, tuple[pathlib.Path, int]]:
    """One text file per factor (the base repeated), reused when already written; factor -> (file, words)."""
    paragraphs = base_paragraphs(base_words)
    text = "\n".join(paragraphs) + "\n"
    words = sum(len(paragraph.split()) for paragraph in paragraphs)
    RUNS.mkdir(parents=True, exist_ok=True)
    corpora = {}
    for factor in factors:
        path = RUNS / f"wikitext2_{base_words}_x{factor}.txt"
        size = len(text.encode("utf-8")) * factor
        if not path.exists() or path.stat().st_size != size:
            with open(path, "w", encoding="utf-8") as file:
                for _ in range(factor):
                    file.write(text)
        corpora[factor] = (path, words * factor)
    return corpora


def run_one(
    reader: str, factor: int, corpus: pathlib.Path, epochs: int, extra: list[str], cluster: int = 0
) -> dict:
    """Train the recipe on `corpus` in a fresh subprocess; its wall time, train_seconds and peak RSS.

    `cluster` > 0 trains with `--strategy multi-worker` on that many local workers (`zoo.cluster local`);
    the peak RSS is then the largest of its processes' (the kernel's `ru_maxrss` of the reaped workers)."""
    output_dir = RUNS / (f"out_{reader}_x{factor}" + (f"_{cluster}workers" if cluster else ""))
    shutil.rmtree(output_dir, ignore_errors=True)  # a fresh run, never a resumed one
    output_dir.mkdir(parents=True)
    command = [
        sys.executable, "-m", "recipes.word2vec", "--dataset", "text", "--data-dir", str(corpus),
        "--epochs", str(epochs), "--min-count", str(MIN_COUNT * factor), "--no-export",
        "--output-dir", str(output_dir), *READER_FLAGS[reader], *extra,
    ]  # fmt: skip
    if cluster:
        local = [sys.executable, "-m", "zoo.cluster", "local", "--workers", str(cluster), "--"]
        command = [*local, *command, "--strategy", "multi-worker"]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with open(output_dir / "log.txt", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode:
        tail = (output_dir / "log.txt").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{tail}")
    metrics = json.loads((output_dir / "metrics.json").read_text())
    # ru_maxrss is in kilobytes on Linux.
    return {
        "factor": factor,
        "words": metrics["corpus_words"],
        "train_seconds": metrics["train_seconds"],
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        # CPU time of the whole run (start-up, reading, training, evaluation): less swayed by other jobs.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "vocabulary_size": metrics["vocabulary_size"],
        "analogy_accuracy": metrics["analogy_accuracy"],
        "wordsim353_spearman": metrics["wordsim353_spearman"],
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
        "command": " ".join(command).replace(sys.executable, "python").replace(f"{pathlib.Path.cwd()}/", ""),
    }


def median_row(runs: list[dict]) -> dict:
    """One size's row from its repeated runs: median times, the largest peak RSS, every run kept."""
    row = dict(runs[0])
    for key in ("train_seconds", "wall_seconds", "cpu_seconds"):
        row[key] = statistics.median(run[key] for run in runs)
    row["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
    if len(runs) > 1:
        row["runs"] = [
            {
                key: run[key]
                for key in ("train_seconds", "wall_seconds", "cpu_seconds", "peak_rss_mb", "load_average")
            }
            for run in runs
        ]
    return row


def ratios(rows: list[dict]) -> dict:
    """Each size's time against linear growth from the smallest (1.0: linear) and its memory against
    the smallest's, and whether the goals hold."""
    first = rows[0]
    time_ratio = {
        row["factor"]: row["train_seconds"] / (first["train_seconds"] * row["words"] / first["words"])
        for row in rows
    }
    wall_ratio = {
        row["factor"]: row["wall_seconds"] / (first["wall_seconds"] * row["words"] / first["words"])
        for row in rows
    }
    memory_ratio = {row["factor"]: row["peak_rss_mb"] / first["peak_rss_mb"] for row in rows}
    # An affine fit shows the fixed part (graph tracing, the first steps) apart from the per-word part.
    import numpy as np

    slope, intercept = np.polyfit(
        [row["words"] / 1e6 for row in rows], [row["train_seconds"] for row in rows], 1
    )
    return {
        "train_time_to_linear": {k: round(v, 3) for k, v in time_ratio.items()},
        "wall_time_to_linear": {k: round(v, 3) for k, v in wall_ratio.items()},
        "peak_rss_to_smallest": {k: round(v, 3) for k, v in memory_ratio.items()},
        "train_seconds_fit": {
            "intercept": round(float(intercept), 2),
            "per_million_words": round(float(slope), 2),
        },
        "time_goal_met": all(abs(v - 1) <= TIME_TOLERANCE for v in time_ratio.values()),
        "memory_goal_met": memory_ratio[rows[-1]["factor"]] < 1 + MEMORY_TOLERANCE,
    }


def markdown(results: dict) -> str:
    lines = [
        f"word2vec, 1 epoch per size, base corpus {results['base_words']:,} words of WikiText-2 (train) "
        "repeated; `--min-count` scaled with the factor so the vocabulary stays the same. Time ratio: "
        "train seconds / (factor x train seconds at 1x), 1.00 = linear; memory ratio: peak RSS / peak "
        "RSS at 1x (the subprocess's `ru_maxrss`).",
        "",
        "| reader | factor | words | vocabulary | train s | wall s | CPU s | peak RSS MB | time / linear "
        "| wall / linear | memory / 1x | load avg (start, end) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for reader, rows in results["readers"].items():
        summary = rows["summary"]
        for row in rows["rows"]:
            factor = row["factor"]
            lines.append(
                f"| {reader} | {factor}x | {row['words']:,} | {row['vocabulary_size']:,} | "
                f"{row['train_seconds']:.1f} | {row['wall_seconds']:.1f} | "
                f"{row.get('cpu_seconds', float('nan')):.0f} | {row['peak_rss_mb']:,.0f} | "
                f"{summary['train_time_to_linear'][str(factor)]:.2f} | "
                f"{summary['wall_time_to_linear'][str(factor)]:.2f} | "
                f"{summary['peak_rss_to_smallest'][str(factor)]:.2f} | "
                f"{row['load_average'][0]:.1f}, {row['load_average'][1]:.1f} |"
            )
    lines += [
        "",
        "| reader | time within 10% of linear | peak memory +<20% from 1x to 8x | least-squares fit of "
        "train s | run |",
        "|---|---|---|---|---|",
    ]
    for reader, rows in results["readers"].items():
        summary = rows["summary"]
        met = {True: "met", False: "**not met**"}
        goals = f"{met[summary['time_goal_met']]} | {met[summary['memory_goal_met']]}"
        fit = summary["train_seconds_fit"]
        lines.append(
            f"| {reader} | {goals} | {fit['intercept']:.1f} s + {fit['per_million_words']:.1f} s per million "
            f"words | {rows['run']} |"
        )
    workers = results.get("workers")
    workers = workers["rows"] if isinstance(workers, dict) else []  # no rows, or a note of why
    if workers:
        lines += [
            "",
            "One worker against several (`--strategy multi-worker`, local processes, the 1x corpus streamed, "
            "the same global batch; peak RSS: the largest process's):",
            "",
            "| workers | train s | wall s | peak RSS MB | time / 1 worker | RSS / 1 worker | analogy "
            "accuracy |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {row['workers']} | {row['train_seconds']:.1f} | {row['wall_seconds']:.1f} | "
            f"{row['peak_rss_mb']:,.0f} | {row['time_to_one_worker']:.2f} | "
            f"{row['peak_rss_to_one_worker']:.2f} | {row['analogy_accuracy']:.4f} |"
            for row in workers
        ]
    lines += ["", "Commands (from the repository root):", ""]
    for rows in [*results["readers"].values(), {"rows": workers}]:
        lines += [f"    {row['command']}" for row in rows["rows"]]
    return "\n".join(lines) + "\n"


def plot(results: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for reader, rows in results["readers"].items():
        words = [row["words"] / 1e6 for row in rows["rows"]]
        seconds = [row["train_seconds"] for row in rows["rows"]]
        (line,) = time_axis.plot(words, seconds, "o-", label=f"{reader}: train")
        time_axis.plot(words, [row["wall_seconds"] for row in rows["rows"]], "s:", color=line.get_color(),
                       label=f"{reader}: wall (whole run)")  # fmt: skip
        time_axis.plot(words, [seconds[0] * w / words[0] for w in words], "--", color="grey", linewidth=0.8)
        memory_axis.plot(words, [row["peak_rss_mb"] for row in rows["rows"]], "o-", label=reader)
    time_axis.set(xlabel="corpus (million words)", ylabel="seconds", title="time (dashed: linear from 1x)")
    memory_axis.set(xlabel="corpus (million words)", ylabel="peak RSS (MB)", title="peak resident memory")
    memory_axis.set_ylim(bottom=0)
    time_axis.legend(fontsize=8)
    memory_axis.legend(fontsize=8)
    figure.suptitle("word2vec, 1 epoch, WikiText-2 slice repeated 1x-8x")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def record(reader: str, rows: list[dict], base_words: int, epochs: int) -> None:
    """Write `rows` as `reader`'s rows of scaling.json (other readers' rows kept), then the .md and .png."""
    path = RESULTS / "scaling.json"
    results = json.loads(path.read_text()) if path.exists() else {"readers": {}}
    if results.get("base_words") not in (None, base_words):
        results["readers"] = {}  # rows of another base size do not compare
    results |= {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "base_words": base_words,
        "epochs": epochs,
        "peak_memory": "ru_maxrss of the training subprocess (os.wait4), kernel high-water mark",
    }
    summary = ratios(rows)
    summary = json.loads(json.dumps(summary))  # factor keys as strings, as they read back from the file
    results["readers"][reader] = {
        "run": time.strftime("%Y-%m-%d %H:%M"),
        "summary": summary,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "scaling.md").write_text(markdown(results))
    plot(results, RESULTS / "scaling.png")
    print(markdown(results))


def record_workers(rows: list[dict], base_words: int) -> None:
    """Write the one-vs-more-workers rows into scaling.json (the readers' rows kept), then the .md."""
    path = RESULTS / "scaling.json"
    results = json.loads(path.read_text()) if path.exists() else {"readers": {}}
    first = rows[0]
    for row in rows:
        row["time_to_one_worker"] = round(row["train_seconds"] / first["train_seconds"], 3)
        row["peak_rss_to_one_worker"] = round(row["peak_rss_mb"] / first["peak_rss_mb"], 3)
    results["workers"] = {"run": time.strftime("%Y-%m-%d %H:%M"), "base_words": base_words, "rows": rows}
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "scaling.md").write_text(markdown(results))
    print(markdown(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--readers", nargs="+", default=["in-memory"], choices=sorted(READER_FLAGS), help="one or both"
    )
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 2, 4, 8], help="two or more")
    parser.add_argument("--base-words", type=int, default=2_000_000, help="whitespace words of the 1x corpus")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of each size and reader (median times, largest RSS)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[],
        help="instead of the sizes: the 1x corpus streamed on these numbers of local workers (e.g. 1 2), "
        "the same global batch",
    )
    parser.add_argument("--recipe-flags", default="", help="extra flags for recipes.word2vec, one string")
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md and .png from the .json")
    args = parser.parse_args()
    path = RESULTS / "scaling.json"
    if args.report_only:
        results = json.loads(path.read_text())
        (RESULTS / "scaling.md").write_text(markdown(results))
        plot(results, RESULTS / "scaling.png")
        return
    if args.workers:
        corpus, words = write_corpora(args.base_words, [1])[1]
        by_count: dict[int, list[dict]] = {}
        for repeat in range(args.repeats):
            for count in args.workers:
                print(f"stream, {count} worker(s) ({repeat + 1}/{args.repeats}): {words:,} words", flush=True)
                row = run_one("stream", 1, corpus, args.epochs, args.recipe_flags.split(), cluster=count)
                by_count.setdefault(count, []).append(row | {"workers": count})
                print(json.dumps(row), flush=True)
        record_workers([median_row(count_runs) for count_runs in by_count.values()], args.base_words)
        return
    if len(set(args.factors)) < 2:
        parser.error("--factors needs two or more sizes")
    corpora = write_corpora(args.base_words, sorted(args.factors))
    runs: dict[str, dict[int, list[dict]]] = {reader: {} for reader in args.readers}
    # Sizes and readers alternate, repeat after repeat, so a busy spell of the machine falls on all.
    for repeat in range(args.repeats):
        for factor, (corpus, words) in corpora.items():
            for reader in args.readers:
                load = os.getloadavg()[0]
                print(
                    f"{reader} x{factor} ({repeat + 1}/{args.repeats}): {words:,} words, load {load:.2f}",
                    flush=True,
                )
                row = run_one(reader, factor, corpus, args.epochs, args.recipe_flags.split())
                runs[reader].setdefault(factor, []).append(row)
                print(json.dumps(row), flush=True)
    for reader, by_factor in runs.items():
        record(
            reader,
            [median_row(factor_runs) for factor_runs in by_factor.values()],
            args.base_words,
            args.epochs,
        )


if __name__ == "__main__":
    main()
