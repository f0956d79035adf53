"""Named entity recognition with a BiLSTM-CRF: a many-to-many sequence model.

A sentence goes in as tokens and one tag comes out per token (`B-person`, `I-person`, `O`, ...): many
inputs, as many outputs. Each token is its lowercased word (a learned or `--embeddings` vector), its
casing and its characters (a small CNN, so an unseen name still gets a useful vector), and with
`--gazetteers` whether it begins or continues a place name of lists that a package ships
(`zoo.text.gazetteers`), all computed in the graph by `zoo.layers.TokenFeatures`. A bidirectional LSTM
reads the sentence both ways and a linear-chain CRF (`zoo.layers.CRF`) picks the best whole tag sequence:
it learns that `I-person` cannot follow `O`, which a per-token softmax (`--head softmax`) can only hope
for. Library half: `zoo.tagging`.

Data: with no flags, a few hundred sentences the zoo writes itself in CoNLL format, a one-minute demo;
`--dataset wnut17` (WNUT 2017: tweets, Reddit, YouTube comments; 6 types), `--dataset conll2003
--data-dir PATH`, or your own CoNLL-style files, any tag set, BIO or BIOES (`--train-file`). Scores are
entity-level (exact span and type, as conlleval): `test_entity_f1` in `metrics.json`, per type in
`entity_scores.md`. Headline (benchmarks/RESULTS.md): WNUT-17 test entity F1 0.425 with `--preset wnut17`
(fixed GloVe vectors, half of dev in training, three taggers, a moving average of the weights) against
0.085 for keras-io's transformer tagger; how each part works: docs/recipes.md.

    ZOO_DATA_DIR=../shared/data python -m recipes.ner --preset wnut17
"""

from __future__ import annotations

import dataclasses
import sys
from typing import ClassVar, Literal, NamedTuple

import keras
import numpy as np
import tensorflow as tf

import zoo.cli
import zoo.config
import zoo.data
import zoo.io
import zoo.layers
import zoo.metrics
import zoo.predict
import zoo.tagging
import zoo.text
import zoo.train
from zoo.cli import flag

# ## Configuration


@dataclasses.dataclass
class Config(zoo.config.EMAConfig, zoo.config.FileDataConfig):
    dataset: Literal["wnut17", "conll2003", "file"] | None = flag(
        None,
        "wnut17, conll2003, or file: your own CoNLL-style files (--train-file; a token a line, blank lines "
        "between sentences); without it, a sample the zoo writes itself (a quick demo)",
    )
    token_column: int = flag(0, "--dataset file: the token's column, 0-based (-1: the last)", signed=True)
    tag_column: int = flag(
        -1, "--dataset file: the tag's column (-1, the last, reads CoNLL-2003's and WNUT's)", signed=True
    )
    file_tag_scheme: Literal["bio", "iob1", "bioes"] | None = flag(
        None, "--dataset file: the files' tag scheme; by default the one under which they are valid"
    )
    head: Literal["crf", "softmax"] = flag(
        "crf", "crf scores whole tag sequences; softmax one token at a time"
    )
    chars: Literal["cnn", "lstm", "none"] = flag(
        "cnn", "character features per token: a CNN (fast), a BiLSTM, or none (words and casing only)"
    )
    embeddings: str | None = flag(
        None,
        "initial word vectors: glove (GloVe 6B, 100 dimensions, downloaded once) or a file in word2vec or "
        "GloVe text format (e.g. our word2vec's)",
    )
    tune_embeddings: bool = flag(
        False,
        "train the --embeddings vectors too; by default they stay fixed, so the words training sees stay "
        "in the same space as the words only the test has",
    )
    dev_for_training: float = flag(
        0.0,
        "fraction of the validation split (chosen by --seed) moved into training; the rest still selects "
        "the epoch",
        below=1.0,
    )
    tag_scheme: Literal["bio", "bioes"] = flag(
        "bio",
        "tags the model learns: bio, or bioes, which marks an entity's last token (E-) and one-token "
        "entities (S-) too; scores and exported tags are in this scheme (the entities are the same)",
    )
    repair_tags: bool = flag(
        False, "repair tags their scheme cannot accept (I-X after O in BIO) and count them"
    )
    min_word_count: int = flag(
        2,
        "training-set count for a word to get its own vector; rarer words train the unknown-word vector, "
        "which is what most test entities (new names) are looked up as",
        at_least=1,
    )
    max_word_length: int = flag(20, "characters read per token", at_least=1)
    gazetteers: bool = flag(
        False,
        "mark the tokens that begin or continue an entry of lists of cities, countries, US states, "
        "continents (zoo.text.gazetteers), a feature of each token beside its word",
    )
    word_dim: int = flag(100, "word vector size (the --embeddings file's size wins)", at_least=1)
    char_dim: int = flag(30, "character vector size")
    char_filters: int = flag(50, "character CNN filters (or 2x char LSTM units)")
    units: int = flag(100, "LSTM units per direction", at_least=1)
    dropout: float = flag(
        0.5, "dropout on token features and on LSTM outputs (Lample et al. use 0.5)", below=1.0
    )
    learning_rate: float = flag(2e-3, "Adam's learning rate")
    epochs: int = flag(15, "maximum number of epochs (early stopping on validation entity F1)")
    patience: int = flag(4, "epochs without a better validation entity F1 before stopping")
    batch_size: int = flag(16, "sentences per batch")
    device_words: int = flag(
        0, "words model.tflite keeps: those of the data and the vocabulary's first N (most frequent); 0: all"
    )
    ensemble: int = flag(
        1,
        "taggers trained one after another with seeds --seed + i, each its own run in member_<i>/, "
        "decoded together by their mean scores",
        at_least=1,
    )

    FILE_ONLY: ClassVar[tuple[str, ...]] = ("token_column", "tag_column", "file_tag_scheme")
    PRESETS: ClassVar[dict[str, dict]] = {
        # The benchmark's setting: GloVe 6B kept fixed, half of dev in training (WNUT-17's dev and test come
        # from the same sites, its training file is tweets), three taggers, a moving average of the weights.
        "wnut17": {
            "dataset": "wnut17",
            "embeddings": "glove",
            "epochs": 30,
            "patience": 6,
            "dev_for_training": 0.5,
            "ensemble": 3,
            "ema": 0.999,
            "device_words": 40_000,  # of GloVe's 341,479: the TFLite's word table shrinks eightfold
        },
        "conll2003": {"dataset": "conll2003", "epochs": 30, "batch_size": 32},
    }


# ## Data


class NERData(NamedTuple):
    train: tf.data.Dataset  # (packed token features, tag ids padded with -1) batches
    validation: tf.data.Dataset
    test: tf.data.Dataset
    features: zoo.layers.TokenFeatures  # token strings -> packed ids, also inside the export
    tag_names: list[str]  # tag id -> "B-person"
    splits: dict[str, zoo.data.TaggedSentences]
    embedding_matrix: np.ndarray | None  # initial word vectors from --embeddings, rows in word-id order


def load_data(config: Config) -> NERData:
    splits = zoo.data.load_ner(
        config.dataset,
        config.data_dir,
        scheme=config.file_tag_scheme,
        repair=config.repair_tags,
        skip_checksum=config.skip_checksum,
        token_column=config.token_column,
        tag_column=config.tag_column,
        **config.data_files(),  # --train-file, ...; the seed of every split drawn
    )
    splits = zoo.tagging.prepare_splits(
        splits, config.max_train_samples, config.dev_for_training, config.tag_scheme, config.seed
    )
    print(zoo.data.ner_summary(splits))
    words, chars = zoo.tagging.vocabularies(splits["train"], config.min_word_count)
    embedding_matrix = None
    if config.embeddings:
        # Words of the file join the vocabulary, so a test word never seen in training keeps its vector.
        vectors = zoo.text.load_word_vectors(
            zoo.data.word_vectors_file(config.embeddings, skip_checksum=config.skip_checksum)
        )
        words, embedding_matrix, found = zoo.tagging.with_pretrained_vectors(words, vectors, config.seed)
        print(f"--embeddings: {found:,} of {len(words):,} words have a vector")
    gazetteers = zoo.text.gazetteers() if config.gazetteers else None
    features = zoo.layers.TokenFeatures(
        words, chars, config.max_word_length, gazetteers=gazetteers, name="token_features"
    )
    tag_names = zoo.tagging.tag_vocabulary(splits, config.tag_scheme)
    return NERData(
        *(
            zoo.tagging.tagged_dataset(
                splits[name], features, tag_names, config.batch_size, config.seed if name == "train" else None
            )
            for name in ("train", "validation", "test")
        ),
        features=features,
        tag_names=tag_names,
        splits=splits,
        embedding_matrix=embedding_matrix,
    )


# ## Model


def build_model(config: Config, data: NERData, suffix: str = "") -> tuple[keras.Model, keras.Model]:
    """Packed token features -> per-token tag scores (the trained model) and -> tag ids (the tagger);
    `suffix` ends the names of the layers (an ensemble's member i has `_i`).

    The two share every layer (`zoo.tagging.tagger_tower`): training fits the scores with the CRF's
    negative log-likelihood (or softmax cross-entropy), and the tagger decodes them, with Viterbi for the
    CRF head (`zoo.tagging.tagger_models`).
    """
    table = data.embedding_matrix
    packed = keras.Input(shape=(None, data.features.width), dtype="int32", name="token_features")
    words = zoo.tagging.word_embedding(
        len(data.features.word_vocabulary) + 2,
        config.word_dim if table is None else table.shape[1],
        table,
        trainable=table is None or config.tune_embeddings,
        name=f"word_embedding{suffix}",
    )
    scores = zoo.tagging.tagger_tower(
        packed,
        words,
        len(data.tag_names),
        char_vocabulary_size=len(data.features.char_vocabulary) + 2,
        chars=config.chars,
        char_dim=config.char_dim,
        char_filters=config.char_filters,
        units=config.units,
        dropout=config.dropout,
        head=config.head,
        gazetteer_bits=data.features.gazetteer_bits,
        suffix=suffix,
    )
    model, loss, tagger = zoo.tagging.tagger_models(packed, [scores], config.head, name="ner")
    model.compile(
        # With --ema the optimizer keeps the average, which zoo.train.Run.fit swaps into the model.
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0, **zoo.train.ema_options(config)),
        loss=loss,
    )
    return model, tagger


def train_model(
    config: Config, data: NERData, run: zoo.train.Run, suffix: str = ""
) -> tuple[keras.Model, keras.Model]:
    """One tagger, trained by `run` (checkpoints, resume, early stopping on validation entity F1)."""
    with run.strategy.scope():
        model, tagger = build_model(config, data, suffix)
    entity_f1 = zoo.metrics.EntityF1Callback(
        data.validation, zoo.tagging.compiled_tagger(tagger), data.tag_names
    )
    run.fit(
        model, data.train, data.validation, monitor="val_entity_f1", mode="max", extra_callbacks=[entity_f1]
    )
    return model, tagger


def ensemble(config: Config, data: NERData, run: zoo.train.Run) -> tuple[keras.Model, dict[str, float]]:
    """`--ensemble N` taggers trained one after another (`zoo.train.train_members`: seeds `--seed` + i, each
    its own run in member_<i>/ with its own test scores), decoded by their mean scores
    (`zoo.tagging.ensemble_tagger`; fixed `--embeddings` vectors are one table in the ensemble)."""

    def train(index: int, member: Config, member_run: zoo.train.Run) -> tuple[keras.Model, dict[str, float]]:
        model, tagger = train_model(member, data, member_run, suffix=f"_{index}")
        return model, evaluate(tagger, data, member_run)

    def load(index: int, member: Config, folder) -> keras.Model:
        with run.strategy.scope():
            model, _ = build_model(member, data, suffix=f"_{index}")
        model.load_weights(str(folder / "best.weights.h5"))
        return model

    keep = ("test_entity_f1", "test_entity_precision", "test_entity_recall")
    models, metrics = zoo.train.train_members(config, run, config.ensemble, train, load, keep=keep)
    share_words = data.embedding_matrix is not None and not config.tune_embeddings
    tagger = zoo.tagging.ensemble_tagger(
        models,
        config.chars,
        config.head,
        share_words,
        name="ner",
        gazetteer_bits=data.features.gazetteer_bits,
    )
    return tagger, metrics


# ## Evaluation


def evaluate(tagger: keras.Model, data: NERData, run: zoo.train.Run) -> dict[str, float]:
    """Test entity scores of the tagger (per type in entity_scores.md), and the information view of its
    tags, token by token (`zoo.metrics.tag_information`: `test_tag_mutual_information_bits`, ...)."""
    true, predicted = zoo.tagging.predict_tags(tagger, data.test, data.tag_names)
    scores = zoo.metrics.entity_scores(true, predicted)
    zoo.io.write_text(run.output_dir / "entity_scores.md", scores.to_markdown() + "\n")
    print("\nTest entity scores:\n" + scores.to_markdown())
    information = zoo.metrics.tag_information(true, predicted, labels=data.tag_names, prefix="test_tag_")
    return scores.to_dict(prefix="test_") | information


# ## Export


def export(
    tagger: keras.Model, data: NERData, config: Config, run: zoo.train.Run, reproduces
) -> dict[str, float]:
    """model.keras and saved_model/1/ take token strings and write tag strings; model.tflite takes one
    sentence's packed ids and writes tag ids; words.txt, chars.txt and tags.txt go beside it, and
    deploy.json, whose `reproduces` are the test figures (`zoo.tagging.export_tagger`)."""
    return zoo.tagging.export_tagger(
        run.output_dir,
        tagger,
        data.features,
        data.tag_names,
        data.splits,
        device_words=config.device_words,
        batch_size=config.batch_size,
        quantize=config.quantize,
        manifest={
            "scheme": config.tag_scheme,
            "reproduces": reproduces,
            **({"gazetteer_sources": zoo.text.GAZETTEER_SOURCES} if config.gazetteers else {}),
        },
        name="ner",
    )


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("ner", zoo.tagging.answer, argv)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.ner")
    run = zoo.train.Run(config, recipe="ner")
    data = load_data(config)
    if config.ensemble == 1:
        tagger, metrics = train_model(config, data, run)[1], {}
    else:
        tagger, metrics = ensemble(config, data, run)
    metrics |= evaluate(tagger, data, run)
    if config.export:
        metrics |= export(tagger, data, config, run, {"test_entity_f1": metrics["test_entity_f1"]})
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
