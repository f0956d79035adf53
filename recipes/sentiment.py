"""Sentiment analysis with a bidirectional RNN: a many-to-one sequence model.

A review goes in as a sequence of words and one number comes out, the probability that it is positive.
The recurrent layer reads the sequence in both directions and its outputs are pooled over time (maximum
and mean over the real, unpadded words), so a strong phrase anywhere in a long review reaches the
classifier directly. Beside it, `--ngrams 3` adds a logistic regression over the review's hashed word
1-3-grams, scaled by naive-Bayes log-count ratios (NBSVM); the prediction averages the two logits.

Data: with no flags, gensim's 200 Pang & Lee sentences, a one-minute demo too small to learn much;
`--dataset imdb` (25,000 train / 25,000 test reviews) or `--dataset sst2` (GLUE SST-2) for real runs.
The preprocessing (`keras.layers.TextVectorization` with `zoo.text.standardize`) runs in the tf.data
pipeline and inside the exported model, which therefore takes raw strings.

Expected: IMDB test accuracy 0.918 with `--preset imdb`, against 0.908 for TF-IDF + logistic regression
(benchmarks/sentiment.py; docs/recipes.md has the details). Command:

    ZOO_DATA_DIR=../shared/data python -m recipes.sentiment --dataset imdb --preset imdb
"""

from __future__ import annotations

import dataclasses
import sys
from typing import ClassVar, Literal, NamedTuple

import keras
import numpy as np
import sklearn.metrics
import tensorflow as tf

import zoo.cli
import zoo.config
import zoo.data
import zoo.export
import zoo.io
import zoo.layers
import zoo.metrics
import zoo.predict
import zoo.text
import zoo.train
from zoo.cli import flag


@dataclasses.dataclass
class Config(zoo.config.RunConfig):
    dataset: Literal["imdb", "sst2"] | None = flag(
        None, "imdb or sst2; without it, gensim's 200 Pang & Lee sentences (a quick demo)"
    )
    cell: Literal["lstm", "gru", "rnn"] = flag(
        "gru", "recurrent cell; GRU has 3 gate blocks to LSTM's 4, so it is the cheaper default; rnn has none"
    )
    vocabulary_size: int = flag(
        20_000, "words kept (most frequent in the training split), plus PAD/UNK", at_least=3
    )
    max_length: int = flag(
        400, "tokens kept per text, the first ones; also the TFLite input length", at_least=1
    )
    embedding_dim: int = flag(128, "size of the learned word vectors (an --embeddings file's size wins)")
    embeddings: str | None = flag(
        None,
        "initial word vectors: glove (GloVe 6B, 100 dimensions, downloaded once) or a file in word2vec or "
        "GloVe text format (e.g. from recipes.word2vec or gensim)",
    )
    units: int = flag(64, "recurrent units per direction", at_least=1)
    ngrams: int = flag(
        3, "longest word n-gram of the naive-Bayes linear branch beside the RNN (NBSVM; 0: RNN only)"
    )
    ngram_buckets: int = flag(
        2**20, "hash buckets for the n-grams of --ngrams (2..n-grams share them)", at_least=1
    )
    dropout: float = flag(
        0.3, "dropout on word vectors (whole channels) and before the classifier", below=1.0
    )
    learning_rate: float = flag(3e-3, "Adam's initial learning rate, decayed to 0 over training (cosine)")
    epochs: int = flag(5, "maximum number of epochs (early stopping may end sooner)")
    examples: int = flag(5, "test reviews whose predictions are printed at the end")

    PRESETS: ClassVar[dict[str, dict]] = {
        # Whole reviews (99% are shorter than 1,000 tokens), and more hash buckets for their n-grams.
        "imdb": dict(dataset="imdb", epochs=2, batch_size=32, max_length=1000, ngram_buckets=2**22),
        "sst2": dict(dataset="sst2", epochs=4, batch_size=64, max_length=64),
    }


# ## Data


class SentimentData(NamedTuple):
    train: tf.data.Dataset  # (token ids, label) batches, bucketed by length
    validation: tf.data.Dataset
    test: tf.data.Dataset
    vectorizer: keras.layers.TextVectorization  # raw strings -> ids padded to max_length
    test_texts: list[str]
    test_labels: np.ndarray
    train_size: int


def load_data(config: Config) -> SentimentData:
    splits = zoo.data.load_sentiment(
        config.dataset, config.data_dir, seed=config.seed, skip_checksum=config.skip_checksum
    )
    if config.max_train_samples:
        train = splits["train"]
        splits["train"] = zoo.data.LabelledTexts(
            train.texts[: config.max_train_samples], train.labels[: config.max_train_samples]
        )
    print(zoo.data.summary(splits))
    vectorizer = keras.layers.TextVectorization(
        max_tokens=config.vocabulary_size,
        standardize=zoo.text.standardize,
        output_sequence_length=config.max_length,
        name="vectorizer",
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(splits["train"].texts).batch(512))
    batches = {
        name: zoo.data.token_id_batches(splits[name], vectorizer, config.batch_size, config.max_length, seed)
        for name, seed in (("train", config.seed), ("validation", None), ("test", None))
    }
    return SentimentData(
        **batches,
        vectorizer=vectorizer,
        test_texts=splits["test"].texts,
        test_labels=splits["test"].labels,
        train_size=len(splits["train"].texts),
    )


# ## Model


def build_model(
    config: Config, vocabulary: list[str], train: tf.data.Dataset, train_size: int
) -> keras.Model:
    """Token ids -> {"positive": P(positive)}, and with `--ngrams` the two branches' own outputs.

    The recurrent branch: embedding (from `--embeddings` if given) -> bidirectional RNN -> max and mean
    over time -> logit. The n-gram branch: the set of the review's hashed word 1..N-grams
    (`zoo.layers.HashedNgrams`) -> logistic regression on features scaled by naive-Bayes log-count ratios
    (`zoo.layers.NaiveBayesLinear`, counted once on `train`). "positive" averages the two logits; each
    branch trains on its own loss (the "rnn" and "ngrams" outputs), so one run also scores each alone.
    """
    recurrent_layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}[
        config.cell
    ]
    vocabulary_size, matrix = len(vocabulary), None
    if config.embeddings:
        vectors = zoo.text.load_word_vectors(
            zoo.data.word_vectors_file(config.embeddings, skip_checksum=config.skip_checksum)
        )
        matrix, found = zoo.text.embedding_matrix(vocabulary, vectors, seed=config.seed)
        print(f"--embeddings: {found:,} of {vocabulary_size:,} vocabulary words have a vector")
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    # mask_zero: padding (id 0) is invisible to the RNN and the pooling below.
    embedding = keras.layers.Embedding(
        vocabulary_size, config.embedding_dim if matrix is None else matrix.shape[1], mask_zero=True
    )
    x = embedding(token_ids)
    x = keras.layers.SpatialDropout1D(config.dropout)(x)
    x = keras.layers.Bidirectional(recurrent_layer(config.units, return_sequences=True))(x)
    # zoo's poolings, not Keras's: they ignore padding and give 0, not NaN, for an empty review.
    x = keras.layers.Concatenate()(
        [zoo.layers.MaskedGlobalMaxPooling1D()(x), zoo.layers.MaskedGlobalAveragePooling1D()(x)]
    )
    x = keras.layers.Dropout(config.dropout)(x)
    rnn_logit = keras.layers.Dense(1, name="rnn_logit")(x)
    outputs = {}
    if config.ngrams:
        hashed = zoo.layers.HashedNgrams(vocabulary_size, config.ngram_buckets, max_n=config.ngrams)
        naive_bayes = zoo.layers.NaiveBayesLinear(vocabulary_size + config.ngram_buckets, name="ngram_logit")
        naive_bayes.adapt(train.map(lambda ids, label: (hashed(ids), label)))
        ngram_logit = naive_bayes(hashed(token_ids))
        outputs["rnn"] = keras.layers.Activation("sigmoid", name="rnn")(rnn_logit)
        outputs["ngrams"] = keras.layers.Activation("sigmoid", name="ngrams")(ngram_logit)
        logit = keras.layers.Average(name="logit")([rnn_logit, ngram_logit])
    else:
        logit = rnn_logit
    outputs["positive"] = keras.layers.Activation("sigmoid", name="positive")(logit)
    model = keras.Model(token_ids, outputs, name=f"sentiment_bi{config.cell}")
    if matrix is not None:
        embedding.set_weights([matrix])
    # Cosine decay to zero over the planned steps: training ends at a small learning rate.
    steps = max(1, -(-train_size // config.batch_size)) * config.epochs
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
    # "positive" has no loss of its own when the branches have theirs: it has no weights to train.
    losses = {
        name: keras.losses.BinaryCrossentropy() for name in outputs if len(outputs) == 1 or name != "positive"
    }
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=losses,
        metrics={
            name: [keras.metrics.BinaryAccuracy(name="accuracy")]
            + ([keras.metrics.AUC(name="auc")] if name == "positive" else [])
            for name in outputs
        },
    )
    return model


def with_targets(dataset: tf.data.Dataset, model: keras.Model) -> tf.data.Dataset:
    """(ids, label) -> (ids, {output name: label}): every output of the model predicts the same label."""
    names = list(model.output.keys())
    return dataset.map(lambda ids, label: (ids, {name: label for name in names}))


def classifier(model: keras.Model) -> keras.Model:
    """The trained model with its one output that matters: token ids -> P(positive)."""
    return keras.Model(model.input, model.get_layer("positive").output, name="sentiment_classifier")


def end_to_end(model: keras.Model, vectorizer: keras.layers.TextVectorization) -> keras.Model:
    """The deployable model: a batch of raw strings -> P(positive), preprocessing included."""
    texts = keras.Input(shape=(), dtype="string", name="texts")
    return keras.Model(texts, model(vectorizer(texts)), name="sentiment")


# ## Evaluation


def evaluate(model: keras.Model, test: tf.data.Dataset) -> dict[str, float | list | None]:
    """Accuracy, precision, recall, F1 and ROC-AUC on the test split (scikit-learn's definitions), the
    information view of its errors (`zoo.metrics.prediction_information`: entropies, mutual information,
    divergences), and with two branches each one's accuracy (`test_rnn_accuracy`, `test_ngrams_accuracy`)."""
    # Labels are read beside each batch's predictions because bucketing reorders examples. The model runs
    # compiled (an eager RNN steps through time op by op) and outside any replica split: under
    # MirroredStrategy, `predict` does not keep the order of a bucketed dataset.
    predict = tf.function(
        lambda token_ids: model(token_ids, training=False),
        input_signature=[tf.TensorSpec([None, None], tf.int64)],
    )
    outputs, labels = {}, []
    for token_ids, batch_labels in test:
        for name, probability in predict(token_ids).items():
            outputs.setdefault(name, []).append(probability.numpy()[:, 0])
        labels.append(batch_labels.numpy())
    label = np.concatenate(labels).astype(int)
    probability = np.concatenate(outputs.pop("positive"))
    predicted = (probability >= 0.5).astype(int)
    precision, recall, f1, _ = sklearn.metrics.precision_recall_fscore_support(
        label, predicted, average="binary", zero_division=0
    )
    branches = {
        f"test_{name}_accuracy": sklearn.metrics.accuracy_score(label, np.concatenate(p) >= 0.5)
        for name, p in outputs.items()
    }
    return {
        "test_accuracy": sklearn.metrics.accuracy_score(label, predicted),
        "test_precision": precision,
        "test_recall": recall,
        "test_f1": f1,
        "test_auc": sklearn.metrics.roc_auc_score(label, probability),
        **zoo.metrics.prediction_information(label, predicted, labels=[0, 1], prefix="test_"),
        **branches,
    }


def show_examples(serving_model: keras.Model, texts: list[str], labels: np.ndarray, count: int) -> None:
    if count <= 0:
        return
    picked = np.random.default_rng(0).choice(len(texts), size=min(count, len(texts)), replace=False)
    probabilities = keras.ops.convert_to_numpy(serving_model(tf.constant([texts[i] for i in picked])))
    print("\nExample predictions (P(positive), true label, text):")
    for index, probability in zip(picked, probabilities[:, 0]):
        text = " ".join(texts[index].split())
        print(f"  {probability:.3f}  {'pos' if labels[index] else 'neg'}  {text[:100]}")


def export(model, data: SentimentData, config: Config, run: zoo.train.Run, reproduces) -> dict[str, float]:
    """model.keras and saved_model/1/ take raw strings; model.tflite takes one row of `max_length` token
    ids (int32) and `vocabulary.txt` beside it maps tokens to ids (line n = id n). `reproduces`: the test
    figures the exports give, for deploy.json."""
    serving_model = end_to_end(model, data.vectorizer)
    sample_texts = data.test_texts[:64]
    zoo.io.write_text(run.output_dir / "vocabulary.txt", "\n".join(data.vectorizer.get_vocabulary()) + "\n")
    # Longer than max_length tokens: the model reads the first max_length, the TFLite row is all tokens.
    words = " ".join(sample_texts).split()
    longest = " ".join((words * (config.max_length // max(len(words), 1) + 2))[: config.max_length + 8])

    def token_ids(texts):
        return data.vectorizer(tf.constant(texts)).numpy().astype("int32")

    return zoo.export.export_and_verify(
        run.output_dir,
        serving_model=serving_model,
        serving_signature=[tf.TensorSpec([None], tf.string, name="text")],
        raw_inputs=[sample_texts],
        edge_inputs={
            "batch_of_one": [sample_texts[:1]],
            "one_word": [[words[0]]],
            "empty_text": [[""]],
            "empty_batch": [np.zeros(0, dtype=bytes)],
            "longest": [[longest]],
        },
        tflite_model=model,
        tflite_signature=[tf.TensorSpec([1, config.max_length], tf.int32, name="token_ids")],
        tflite_inputs=token_ids(sample_texts[:16]),
        tflite_edge_inputs={"one_word": token_ids([words[0]]), "longest": token_ids([longest])},
        quantize=config.quantize,
        tflite_representative=np.concatenate(  # training reviews calibrate int8, padded as the TFLite's
            [np.pad(ids, [[0, 0], [0, config.max_length - ids.shape[1]]]) for ids, _ in data.train.take(4)]
        ),
        output_name="probability",
        manifest={
            "labels": ["negative", "positive"],
            "side_files": ["vocabulary.txt"],
            "reproduces": reproduces,
        },
    )


def answer(export: zoo.predict.Export, texts: list[str], options) -> list[dict]:
    """`predict`: each text's probability of the second label, and the likelier label."""
    negative, positive = export.manifest["labels"]
    probabilities = export.call("serve", texts)[:, 0]
    return [
        {"text": text, "probability": round(float(p), 4), "label": positive if p >= 0.5 else negative}
        for text, p in zip(texts, probabilities)
    ]


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("sentiment", answer, argv)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.sentiment")
    run = zoo.train.Run(config, recipe="sentiment")
    data = load_data(config)
    with run.strategy.scope():
        model = build_model(config, data.vectorizer.get_vocabulary(), data.train, data.train_size)
    train, validation = with_targets(data.train, model), with_targets(data.validation, model)
    # Keras prefixes a metric with its output's name only when the model has several outputs.
    monitor = "val_positive_accuracy" if len(model.outputs) > 1 else "val_accuracy"
    run.fit(model, train, validation, monitor=monitor, mode="max")
    metrics = evaluate(model, data.test)
    model = classifier(model)
    show_examples(end_to_end(model, data.vectorizer), data.test_texts, data.test_labels, config.examples)
    if config.export:
        metrics |= export(model, data, config, run, {"test_accuracy": metrics["test_accuracy"]})
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
