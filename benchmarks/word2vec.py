"""word2vec benchmark: our Keras skip-gram beside gensim's optimised C, same tokens, same settings, one run.

Rows (both with dimension 100, window 5, 5 noise words, sample 1e-3, min_count 5, 5 epochs, alpha 0.025
falling linearly to 0.0001, on the 2 CPU cores):

- gensim `Word2Vec(sg=1, workers=2)`: its vocabulary scan and training, timed apart.
- ours: `recipes.word2vec` (`zoo.embeddings.Word2Vec`) given the very same token lists (`--model skipgram`),
  with `--shared-negatives` as configured (`--ours-flags` adds flags, e.g. `--tie-weights`).

Both models' vectors are scored by gensim's own functions (analogy accuracy on questions-words.txt,
Spearman on WordSim353 and SimLex-999), and the ratios ours / gensim are printed. `--profile` instead
traces a few hundred of our training steps and prints where the time goes, op by op.

Writes `benchmarks/results/word2vec.json` and `benchmarks/results/word2vec.md` (the rows of other corpora
are kept).

    ZOO_DATA_DIR=../shared/data python -m benchmarks.word2vec --corpus imdb
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
import time

import zoo.embeddings
from recipes import word2vec

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"
SETTINGS = {"dimension": 100, "window": 5, "negative": 5, "sample": 1e-3, "min_count": 5, "epochs": 5}
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


def flags(corpus: str, extra: list[str]) -> list[str]:
    settings = [f"--{key.replace('_', '-')}={value}" for key, value in SETTINGS.items()]
    choice = ["--preset", corpus] if corpus in word2vec.Config.PRESETS else ["--dataset", corpus]
    return [*choice, "--model", "skipgram", "--no-export", *settings, *extra]


def ours_row(corpus: str, sentences: list[list[str]], extra: list[str]) -> dict[str, float]:
    output_dir = RUNS / f"word2vec_{corpus}"
    metrics = word2vec.main([*flags(corpus, extra), "--output-dir", str(output_dir)], sentences=sentences)
    return {key: value for key, value in metrics.items() if not key.startswith(("best_", "epochs"))}


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
        "| corpus | model | analogy | WordSim353 | SimLex-999 | train s | words/s | wall ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for corpus, rows in results["corpora"].items():
        reference = rows.get("gensim Word2Vec(sg=1)", {}).get("train_seconds")
        for name, row in rows.items():
            ratio = f"{row['train_seconds'] / reference:.2f}" if reference else ""
            scores = (
                f"{100 * row['analogy_accuracy']:.1f}% | {row['wordsim353_spearman']:.3f} | "
                f"{row['simlex999_spearman']:.3f}"
            )
            speed = f"{row['train_seconds']:.0f} | {row['words_per_second']:,.0f}"
            lines.append(f"| {corpus} | {name} | {scores} | {speed} | {ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="imdb", choices=["imdb", "wikitext2", "lee", "head500"])
    parser.add_argument("--skip", nargs="*", default=[], choices=["gensim", "ours"])
    parser.add_argument("--ours-flags", default="", help="extra flags for recipes.word2vec, one string")
    parser.add_argument("--profile", action="store_true", help="profile our training steps, nothing else")
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
    if "gensim" not in args.skip:
        rows["gensim Word2Vec(sg=1)"] = gensim_row(sentences)
        print(f"gensim: {rows['gensim Word2Vec(sg=1)']}; load average {os.getloadavg()[0]:.2f}")
    if "ours" not in args.skip:
        name = "ours: recipes.word2vec" + (f" {args.ours_flags}" if args.ours_flags else "")
        rows[name] = ours_row(args.corpus, sentences, extra)
        print(f"ours: {rows[name]}; load average {os.getloadavg()[0]:.2f}")
    reference = rows.get("gensim Word2Vec(sg=1)")
    if reference:
        for name, row in rows.items():
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
