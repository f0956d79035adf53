"""word2vec benchmark: our Keras skip-gram beside gensim's optimised C, same tokens, same settings, one run.

Rows (all with dimension 100, window 5, 5 noise words, sample 1e-3, min_count 5, 5 epochs, alpha 0.025
falling linearly to 0.0001, on the 2 CPU cores):

- gensim `Word2Vec(sg=1, workers=2)`: its vocabulary scan and training, timed apart.
- ours: `recipes.word2vec` (`zoo.embeddings.Word2Vec`) given the very same token lists (`--model skipgram`),
  with `--shared-negatives` as configured (`--ours-flags` adds flags, e.g. `--tie-weights`).
- PPMI + SVD (`zoo.embeddings.ppmi_svd`): skip-gram's count-based twin (Levy, Goldberg and Dagan 2015),
  the same vocabulary, window and dimension, counted once (no epochs, no subsampling).

Both models' vectors are scored by gensim's own functions (analogy accuracy on questions-words.txt,
Spearman on WordSim353 and SimLex-999), and the ratios ours / gensim are printed. `--repeats N` trains
each model N times, alternating them (gensim, ours, gensim, ours, ...) with seeds 0..N-1, and reports the
mean scores and the median training time (on this shared 2-core machine one gensim run took 195 s and
another 268 s); every run is kept under `runs` in the JSON. `--profile` instead traces a few hundred of
our training steps and prints where the time goes, op by op.

Writes `benchmarks/results/word2vec.json` and `benchmarks/results/word2vec.md` (rows this run does not
train are kept, but a wall-time ratio is only given against the gensim row of the same run).

    ZOO_DATA_DIR=../shared/data python -m benchmarks.word2vec --corpus imdb --repeats 3
    ZOO_DATA_DIR=../shared/data python -m benchmarks.word2vec --corpus wikitext2 --profile
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import logging
import os
import pathlib
import platform
import shutil
import statistics
import time

import zoo.embeddings
from recipes import word2vec
from zoo.progress import step

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"
SETTINGS = {"dimension": 100, "window": 5, "negative": 5, "sample": 1e-3, "min_count": 5, "epochs": 5}
PPMI = "PPMI + SVD (zoo.embeddings.ppmi_svd)"
KEYS = ("analogy_accuracy", "wordsim353_spearman", "simlex999_spearman", "words_per_second", "train_seconds")


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
    """One row from repeated runs: mean scores, median training time (words/s from it), every run kept."""
    row = {key: statistics.fmean(run[key] for run in runs) for key in runs[0] if key != "train_seconds"}
    row["train_seconds"] = statistics.median(run["train_seconds"] for run in runs)
    row["words_per_second"] = statistics.median(run["words_per_second"] for run in runs)
    if len(runs) > 1:
        row["runs"] = runs
    return row


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


def markdown(results: dict) -> str:
    lines = [
        "| corpus | model | runs | analogy | WordSim353 | SimLex-999 | train s (median) | words/s "
        "| wall ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for corpus, rows in results["corpora"].items():
        gensim = rows.get("gensim Word2Vec(sg=1)", {})
        for name, row in rows.items():
            # Times compare only within one run of this script (the machine's speed drifts between runs).
            same_run = gensim and row.get("run") == gensim.get("run")
            ratio = f"{row['train_seconds'] / gensim['train_seconds']:.2f}" if same_run else "(other run)"
            scores = (
                f"{100 * row['analogy_accuracy']:.1f}% | {row['wordsim353_spearman']:.3f} | "
                f"{row['simlex999_spearman']:.3f}"
            )
            speed = f"{row['train_seconds']:.0f} | {row['words_per_second']:,.0f}"
            repeats = len(row.get("runs", [])) or 1
            lines.append(f"| {corpus} | {name} | {repeats} | {scores} | {speed} | {ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="imdb", choices=["imdb", "wikitext2", "lee", "head500"])
    parser.add_argument("--skip", nargs="*", default=[], choices=["gensim", "ours", "ppmi"])
    parser.add_argument("--ours-flags", default="", help="extra flags for recipes.word2vec, one string")
    parser.add_argument("--profile", action="store_true", help="profile our training steps, nothing else")
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of each model (mean scores, median time)"
    )
    args = parser.parse_args()
    extra = args.ours_flags.split()
    start = time.perf_counter()
    config = word2vec.Config(dataset=args.corpus)
    sentences = word2vec.load_sentences(config)
    print(f"{args.corpus}: {len(sentences):,} texts, {sum(map(len, sentences)):,} words tokenised in "
          f"{time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    if args.profile:
        print("\n".join(profile(args.corpus, sentences, extra)))
        return
    path = RESULTS / "word2vec.json"
    results = json.loads(path.read_text()) if path.exists() else {"corpora": {}}
    results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    rows = results["corpora"].setdefault(args.corpus, {})
    name = "ours: recipes.word2vec" + (f" {args.ours_flags}" if args.ours_flags else "")
    runs: dict[str, list] = {"gensim Word2Vec(sg=1)": [], name: [], PPMI: []}
    for seed in range(args.repeats):  # alternating, so a slow spell of the machine falls on both
        if "gensim" not in args.skip:
            with step(f"benchmark row: gensim, seed {seed}"):
                runs["gensim Word2Vec(sg=1)"].append(gensim_row(sentences, seed))
            print(f"gensim, seed {seed}: {runs['gensim Word2Vec(sg=1)'][-1]}; load {os.getloadavg()[0]:.2f}")
        if "ours" not in args.skip:
            with step(f"benchmark row: ours, seed {seed}"):
                runs[name].append(ours_row(args.corpus, sentences, extra, seed))
            print(f"ours, seed {seed}: {runs[name][-1]}; load average {os.getloadavg()[0]:.2f}")
        if "ppmi" not in args.skip:
            with step(f"benchmark row: PPMI + SVD, seed {seed}"):
                runs[PPMI].append(ppmi_row(sentences, seed))
            print(f"PPMI + SVD, seed {seed}: {runs[PPMI][-1]}; load average {os.getloadavg()[0]:.2f}")
    stamp = time.strftime("%Y-%m-%d %H:%M")
    for row_name, row_runs in runs.items():
        if row_runs:
            rows[row_name] = {**summary(row_runs), "run": stamp}
    reference = rows.get("gensim Word2Vec(sg=1)")
    if reference:
        for name, row in rows.items():
            if row.get("run") != reference.get("run"):
                continue
            print(
                f"{name}: analogy {row['analogy_accuracy'] - reference['analogy_accuracy']:+.4f}, WordSim353 "
                f"{row['wordsim353_spearman'] - reference['wordsim353_spearman']:+.3f}, SimLex-999 "
                f"{row['simlex999_spearman'] - reference['simlex999_spearman']:+.3f}, train time x"
                f"{row['train_seconds'] / reference['train_seconds']:.2f} of gensim's"
            )
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "word2vec.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
