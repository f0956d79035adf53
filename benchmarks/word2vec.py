"""word2vec benchmark: our Keras skip-gram beside gensim's optimised C and a count-based twin, same tokens,
same settings, one run; each row's time and peak memory.

Rows (all with dimension 100, window 5, min_count 5; the two skip-grams with 5 noise words, sample 1e-3,
5 epochs, alpha 0.025 falling linearly to 0.0001, on the 2 CPU cores):

- gensim `Word2Vec(sg=1, workers=2)`: its vocabulary scan and training, timed apart.
- ours: `recipes.word2vec` (`zoo.embeddings.Word2Vec`) given the very same token lists (`--model skipgram`),
  with `--shared-negatives` as configured (`--ours-flags` adds flags, e.g. `--tie-weights`).
- PPMI + SVD (`zoo.embeddings.ppmi_svd`): skip-gram's count-based twin (Levy, Goldberg and Dagan 2015),
  the same vocabulary, window and dimension, counted once (no epochs, no subsampling); its `train_seconds`
  is the counting, the PMI and the SVD.

Every model's vectors are scored by gensim's own functions (analogy accuracy on questions-words.txt,
Spearman on WordSim353 and SimLex-999), and each row's training time is given as a ratio to gensim's.
`--repeats N` trains each model N times, alternating them (gensim, ours, PPMI, gensim, ...) with seeds
0..N-1, and reports the mean scores and the median training time (on this shared 2-core machine one gensim
run took 195 s and another 268 s); every run is kept under `runs` in the JSON.

Memory: each run is a fresh Python process (`--row`), which imports every library the rows use
(TensorFlow, gensim, SciPy), loads the corpus itself and then runs its one row, so no row inherits
another's memory. It reports `corpus_rss_mb`, its resident memory once the token lists are held (freed
memory handed back to the system first); `peak_rss_mb`, the process's peak resident memory, what the
machine must have for the run; and `row_memory_mb`, the peak while the row ran less `corpus_rss_mb`: what
the model itself needs on top of the libraries and the token lists (its vocabulary, training state and
vectors, and scoring them). Peaks are the kernel's high-water mark of the process (VmHWM in
/proc/self/status), restarted after loading, so a larger transient of reading the corpus does not count
as the row's (where it cannot be restarted, the row's peak is the whole process's). Not `ru_maxrss`: a
child process inherits it from its parent's peak across exec, and this script's parent holds TensorFlow
too. A repeated row holds the largest of its runs' figures; its memory ratio to gensim is of
`row_memory_mb`. Memory is read from /proc (Linux).

`--profile` instead traces a few hundred of our training steps in this process and prints where the time
goes, op by op.

Writes `word2vec.json` and `word2vec.md` in `--results-dir` (default `benchmarks/results/`; rows this
run does not train are kept, but a ratio is only given against the gensim row of the same run). Point
`--results-dir` elsewhere for trials on the small corpora, so the committed results stay those of the
real corpora.

    ZOO_DATA_DIR=../shared/data python -m benchmarks.word2vec --corpus imdb --repeats 3
    ZOO_DATA_DIR=../shared/data python -m benchmarks.word2vec --corpus wikitext2 --profile
    python -m benchmarks.word2vec --corpus lee --results-dir /tmp/word2vec   # a quick trial
    python -m benchmarks.word2vec --corpus lee --row ppmi --row-output ppmi.json   # one row, one process
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import glob
import json
import logging
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import zoo.embeddings
from recipes import word2vec
from zoo.progress import step

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"
SETTINGS = {"dimension": 100, "window": 5, "negative": 5, "sample": 1e-3, "min_count": 5, "epochs": 5}
GENSIM = "gensim Word2Vec(sg=1)"
PPMI = "PPMI + SVD (zoo.embeddings.ppmi_svd)"
KEYS = ("analogy_accuracy", "wordsim353_spearman", "simlex999_spearman", "words_per_second", "train_seconds")
MEMORY_KEYS = ("corpus_rss_mb", "peak_rss_mb", "row_memory_mb")


def gensim_row(sentences: list[list[str]], seed: int = 0) -> dict[str, float]:
    """gensim's skip-gram on `sentences`, 2 worker threads, the shared settings; vocabulary scan and
    training timed apart (`train_seconds` is training only, as ours)."""
    from gensim.models import Word2Vec

    logging.getLogger("gensim").setLevel(logging.WARNING)
    model = Word2Vec(
        vector_size=SETTINGS["dimension"], window=SETTINGS["window"], negative=SETTINGS["negative"],
        sample=SETTINGS["sample"], min_count=SETTINGS["min_count"], sg=1, workers=2, seed=seed,
        alpha=0.025, min_alpha=0.0001,
    )  # fmt: skip
    start = time.perf_counter()
    model.build_vocab(sentences)
    vocabulary_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=SETTINGS["epochs"])
    seconds = time.perf_counter() - start
    words = sum(map(len, sentences))
    return {
        **zoo.embeddings.evaluate_vectors(model.wv),
        "words_per_second": words * SETTINGS["epochs"] / seconds,
        "train_seconds": seconds,
        "vocabulary_seconds": vocabulary_seconds,
        "vocabulary_size": len(model.wv),
    }


def ppmi_row(sentences: list[list[str]], seed: int = 0) -> dict[str, float]:
    """The count-based twin (`zoo.embeddings.ppmi_svd`): PPMI of the co-occurrences within the same window
    (weighted as skip-gram's dynamic windows), contexts smoothed to the 3/4 power, SVD to the same
    dimension, on the same vocabulary (min_count); no subsampling. `train_seconds` counts and factorises."""
    corpus = zoo.embeddings.build_corpus(sentences, SETTINGS["min_count"])
    start = time.perf_counter()
    vectors = zoo.embeddings.ppmi_svd(corpus, SETTINGS["dimension"], SETTINGS["window"], seed=seed)
    seconds = time.perf_counter() - start
    keyed = zoo.embeddings.keyed_vectors(corpus.words, vectors, corpus.counts)
    return {
        **zoo.embeddings.evaluate_vectors(keyed),
        "words_per_second": corpus.raw_words / seconds,
        "train_seconds": seconds,
        "vocabulary_size": len(corpus.words),
    }


def flags(corpus: str, extra: list[str]) -> list[str]:
    settings = [f"--{key.replace('_', '-')}={value}" for key, value in SETTINGS.items()]
    choice = ["--preset", corpus] if corpus in word2vec.Config.PRESETS else ["--dataset", corpus]
    return [*choice, "--model", "skipgram", "--no-export", *settings, *extra]


def ours_row(corpus: str, sentences: list[list[str]], extra: list[str], seed: int = 0) -> dict[str, float]:
    output_dir = RUNS / f"word2vec_{corpus}_seed{seed}"
    shutil.rmtree(output_dir, ignore_errors=True)  # a fresh run, never a resumed one
    argv = [*flags(corpus, extra), "--seed", str(seed), "--output-dir", str(output_dir)]
    metrics = word2vec.main(argv, sentences=sentences)
    return {key: value for key, value in metrics.items() if not key.startswith(("best_", "epochs"))}


def summary(runs: list[dict[str, float]]) -> dict:
    """One row from repeated runs: mean scores, median training time (words/s from it), the largest memory
    figures (what a run must be given), every run kept."""
    row = {key: statistics.fmean(run[key] for run in runs) for key in runs[0] if key != "train_seconds"}
    row["train_seconds"] = statistics.median(run["train_seconds"] for run in runs)
    row["words_per_second"] = statistics.median(run["words_per_second"] for run in runs)
    for key in MEMORY_KEYS:
        if key in runs[0]:
            row[key] = max(run[key] for run in runs)
    if len(runs) > 1:
        row["runs"] = runs
    return row


# ## Memory: one row per process


def resident_mb(field: str = "VmRSS") -> float:
    """A line of /proc/self/status in MB: `VmRSS` (resident now) or `VmHWM` (its high-water mark)."""
    try:
        status = pathlib.Path("/proc/self/status").read_text()
    except OSError as error:
        raise RuntimeError(f"memory is read from /proc/self/status (Linux): {error}") from None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # in kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def release_freed_memory() -> None:
    """Collect garbage and hand the heap's free pages back to the system (glibc's `malloc_trim`), so the
    resident size counts what is held, not what reading the corpus freed."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the figure is then a little higher
        pass


def restart_peak() -> bool:
    """Restart the kernel's high-water mark of resident memory (VmHWM) at the current size; False where
    /proc/self/clear_refs cannot be written."""
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measured_row(kind: str, corpus: str, seed: int = 0, extra: list[str] | None = None) -> dict[str, float]:
    """Run one row in this process, which should have run nothing else: load the corpus, note the resident
    memory, run the row, and add its memory figures (see the module docstring) to its dict."""
    import gensim.models  # noqa: F401  (every row scores with gensim: loaded before the baseline)
    import scipy.sparse.linalg  # noqa: F401  (PPMI's SVD)

    start = time.perf_counter()
    sentences = word2vec.load_sentences(word2vec.Config(dataset=corpus))
    print(f"{corpus}: {len(sentences):,} texts, {sum(map(len, sentences)):,} words tokenised in "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    release_freed_memory()
    corpus_rss, loading_peak = resident_mb(), resident_mb("VmHWM")
    restarted = restart_peak()
    if kind == "gensim":
        row = gensim_row(sentences, seed)
    elif kind == "ours":
        row = ours_row(corpus, sentences, extra or [], seed)
    elif kind == "ppmi":
        row = ppmi_row(sentences, seed)
    else:
        raise ValueError(f"unknown row {kind!r}; expected gensim, ours or ppmi")
    row_peak = resident_mb("VmHWM")  # since the restart; else since the process began
    return {
        **row,
        "corpus_rss_mb": round(corpus_rss, 1),
        "peak_rss_mb": round(max(loading_peak, row_peak) if restarted else row_peak, 1),
        "row_memory_mb": round(row_peak - corpus_rss, 1),
    }


def run_in_child(kind: str, corpus: str, seed: int = 0, ours_flags: str = "") -> dict[str, float]:
    """`measured_row` in a fresh Python process (`python -m benchmarks.word2vec --row KIND ...`); its
    output goes to this terminal, its row comes back through a JSON file."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory(prefix="word2vec_row_") as folder:
        output = pathlib.Path(folder) / "row.json"
        command = [
            sys.executable, "-m", "benchmarks.word2vec", "--corpus", corpus, "--row", kind,
            "--seed", str(seed), "--row-output", str(output), f"--ours-flags={ours_flags}",
        ]  # fmt: skip
        subprocess.run(command, check=True, env=environment)
        return json.loads(output.read_text())


def profile(corpus: str, sentences: list[list[str]], extra: list[str], steps: int = 300) -> list[str]:
    """Trace `steps` training steps (after the first, which traces the graph) with the TensorFlow profiler
    and add up the time of each op type over the CPU threads."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    config = word2vec.zoo.cli.parse(word2vec.Config, flags(corpus, extra))
    data = word2vec.load_data(config, sentences)
    model = word2vec.build_model(config, data.corpus)
    model.compile(optimizer=model.optimizer, jit_compile=False, steps_per_execution=1)
    model.fit(data.train.take(1), verbose=0, shuffle=False)
    logdir = RUNS / "word2vec_profile"
    tf.profiler.experimental.start(str(logdir))
    start = time.perf_counter()
    model.fit(data.train.take(steps), verbose=0, shuffle=False)
    wall = time.perf_counter() - start
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    space.ParseFromString(
        pathlib.Path(sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1]).read_bytes()
    )
    by_type: collections.Counter = collections.Counter()
    for plane in space.planes:
        names = {key: value.name for key, value in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" in name and "::" not in name:  # "<node>:<op type>", one kernel (not the executor)
                    by_type[name.rsplit(":", 1)[-1]] += event.duration_ps / 1e12
    total = sum(by_type.values())
    lines = [f"{steps} steps in {wall:.1f} s wall; kernels ran {total:.1f} s summed over threads"]
    lines += [
        f"{seconds:8.2f} s {100 * seconds / total:5.1f}%  {op}" for op, seconds in by_type.most_common(15)
    ]
    return lines


def same_run(row: dict, reference: dict) -> bool:
    """Both rows from one run of this script (the machine's speed drifts between runs)."""
    return row.get("run") is not None and row.get("run") == reference.get("run")


def ratio(row: dict, reference: dict, key: str) -> str:
    """`row[key] / reference[key]` when both rows are of one run and hold the key; else why not."""
    if not same_run(row, reference):
        return "(other run)"
    if key not in row or not reference.get(key):
        return ""
    return f"{row[key] / reference[key]:.2f}"


def markdown(results: dict) -> str:
    lines = [
        "| corpus | model | runs | analogy | WordSim353 | SimLex-999 | train s (median) | words/s "
        "| peak RSS MB | row MB | time ratio | memory ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for corpus, rows in results["corpora"].items():
        gensim = rows.get(GENSIM, {})
        for name, row in rows.items():
            scores = (
                f"{100 * row['analogy_accuracy']:.1f}% | {row['wordsim353_spearman']:.3f} | "
                f"{row['simlex999_spearman']:.3f}"
            )
            speed = f"{row['train_seconds']:.0f} | {row['words_per_second']:,.0f}"
            memory = " | ".join(f"{row[key]:,.0f}" if key in row else "" for key in MEMORY_KEYS[1:])
            ratios = f"{ratio(row, gensim, 'train_seconds')} | {ratio(row, gensim, 'row_memory_mb')}"
            repeats = len(row.get("runs", [])) or 1
            lines.append(f"| {corpus} | {name} | {repeats} | {scores} | {speed} | {memory} | {ratios} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.word2vec", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--corpus", default="imdb", choices=["imdb", "wikitext2", "lee", "head500"])
    parser.add_argument("--skip", nargs="*", default=[], choices=["gensim", "ours", "ppmi"])
    parser.add_argument("--ours-flags", default="", help="extra flags for recipes.word2vec, one string")
    parser.add_argument("--profile", action="store_true", help="profile our training steps, nothing else")
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of each model (mean scores, median time)"
    )
    parser.add_argument(
        "--results-dir", type=pathlib.Path, default=RESULTS,
        help="folder of word2vec.json and word2vec.md (read, then written with this run's rows)",
    )  # fmt: skip
    parser.add_argument(
        "--row", choices=["gensim", "ours", "ppmi"],
        help="run this one row in this process and write its dict to --row-output (what each run's child "
        "process does)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="with --row: the seed of the run")
    parser.add_argument("--row-output", type=pathlib.Path, help="with --row: the JSON file to write")
    args = parser.parse_args(argv)
    extra = args.ours_flags.split()
    if args.row:
        if args.row_output is None:
            parser.error("--row needs --row-output")
        row = measured_row(args.row, args.corpus, args.seed, extra)
        args.row_output.write_text(json.dumps(row, indent=2) + "\n")
        return
    if args.profile:
        start = time.perf_counter()
        sentences = word2vec.load_sentences(word2vec.Config(dataset=args.corpus))
        print(f"{args.corpus}: {len(sentences):,} texts, {sum(map(len, sentences)):,} words tokenised in "
              f"{time.perf_counter() - start:.0f} s")  # fmt: skip
        print("\n".join(profile(args.corpus, sentences, extra)))
        return
    path = args.results_dir / "word2vec.json"
    results = json.loads(path.read_text()) if path.exists() else {"corpora": {}}
    results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    rows = results["corpora"].setdefault(args.corpus, {})
    name = "ours: recipes.word2vec" + (f" {args.ours_flags}" if args.ours_flags else "")
    labels = {"gensim": GENSIM, "ours": name, "ppmi": PPMI}
    runs: dict[str, list] = {label: [] for label in labels.values()}
    for seed in range(args.repeats):  # alternating, so a slow spell of the machine falls on every row
        for kind, label in labels.items():
            if kind in args.skip:
                continue
            with step(f"benchmark row: {label}, seed {seed}"):
                runs[label].append(run_in_child(kind, args.corpus, seed, args.ours_flags))
            print(f"{label}, seed {seed}: {runs[label][-1]}; load average {os.getloadavg()[0]:.2f}")
    stamp = time.strftime("%Y-%m-%d %H:%M")
    for row_name, row_runs in runs.items():
        if row_runs:
            rows[row_name] = {**summary(row_runs), "run": stamp}
    reference = rows.get(GENSIM)
    if reference:
        for name, row in rows.items():
            if not same_run(row, reference):
                continue
            print(
                f"{name}: analogy {row['analogy_accuracy'] - reference['analogy_accuracy']:+.4f}, WordSim353 "
                f"{row['wordsim353_spearman'] - reference['wordsim353_spearman']:+.3f}, SimLex-999 "
                f"{row['simlex999_spearman'] - reference['simlex999_spearman']:+.3f}, train time x"
                f"{row['train_seconds'] / reference['train_seconds']:.2f} of gensim's, row memory "
                f"{row['row_memory_mb']:,.0f} MB (x{ratio(row, reference, 'row_memory_mb')}), peak RSS "
                f"{row['peak_rss_mb']:,.0f} MB"
            )
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (args.results_dir / "word2vec.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
