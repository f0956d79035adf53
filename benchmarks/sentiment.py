"""Sentiment benchmark: our recipe beside two references, same IMDB split, same machine, one run.

- ours: `recipes.sentiment --preset imdb`: a bidirectional GRU with max/mean pooling over time, and beside
  it a naive-Bayes-weighted logistic regression over hashed word 1-3-grams (NBSVM), their logits averaged.
  Each branch trains on its own loss, so the same run also scores each branch alone (the "RNN branch"
  and "n-gram branch" rows: what each ingredient brings, at no extra training time).
- ours + word2vec: the same recipe, its word embedding initialised with word2vec vectors learnt here from
  the training reviews alone, tokenised as the model tokenises: by our `recipes.word2vec` (skip-gram, 128
  dimensions, min_count 2, 5 epochs; `--vectors gensim` uses gensim's CBOW instead); their training time is
  counted in the row's train seconds. Only the RNN branch reads word vectors, so compare its row too.
- TF-IDF (1-2 grams) + logistic regression (scikit-learn): the strong linear baseline on IMDB.
- keras-io `bidirectional_lstm_imdb`: Embedding 128 -> BiLSTM 64 -> BiLSTM 64 -> Dense, 20k vocabulary,
  the last 200 tokens of each review (keras `pad_sequences` truncates and pads at the front), 2 epochs.

All three train on the same 22,504 reviews (the recipe holds out the other 2,496 of the official
training split, whole movies, for checkpoint selection; the references get no use of them) and are scored
on the official 25,000 test reviews. Our recipe also runs on SST-2 (dev = validation, and the labelled
test file). Writes `benchmarks/results/sentiment.json` and `benchmarks/results/sentiment.md`.

    ZOO_DATA_DIR=../shared/data python -m benchmarks.sentiment
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import time

import keras
import numpy as np
import sklearn.feature_extraction.text
import sklearn.linear_model
import tensorflow as tf

import zoo.data
import zoo.text
from recipes import sentiment
from zoo.progress import step

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"


def run_ours(dataset: str, extra: list[str], name: str = "") -> dict[str, float]:
    output_dir = RUNS / f"sentiment_{dataset}{name}"
    argv = ["--preset", dataset, "--output-dir", str(output_dir), "--overwrite", "--examples", "0", *extra]
    metrics = sentiment.main(argv)
    return metrics


def word2vec_vectors(train: zoo.data.LabelledTexts, kind: str = "ours") -> tuple[pathlib.Path, float]:
    """Word vectors learnt from the training reviews, tokenised as the model tokenises, in word2vec text
    format: by `recipes.word2vec` (`kind="ours"`) or gensim's CBOW. Returns the file and the seconds."""
    start = time.perf_counter()
    sentences = [zoo.text.preprocess(text) for text in train.texts]
    if kind == "ours":
        from recipes import word2vec

        output_dir = RUNS / "sentiment_imdb_word2vec_vectors"
        shutil.rmtree(output_dir, ignore_errors=True)  # a fresh run, never a resumed one
        flags = ["--dimension", "128", "--min-count", "2", "--epochs", "5", "--no-export"]
        word2vec.main([*flags, "--output-dir", str(output_dir), "--neighbours", "good", "boring"], sentences)
        return output_dir / "vectors.txt", time.perf_counter() - start
    import gensim

    model = gensim.models.Word2Vec(
        sentences, vector_size=128, window=5, min_count=2, sg=0, negative=5, sample=1e-3, workers=2,
        epochs=5, seed=0,
    )  # fmt: skip
    path = RUNS / "imdb_word2vec_gensim.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    model.wv.save_word2vec_format(str(path), binary=False)
    return path, time.perf_counter() - start


def tfidf_logistic_regression(train: zoo.data.LabelledTexts, test: zoo.data.LabelledTexts) -> dict:
    """TF-IDF over word 1-2 grams (sublinear tf, min_df 2) + L2 logistic regression (C=10, liblinear's
    usual best on IMDB), on the same standardised text our model sees."""
    start = time.perf_counter()
    vectorizer = sklearn.feature_extraction.text.TfidfVectorizer(
        tokenizer=zoo.text.preprocess,
        lowercase=False,  # preprocess already lowercases
        token_pattern=None,
        ngram_range=(1, 2),
        min_df=2,
        max_df=0.9,
        sublinear_tf=True,
    )
    features = vectorizer.fit_transform(train.texts)
    classifier = sklearn.linear_model.LogisticRegression(C=10.0, max_iter=1000, solver="liblinear")
    classifier.fit(features, train.labels)
    seconds = time.perf_counter() - start
    accuracy = float(classifier.score(vectorizer.transform(test.texts), test.labels))
    return {"test_accuracy": accuracy, "train_seconds": seconds}


def keras_io_bilstm(train: zoo.data.LabelledTexts, test: zoo.data.LabelledTexts) -> dict:
    """keras-io's bidirectional_lstm_imdb, fed our standardised tokens instead of keras.datasets.imdb ids."""
    max_features, maxlen = 20_000, 200
    vectorizer = keras.layers.TextVectorization(max_features, standardize=zoo.text.standardize)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(train.texts).batch(512))

    def ids(texts: list[str]) -> np.ndarray:
        sequences = []
        for start in range(0, len(texts), 1000):
            sequences += [row[row > 0] for row in vectorizer(texts[start : start + 1000]).numpy()]
        return keras.utils.pad_sequences(sequences, maxlen=maxlen)  # 'pre' padding and truncation

    x_train, x_test = ids(train.texts), ids(test.texts)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(max_features, 128)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64))(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, train.labels, batch_size=32, epochs=2, verbose=2)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, test.labels, batch_size=256, verbose=0)
    return {"test_accuracy": float(accuracy), "train_seconds": seconds}


def markdown(results: dict) -> str:
    imdb = results["imdb"]
    base = imdb.get("tfidf_logreg", {}).get("test_accuracy", float("nan"))
    lines = [
        f"| model (IMDB, {results['train_size']:,} train / 25,000 test) | test accuracy | train seconds | "
        "examples/s | "
        "accuracy vs TF-IDF+LR |",
        "|---|---|---|---|---|",
    ]
    for name, row in imdb.items():
        lines.append(
            f"| {name} | {row['test_accuracy']:.4f} | {row['train_seconds']:.0f} | "
            f"{row.get('examples_per_second', float('nan')):.0f} | "
            f"{row['test_accuracy'] - base:+.4f} |"
        )
        for branch in ("rnn", "ngrams"):
            if f"test_{branch}_accuracy" in row:
                accuracy = row[f"test_{branch}_accuracy"]
                lines.append(
                    f"| {name}: {'RNN' if branch == 'rnn' else 'n-gram'} branch alone (same run) | "
                    f"{accuracy:.4f} | | | {accuracy - base:+.4f} |"
                )
    if "sst2" in results:
        sst2 = results["sst2"]["ours"]
        lines += [
            "",
            "| ours on SST-2 | dev accuracy | test accuracy | train seconds |",
            "|---|---|---|---|",
            f"| {results['sst2']['config']} | {sst2['best_val_positive_accuracy']:.4f} | "
            f"{sst2['test_accuracy']:.4f} | {sst2['train_seconds']:.0f} |",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["ours", "word2vec", "tfidf", "keras_io", "sst2"]
    )
    parser.add_argument("--ours-flags", default="", help="extra flags for our recipe, quoted")
    parser.add_argument(
        "--vectors", default="ours", choices=["ours", "gensim"], help="who learns the word2vec row's vectors"
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the rows of the existing results/sentiment.json that this run skips",
    )
    args = parser.parse_args()
    splits = zoo.data.load_sentiment("imdb", seed=0)
    train, test = splits["train"], splits["test"]
    results: dict = {
        "train_size": len(train.texts),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "imdb": {},
    }
    if args.update and (RESULTS / "sentiment.json").exists():
        previous = json.loads((RESULTS / "sentiment.json").read_text())
        results["imdb"] = previous.get("imdb", {})
        if "sst2" in previous:
            results["sst2"] = previous["sst2"]
    epochs_of = {}
    if "ours" not in args.skip:
        with step("benchmark row: ours"):
            ours = run_ours("imdb", args.ours_flags.split())
        epochs_of["ours"] = ours["epochs"]
        keep = (
            "test_accuracy",
            "test_f1",
            "train_seconds",
            "epochs",
            "test_rnn_accuracy",
            "test_ngrams_accuracy",
        )
        results["imdb"]["ours"] = {k: ours[k] for k in keep if k in ours}
    if "word2vec" not in args.skip:
        with step(f"benchmark row: ours + {args.vectors} word2vec"):
            vectors, pretrain_seconds = word2vec_vectors(train, args.vectors)
            flags = ["--embeddings", str(vectors), *args.ours_flags.split()]
            ours = run_ours("imdb", flags, name="_word2vec")
        name = "ours_word2vec" if args.vectors == "ours" else "ours_gensim_word2vec"
        epochs_of[name] = ours["epochs"]
        row = {k: ours[k] for k in ("test_accuracy", "test_f1", "epochs", "test_rnn_accuracy") if k in ours}
        row["train_seconds"] = ours["train_seconds"] + pretrain_seconds
        row["word2vec_seconds"] = pretrain_seconds
        results["imdb"][name] = row
    if "tfidf" not in args.skip:
        with step("benchmark row: TF-IDF + logistic regression"):
            results["imdb"]["tfidf_logreg"] = tfidf_logistic_regression(train, test)
        epochs_of["tfidf_logreg"] = 1
    if "keras_io" not in args.skip:
        with step("benchmark row: keras-io BiLSTM"):
            results["imdb"]["keras_io_bilstm"] = keras_io_bilstm(train, test)
        epochs_of["keras_io_bilstm"] = 2
    for name, row in results["imdb"].items():
        if name not in epochs_of:  # kept from an earlier run (--update)
            continue
        row["examples_per_second"] = len(train.texts) * epochs_of[name] / row["train_seconds"]
    if "sst2" not in args.skip:
        with step("benchmark row: ours on SST-2"):
            results["sst2"] = {"config": "--preset sst2", "ours": run_ours("sst2", [])}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sentiment.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "sentiment.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
