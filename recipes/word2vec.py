"""word2vec: word vectors from raw text with skip-gram (or CBOW) and negative sampling, in Keras.

No labels: every word predicts the words around it (skip-gram), or they predict it (CBOW), against noise
words drawn from the unigram counts to the 3/4 power; words that keep the same company end up with near
vectors, so "king" - "man" + "woman" lands near "queen". Everything that makes gensim's vectors good is
here (subsampling, dynamic windows, min_count, a linearly falling rate, two matrices W and W'), drawn in
the graph step by step by `zoo.embeddings.Word2Vec`, which updates only the rows a step touches; it
trains on one device or, its loss being a sum over rows, on several workers (`--strategy multi-worker`).

Data: with no flags, gensim's Lee and head500 corpora (390k words), a one-minute demo; `--preset imdb`,
`--preset wikitext2`, or your own plain text, `--train-file GLOB` (one sentence or document a line, read
anew each epoch, so memory does not grow with the corpus). The vectors are scored by gensim's evaluation
(analogies, WordSim353, SimLex-999) and written as `vectors.txt` for `--embeddings` of sentiment and ner.
Headline (benchmarks/RESULTS.md): on the IMDB reviews, analogy accuracy 20.4% against gensim's 19.8%
(three seeds).

    ZOO_DATA_DIR=../shared/data python -m recipes.word2vec --preset wikitext2
    ZOO_DATA_DIR=../shared/data python -m benchmarks.word2vec --corpus imdb --repeats 3
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
from typing import ClassVar, Literal, NamedTuple

import keras
import numpy as np
import tensorflow as tf

import zoo.cli
import zoo.config
import zoo.data.corpora
import zoo.embeddings
import zoo.export
import zoo.io
import zoo.predict
import zoo.train
from zoo.cli import flag


@dataclasses.dataclass
class Config(zoo.config.FileDataConfig):
    dataset: Literal["lee", "head500", "imdb", "wikitext2", "text", "file"] | None = flag(
        None,
        "lee, head500, imdb, wikitext2, text (plain text at --data-dir), or file: your plain text "
        "(--train-file FILE, folder or glob), streamed as --stream does; without it gensim's "
        "lee_background.cor and head500.noblanks.cor",
    )
    model: Literal["skipgram", "cbow"] = flag(
        "skipgram", "skip-gram (a word predicts its neighbours) or CBOW"
    )
    dimension: int = flag(100, "size of the word vectors", at_least=1)
    window: int = flag(
        5, "largest distance to a context word; each centre draws its own, 1..window", at_least=1
    )
    negative: int = flag(5, "noise words per pair (drawn from unigram counts ** 0.75)", at_least=1)
    sample: float = flag(1e-3, "subsampling threshold for frequent words (0: keep all)")
    min_count: int = flag(5, "words seen fewer times are dropped from the corpus", at_least=1)
    alpha: float = flag(0.025, "initial SGD learning rate (gensim's and word2vec's skip-gram default)")
    min_alpha: float = flag(1e-4, "learning rate at the end of training (it falls linearly)")
    tie_weights: bool = flag(False, "one matrix for input and output vectors (word2vec keeps two)")
    shared_negatives: int = flag(
        8,
        "consecutive centres pooling their noise words, scored by matrix products (1: per centre)",
        at_least=1,
    )
    workers: int = flag(2, "slices of each batch computed side by side (one per CPU core)", at_least=1)
    epochs: int = flag(10, "passes over the corpus (gensim's default is 5; the demo corpus is small)")
    batch_size: int = flag(
        1024,
        "tokens per training step, before subsampling; a step sums the updates of its pairs, so larger "
        "steps are faster but learn a little worse",
    )
    stream: bool = flag(False, "read the text at --data-dir anew each epoch (tf.data; --dataset file does)")
    shuffle_lines: int = flag(0, "streamed, lines in the shuffle buffer (0: the files' order)")
    patience: int = flag(100, "epochs without a lower training loss before stopping (the rate decays anyway)")
    backup_every_steps: int = flag(5000, "steps between resumable backups (each writes both matrices)")
    neighbours: list[str] = flag(
        ["police", "fire", "government", "australia", "france", "music"],
        "words whose nearest neighbours are printed and drawn in word_map.png",
    )

    UNUSED_SPLITS: ClassVar[dict[str, str]] = dict.fromkeys(
        ("validation", "test"),
        "word2vec holds no text out: its vectors are scored on analogies and similarity",
    )
    PRESETS: ClassVar[dict[str, dict]] = {
        # The settings of the benchmark, gensim's defaults: 5 epochs of skip-gram, 100 dimensions.
        "imdb": {
            "dataset": "imdb",
            "epochs": 5,
            "neighbours": ["good", "actor", "horror", "funny", "boring", "spielberg"],
        },
        "wikitext2": {
            "dataset": "wikitext2",
            "epochs": 5,
            "neighbours": ["king", "france", "war", "music", "river", "film"],
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch_size % self.workers:
            raise ValueError("--batch-size must be a multiple of --workers")
        if not 0 < self.min_alpha <= self.alpha:
            raise ValueError("need 0 < --min-alpha <= --alpha")
        if self.stream and (
            self.dataset not in (None, "text", "file") or not (self.train_file or self.data_dir)
        ):
            raise ValueError("--stream reads plain text: give --data-dir (and no --dataset but text)")
        if (self.stream or self.dataset == "file") and self.max_train_samples:
            raise ValueError("--stream and --dataset file read the whole corpus: no --max-train-samples")
        if self.strategy == "mirrored":
            raise ValueError("word2vec's sparse updates run on one device per worker: no --strategy mirrored")


# ## Data


class Word2VecData(NamedTuple):
    sentences: list[list[str]] | None  # the tokens, for gensim in the benchmark (None: streamed)
    corpus: zoo.embeddings.Corpus | zoo.embeddings.Vocabulary  # the vocabulary, counts and token total
    train: tf.data.Dataset  # (token ids, sentence ids) stretches, (workers, batch_size / workers) each


def load_sentences(config: Config) -> list[list[str]]:
    texts = zoo.data.corpora.load_text_corpus(
        config.dataset, config.data_dir, skip_checksum=config.skip_checksum
    )
    if config.max_train_samples:
        texts = texts[: config.max_train_samples]
    return [zoo.data.corpora.words(text) for text in texts]


def stream_data(config: Config) -> Word2VecData:
    """`--stream`, `--dataset file`: one pass counts the words, then each epoch reads the files again
    (`stream_dataset`)."""
    start = time.perf_counter()
    files = zoo.data.corpora.text_files(config.train_file or config.data_dir)
    lines = zoo.data.corpora.iterate_lines(files)
    vocabulary = zoo.embeddings.scan_corpus(map(zoo.data.corpora.words, lines), config.min_count)
    print(
        f"corpus (streamed): {len(files):,} files, {vocabulary.raw_words:,} words, vocabulary "
        f"{len(vocabulary.words):,} (min_count {config.min_count}), {vocabulary.tokens:,} tokens kept "
        f"({time.perf_counter() - start:.1f} s to count)"
    )
    train = zoo.embeddings.stream_dataset(
        files, vocabulary, zoo.data.corpora.words, config.batch_size, config.workers,
        shuffle_lines=config.shuffle_lines, seed=config.seed,
    )  # fmt: skip
    return Word2VecData(None, vocabulary, train)


def load_data(config: Config, sentences: list[list[str]] | None = None) -> Word2VecData:
    if (config.stream or config.dataset == "file") and sentences is None:
        return stream_data(config)
    start = time.perf_counter()
    sentences = load_sentences(config) if sentences is None else sentences
    corpus = zoo.embeddings.build_corpus(sentences, config.min_count)
    print(
        f"corpus: {len(sentences):,} texts, {corpus.raw_words:,} words, vocabulary {len(corpus.words):,} "
        f"(min_count {config.min_count}), {corpus.tokens:,} tokens kept "
        f"({time.perf_counter() - start:.1f} s to read and tokenise)"
    )
    train = zoo.embeddings.token_dataset(corpus, config.batch_size, config.workers)
    return Word2VecData(sentences, corpus, train)


# ## Model


def build_model(
    config: Config, corpus: zoo.embeddings.Corpus | zoo.embeddings.Vocabulary
) -> zoo.embeddings.Word2Vec:
    """`zoo.embeddings.Word2Vec` compiled with word2vec's optimizer: plain SGD on the touched rows, the
    learning rate falling linearly over all planned steps (not Adam: on 100k x 100 matrices its dense
    moment updates would cost more than the rest of the step, and its per-row scaling is not word2vec)."""
    model = zoo.embeddings.Word2Vec(
        corpus.counts,
        dimension=config.dimension,
        window=config.window,
        negative=config.negative,
        sample=config.sample,
        architecture=config.model,
        tie_weights=config.tie_weights,
        shared_negatives=config.shared_negatives,
        workers=config.workers,
        seed=config.seed,
    )
    steps = -(-corpus.tokens // config.batch_size) * config.epochs
    schedule = zoo.embeddings.linear_decay(config.alpha, config.min_alpha, steps)
    # No XLA: the shapes change every step (subsampling) and its scatter is slow on CPU; many steps per
    # call spare Keras's per-step Python work.
    model.compile(optimizer=keras.optimizers.SGD(schedule), jit_compile=False, steps_per_execution=20)
    return model


# ## Evaluation and artifacts


def lookup_model(words: list[str], vectors: np.ndarray) -> keras.Model:
    """Strings -> vectors (an unknown word gets zeros): the SavedModel's serving model."""
    texts = keras.Input(shape=(), dtype="string", name="words")
    ids = keras.layers.StringLookup(vocabulary=words, num_oov_indices=1, name="lookup")(texts)
    table = np.concatenate([np.zeros((1, vectors.shape[1]), np.float32), vectors])
    embedding = keras.layers.Embedding(len(table), vectors.shape[1], name="vectors")
    outputs = embedding(ids)
    embedding.set_weights([table])
    return keras.Model(texts, outputs, name="word_vectors")


def export(words: list[str], vectors: np.ndarray, run: zoo.train.Run, quantize) -> dict[str, float]:
    """saved_model/ and model.keras map words to vectors; model.tflite maps a word id (line n of
    vocabulary.txt is id n, 0 is unknown) to its vector."""
    serving = lookup_model(words, vectors)
    zoo.io.write_text(run.output_dir / "vocabulary.txt", "\n".join(["[UNK]", *words]) + "\n")
    embedding = serving.get_layer("vectors")
    ids = keras.Input(shape=(1,), batch_size=1, dtype="int32", name="word_id")
    device = keras.Model(ids, embedding(ids)[:, 0], name="vector_of_id")
    sample = words[:32] + ["an-unknown-word"]
    return zoo.export.export_and_verify(
        run.output_dir,
        serving_model=serving,
        serving_signature=[tf.TensorSpec([None], tf.string, name="words")],
        raw_inputs=[sample],
        edge_inputs={
            "batch_of_one": [words[:1]],
            "empty_word": [[""]],
            "empty_batch": [np.zeros(0, dtype=bytes)],
            "longest": [[max(words, key=len) + "x" * 200]],  # no limit but memory: an unknown long word
        },
        tflite_model=device,
        tflite_signature=[tf.TensorSpec([1, 1], tf.int32)],
        tflite_inputs=np.arange(16, dtype=np.int32)[:, None],
        tflite_edge_inputs={
            "unknown": np.zeros((1, 1), np.int32),
            "last_id": np.array([[len(words)]], np.int32),
        },
        quantize=quantize,
        tflite_representative=np.arange(min(len(words), 1000), dtype=np.int32)[:, None],
        output_name="vector",
        manifest={"side_files": ["vocabulary.txt", "vectors.txt"], "unknown_word": "zeros"},
    )


@dataclasses.dataclass
class PredictConfig(zoo.predict.PredictConfig):
    neighbours: int = flag(10, "nearest words answered per input")


def answer(export: zoo.predict.Export, queries: list[str], options: PredictConfig) -> list[dict]:
    """`predict`: a word's nearest words, or an analogy's (`king - man + woman`, gensim's 3CosAdd), by
    cosine similarity of the exported vectors."""
    if "keyed" not in export.cache:  # every word's vector, once, from the SavedModel
        words = (export.folder / "vocabulary.txt").read_text(encoding="utf-8").splitlines()[1:]
        export.cache["keyed"] = zoo.embeddings.keyed_vectors(words, export.call("serve", words))
    keyed, answers = export.cache["keyed"], []
    for query in queries:
        signs = re.findall(r"([+-]?)\s*([^\s+-]+)", query)
        positive = [word for sign, word in signs if sign != "-"]
        negative = [word for sign, word in signs if sign == "-"]
        unknown = [word for word in positive + negative if word not in keyed]
        if unknown or not positive:
            answers.append({"query": query, "error": f"not in the vocabulary: {unknown or query!r}"})
            continue
        nearest = keyed.most_similar(positive, negative, topn=options.neighbours)
        answers.append({"query": query, "neighbours": [[w, round(float(s), 4)] for w, s in nearest]})
    return answers


def report_neighbours(keyed, words: list[str]) -> None:
    print("\nNearest neighbours (cosine similarity):")
    for word, similar in zoo.embeddings.nearest_neighbours(keyed, words).items():
        print(f"  {word:>12}: " + ", ".join(f"{other} {score:.2f}" for other, score in similar))
    missing = [word for word in words if word not in keyed.key_to_index]
    if missing:
        print(f"  not in the vocabulary: {', '.join(missing)}")


def train_and_evaluate(config: Config, data: Word2VecData, run: zoo.train.Run) -> dict[str, float]:
    model = build_model(config, data.corpus)
    run.fit(model, data.train, None, monitor="loss", mode="min")
    history = zoo.train.read_history(run.history_path)
    seconds = sum(row.get("epoch_seconds", 0.0) for row in history)
    words, vectors = data.corpus.words, model.vectors()
    keyed = zoo.embeddings.keyed_vectors(words, vectors, data.corpus.counts)
    metrics = zoo.embeddings.evaluate_vectors(keyed)
    metrics["words_per_second"] = data.corpus.raw_words * len(history) / max(seconds, 1e-9)
    metrics["vocabulary_size"] = len(words)
    metrics["corpus_words"] = data.corpus.raw_words
    report_neighbours(keyed, config.neighbours)
    with zoo.io.replacing(run.output_dir / "vectors.txt") as staging:
        keyed.save_word2vec_format(str(staging), binary=False)
    zoo.embeddings.write_projector(run.output_dir / "logs" / "projector", words[:10_000], vectors[:10_000])
    zoo.embeddings.plot_word_map(
        keyed, config.neighbours, run.output_dir / "word_map.png", title=f"word2vec {config.model}"
    )
    if config.export:
        metrics |= export(words, vectors, run, config.quantize)
    return metrics


def main(argv: list[str] | None = None, sentences: list[list[str]] | None = None) -> dict | list[dict]:
    """Train, evaluate and write the artifacts; `sentences` (token lists) replaces reading the corpus, so a
    benchmark can give gensim and this recipe the very same tokens."""
    if zoo.predict.asked(argv):
        return zoo.predict.main("word2vec", answer, argv, PredictConfig)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.word2vec")
    run = zoo.train.Run(config, recipe="word2vec")
    data = load_data(config, sentences)
    return run.finish(train_and_evaluate(config, data, run))


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
