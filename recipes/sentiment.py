"""Sentiment analysis with a bidirectional RNN: a many-to-one sequence model.

A review goes in as a sequence of words and one number comes out, the probability that the review is
positive: many inputs, one output. The recurrent layer reads the sequence in both directions; instead of
keeping only its last state, we pool its outputs over time (maximum and mean over the real, unpadded
words), so a strong phrase anywhere in a 500-word review reaches the classifier directly rather than
through hundreds of recurrent steps.

Data: with no flags, the 200 labelled sentences gensim ships (`pang_lee_polarity.cor`, from Pang and
Lee's movie-review polarity data): a one-minute demo, too small to learn much. Real runs:
`--dataset imdb` (Maas et al. 2011, 25,000 train / 25,000 test reviews) or `--dataset sst2` (GLUE SST-2).
Text preprocessing is a `keras.layers.TextVectorization` with `zoo.text.standardize`: it runs in the
tf.data pipeline for training and inside the exported model, which therefore takes raw strings.

Expected: IMDB test accuracy 0.888 with `--preset imdb` in 6 minutes on a 2-core CPU, 0.890 with word2vec
`--embeddings` (benchmarks/sentiment.py measures both beside TF-IDF + logistic regression, 0.908, and the
keras-io BiLSTM, 0.830). Command:

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
import zoo.data
import zoo.export
import zoo.layers
import zoo.text
import zoo.train
from zoo.cli import flag


@dataclasses.dataclass
class Config(zoo.train.RunConfig):
    dataset: Literal["imdb", "sst2"] | None = flag(
        None, "imdb or sst2; without it, gensim's 200 Pang & Lee sentences (a quick demo)"
    )
    cell: Literal["lstm", "gru", "rnn"] = flag(
        "gru",
        "recurrent cell; GRU has 3 gate blocks to LSTM's 4, so it is the cheaper default; rnn has none",
    )
    vocabulary_size: int = flag(20_000, "words kept (most frequent in the training split), plus PAD/UNK")
    max_length: int = flag(400, "tokens kept per text, the first ones; also the TFLite input length")
    embedding_dim: int = flag(128, "size of the learned word vectors (an --embeddings file's size wins)")
    embeddings: str | None = flag(
        None, "initial word vectors, word2vec text format (e.g. from recipes.word2vec or gensim)"
    )
    units: int = flag(64, "recurrent units per direction")
    ngram_dim: int = flag(
        0, "size of a fastText-style bag of hashed word uni+bigrams beside the RNN (0: RNN only)"
    )
    ngram_buckets: int = flag(2**20, "hash buckets for the bigrams of --ngram-dim")
    dropout: float = flag(0.3, "dropout on word vectors (whole channels) and before the classifier")
    learning_rate: float = flag(2e-3, "Adam's initial learning rate, decayed to 0 over training (cosine)")
    epochs: int = flag(5, "maximum number of epochs (early stopping may end sooner)")
    examples: int = flag(5, "test reviews whose predictions are printed at the end")

    PRESETS: ClassVar[dict[str, dict]] = {
        "imdb": {"dataset": "imdb", "epochs": 2, "batch_size": 32, "max_length": 400, "ngram_dim": 16},
        "sst2": {"dataset": "sst2", "epochs": 4, "batch_size": 64, "max_length": 64},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("--dropout must be in [0, 1)")
        if self.vocabulary_size < 3 or self.max_length < 1 or self.units < 1:
            raise ValueError("--vocabulary-size must be >= 3, --max-length and --units >= 1")


# ## Data


class SentimentData(NamedTuple):
    train: tf.data.Dataset  # (token ids, label) batches, bucketed by length
    validation: tf.data.Dataset
    test: tf.data.Dataset
    vectorizer: keras.layers.TextVectorization  # raw strings -> ids padded to max_length
    test_texts: list[str]
    test_labels: np.ndarray
    train_size: int


def _token_ids_dataset(
    split: zoo.data.LabelledTexts,
    vectorizer: keras.layers.TextVectorization,
    config: Config,
    training: bool,
) -> tf.data.Dataset:
    """Vectorise once (cached), then batch texts of similar length together: padding a 40-word review to
    the 400 of its longest batch-mate would spend most of the RNN's time on padding."""
    dataset = tf.data.Dataset.from_tensor_slices((split.texts, split.labels.astype("float32")))
    dataset = dataset.batch(256).map(
        lambda texts, labels: (vectorizer(texts), labels), num_parallel_calls=tf.data.AUTOTUNE
    )

    # The vectorizer pads to max_length with id 0; drop the padding so buckets can re-pad shorter. A text
    # that standardises to nothing keeps one (masked) padding step, so no batch has zero time steps.
    def strip_padding(ids, label):
        ids = tf.boolean_mask(ids, ids > 0)
        return tf.pad(ids, [[0, 1 - tf.minimum(tf.size(ids), 1)]]), label

    dataset = dataset.unbatch().map(strip_padding).cache()
    if training:
        dataset = dataset.shuffle(len(split.texts), seed=config.seed, reshuffle_each_iteration=True)
    boundaries = sorted({max(2, config.max_length * k // 16) for k in (1, 2, 4, 8, 12)})
    dataset = dataset.bucket_by_sequence_length(
        lambda ids, label: tf.shape(ids)[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[config.batch_size] * (len(boundaries) + 1),
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def load_data(config: Config) -> SentimentData:
    splits = zoo.data.load_sentiment(config.dataset, config.data_dir, seed=config.seed)
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
    return SentimentData(
        *(
            _token_ids_dataset(splits[name], vectorizer, config, training=name == "train")
            for name in ("train", "validation", "test")
        ),
        vectorizer=vectorizer,
        test_texts=splits["test"].texts,
        test_labels=splits["test"].labels,
        train_size=len(splits["train"].texts),
    )


# ## Model


def build_model(config: Config, vocabulary: list[str], train_size: int) -> keras.Model:
    """Token ids -> embedding -> bidirectional RNN -> max and mean over time -> P(positive).

    `vocabulary` lists the token of each id (the vectorizer's). With `--embeddings`, the embedding
    starts from those vectors (words without one start from noise) and is fine-tuned.

    With `ngram_dim`, a second view of the same ids joins before the classifier: the average embedding
    of the review's words and hashed bigrams (fastText). The RNN reads order; the bag remembers every
    phrase however far back. On IMDB the two make different mistakes (see benchmarks/sentiment.py).
    """
    recurrent_layer = {
        "lstm": keras.layers.LSTM,
        "gru": keras.layers.GRU,
        "rnn": keras.layers.SimpleRNN,
    }[config.cell]
    vocabulary_size, matrix = len(vocabulary), None
    if config.embeddings:
        vectors = zoo.text.load_word_vectors(config.embeddings)
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
    features = [zoo.layers.MaskedGlobalMaxPooling1D()(x), zoo.layers.MaskedGlobalAveragePooling1D()(x)]
    if config.ngram_dim:
        ngrams = zoo.layers.HashedNgrams(vocabulary_size, config.ngram_buckets)(token_ids)
        bag = keras.layers.Embedding(
            vocabulary_size + config.ngram_buckets, config.ngram_dim, mask_zero=True, name="ngram_embedding"
        )(ngrams)
        features.append(zoo.layers.MaskedGlobalAveragePooling1D(name="bag_of_ngrams")(bag))
    x = keras.layers.Concatenate()(features)
    x = keras.layers.Dropout(config.dropout)(x)
    positive = keras.layers.Dense(1, activation="sigmoid", name="positive")(x)
    model = keras.Model(token_ids, positive, name=f"sentiment_bi{config.cell}")
    if matrix is not None:
        embedding.set_weights([matrix])
    # Cosine decay to zero over the planned steps: on IMDB the model generalises best within 1-2 epochs,
    # and ending them at a small learning rate is worth more than more epochs at a constant one.
    steps = max(1, -(-train_size // config.batch_size)) * config.epochs
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    return model


def end_to_end(model: keras.Model, vectorizer: keras.layers.TextVectorization) -> keras.Model:
    """The deployable model: a batch of raw strings -> P(positive), preprocessing included."""
    texts = keras.Input(shape=(), dtype="string", name="texts")
    return keras.Model(texts, model(vectorizer(texts)), name="sentiment")


# ## Evaluation


def evaluate(model: keras.Model, test: tf.data.Dataset) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and ROC-AUC on the test split (scikit-learn's definitions)."""
    # Labels are read beside each batch's predictions because bucketing reorders examples. The model runs
    # compiled (an eager RNN steps through time op by op) and outside any replica split: under
    # MirroredStrategy, `predict` does not keep the order of a bucketed dataset.
    predict = tf.function(
        lambda token_ids: model(token_ids, training=False),
        input_signature=[tf.TensorSpec([None, None], tf.int64)],
    )
    batches = [(predict(token_ids).numpy()[:, 0], labels.numpy()) for token_ids, labels in test]
    probability = np.concatenate([p for p, _ in batches])
    label = np.concatenate([y for _, y in batches]).astype(int)
    predicted = (probability >= 0.5).astype(int)
    precision, recall, f1, _ = sklearn.metrics.precision_recall_fscore_support(
        label, predicted, average="binary", zero_division=0
    )
    return {
        "test_accuracy": sklearn.metrics.accuracy_score(label, predicted),
        "test_precision": precision,
        "test_recall": recall,
        "test_f1": f1,
        "test_auc": sklearn.metrics.roc_auc_score(label, probability),
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


def export(model: keras.Model, data: SentimentData, config: Config, run: zoo.train.Run) -> dict[str, float]:
    """model.keras and saved_model/ take raw strings; model.tflite takes one row of `max_length` token
    ids (int32) and `vocabulary.txt` beside it maps tokens to ids (line n = id n)."""
    serving_model = end_to_end(model, data.vectorizer)
    sample_texts = data.test_texts[:64]
    (run.output_dir / "vocabulary.txt").write_text(
        "\n".join(data.vectorizer.get_vocabulary()) + "\n", encoding="utf-8"
    )
    return zoo.export.export_and_verify(
        run.output_dir,
        serving_model=serving_model,
        serving_signature=[tf.TensorSpec([None], tf.string, name="texts")],
        raw_inputs=[sample_texts],
        tflite_model=model,
        tflite_signature=[tf.TensorSpec([1, config.max_length], tf.int32, name="token_ids")],
        tflite_inputs=data.vectorizer(tf.constant(sample_texts[:16])).numpy().astype("int32"),
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.sentiment")
    run = zoo.train.Run(config, recipe="sentiment")
    data = load_data(config)
    with run.strategy.scope():
        model = build_model(config, data.vectorizer.get_vocabulary(), data.train_size)
    run.fit(model, data.train, data.validation, monitor="val_accuracy", mode="max")
    metrics = evaluate(model, data.test)
    show_examples(end_to_end(model, data.vectorizer), data.test_texts, data.test_labels, config.examples)
    if config.export:
        metrics |= export(model, data, config, run)
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
