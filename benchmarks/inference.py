"""Inference benchmark: each recipe's exports timed, sized and scored side by side, on one machine, one run.

For every recipe in `RECIPES` (`--recipes` picks some), on its test split:

- keras: `model.keras` loaded with `zoo.load_model`, called with `predict_on_batch` (one compiled graph
  per input shape, no `tf.data` around it) on raw inputs: texts, token lists, words, character ids. Where
  the recipe answers with a decoder around its model, the benchmark calls that decoder, as the recipe
  scores its test split: speech_ctc's greedy CTC transcriber around model.keras; for translation,
  transformer and captioning, whose model.keras is the teacher-forcing model that cannot write a
  sentence alone, the recipe's greedy translator or captioner over the encoder and decoder step its
  `build_model` makes, given model.keras's weights (checked to answer as the SavedModel does).
- saved_model: `saved_model/1/` loaded with `tf.saved_model.load`, its `serve` endpoint (captioning:
  `serve_images`) on the same raw inputs (what `python -m recipes.X predict` and TF Serving run).
- tflite: every `model*.tflite` of the run (`model.tflite` and each `--quantize` variant) in
  `ai_edge_litert`'s interpreter, fed inputs made beforehand in Python from the side files, as an app on
  a device would make them, and its outputs turned into answers afterwards (each recipe's `*_workload`
  says how). The TFLite files of translation, transformer and captioning hold the whole greedy decoding
  loop; speech_ctc's returns per-frame log-probabilities, decoded greedily in NumPy; char_lm's the
  next character's log-probabilities after a window of ids.

Timing: latency at batch 1, the 50th and 95th percentiles over `--calls` calls (100) on test inputs taken
in turn, after `--warmup` calls that are not counted; throughput at batch 32, examples per second over
`--batches` batches (10) after two not counted. A TFLite file's only shape is batch 1, so its throughput
is of examples called one at a time. What is timed is the call on a prepared input and the copy of its
output: Keras and the SavedModel tokenise inside their graph (char_lm's Keras model takes ids), so their
times include it, while TFLite's inputs are made before the clock starts and its outputs decoded after.

Size: each file in MB (10^6 bytes); the SavedModel's is its folder's total. Test metric: every TFLite
variant answers every test example (one call each), scored beside the float Keras model's answers to the
same examples: sentiment accuracy, NER entity F1 (`zoo.metrics.entity_scores`), word2vec analogy
accuracy (`zoo.embeddings.evaluate_vectors`, with the Spearman correlations in the JSON) on the vector
the TFLite returns for every vocabulary word, speech_ctc's greedy WER (`zoo.metrics.error_rates`), the
greedy BLEU of translation and transformer (sacrebleu's, `zoo.metrics.translation.corpus_bleu`) and of
captioning (BLEU-4, `zoo.metrics.caption_scores`), char_lm's bits per validation character. "agreement"
says how alike the answers are: the share of the same labels (sentiment), tags (NER), transcripts,
translations, captions or likeliest next characters (char_lm), the mean cosine similarity of the vectors
(word2vec).

Which runs: by default each recipe's embedded default run, trained here (`python -m recipes.X
--output-dir benchmarks/runs/inference_X --quantize none dynamic float16 [int8] --overwrite`; `--quantize
none` for the recipes whose TFLite is a decoding loop or written in float32 only), so the
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
import functools
import json
import math
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
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


def keras_predict(folder: pathlib.Path) -> Callable[[Any], Any]:
    """The run's `model.keras` (`zoo.load_model`) called with `predict_on_batch`."""
    import zoo

    return zoo.load_model(folder).predict_on_batch


def serve_endpoint(loaded: Any) -> Callable[[Any], Any]:
    """A loaded SavedModel's `serve` endpoint on one input tensor, its output as NumPy."""
    return lambda inputs: loaded.serve(inputs).numpy()


def tflite_runner(path: pathlib.Path, threads: int | None) -> Callable[[np.ndarray], np.ndarray]:
    """A callable running the single-input, single-output TFLite file at `path` on one input row (by the
    interpreter's input and output details: a file written without a signature runs too)."""
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


def tflite_signature_runner(
    path: pathlib.Path, threads: int | None
) -> Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]:
    """A callable running the TFLite file at `path`, whose signature names its inputs and outputs, on one
    row: `{input name: array}` -> `{output name: array}`. The tensors are set and read by index, as
    `tflite_runner` does; the interpreter's signature runner would resize and allocate them on every call."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    signature = interpreter.get_signature_runner()
    sources = {name: detail["index"] for name, detail in signature.get_input_details().items()}
    targets = {name: detail["index"] for name, detail in signature.get_output_details().items()}

    def run(row: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if set(row) != set(sources):
            raise ValueError(f"{path} takes inputs {sorted(sources)}, got {sorted(row)}")
        for name, index in sources.items():
            interpreter.set_tensor(index, row[name])
        interpreter.invoke()
        return {name: interpreter.get_tensor(index).copy() for name, index in targets.items()}

    return run


class Workload(NamedTuple):
    """One recipe's test inputs for every format, and the scoring of every format's answers.

    By default the Keras format is `model.keras` called with `predict_on_batch`, the SavedModel its `serve`
    endpoint, both on `batch(examples)`, and each TFLite file a single-input, single-output interpreter
    called on a row; a recipe whose formats answer otherwise names its own callables."""

    examples: list  # the test inputs, raw: texts, token lists, words, waveforms, images
    batch: Callable[[list], Any]  # raw examples -> the Keras callable's (and the SavedModel's) input
    answers: Callable[[Any, list], list]  # their output on a batch -> one answer per example
    rows: Sequence  # each example's TFLite input, made in Python beforehand: an array (examples, 1, ...)
    # or a list of per-example inputs (arrays, or `{input name: array}` for `tflite_signature_runner`)
    tflite_answer: Callable[[Any, Any], Any]  # a TFLite output (batch of one), example -> answer
    score: Callable[[list], dict[str, float]]  # every example's answer -> metrics
    metric: str  # the headline metric, a key of `score`'s result
    agreement: Callable[[list, list], float]  # (answers, float Keras answers) -> how alike (1: same)
    notes: list[str]  # what a reader of the figures needs to know about this recipe's inputs
    keras: Callable[[pathlib.Path], Callable[[Any], Any]] = keras_predict  # run folder -> the Keras callable
    saved_model: Callable[[Any], Callable[[Any], Any]] = serve_endpoint  # loaded SavedModel -> its callable
    saved_model_batch: Callable[[list], Any] | None = None  # raw examples -> the SavedModel's input (`batch`)
    tflite: Callable[[pathlib.Path, int | None], Callable[[Any], Any]] = tflite_runner  # (file, threads)
    # The SavedModel must answer the first BATCH_SIZE examples as the Keras callable does: a check for a
    # Keras callable the benchmark assembles (a recipe's decoder around model.keras's weights).
    check_saved_model: bool = False


def share_equal(answers: Sequence, reference: Sequence) -> float:
    """The share of answers equal to the reference's (transcripts, translations, captions, labels)."""
    return sum(a == b for a, b in zip(answers, reference, strict=True)) / max(len(answers), 1)


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
    words.txt, chars.txt and gazetteers.tsv if the run has one (the TFLite's own tables, which may be
    smaller than the Keras model's), the sentence's first 64 tokens (the TFLite's length); tokens past them
    are answered "O"."""
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
    gazetteers: dict[str, list[str]] = {}  # a run with --gazetteers: the packed ids' last column
    if (folder / "gazetteers.tsv").exists():
        for line in read_lines(folder / "gazetteers.tsv"):
            kind, entry = line.split("\t")
            gazetteers.setdefault(kind, []).append(entry)
    features = zoo.layers.TokenFeatures(
        read_lines(folder / "words.txt"),
        read_lines(folder / "chars.txt"),
        max_word_length=width - 2 - bool(gazetteers),
        gazetteers=gazetteers or None,
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


def speech_ctc_workload(folder: pathlib.Path, config: dict, limit: int | None) -> Workload:
    """Waveforms in, transcripts out: the test clips of the run's data (`recipes.speech_ctc.load_splits`),
    their transcripts normalised as the recipe normalises them. Keras: model.keras, which is the recipe's
    greedy CTC transcriber (`zoo.speech.transcriber`: waveforms and lengths in, transcripts out), traced
    by `zoo.speech.compiled` as the recipe does to score its test split; the SavedModel's `serve` takes the
    same padded batch and lengths. TFLite rows: `zoo.speech.tflite_input` (the clip padded to the file's
    length, and its length); the per-frame log-probabilities it returns are decoded greedily in NumPy
    (`zoo.speech.greedy_decode` of the real frames) after the clock."""
    import tensorflow as tf

    import zoo
    import zoo.data
    import zoo.metrics
    import zoo.speech
    from recipes import speech_ctc

    if "keep_case" in config:  # a run made when two flags, --keep-case and --keep-punctuation, named it
        config = dict(config)
        case, punctuation = config.pop("keep_case"), config.pop("keep_punctuation")
        config["normalize"] = {(0, 0): "letters", (1, 0): "cased", (0, 1): "lower", (1, 1): "none"}[
            (case, punctuation)
        ]
    run_config = speech_ctc.Config(**config)
    test = speech_ctc.load_splits(run_config).test
    picked = test_subset(len(test.waveforms), limit)
    clips = [np.asarray(test.waveforms[i], np.float32) for i in picked]
    references = [zoo.data.normalize_transcript(test.transcripts[i], run_config.normalize) for i in picked]
    alphabet = read_lines(folder / "alphabet.txt")
    max_samples = json.loads((folder / "deploy.json").read_text())["max_samples"]
    transcribe = zoo.speech.compiled(zoo.load_model(folder))

    def transcript(output: dict[str, np.ndarray], clip: np.ndarray) -> str:
        return zoo.speech.greedy_decode(output["log_probs"][0, : int(output["frames"][0])], alphabet)

    def score(transcripts: list) -> dict[str, float]:
        return {
            f"test_{key}": value for key, value in zoo.metrics.error_rates(references, transcripts).items()
        }

    seconds = np.array([len(clip) for clip in clips]) / run_config.sample_rate
    return Workload(
        examples=clips,
        batch=zoo.speech.padded_batch,
        answers=lambda output, examples: [text.decode("utf-8") for text in output],
        rows=[zoo.speech.tflite_input(clip, max_samples) for clip in clips],
        tflite_answer=transcript,
        score=score,
        metric="test_wer",
        agreement=share_equal,
        notes=[
            f"test clips of {seconds.min():.1f}-{seconds.max():.1f} s (mean {seconds.mean():.1f} s); metric: "
            "corpus WER of the greedy transcripts (zoo.metrics.error_rates, with CER in the JSON); "
            "agreement: the share of transcripts equal to the Keras model's",
            "Keras and the SavedModel take each clip at its own length (a batch padded to its longest) and "
            "decode in the graph; a TFLite call takes one clip padded with zeros to "
            f"{max_samples / run_config.sample_rate:g} s ({max_samples:,} samples), computes every frame of "
            "that, and returns per-frame log-probabilities, decoded greedily in NumPy after the clock",
        ],
        keras=lambda folder: transcribe,
        saved_model=lambda loaded: lambda inputs: loaded.serve(*map(tf.constant, inputs)).numpy(),
        tflite=tflite_signature_runner,
    )


# What the size of a model.keras saved with its optimizer holds besides the weights.
OPTIMIZER_STATE = "Adam's two moments of every weight: two thirds of the file"


def with_run_weights(model: Any, folder: pathlib.Path) -> None:
    """Give `model`, rebuilt by its recipe's `build_model` from the run's config, the weights of the run's
    model.keras (the same layers in the same order, or a ValueError)."""
    import zoo

    weights = zoo.load_model(folder, compile=False).get_weights()
    shapes = [weight.shape for weight in weights]
    if [weight.shape for weight in model.get_weights()] != shapes:
        raise ValueError(f"{folder}/model.keras does not hold the weights of the model its config builds")
    model.set_weights(weights)


def seq2seq_workload(recipe: str, folder: pathlib.Path, config: dict, limit: int | None) -> Workload:
    """Sentences in, translations out (`recipe`: translation or transformer). The test pairs are the run's
    (`zoo.data.load_translation`, turned around for `--source spa`, cut to `--max-test-samples`, as
    `zoo.seq2seq.load_translation_data` makes them); each distinct source is translated once and scored
    against each pair's reference, as `zoo.seq2seq.translation_scores` scores `test_greedy_bleu`.

    model.keras is the teacher-forcing model, which cannot translate alone. The Keras callable is the
    recipe's greedy translator (`recipes.<recipe>.translator`: tokenise, encode, decode one piece at a time
    with keras-hub's GreedySampler, detokenise, in one tf.function) over the encoder and decoder step of
    `recipes.<recipe>.build_model`, given model.keras's weights. TFLite rows: the source's SentencePiece
    ids cut to the file's length and padded with 0; the target ids it returns are detokenised up to the
    first 0, after the clock (`zoo.seq2seq.translate_with_tflite` does both the same way)."""
    import importlib

    import keras_hub
    import tensorflow as tf
    import tensorflow_text  # noqa: F401 (registers the SentencePiece ops the SavedModel calls)

    import zoo.seq2seq
    from zoo.data.translation import load_translation
    from zoo.metrics.translation import corpus_bleu, corpus_chrf

    module = importlib.import_module(f"recipes.{recipe}")
    run_config = module.Config(**config)
    corpus = load_translation(
        run_config.dataset, run_config.data_dir, seed=run_config.seed, skip_checksum=run_config.skip_checksum
    )
    flip = run_config.source == "spa"
    pairs = [(spanish, english) if flip else (english, spanish) for english, spanish in corpus.test]
    pairs = pairs[: run_config.max_test_samples] if run_config.max_test_samples else pairs
    sources = list(dict.fromkeys(source for source, _ in pairs))
    sources = [sources[i] for i in test_subset(len(sources), limit)]
    chosen = set(sources)
    pairs = [(source, reference) for source, reference in pairs if source in chosen]

    files = json.loads((folder / "deploy.json").read_text())["tokenizer"]
    # One tokenizer object where both sides share a file, as the recipe has it.
    tokenizers = {
        name: keras_hub.tokenizers.SentencePieceTokenizer(proto=str(folder / name))
        for name in {files["source"], files["target"]}
    }
    source_tokenizer, target_tokenizer = tokenizers[files["source"]], tokenizers[files["target"]]
    model = module.build_model(
        run_config, source_tokenizer.vocabulary_size(), target_tokenizer.vocabulary_size(), train_steps=1
    )
    with_run_weights(model.trainer, folder)
    greedy = module.translator(
        model, zoo.seq2seq.Seq2SeqTokenizers(source_tokenizer, target_tokenizer), run_config
    )

    _, length = tflite_input_shape(folder)
    rows = np.zeros((len(sources), 1, length), np.int32)
    for row, pieces in zip(rows, source_tokenizer(tf.constant(sources)), strict=True):
        pieces = np.asarray(pieces)[:length]
        row[0, : len(pieces)] = pieces
    longer = int(np.sum(rows[:, 0, -1] > 0))

    def translation(output: np.ndarray, source: str) -> str:
        ids = output[0].tolist()
        ids = ids[: ids.index(0)] if 0 in ids else ids
        text = np.asarray(target_tokenizer.detokenize([ids]))[0] if ids else ""
        return text.decode("utf-8") if isinstance(text, bytes) else str(text)

    def score(translations: list) -> dict[str, float]:
        translated = dict(zip(sources, translations, strict=True))
        hypotheses, references = [translated[source] for source, _ in pairs], [ref for _, ref in pairs]
        return {
            "test_greedy_bleu": corpus_bleu(hypotheses, references),
            "test_greedy_chrf": corpus_chrf(hypotheses, references),
        }

    return Workload(
        examples=sources,
        batch=lambda examples: tf.constant(examples, tf.string),
        answers=lambda output, examples: [text.decode("utf-8") for text in output],
        rows=rows,
        tflite_answer=translation,
        score=score,
        metric="test_greedy_bleu",
        agreement=share_equal,
        notes=[
            f"{len(pairs):,} test pairs, {len(sources):,} distinct sources (each translated once); metric: "
            "sacrebleu corpus BLEU of the greedy translations against each pair's reference (chrF in the "
            "JSON); agreement: the share of translations equal to the Keras model's",
            "model.keras is the teacher-forcing model and cannot translate alone: Keras is the recipe's "
            f"greedy translator (recipes.{recipe}.translator: tokenise, encode, decode piece by piece, "
            f"detokenise, one tf.function) over recipes.{recipe}.build_model given model.keras's weights; "
            f"the SavedModel's serve (the same graph) answers the first {BATCH_SIZE} sources as it does; "
            f"model.keras also holds the optimizer's state ({OPTIMIZER_STATE})",
            "TFLite: one call runs the whole greedy loop (encoder, then a WHILE over the decoder step "
            "until the end id); its input is the source's SentencePiece ids, made before the clock, cut to "
            f"{length} ({longer} sources reach that length), and its ids are detokenised after it",
        ],
        keras=lambda folder: lambda texts: greedy.translate(texts).numpy(),
        check_saved_model=True,
    )


def captioning_workload(folder: pathlib.Path, config: dict, limit: int | None) -> Workload:
    """Float images in, captions out: the test images of the run's data (`recipes.captioning.load_splits`,
    photos decoded and resized by the recipe's `image_dataset`), scored against all of each image's
    references normalised as the recipe normalises them (`zoo.metrics.caption_scores`, what the recipe
    reports as `test_greedy_*`).

    model.keras is the teacher-forcing model, which cannot caption alone. The Keras callable is the
    recipe's greedy captioner (`zoo.captioning.Captioner` with keras-hub's GreedySampler, as
    `recipes.captioning.captioner` builds it) over the encoder and decoder step of
    `recipes.captioning.build_model`, given model.keras's weights; the SavedModel's `serve_images` takes the
    same float images. TFLite rows: each image alone; the word ids it returns are looked up in
    vocabulary.txt up to `</s>`, after the clock."""
    import keras_hub
    import tensorflow as tf

    import zoo
    import zoo.captioning
    import zoo.metrics
    from recipes import captioning
    from zoo.text.subword import END_ID

    run_config = captioning.Config(**config)
    if run_config.ensemble != 1:
        raise SystemExit(f"{folder}: an ensemble's members are in member_<i>/; benchmark one member's run")
    splits = captioning.load_splits(run_config)
    manifest = json.loads((folder / "deploy.json").read_text())
    image_shape = (manifest["image"]["height"], manifest["image"]["width"])
    picked = test_subset(len(splits.test.captions), limit)
    images = np.concatenate(
        [batch.numpy() for batch in zoo.captioning.image_dataset(splits.test, image_shape).batch(64)]
    )[picked]
    normalize = zoo.captioning.normalize_caption
    references = [[normalize(text) for text in splits.test.captions[i]] for i in picked]

    words = read_lines(folder / "vocabulary.txt")
    saved = zoo.load_model(folder, compile=False)
    (tokens,) = [tensor for tensor in saved.inputs if tensor.name == "tokens"]
    per_image, steps = tokens.shape[1:]
    model = captioning.build_model(run_config, len(words), image_shape, per_image, steps, train_batches=1)
    with_run_weights(model.trainer, folder)
    greedy = zoo.captioning.Captioner(
        [model.encoder], [model.decoder], words, image_shape, manifest["max_length"],
        keras_hub.samplers.GreedySampler(),
    )  # fmt: skip

    def caption(output: np.ndarray, image: np.ndarray) -> str:
        ids = output[0].tolist()
        return " ".join(words[i] for i in ids[: ids.index(END_ID) if END_ID in ids else None])

    def score(captions: list) -> dict[str, float]:
        return {
            f"test_greedy_{key}": value
            for key, value in zoo.metrics.caption_scores(captions, references).items()
        }

    return Workload(
        examples=list(images),
        batch=lambda examples: tf.constant(np.stack(examples)),
        answers=lambda output, examples: [text.decode("utf-8") for text in output],
        rows=[image[None] for image in images],
        tflite_answer=caption,
        score=score,
        metric="test_greedy_bleu4",
        agreement=share_equal,
        notes=[
            f"{len(images):,} test images of {image_shape[0]}x{image_shape[1]} pixels; metric: corpus "
            "BLEU-4 of the greedy captions against all of each image's references "
            "(zoo.metrics.caption_scores, 0-100; BLEU-1..3 and the exact rate in the JSON); agreement: the "
            "share of captions equal to the Keras model's",
            "model.keras is the teacher-forcing model and cannot caption alone: Keras is the recipe's greedy "
            "captioner (zoo.captioning.Captioner: encode, decode word by word, look the words up, one "
            "tf.function) over recipes.captioning.build_model given model.keras's weights; the SavedModel's "
            f"serve_images (the same graph) answers the first {BATCH_SIZE} images as it does; model.keras "
            f"also holds the optimizer's state ({OPTIMIZER_STATE})",
            "TFLite: one call runs the whole greedy loop (the CNN encoder, then a WHILE over the decoder "
            "step until </s>) on one float image; its word ids are looked up after the clock",
        ],
        keras=lambda folder: lambda images: greedy.caption_images(images).numpy(),
        saved_model=lambda loaded: lambda images: loaded.serve_images(images).numpy(),
        check_saved_model=True,
    )


def char_lm_workload(folder: pathlib.Path, config: dict, limit: int | None) -> Workload:
    """Windows of character ids in, the next character's log-probabilities out. char_lm has no test split:
    the text scored is its validation split (the last 10% of the corpus, `zoo.data.characters`), read after
    a line break as the recipe reads every text, and every character of it is predicted from the window of
    ids before it that the TFLite file takes (its input length, the run's `--bptt` for an RNN: the RNN reads
    it from a zero state, so it forgets what came before). Keras: model.keras (ids -> logits) on the same
    windows padded with 0, its logits at each window's last character; TFLite rows: the windows.
    The SavedModel (texts -> the log-probability of each of their characters) is timed on each window's
    text; its answers are not scored."""
    import tensorflow as tf

    import zoo.data.characters as characters_data

    corpus = characters_data.load_characters(
        config["dataset"],
        config["data_dir"],
        config["max_train_samples"],
        skip_checksum=config["skip_checksum"],
    )
    characters = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    text = corpus.validation
    ids = characters_data.encode("\n" + text, characters)  # zoo.language_model.START first
    _, window = tflite_input_shape(folder)
    positions = 1 + test_subset(len(ids) - 1, limit)
    # The first windows of the text are shorter than the file's; the timed examples come first, so they
    # take full windows.
    positions = np.concatenate([positions[positions >= window], positions[positions < window]])
    windows = next_character_windows(ids, positions, window)

    def logits_at_last(output: np.ndarray, examples: list) -> list:
        answers = []
        for logits, example in zip(np.asarray(output, np.float64), examples):
            last = int(np.count_nonzero(windows[example])) - 1
            answers.append(next_character_answer(logits[last], int(ids[positions[example]])))
        return answers

    def score(answers: list) -> dict[str, float]:
        nats = -float(np.mean([log_probability for log_probability, _ in answers]))
        return {"bits_per_char": nats / math.log(2), "nats_per_char": nats}

    run_bits = json.loads((folder / "metrics.json").read_text()).get("val_bits_per_char")
    return Workload(
        examples=list(range(len(positions))),
        batch=lambda examples: windows[examples],
        answers=logits_at_last,
        rows=windows[:, None],
        tflite_answer=lambda output, example: next_character_answer(output[0], int(ids[positions[example]])),
        score=score,
        metric="bits_per_char",
        agreement=lambda answers, reference: share_equal(
            [best for _, best in answers], [best for _, best in reference]
        ),
        notes=[
            f"{len(positions):,} characters of the validation split (char_lm has no test split), each "
            f"predicted from the {window} ids before it (a text starts after a line break), the TFLite "
            "file's window; an RNN reads each window from a zero state, so this is not the run's "
            f"val_bits_per_char ({run_bits:.3f}), which carries the state along the text",
            "metric: bits per character (nats in the JSON); agreement: the share of windows whose likeliest "
            "next character (never padding or unknown) is the Keras model's",
            f"Keras: model.keras on the window padded with 0 to {window} ids, returning the logits of every "
            "position; TFLite returns the log-probabilities after the last id only; the SavedModel's serve "
            "takes the window's text and returns the log-probability of each of its characters (read after "
            "a line break: one step more than a window that does not start the text)",
        ],
        saved_model_batch=lambda examples: tf.constant(
            [text[max(0, positions[e] - window - 1) : positions[e] - 1] for e in examples]
        ),
    )


def next_character_windows(ids: np.ndarray, positions: np.ndarray, window: int) -> np.ndarray:
    """For each position p of `ids`, the ids before it, at most the last `window`, padded with 0 on the
    right: int32 (positions, window)."""
    windows = np.zeros((len(positions), window), np.int32)
    for row, position in zip(windows, positions):
        context = ids[max(0, position - window) : position]
        row[: len(context)] = context
    return windows


def next_character_answer(scores: np.ndarray, target: int) -> tuple[float, int]:
    """From a next character's logits or log-probabilities: the log-probability of `target` and the
    likeliest character (ids 0 and 1, padding and unknown, are never written)."""
    scores = np.asarray(scores, np.float64)
    log_probs = scores - scores.max() - np.log(np.sum(np.exp(scores - scores.max())))
    return float(log_probs[target]), int(np.argmax(log_probs[2:])) + 2


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
    "speech_ctc": Recipe(speech_ctc_workload),
    # A TFLite file holding a whole decoding loop is written in float32 only (their Config's QUANTIZABLE).
    "translation": Recipe(functools.partial(seq2seq_workload, "translation"), quantize=("none",)),
    "transformer": Recipe(functools.partial(seq2seq_workload, "transformer"), quantize=("none",)),
    "captioning": Recipe(captioning_workload, quantize=("none",)),
    "char_lm": Recipe(char_lm_workload, quantize=("none",)),
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


def timings(
    call: Callable, batch_one: Sequence, batches: list, settings: argparse.Namespace, call_batch=None
) -> dict[str, float]:
    """Latency of `call` on `batch_one` (inputs of one example) and throughput of `call_batch` (default
    `call`) on `batches`."""
    return {
        **percentiles(latencies(call, batch_one, settings.calls, settings.warmup)),
        "throughput": throughput(call_batch or call, batches),
    }


def load_saved_model(folder: pathlib.Path) -> tuple[pathlib.Path, Any]:
    """The run's SavedModel folder (`saved_model/<version>/`) and the SavedModel loaded from it."""
    import tensorflow as tf

    import zoo.export

    path = zoo.export.saved_model_path(folder / "saved_model")
    return path, tf.saved_model.load(str(path))


def measure(recipe: str, folder: pathlib.Path, settings: argparse.Namespace) -> dict:
    """Every format of the run in `folder`: size, latency, throughput and (Keras, TFLite) test metric."""
    config = json.loads((folder / "config.json").read_text())
    work = RECIPES[recipe].workload(folder, config, settings.max_test_examples)
    examples = work.examples
    count = settings.batches + 2  # two warm-up batches
    batch_indices = [[(b * BATCH_SIZE + i) % len(examples) for i in range(BATCH_SIZE)] for b in range(count)]
    raw_one = [work.batch([example]) for example in examples[: settings.calls]]
    raw_batches = [(work.batch([examples[i] for i in indices]), BATCH_SIZE) for indices in batch_indices]
    formats: dict[str, dict] = {}

    keras_call = work.keras(folder)
    formats["keras"] = {"file": "model.keras", "size_mb": size_mb(folder / "model.keras")}
    formats["keras"] |= timings(keras_call, raw_one, raw_batches, settings)
    reference: list = []
    for start in range(0, len(examples), BATCH_SIZE):
        chunk = examples[start : start + BATCH_SIZE]
        reference += work.answers(keras_call(work.batch(chunk)), chunk)
    scores = work.score(reference)
    formats["keras"] |= {**scores, "metric": scores[work.metric]}
    print(f"keras: {formats['keras']}", flush=True)

    path, loaded = load_saved_model(folder)
    served = work.saved_model(loaded)
    if work.saved_model_batch is not None:
        raw_one = [work.saved_model_batch([example]) for example in examples[: settings.calls]]
        raw_batches = [
            (work.saved_model_batch([examples[i] for i in indices]), BATCH_SIZE) for indices in batch_indices
        ]
    if work.check_saved_model:
        first = examples[:BATCH_SIZE]
        if (
            work.answers(served((work.saved_model_batch or work.batch)(first)), first)
            != reference[:BATCH_SIZE]
        ):
            raise RuntimeError(
                f"{folder}: the SavedModel answers the first {len(first)} test examples otherwise than the "
                "benchmark's Keras callable, so the two are not the same model"
            )
    formats["saved_model"] = {"file": path.relative_to(folder).as_posix(), "size_mb": size_mb(path)}
    formats["saved_model"] |= timings(served, raw_one, raw_batches, settings)
    print(f"saved_model: {formats['saved_model']}", flush=True)

    # A run that writes model.tflite alone (a recipe whose TFLite is float32 only) names no quantisation.
    variants = json.loads((folder / "deploy.json").read_text()).get("quantization") or {
        "model.tflite": "none"
    }
    for file in sorted(folder.glob("*.tflite"), key=lambda p: (p.name != "model.tflite", p.name)):
        run = work.tflite(file, settings.tflite_threads)
        one_by_one = [([work.rows[i] for i in indices], BATCH_SIZE) for indices in batch_indices]
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
        "(in their graph); TFLite's inputs are made beforehand and its outputs decoded after (each run's "
        "notes say what its formats compute). Size in MB (10^6 bytes). The "
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
