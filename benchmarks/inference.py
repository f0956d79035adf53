"""Inference benchmark: each recipe's exports timed, sized and scored side by side, on one machine, one run.

For every recipe in `RECIPES` (`--recipes` picks some), on its test split:

- keras: `model.keras` loaded with `zoo.load_model`, called with `predict_on_batch` (one compiled graph
  per input shape, no `tf.data` around it) on raw inputs: texts, token lists, words.
- saved_model: `saved_model/1/` loaded with `tf.saved_model.load`, its `serve` endpoint on the same raw
  inputs (what `python -m recipes.X predict` and TF Serving run).
- tflite: every `model*.tflite` of the run (`model.tflite` and each `--quantize` variant) in
  `ai_edge_litert`'s interpreter, fed ids made beforehand in Python from the side files, as an app on a
  device would make them (each recipe's `*_workload` says how).

Timing: latency at batch 1, the 50th and 95th percentiles over `--calls` calls (100) on test inputs taken
in turn, after `--warmup` calls that are not counted; throughput at batch 32, examples per second over
`--batches` batches (10) after two not counted. A TFLite file's only shape is batch 1, so its throughput
is of examples called one at a time. What is timed is the call on a prepared input and the copy of its
output: Keras and the SavedModel tokenise inside their graph, so their times include it, while TFLite's
ids are made before the clock starts.

Size: each file in MB (10^6 bytes); the SavedModel's is its folder's total. Test metric: every TFLite
variant answers every test example (one call each), scored beside the float Keras model's answers to the
same examples: sentiment accuracy, NER entity F1 (`zoo.metrics.entity_scores`), word2vec analogy
accuracy (`zoo.embeddings.evaluate_vectors`, with the Spearman correlations in the JSON) on the vector
the TFLite returns for every vocabulary word. "agreement" says how alike the answers are: the share of
the same labels (sentiment) or tags (NER), the mean cosine similarity of the vectors (word2vec).

Which runs: by default each recipe's embedded default run, trained here (`python -m recipes.X
--output-dir benchmarks/runs/inference_X --quantize none dynamic float16 [int8] --overwrite`), so the
benchmark works from a clean clone without data. `--preset` trains the real models instead (`PRESETS`:
sentiment on IMDB, NER on WNUT-17) where `$ZOO_DATA_DIR` holds their data; `--runs NAME=DIR` times
finished run folders instead of training. The size goals (`GOALS`) are judged on preset runs.

Writes `benchmarks/results/inference.json` and `benchmarks/results/inference.md`, keeping the entries of
other runs (each entry is one recipe's run: embedded sample, preset or folder).

    python -m benchmarks.inference
    ZOO_DATA_DIR=../shared/data python -m benchmarks.inference --preset --recipes sentiment
    python -m benchmarks.inference --runs sentiment=saved_models/sentiment
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

ROOT = pathlib.Path(__file__).parent.parent
RESULTS = ROOT / "benchmarks" / "results"
RUNS = ROOT / "benchmarks" / "runs"
BATCH_SIZE = 32


# ## Timing and sizes


def latencies(call: Callable[[Any], Any], inputs: Sequence, calls: int, warmup: int) -> np.ndarray:
    """Seconds of each of `calls` calls of `call`, on `inputs` taken in turn (cycling), after `warmup`
    calls that are not counted (tracing, allocation, caches)."""
    for index in range(warmup):
        call(inputs[index % len(inputs)])
    seconds = np.empty(calls)
    for index in range(calls):
        example = inputs[index % len(inputs)]
        start = time.perf_counter()
        call(example)
        seconds[index] = time.perf_counter() - start
    return seconds


def percentiles(seconds: np.ndarray) -> dict[str, float]:
    """p50 and p95 in milliseconds, and how many calls they come from."""
    p50, p95 = np.percentile(seconds, [50, 95])
    return {"p50_ms": 1000 * float(p50), "p95_ms": 1000 * float(p95), "calls": len(seconds)}


def throughput(
    call: Callable[[Any], Any], batches: Sequence[tuple[Any, int]], warmup: int = 2, min_seconds: float = 0.5
) -> float:
    """Examples per second of `call` over `batches` (input, examples in it), after `warmup` batches not
    counted (a new input shape traces a new graph); the timed batches are run again until `min_seconds`
    have passed, so that calls of a few microseconds are timed over more than the clock's noise."""
    for batch, _ in batches[:warmup]:
        call(batch)
    examples, start = 0, time.perf_counter()
    while True:
        for batch, count in batches[warmup:]:
            call(batch)
            examples += count
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return examples / elapsed


def size_mb(path: str | os.PathLike) -> float:
    """A file's size, or a folder's total over every file under it, in MB (10^6 bytes)."""
    path = pathlib.Path(path)
    files = [path] if path.is_file() else [child for child in path.rglob("*") if child.is_file()]
    return sum(child.stat().st_size for child in files) / 1e6


# ## What each recipe's exports are given and how their answers are scored


class Workload(NamedTuple):
    """One recipe's test inputs for every format, and the scoring of every format's answers."""

    examples: list  # the test inputs, raw: texts, token lists, words
    batch: Callable[[list], Any]  # raw examples -> the Keras model's and the SavedModel's input tensor
    answers: Callable[[np.ndarray, list], list]  # their output on a batch -> one answer per example
    rows: np.ndarray  # each example's TFLite input, made in Python from the side files: (examples, ...)
    tflite_answer: Callable[[np.ndarray, Any], Any]  # a TFLite output (batch of one), example -> answer
    score: Callable[[list], dict[str, float]]  # every example's answer -> metrics
    metric: str  # the headline metric, a key of `score`'s result
    agreement: Callable[[list, list], float]  # (answers, float Keras answers) -> how alike (1: same)
    notes: list[str]  # what a reader of the figures needs to know about this recipe's inputs


def read_lines(path: pathlib.Path) -> list[str]:
    """A side file's lines (line n is id n); split at newlines only, as the recipes write them (a
    character table may hold U+2028 or U+0085, at which `str.splitlines` would also split)."""
    text = path.read_text(encoding="utf-8")
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def tflite_input_shape(folder: pathlib.Path) -> tuple[int, ...]:
    from ai_edge_litert.interpreter import Interpreter

    (detail,) = Interpreter(model_path=str(folder / "model.tflite")).get_input_details()
    return tuple(int(size) for size in detail["shape"])


def test_subset(count: int, limit: int | None) -> np.ndarray:
    """Indices of the test examples scored: all, or `limit` of them chosen by seed 0 (a test file may be
    ordered by label), in their original order."""
    if limit is None or limit >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(0).permutation(count)[:limit])


def sentiment_workload(folder: pathlib.Path, config: dict, limit: int | None) -> Workload:
    """Texts in, P(positive) out. TFLite rows: `zoo.text.preprocess` tokens looked up in vocabulary.txt
    (unknown: id 1), the first max_length kept, padded with 0, which is what the Keras model's
    TextVectorization computes in the graph; the rows where the two differ are counted in the notes."""
    import tensorflow as tf

    import zoo
    import zoo.data
    import zoo.text

    test = zoo.data.load_sentiment(
        config["dataset"], config["data_dir"], seed=config["seed"], skip_checksum=config["skip_checksum"]
    )["test"]
    picked = test_subset(len(test.texts), limit)
    texts, labels = [test.texts[i] for i in picked], test.labels[picked]
    ids = {word: index for index, word in enumerate(read_lines(folder / "vocabulary.txt"))}
    _, length = tflite_input_shape(folder)
    rows = np.zeros((len(texts), 1, length), np.int32)
    for index, text in enumerate(texts):
        tokens = [ids.get(token, 1) for token in zoo.text.preprocess(text)][:length]
        rows[index, 0, : len(tokens)] = tokens
    vectorizer = zoo.load_model(folder).get_layer("vectorizer")
    in_graph = np.concatenate(
        [vectorizer(tf.constant(texts[start : start + 512])).numpy() for start in range(0, len(texts), 512)]
    )
    differing = int(np.sum(np.any(in_graph != rows[:, 0], axis=1)))

    def score(probabilities: list) -> dict[str, float]:
        return {"test_accuracy": float(np.mean((np.array(probabilities) >= 0.5) == labels))}

    return Workload(
        examples=texts,
        batch=lambda examples: tf.constant(examples),
        answers=lambda output, examples: [float(p) for p in output[:, 0]],
        rows=rows,
        tflite_answer=lambda output, example: float(output[0, 0]),
        score=score,
        metric="test_accuracy",
        agreement=lambda answers, reference: float(
            np.mean((np.array(answers) >= 0.5) == (np.array(reference) >= 0.5))
        ),
        notes=[
            f"TFLite rows: zoo.text.preprocess + vocabulary.txt, first {length} tokens; {differing} of "
            f"{len(texts)} differ from the Keras model's in-graph ids"
        ],
    )


def ner_workload(folder: pathlib.Path, config: dict, limit: int | None) -> Workload:
    """Token lists in, tag lists out. TFLite rows: packed ids from a `zoo.layers.TokenFeatures` built from
    words.txt and chars.txt (the TFLite's own tables, which may be smaller than the Keras model's), the
    sentence's first 64 tokens (the TFLite's length); tokens past them are answered "O"."""
    import tensorflow as tf

    import zoo.data
    import zoo.layers
    import zoo.metrics

    test = zoo.data.load_ner(
        config["dataset"],
        config["data_dir"],
        repair=config["repair_tags"],
        seed=config["seed"],
        skip_checksum=config["skip_checksum"],
    )["test"]
    scheme = config["tag_scheme"]
    gold = [zoo.data.convert_tags(tags, "bio", scheme) if scheme != "bio" else tags for tags in test.tags]
    picked = test_subset(len(test.tokens), limit)
    sentences, gold = [test.tokens[i] for i in picked], [gold[i] for i in picked]
    tag_names = read_lines(folder / "tags.txt")
    _, length, width = tflite_input_shape(folder)
    features = zoo.layers.TokenFeatures(
        read_lines(folder / "words.txt"), read_lines(folder / "chars.txt"), max_word_length=width - 2
    )
    padded = [sentence[:length] + [""] * (length - len(sentence[:length])) for sentence in sentences]
    rows = np.concatenate(
        [features(tf.constant(padded[start : start + 256])).numpy() for start in range(0, len(padded), 256)]
    )[:, None]
    longer = sum(len(sentence) > length for sentence in sentences)

    def batch(examples: list) -> Any:
        longest = max(map(len, examples))
        return tf.constant([sentence + [""] * (longest - len(sentence)) for sentence in examples])

    def tflite_answer(output: np.ndarray, sentence: list[str]) -> list[str]:
        tags = [tag_names[i] for i in output[0, : len(sentence)]]
        return tags + ["O"] * (len(sentence) - len(tags))

    def agreement(answers: list, reference: list) -> float:
        pairs = [(a, b) for sentence, other in zip(answers, reference) for a, b in zip(sentence, other)]
        return sum(a == b for a, b in pairs) / max(len(pairs), 1)

    return Workload(
        examples=sentences,
        batch=batch,
        answers=lambda output, examples: [
            [tag.decode() for tag in row[: len(sentence)]] for row, sentence in zip(output, examples)
        ],
        rows=rows,
        tflite_answer=tflite_answer,
        score=lambda predicted: zoo.metrics.entity_scores(gold, predicted).to_dict(prefix="test_"),
        metric="test_entity_f1",
        agreement=agreement,
        notes=[
            f"TFLite rows: TokenFeatures of words.txt ({len(features.word_vocabulary):,} words) and "
            f"chars.txt, {length} tokens; {longer} of {len(sentences)} test sentences are longer (their "
            "further tokens are tagged O)",
            "the float TFLite answers as the Keras model does on sentences padded to 64 tokens; where it "
            "differs from the Keras model on the batch's own width, the model's tags depend on the padding "
            "after a sentence",
        ],
    )


def word2vec_workload(folder: pathlib.Path, config: dict, limit: int | None) -> Workload:
    """Words in, vectors out; the test inputs are the vocabulary's words. TFLite rows: each word's line
    number in vocabulary.txt (line 0 is the unknown word)."""
    import tensorflow as tf

    import zoo.embeddings

    words = read_lines(folder / "vocabulary.txt")[1:]
    picked = test_subset(len(words), limit)

    def score(vectors: list) -> dict[str, float]:
        keyed = zoo.embeddings.keyed_vectors([words[i] for i in picked], np.stack(vectors))
        return zoo.embeddings.evaluate_vectors(keyed)

    def agreement(vectors: list, reference: list) -> float:
        a, b = np.stack(vectors).astype(np.float64), np.stack(reference).astype(np.float64)
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return float(np.mean(np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)))

    return Workload(
        examples=[words[i] for i in picked],
        batch=lambda examples: tf.constant(examples),
        answers=lambda output, examples: list(output),
        rows=(picked + 1).astype(np.int32).reshape(-1, 1, 1),
        tflite_answer=lambda output, example: output[0].copy(),
        score=score,
        metric="analogy_accuracy",
        agreement=agreement,
        notes=[
            f"test inputs: the {len(picked):,} vocabulary words; metric: gensim's analogy accuracy on the "
            "vectors each format returns for every one of them (agreement: their mean cosine similarity "
            "with the float Keras model's)"
        ],
    )


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One recipe's row: how its inputs are made, which TFLite variants its run writes, its real preset."""

    workload: Callable[[pathlib.Path, dict, int | None], Workload]
    quantize: tuple[str, ...] = ("none", "dynamic", "float16")  # int8 cannot convert recurrent layers
    preset: str | None = None  # the `--preset` this benchmark trains with `--preset`
    dataset: str | None = None  # the preset's folder under $ZOO_DATA_DIR


RECIPES = {
    "sentiment": Recipe(sentiment_workload, preset="imdb", dataset="imdb"),
    "ner": Recipe(ner_workload, preset="wnut17", dataset="wnut17"),
    "word2vec": Recipe(word2vec_workload, quantize=("none", "dynamic", "float16", "int8")),
}


class Goal(NamedTuple):
    """A size goal for a preset's TFLite files: at most `max_mb`, its test metric within `tolerance` of
    the float Keras model's."""

    max_mb: float
    tolerance: float


GOALS = {("sentiment", "imdb"): Goal(12.0, 0.003), ("ner", "wnut17"): Goal(20.0, 0.005)}


# ## Running the formats


def train(recipe: str, folder: pathlib.Path, preset: str | None) -> tuple[str, float]:
    """Train `recipe` into `folder` in a fresh process (its own TensorFlow state); the command and its
    wall seconds."""
    flags = ["--preset", preset] if preset else []
    flags += ["--output-dir", shown(folder), "--quantize", *RECIPES[recipe].quantize, "--overwrite"]
    command = shlex.join(["python", "-m", f"recipes.{recipe}", *flags])
    print(f"\n## Training: {command}", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", f"recipes.{recipe}", *flags], check=True, cwd=ROOT)
    return command, time.perf_counter() - start


def shown(path: pathlib.Path) -> str:
    """`path` as the report shows it: relative to the repository when it is inside it."""
    path = path.absolute()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix()


def tflite_runner(path: pathlib.Path, threads: int | None) -> Callable[[np.ndarray], np.ndarray]:
    """A callable running the single-input, single-output TFLite file at `path` on one input row."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    (target,) = interpreter.get_output_details()

    def run(row: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(source["index"], row)
        interpreter.invoke()
        return interpreter.get_tensor(target["index"]).copy()

    return run


def timings(
    call: Callable, batch_one: Sequence, batches: list, settings: argparse.Namespace, call_batch=None
) -> dict[str, float]:
    """Latency of `call` on `batch_one` (inputs of one example) and throughput of `call_batch` (default
    `call`) on `batches`."""
    return {
        **percentiles(latencies(call, batch_one, settings.calls, settings.warmup)),
        "throughput": throughput(call_batch or call, batches),
    }


def measure(recipe: str, folder: pathlib.Path, settings: argparse.Namespace) -> dict:
    """Every format of the run in `folder`: size, latency, throughput and (Keras, TFLite) test metric."""
    import tensorflow as tf

    import zoo
    import zoo.export

    config = json.loads((folder / "config.json").read_text())
    work = RECIPES[recipe].workload(folder, config, settings.max_test_examples)
    examples = work.examples
    count = settings.batches + 2  # two warm-up batches
    batch_indices = [[(b * BATCH_SIZE + i) % len(examples) for i in range(BATCH_SIZE)] for b in range(count)]
    raw_one = [work.batch([example]) for example in examples[: settings.calls]]
    raw_batches = [(work.batch([examples[i] for i in indices]), BATCH_SIZE) for indices in batch_indices]
    formats: dict[str, dict] = {}

    model = zoo.load_model(folder)
    formats["keras"] = {"file": "model.keras", "size_mb": size_mb(folder / "model.keras")}
    formats["keras"] |= timings(model.predict_on_batch, raw_one, raw_batches, settings)
    reference: list = []
    for start in range(0, len(examples), BATCH_SIZE):
        chunk = examples[start : start + BATCH_SIZE]
        reference += work.answers(model.predict_on_batch(work.batch(chunk)), chunk)
    scores = work.score(reference)
    formats["keras"] |= {**scores, "metric": scores[work.metric]}
    print(f"keras: {formats['keras']}", flush=True)

    path = zoo.export.saved_model_path(folder / "saved_model")
    loaded = tf.saved_model.load(str(path))
    formats["saved_model"] = {"file": path.relative_to(folder).as_posix(), "size_mb": size_mb(path)}
    formats["saved_model"] |= timings(lambda x: loaded.serve(x).numpy(), raw_one, raw_batches, settings)
    print(f"saved_model: {formats['saved_model']}", flush=True)

    variants = json.loads((folder / "deploy.json").read_text()).get("quantization", {})
    for file in sorted(folder.glob("*.tflite"), key=lambda p: (p.name != "model.tflite", p.name)):
        run = tflite_runner(file, settings.tflite_threads)
        one_by_one = [(work.rows[indices], BATCH_SIZE) for indices in batch_indices]
        row = {"file": file.name, "quantize": variants.get(file.name, "?"), "size_mb": size_mb(file)}
        row |= timings(
            run,
            work.rows[: settings.calls],
            one_by_one,
            settings,
            lambda rows, run=run: [run(r) for r in rows],
        )
        start = time.perf_counter()
        answers = [work.tflite_answer(run(x), example) for x, example in zip(work.rows, examples)]
        scores = work.score(answers)
        row |= {
            **scores,
            "metric": scores[work.metric],
            "difference": scores[work.metric] - formats["keras"]["metric"],
            **(
                {"difference_vs_float_tflite": scores[work.metric] - formats["tflite none"]["metric"]}
                if "tflite none" in formats
                else {}
            ),
            "agreement": work.agreement(answers, reference),
            "scoring_seconds": time.perf_counter() - start,
        }
        formats[f"tflite {row['quantize']}"] = row
        print(f"{file.name}: {row}", flush=True)
    return {
        "folder": shown(folder),
        "config": {key: config.get(key) for key in ("dataset", "preset", "quantize")},
        "metric": work.metric,
        "test_examples": len(examples),
        "run_reproduces": json.loads((folder / "deploy.json").read_text()).get("reproduces", {}),
        "run_train_seconds": json.loads((folder / "metrics.json").read_text()).get("train_seconds"),
        "notes": work.notes,
        "formats": formats,
    }


def judge(recipe: str, entry: dict) -> None:
    """Mark each TFLite variant of a preset run met / not met against the preset's size goal."""
    goal = GOALS.get((recipe, entry["config"].get("preset")))
    if goal is None:
        return
    entry["goal"] = {"max_mb": goal.max_mb, "tolerance": goal.tolerance}
    for name, row in entry["formats"].items():
        if name.startswith("tflite"):
            row["goal_met"] = bool(row["size_mb"] <= goal.max_mb and abs(row["difference"]) <= goal.tolerance)


# ## Report


def markdown(results: dict) -> str:
    """A table per run: each format's size, batch-1 latency, throughput and test metric."""
    lines = [
        "Latency: batch 1, p50 / p95 in ms over the calls named, after warm-up calls not counted. "
        f"Throughput: examples/s over batches of {BATCH_SIZE}; a TFLite file takes batch 1 only, so its "
        "throughput is of examples called one at a time. Keras and SavedModel times include tokenising "
        "(in their graph); TFLite's input ids are made beforehand. Size in MB (10^6 bytes). The "
        "SavedModel's answers equal the Keras model's (checked by each recipe's export). "
        f"Machine: {results['machine']['cpus']} CPUs, shared with other work.",
    ]
    for name, entry in results["runs"].items():
        lines += ["", f"### {name}", "", *describe(entry), "", *table(entry)]
    return "\n".join(lines) + "\n"


def describe(entry: dict) -> list[str]:
    settings, metric, goal = entry["settings"], entry["metric"], entry.get("goal")
    threads = settings["tflite_threads"] or "the interpreter's default"
    trained = ""
    if "train_command" in entry:
        trained = f"; trained by `{entry['train_command']}` in {entry['train_seconds']:.0f} s"
    elif entry.get("run_train_seconds"):
        trained = f"; its training took {entry['run_train_seconds']:.0f} s (metrics.json)"
    lines = [
        f"- run folder `{entry['folder']}`{trained}; measured by `{entry['benchmark_command']}` in "
        f"{entry['measure_seconds']:.0f} s",
        f"- {entry['test_examples']:,} test examples; latency over {settings['calls']} calls after "
        f"{settings['warmup']}, throughput over {settings['batches']} batches after 2; TFLite threads: "
        f"{threads}",
        *(f"- {note}" for note in entry["notes"]),
    ]
    if goal:
        lines.append(
            f"- size goal: TFLite <= {goal['max_mb']:g} MB with {metric} within {goal['tolerance']:g} of "
            "the float Keras model's"
        )
    return lines


def figure(value: float) -> str:
    """Three significant digits, whole numbers from 100 up: 0.00312, 4.77, 85.4, 2,734."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def table(entry: dict) -> list[str]:
    goal = entry.get("goal")
    lines = [
        f"| format | file | size MB | p50 ms | p95 ms | examples/s | {entry['metric']} | vs Keras "
        "| vs float TFLite | agreement |" + (" goal |" if goal else ""),
        "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if goal else ""),
    ]
    for kind, row in entry["formats"].items():
        cells = [
            kind,
            row["file"],
            f"{row['size_mb']:.2f}",
            figure(row["p50_ms"]),
            figure(row["p95_ms"]),
            figure(row["throughput"]),
            f"{row['metric']:.4f}" if "metric" in row else "",
            f"{row['difference']:+.4f}" if "difference" in row else "",
            f"{row['difference_vs_float_tflite']:+.4f}" if "difference_vs_float_tflite" in row else "",
            f"{row['agreement']:.4f}" if "agreement" in row else "",
        ]
        if goal:
            cells.append({True: "met", False: "not met", None: ""}[row.get("goal_met")])
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# ## Main


def runs_to_measure(args: argparse.Namespace) -> list[tuple[str, str, pathlib.Path, str | None]]:
    """(recipe, entry name, folder, preset to train with or None to reuse the folder) for each run."""
    if args.runs:
        chosen = []
        for pair in args.runs:
            recipe, _, folder = pair.partition("=")
            if recipe not in RECIPES or not folder:
                raise SystemExit(
                    f"--runs takes RECIPE=DIR with RECIPE one of {sorted(RECIPES)}, got {pair!r}"
                )
            preset = json.loads((pathlib.Path(folder) / "config.json").read_text()).get("preset")
            name = f"{recipe}: --preset {preset}" if preset else f"{recipe}: run folder {folder}"
            chosen.append((recipe, name, pathlib.Path(folder), None))
        return chosen
    chosen = []
    for recipe in args.recipes:
        entry = RECIPES[recipe]
        preset = entry.preset if args.preset else None
        if preset and not (pathlib.Path(os.environ.get("ZOO_DATA_DIR", "")) / entry.dataset).is_dir():
            print(f"{recipe}: $ZOO_DATA_DIR has no {entry.dataset}/, so its embedded default run is used")
            preset = None
        if preset:
            chosen.append(
                (recipe, f"{recipe}: --preset {preset}", RUNS / f"inference_{recipe}_{preset}", preset)
            )
        else:
            chosen.append((recipe, f"{recipe}: embedded sample", RUNS / f"inference_{recipe}", ""))
    return chosen


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument(
        "--preset", action="store_true", help="train the real models (PRESETS) where the data is"
    )
    parser.add_argument("--runs", nargs="+", metavar="RECIPE=DIR", help="measure finished runs, train none")
    parser.add_argument("--calls", type=int, default=100, help="timed batch-1 calls per format")
    parser.add_argument("--warmup", type=int, default=10, help="batch-1 calls before timing, not counted")
    parser.add_argument("--batches", type=int, default=10, help=f"timed batches of {BATCH_SIZE} per format")
    parser.add_argument(
        "--max-test-examples", type=int, help="score this many test examples (chosen by seed 0), not all"
    )
    parser.add_argument("--tflite-threads", type=int, help="the interpreter's num_threads (default: its own)")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.inference", *(sys.argv[1:] if argv is None else argv)])
    results: dict = {"runs": {}}
    if (RESULTS / "inference.json").exists():
        results = json.loads((RESULTS / "inference.json").read_text())
    results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    settings = {
        key: getattr(args, key)
        for key in ("calls", "warmup", "batches", "tflite_threads", "max_test_examples")
    }
    for recipe, name, folder, preset in runs_to_measure(args):
        entry: dict = {}
        if preset is not None:
            entry["train_command"], entry["train_seconds"] = train(recipe, folder, preset or None)
        start = time.perf_counter()
        entry |= measure(recipe, folder, args)
        entry["measure_seconds"] = time.perf_counter() - start
        entry |= {"benchmark_command": command, "settings": settings}
        judge(recipe, entry)
        results["runs"][name] = entry
        RESULTS.mkdir(exist_ok=True)  # written after each run: a later failure keeps the earlier ones
        (RESULTS / "inference.json").write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / "inference.md").write_text(markdown(results))
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
