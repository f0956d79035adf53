"""Sentiment analysis with a bidirectional RNN: a many-to-one sequence model.

A review goes in as a sequence of words and one number comes out, the probability that it is positive.
The recurrent layer reads the sequence in both directions and its outputs are pooled over time (maximum
and mean over the real, unpadded words), so a strong phrase anywhere in a long review reaches the
classifier directly. Beside it, `--ngrams 3` adds a logistic regression over the review's hashed word
1-3-grams, scaled by naive-Bayes log-count ratios (NBSVM); the prediction averages the two logits.

Data: with no flags, gensim's 200 Pang & Lee sentences, a one-minute demo too small to learn much;
`--dataset imdb` (25,000 train / 25,000 test reviews) or `--dataset sst2` (GLUE SST-2) for real runs.
`--train-file F.csv` trains on your own labelled texts (CSV, TSV, JSON Lines or class subfolders), of
any number of classes: with three or more, a softmax over them and naive-Bayes ratios per class. The
preprocessing (`keras.layers.TextVectorization` with `zoo.text.standardize`) runs in the tf.data
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
import tensorflow as tf

import zoo.classification
import zoo.cli
import zoo.config
import zoo.data
import zoo.export
import zoo.io
import zoo.layers
import zoo.predict
import zoo.text
import zoo.train
from zoo.cli import flag


@dataclasses.dataclass
class Config(zoo.config.FileDataConfig):
    dataset: Literal["imdb", "sst2", "file"] | None = flag(
        None,
        "imdb, sst2, or file: your own --train-file of any number of classes (a CSV, TSV or JSON Lines "
        "file, or a folder with a subfolder of .txt files per class); without it, gensim's 200 Pang & Lee "
        "sentences (a quick demo)",
    )
    file_format: Literal["csv", "tsv", "jsonl", "folder"] | None = flag(
        None,
        "format of your files (TSV has no quoting); default: by extension (.csv, .tsv, .jsonl) or folder",
    )
    text_column: str = flag("text", "column (CSV/TSV header) or JSON key of your files' texts")
    label_column: str = flag("label", "column or JSON key of your files' labels, any strings (class names)")
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

    FILE_ONLY: ClassVar[tuple[str, ...]] = ("file_format", "text_column", "label_column")
    PRESETS: ClassVar[dict[str, dict]] = {
        # Whole reviews (99% are shorter than 1,000 tokens), and more hash buckets for their n-grams.
        "imdb": dict(dataset="imdb", epochs=2, batch_size=32, max_length=1000, ngram_buckets=2**22),
        "sst2": dict(dataset="sst2", epochs=4, batch_size=64, max_length=64),
    }


# ## Data


class SentimentData(NamedTuple):
    train: tf.data.Dataset  # (token ids, class id) batches, bucketed by length
    validation: tf.data.Dataset
    test: tf.data.Dataset
    vectorizer: keras.layers.TextVectorization  # raw strings -> ids padded to max_length
    test_texts: list[str]
    test_labels: np.ndarray
    train_size: int
    class_names: list[str]  # in class id order; with two, the second is the "positive" one


def load_data(config: Config) -> SentimentData:
    if config.dataset == "file":  # class names: the training split's sorted labels
        splits, class_names = zoo.data.load_labelled_files(
            **config.data_files(), file_format=config.file_format, text_column=config.text_column,
            label_column=config.label_column,
        )  # fmt: skip
    else:
        splits = zoo.data.load_sentiment(
            config.dataset, config.data_dir, seed=config.seed, skip_checksum=config.skip_checksum
        )
        class_names = ["negative", "positive"]
    if config.max_train_samples:
        train = splits["train"]
        splits["train"] = zoo.data.LabelledTexts(
            train.texts[: config.max_train_samples], train.labels[: config.max_train_samples]
        )
    print(zoo.data.summary(splits, class_names))
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
        class_names=class_names,
    )


# ## Model


def build_model(
    config: Config, vocabulary: list[str], train: tf.data.Dataset, train_size: int, class_names: list[str]
) -> keras.Model:
    """Token ids -> {"positive": P(positive)} (two classes) or {"classes": P(each class)} (three or more),
    and with `--ngrams` the two branches' own outputs.

    The recurrent branch: embedding (from `--embeddings` if given) -> bidirectional RNN -> max and mean
    over time -> logit. The n-gram branch: the set of the review's hashed word 1..N-grams
    (`zoo.layers.HashedNgrams`) -> logistic regression on features scaled by naive-Bayes log-count ratios
    (`zoo.layers.NaiveBayesLinear`, counted once on `train`; one-vs-rest, a logit per class, for three
    classes or more). The head averages the two logits; each branch trains on its own loss (the "rnn" and
    "ngrams" outputs), so one run also scores each alone. Two classes: one logit and a sigmoid; more: a
    logit per class and a softmax.
    """
    recurrent_layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}[
        config.cell
    ]
    head = zoo.classification.head(class_names)  # sigmoid for two classes, softmax for more
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
    rnn_logit = keras.layers.Dense(head.units, name="rnn_logit")(x)
    outputs = {}
    if config.ngrams:
        hashed = zoo.layers.HashedNgrams(vocabulary_size, config.ngram_buckets, max_n=config.ngrams)
        naive_bayes = zoo.layers.NaiveBayesLinear(
            vocabulary_size + config.ngram_buckets, num_classes=len(class_names), name="ngram_logit"
        )
        naive_bayes.adapt(train.map(lambda ids, label: (hashed(ids), label)))
        ngram_logit = naive_bayes(hashed(token_ids))
        outputs["rnn"] = keras.layers.Activation(head.activation, name="rnn")(rnn_logit)
        outputs["ngrams"] = keras.layers.Activation(head.activation, name="ngrams")(ngram_logit)
        logit = keras.layers.Average(name="logit")([rnn_logit, ngram_logit])
    else:
        logit = rnn_logit
    outputs[head.name] = keras.layers.Activation(head.activation, name=head.name)(logit)
    model = keras.Model(token_ids, outputs, name=f"sentiment_bi{config.cell}")
    if matrix is not None:
        embedding.set_weights([matrix])
    # Cosine decay to zero over the planned steps: training ends at a small learning rate.
    steps = max(1, -(-train_size // config.batch_size)) * config.epochs
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
    # The head has no loss of its own when the branches have theirs: it has no weights to train.
    losses = {name: head.loss() for name in outputs if len(outputs) == 1 or name != head.name}
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=losses,
        metrics={
            name: [head.accuracy(name="accuracy")]
            + ([keras.metrics.AUC(name="auc")] if name == "positive" else [])
            for name in outputs
        },
    )
    return model


def with_targets(dataset: tf.data.Dataset, model: keras.Model) -> tf.data.Dataset:
    """(ids, label) -> (ids, {output name: label}): every output of the model predicts the same label."""
    names = list(model.output.keys())
    return dataset.map(lambda ids, label: (ids, {name: label for name in names}))


def classifier(model: keras.Model, class_names: list[str]) -> keras.Model:
    """The trained model with its one output that matters: token ids -> P(positive), or P(each class)."""
    output = model.get_layer(zoo.classification.head(class_names).name).output
    return keras.Model(model.input, output, name="sentiment_classifier")


# ## Evaluation


def show_examples(serving_model: keras.Model, data: SentimentData, count: int) -> None:
    if count <= 0:
        return
    texts, names = data.test_texts, data.class_names
    picked = np.random.default_rng(0).choice(len(texts), size=min(count, len(texts)), replace=False)
    probabilities = zoo.classification.class_probabilities(
        serving_model(tf.constant([texts[i] for i in picked]))
    )
    print("\nExample predictions (predicted label, its probability, true label, text):")
    for index, row in zip(picked, probabilities):
        text = " ".join(texts[index].split())
        print(f"  {names[row.argmax()]}  {row.max():.3f}  {names[data.test_labels[index]]}  {text[:100]}")


def export(model, data: SentimentData, config: Config, run: zoo.train.Run, reproduces) -> dict[str, float]:
    """model.keras and saved_model/1/ take raw strings; model.tflite takes one row of `max_length` token
    ids (int32) and `vocabulary.txt` beside it maps tokens to ids (line n = id n). `reproduces`: the test
    figures the exports give, for deploy.json, whose "labels" are the class names in id order."""
    serving_model = zoo.classification.end_to_end_classifier(
        model, data.vectorizer, data.class_names, "sentiment"
    )
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
            "labels": data.class_names,
            "side_files": ["vocabulary.txt"],
            "reproduces": reproduces,
        },
    )


def answer(export: zoo.predict.Export, texts: list[str], options) -> list[dict]:
    """`predict`: each text's likeliest label and every class's probability (`zoo.classification.answer`;
    a function of the recipe, so `predict --help` reads nothing of the library's)."""
    return zoo.classification.answer(export, texts, options)


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("sentiment", answer, argv)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.sentiment")
    run = zoo.train.Run(config, recipe="sentiment")
    data = load_data(config)
    with run.strategy.scope():
        model = build_model(
            config, data.vectorizer.get_vocabulary(), data.train, data.train_size, data.class_names
        )
    train, validation = with_targets(data.train, model), with_targets(data.validation, model)
    # Keras prefixes a metric with its output's name only when the model has several outputs.
    monitor = f"val_{zoo.classification.head(data.class_names).name}_accuracy"
    monitor = monitor if len(model.outputs) > 1 else "val_accuracy"
    run.fit(model, train, validation, monitor=monitor, mode="max")
    # Scores, each branch's accuracy and confusion_matrix.png (zoo.classification.evaluate_classifier).
    metrics = zoo.classification.evaluate_classifier(model, data.test, data.class_names, run.output_dir)
    model = classifier(model, data.class_names)
    show_examples(
        zoo.classification.end_to_end_classifier(model, data.vectorizer, data.class_names),
        data,
        config.examples,
    )
    if config.export:
        metrics |= export(model, data, config, run, {"test_accuracy": metrics["test_accuracy"]})
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
