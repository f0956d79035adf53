"""Named entity recognition with a BiLSTM-CRF: a many-to-many sequence model.

A sentence goes in as a sequence of tokens and one tag comes out per token (`B-person`, `I-person`, `O`,
...): many inputs, as many outputs. Each token is represented by three things computed in the graph by
`zoo.layers.TokenFeatures`: its lowercased word (a learned or `--embeddings` vector), its casing, and
its characters (a small CNN over them, so "Kardashian" gets a useful vector even if training never saw
it). A bidirectional LSTM reads the sentence both ways, a dense layer scores every tag at every step,
and a linear-chain CRF (`zoo.layers.CRF`) picks the best whole tag sequence: it learns that `I-person`
cannot follow `O` or `B-location`, which a per-token softmax (`--head softmax`) can only hope for.

Data: with no flags, a few hundred sentences the zoo writes itself in CoNLL format
(`zoo.data.ner_sample`), a one-minute demo. Real runs: `--dataset wnut17` (WNUT 2017 emerging and rare
entities: tweets, Reddit, YouTube comments; 6 types) or `--dataset conll2003 --data-dir PATH` for users
who have the CoNLL-2003 English files. Scores are entity-level (exact span and type, as conlleval):
`test_entity_f1`, `test_entity_precision`, `test_entity_recall` in `metrics.json`, per type in
`entity_scores.md`.

Expected (benchmarks/ner.py, 2-core CPU): WNUT-17 test entity F1 0.17 trained on the training file alone
(`--dev-for-training 0 --embeddings none`, one tagger) in 3 to 6 minutes; with pretrained vectors kept
fixed, 0.35 a tagger from Stanford's GloVe 6B (`--embeddings glove`, downloaded once) and 0.31 from
word2vec vectors learnt here from the shared data's 16M words of English; and 0.425 with `--preset
wnut17`, which starts from GloVe, also trains on half of the dev sentences (dev and test come from the
same sites; the training file is tweets), trains three taggers side by side, decoded together (0.405
to 0.424 each alone), and validates, tests and exports a moving average of the weights (`--ema 0.999`;
0.409 with the last weights); 17 minutes of training. The keras-io transformer reaches 0.085. Command:

    ZOO_DATA_DIR=../shared/data python -m recipes.ner --preset wnut17
"""

from __future__ import annotations

import collections
import dataclasses
import sys
from typing import ClassVar, Literal, NamedTuple

import keras
import numpy as np
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
from zoo.errors import DataFormatError, ExportMismatchError


@dataclasses.dataclass
class Config(zoo.config.EMAConfig):
    dataset: Literal["wnut17", "conll2003"] | None = flag(
        None, "wnut17 or conll2003; without it, a sample the zoo writes itself (a quick demo)"
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
        "in the same space as the words only the test has (WNUT-17 test F1 0.297 fixed, 0.276 tuned)",
    )
    dev_for_training: float = flag(
        0.0,
        "fraction of the validation split (chosen by --seed) moved into training; the rest still selects "
        "the epoch. WNUT-17's dev sentences come from the sites its test comes from (YouTube, Reddit, "
        "StackExchange), its training sentences are tweets",
        below=1.0,
    )
    tag_scheme: Literal["bio", "bioes"] = flag(
        "bio",
        "tags the model learns: bio, or bioes, which marks an entity's last token (E-) and one-token "
        "entities (S-) too; scores and exported tags are in this scheme (the entities are the same)",
    )
    repair_tags: bool = flag(False, "repair tags the BIO scheme cannot accept (I-X after O) and count them")
    min_word_count: int = flag(
        2,
        "training-set count for a word to get its own vector; rarer words train the unknown-word vector, "
        "which is what most test entities (new names) are looked up as",
        at_least=1,
    )
    max_word_length: int = flag(20, "characters read per token", at_least=1)
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
        "taggers trained side by side in one model, each from its own initial weights (word features to "
        "tag scores; the fixed --embeddings and the CRF transitions shared), decoded with their mean scores",
        at_least=1,
    )

    PRESETS: ClassVar[dict[str, dict]] = {
        # GloVe 6B's vectors (downloaded once, 118 MB), fixed: WNUT-17 test F1 0.409 with the last weights
        # where word2vec vectors learnt from the shared data's 16M words of English reach 0.362. Half of
        # dev trains (dev and test come from the same sites): 0.356 vs 0.311 with word2vec; three
        # quarters gave 0.339, so the half left to select the epoch matters too. Three taggers decoded
        # together (benchmarks/ner.py has each one's score alone). The moving average of the weights:
        # 0.425 where the last weights give 0.409 (each tagger alone: 0.405 to 0.424 against 0.395 to
        # 0.403); it still rose at epoch 30, the cap that keeps training under 20 minutes.
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


def vocabularies(train: zoo.data.TaggedSentences, config: Config) -> tuple[list[str], list[str]]:
    """Normalised words seen at least `min_word_count` times, and every character of the training split,
    most frequent first."""
    tokens = tf.ragged.constant(train.tokens)
    words = zoo.layers.TokenFeatures.normalize(tokens.flat_values).numpy()
    word_counts = collections.Counter(word.decode("utf-8") for word in words)
    char_counts = collections.Counter(char for sentence in train.tokens for t in sentence for char in t)
    words = [w for w, n in word_counts.most_common() if n >= config.min_word_count and w]
    return words, [char for char, _ in char_counts.most_common()]


def lookup_form(vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The vectors keyed by their words' lookup form (`TokenFeatures.normalize`: lowercased, digits as 0,
    ...); where several words share a form, the file's first (its most frequent) keeps it."""
    forms = zoo.layers.TokenFeatures.normalize(tf.constant(list(vectors))).numpy()
    keyed: dict[str, np.ndarray] = {}
    for form, vector in zip(forms, vectors.values()):
        keyed.setdefault(form.decode("utf-8"), vector)
    return keyed


def move_to_training(train, validation, fraction: float, seed: int):
    """(train + `fraction` of validation's sentences, the rest of validation), chosen by `seed`."""
    order = np.random.default_rng(seed).permutation(len(validation.tokens))
    cut = round(fraction * len(order))
    moved, kept = order[:cut], np.sort(order[cut:])
    extra = [validation.tokens[i] for i in moved], [validation.tags[i] for i in moved]
    return (
        train._replace(tokens=train.tokens + extra[0], tags=train.tags + extra[1]),
        validation._replace(
            tokens=[validation.tokens[i] for i in kept], tags=[validation.tags[i] for i in kept]
        ),
    )


def make_dataset(split, features, tag_ids, batch_size: int, seed: int, training: bool) -> tf.data.Dataset:
    tags = [[tag_ids[tag] for tag in sentence] for sentence in split.tags]
    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.ragged.constant(split.tokens), tf.ragged.constant(tags, dtype=tf.int32))
    )
    if training:
        dataset = dataset.shuffle(len(tags), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.ragged_batch(batch_size).map(
        lambda tokens, tags: (features(tokens.to_tensor("")), tags.to_tensor(-1)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.cache().prefetch(tf.data.AUTOTUNE) if not training else dataset.prefetch(2)


def load_data(config: Config) -> NERData:
    splits = zoo.data.load_ner(
        config.dataset,
        config.data_dir,
        repair=config.repair_tags,
        seed=config.seed,
        skip_checksum=config.skip_checksum,
    )
    if config.max_train_samples:
        train = splits["train"]
        splits["train"] = train._replace(
            tokens=train.tokens[: config.max_train_samples], tags=train.tags[: config.max_train_samples]
        )
    if config.dev_for_training:
        splits["train"], splits["validation"] = move_to_training(
            splits["train"], splits["validation"], config.dev_for_training, config.seed
        )
    if config.tag_scheme != "bio":  # the readers give BIO; conversion keeps every entity
        splits = {
            name: split._replace(
                tags=[zoo.data.convert_tags(t, "bio", config.tag_scheme) for t in split.tags]
            )
            for name, split in splits.items()
        }
    print(zoo.data.ner_summary(splits))
    words, chars = vocabularies(splits["train"], config)
    embedding_matrix = None
    if config.embeddings:
        # Words of the file join the vocabulary, so a test word never seen in training keeps its vector.
        vectors = lookup_form(
            zoo.text.load_word_vectors(
                zoo.data.word_vectors_file(config.embeddings, skip_checksum=config.skip_checksum)
            )
        )
        known = set(words)
        words += [word for word in vectors if word not in known]
        embedding_matrix, found = zoo.text.embedding_matrix(["", "[UNK]", *words], vectors, config.seed)
        print(f"--embeddings: {found:,} of {len(words):,} words have a vector")
    features = zoo.layers.TokenFeatures(words, chars, config.max_word_length, name="token_features")
    # Tag ids: O first, then B-/I- (and E-/S-) of each type, so id 0 is the most common tag, never
    # padding (-1 is).
    types = sorted({tag[2:] for sentence in splits["train"].tags for tag in sentence if tag != "O"})
    prefixes = "BIES" if config.tag_scheme == "bioes" else "BI"
    tag_names = ["O"] + [f"{prefix}-{kind}" for kind in types for prefix in prefixes]
    tag_ids = {tag: i for i, tag in enumerate(tag_names)}
    for name, split in splits.items():
        unseen = {tag for sentence in split.tags for tag in sentence} - set(tag_ids)
        if unseen:
            raise DataFormatError(name, None, f"tags {sorted(unseen)} never occur in the training split")
    return NERData(
        *(
            make_dataset(splits[name], features, tag_ids, config.batch_size, config.seed, name == "train")
            for name in ("train", "validation", "test")
        ),
        features=features,
        tag_names=tag_names,
        splits=splits,
        embedding_matrix=embedding_matrix,
    )


# ## Model


def build_model(config: Config, data: NERData) -> tuple[keras.Model, keras.Model, list[keras.Model]]:
    """Packed token features -> per-token tag scores (the trained model) and -> tag ids (the tagger), and
    for an ensemble each member's own tagger.

    The models share every layer: training fits the scores with the CRF's negative log-likelihood
    (or softmax cross-entropy), and the tagger decodes them, with Viterbi for the CRF head. With
    `--ensemble N` the trained model has N outputs, one per member: each member is a whole tower from word
    features to tag scores with its own initial weights and dropout masks, trained by its own loss (the
    gradients of one member's loss reach no other member's weights, except the CRF's). The members share
    the inputs, the fixed `--embeddings` vectors and the CRF's transition scores, and the tagger decodes
    the mean of their tag scores: a CRF path's score is a sum of emission and transition scores, so
    Viterbi over the mean emissions finds the path whose mean score over the members is highest.
    """
    features = data.features
    embedding_matrix = data.embedding_matrix
    word_dim = config.word_dim if embedding_matrix is None else embedding_matrix.shape[1]
    packed = keras.Input(shape=(None, 2 + config.max_word_length), dtype="int32", name="token_features")
    word_ids, casing_ids, char_ids = packed[..., 0], packed[..., 1], packed[..., 2:]
    num_tags = len(data.tag_names)

    def word_embedding(name: str) -> keras.layers.Embedding:
        # mask_zero on the word ids: padding steps are skipped by the LSTM and by the CRF.
        words = keras.layers.Embedding(
            len(features.word_vocabulary) + 2,
            word_dim,
            mask_zero=True,
            embeddings_initializer="uniform" if embedding_matrix is None else "zeros",
            trainable=embedding_matrix is None or config.tune_embeddings,
            name=name,
        )
        if embedding_matrix is not None:  # built now, so it holds the file's vectors from the start
            words.build((None, None))
            words.set_weights([embedding_matrix])
        return words

    # Fixed vectors are one table for all members (an ensemble's exports hold it once).
    fixed = embedding_matrix is not None and not config.tune_embeddings
    shared_words = word_embedding("word_embedding") if fixed else None

    def member(suffix: str):
        """One tower: token features -> tag scores (emissions for the CRF, probabilities for softmax)."""
        words = shared_words if shared_words is not None else word_embedding(f"word_embedding{suffix}")
        casing = keras.layers.Embedding(len(zoo.layers.TokenFeatures.CASINGS), 8, name=f"casing{suffix}")
        parts = [words(word_ids), casing(casing_ids)]
        if config.chars != "none":
            # Ma and Hovy 2016 (cnn) or Lample et al. 2016 (lstm); see zoo.layers.CharacterEncoder.
            chars = zoo.layers.CharacterEncoder(
                len(features.char_vocabulary) + 2, config.char_dim, config.char_filters, kind=config.chars
            )
            parts.append(chars(char_ids))
        # Concatenate ORs its inputs' masks and the casing branch has none, so the merged mask is all
        # true: the BiLSTM gets the word mask itself, or it would read padding and tags would depend on it.
        x = keras.layers.Concatenate()(parts)
        x = keras.layers.Dropout(config.dropout)(x)
        lstm = keras.layers.Bidirectional(keras.layers.LSTM(config.units, return_sequences=True))
        x = lstm(x, mask=word_ids > 0)
        x = keras.layers.Dropout(config.dropout)(x)
        activation = "softmax" if config.head == "softmax" else None
        return keras.layers.Dense(num_tags, activation=activation, name=f"tag_scores{suffix}")(x)

    # One tagger keeps the plain layer names ("tag_scores"); members are "tag_scores_0", "tag_scores_1", ...
    suffixes = [""] if config.ensemble == 1 else [f"_{index}" for index in range(config.ensemble)]
    scores = [member(suffix) for suffix in suffixes]
    if config.head == "crf":
        crf = zoo.layers.CRF(num_tags, name="crf")
        scores = [crf(member_scores) for member_scores in scores]
        mean = scores[0] if len(scores) == 1 else keras.ops.mean(keras.ops.stack(scores), axis=0)

        def decode(emissions):
            return crf(emissions, mask=word_ids > 0, decode=True)

        loss = crf.loss
    else:
        # The product of the members' distributions: the mean of their log-probabilities.
        mean = (
            scores[0] if len(scores) == 1 else keras.ops.mean(keras.ops.log(keras.ops.stack(scores)), axis=0)
        )

        def decode(member_scores):
            return keras.ops.argmax(member_scores, axis=-1)

        loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    model = keras.Model(packed, scores[0] if len(scores) == 1 else scores, name=f"ner_{config.head}")
    tagger = keras.Model(packed, keras.ops.cast(decode(mean), "int32"), name="ner_tagger")
    members = []
    if len(scores) > 1:
        members = [
            keras.Model(packed, keras.ops.cast(decode(s), "int32"), name=f"ner_tagger_member_{index}")
            for index, s in enumerate(scores)
        ]
    model.compile(
        # With --ema the optimizer keeps the average, which zoo.train.Run.fit swaps into the model.
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0, **zoo.train.ema_options(config)),
        loss=loss if len(scores) == 1 else [loss] * len(scores),
    )
    return model, tagger, members


def end_to_end(tagger: keras.Model, features: zoo.layers.TokenFeatures, tag_names: list[str]) -> keras.Model:
    """The deployable model: a batch of token strings (padded with "") -> tag strings ("" at padding)."""
    tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
    # One more row and column of padding, cut off again below: the LSTM and the character convolution
    # cannot run on zero sentences or zero time steps, so an empty batch (shape [0, n] or [n, 0]) would
    # fail. Padding is masked, so the real tokens' tags do not change.
    packed = features(keras.ops.pad(tokens, [[0, 1], [0, 1]], constant_values=""))
    # Shift tag ids by one so that id 0 is the lookup's mask token "", written at padding (word id 0).
    tag_ids = keras.ops.where(packed[..., 0] > 0, tagger(packed) + 1, 0)[:-1, :-1]
    lookup = keras.layers.StringLookup(
        vocabulary=tag_names, mask_token="", num_oov_indices=0, invert=True, name="tag_names"
    )
    return keras.Model(tokens, lookup(tag_ids), name="ner")


# ## Evaluation


def compiled_tagger(tagger: keras.Model) -> tf.types.experimental.PolymorphicFunction:
    """The tagger as one traced graph for batches of any size and length: called eagerly, the LSTM and
    the Viterbi loop would run step by step in Python, many times slower."""
    spec = tf.TensorSpec([None, None, tagger.input_shape[-1]], tf.int32)
    return tf.function(lambda packed: tagger(packed, training=False), input_signature=[spec])


def predict_tags(tagger: keras.Model, dataset: tf.data.Dataset, tag_names: list[str]):
    """(true, predicted) tag strings per sentence, in dataset order, padding removed."""
    decode = compiled_tagger(tagger)
    true, predicted = [], []
    for packed, tag_ids in dataset:
        for gold, guess in zip(tag_ids.numpy(), decode(packed).numpy()):
            length = int(np.sum(gold >= 0))
            true.append([tag_names[i] for i in gold[:length]])
            predicted.append([tag_names[i] for i in guess[:length]])
    return true, predicted


def export(tagger, data: NERData, config: Config, run: zoo.train.Run, reproduces) -> dict[str, float]:
    """model.keras and saved_model/1/ take token strings; model.tflite takes one sentence's packed ids,
    (1, 64, 2 + max_word_length) int32, and writes tag ids; words.txt, chars.txt and tags.txt go beside
    it (line n = id n + 2 for words and chars, id n for tags). `reproduces`: the test figures, for
    deploy.json."""
    serving_model = end_to_end(tagger, data.features, data.tag_names)
    sentences = data.splits["test"].tokens[:32]
    width = max(map(len, sentences))
    padded = [sentence + [""] * (width - len(sentence)) for sentence in sentences]
    features, device_tagger = data.features, tagger
    if config.device_words:  # a smaller word table, and not one test prediction changed by it
        tokens = tf.constant([t for split in data.splits.values() for s in split.tokens for t in s])
        seen = {word.decode() for word in features.normalize(tokens).numpy()}
        features, rows = features.keeping(seen | set(features.word_vocabulary[: config.device_words]))
        device_tagger = zoo.export.with_embedding_rows(tagger, len(data.features.word_vocabulary) + 2, rows)
        tag_ids = {tag: index for index, tag in enumerate(data.tag_names)}
        test = make_dataset(data.splits["test"], features, tag_ids, config.batch_size, config.seed, False)
        _, device_tags = predict_tags(device_tagger, test, data.tag_names)
        if device_tags != predict_tags(tagger, data.test, data.tag_names)[1]:
            raise ExportMismatchError("--device-words changed a test prediction; raise it")
    for name, lines in (
        ("words.txt", features.word_vocabulary),
        ("chars.txt", data.features.char_vocabulary),
        ("tags.txt", data.tag_names),
    ):
        zoo.io.write_text(run.output_dir / name, "\n".join(lines) + "\n")
    length = 64

    def pad(sentence):
        return sentence[:length] + [""] * (length - len(sentence[:length]))

    short = [pad(sentence) for sentence in sentences[:8]]
    one_word = [sentences[0][0]]
    longest = [token for sentence in sentences for token in sentence][:length]  # the TFLite length
    return zoo.export.export_and_verify(
        run.output_dir,
        serving_model=serving_model,
        serving_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")],
        raw_inputs=[padded],
        edge_inputs={
            "batch_of_one": [padded[:1]],
            "one_word": [[one_word]],
            "longest": [[longest]],
            "empty_batch": [np.zeros((0, 3), dtype=bytes)],
            "no_tokens": [np.zeros((2, 0), dtype=bytes)],
        },
        tflite_model=device_tagger,
        tflite_signature=[tf.TensorSpec([1, length, 2 + config.max_word_length], tf.int32)],
        tflite_inputs=features(tf.constant(short)).numpy(),
        tflite_edge_inputs={
            "one_word": features(tf.constant([pad(one_word)])).numpy(),
            "longest": features(tf.constant([pad(longest)])).numpy(),
        },
        quantize=config.quantize,  # its BiLSTM takes dynamic or float16 (int8 cannot convert recurrences)
        output_name="tags",
        manifest={
            "tokenizer": "zoo.text.token_spans",
            "scheme": config.tag_scheme,
            "reproduces": reproduces,
            "side_files": ["words.txt", "chars.txt", "tags.txt"],
            "tflite_words": len(features.word_vocabulary),
        },  # fmt: skip
    )


def answer(export: zoo.predict.Export, texts: list[str], options) -> list[dict]:
    """`predict`: raw text -> its tokens (`zoo.text.token_spans`), their tags and the entities' spans."""
    spans = [zoo.text.token_spans(text) for text in texts]
    width = max(map(len, spans))
    tokens = np.array([[t for t, _, _ in s] + [""] * (width - len(s)) for s in spans], object)
    answers = []
    for text, span, row in zip(texts, spans, export.call("serve", tokens.reshape(len(texts), width))):
        tags = [tag.decode() for tag in row[: len(span)]]
        entities = []
        for kind, first, last in zoo.metrics.extract_entities(tags):
            start, end = span[first][1], span[last - 1][2]
            entities.append({"type": kind, "text": text[start:end], "start": start, "end": end})
        answers.append({"text": text, "tokens": [t for t, _, _ in span], "tags": tags, "entities": entities})
    return answers


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("ner", answer, argv)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.ner")
    run = zoo.train.Run(config, recipe="ner")
    data = load_data(config)
    with run.strategy.scope():
        model, tagger, members = build_model(config, data)
    train, validation = data.train, data.validation
    if members:  # one copy of the tags for each member's output
        train, validation = (d.map(lambda x, y: (x, (y,) * len(members))) for d in (train, validation))
    entity_f1 = zoo.metrics.EntityF1Callback(data.validation, compiled_tagger(tagger), data.tag_names)
    run.fit(model, train, validation, monitor="val_entity_f1", mode="max", extra_callbacks=[entity_f1])
    scores = zoo.metrics.entity_scores(*predict_tags(tagger, data.test, data.tag_names))
    zoo.io.write_text(run.output_dir / "entity_scores.md", scores.to_markdown() + "\n")
    print("\nTest entity scores:\n" + scores.to_markdown())
    metrics = scores.to_dict(prefix="test_")
    for index, member in enumerate(members):  # what each member scores alone, on the same run
        alone = zoo.metrics.entity_scores(*predict_tags(member, data.test, data.tag_names))
        for name in ("f1", "precision", "recall"):
            metrics[f"member_{index}_test_entity_{name}"] = getattr(alone, name)
    if config.export:
        metrics |= export(tagger, data, config, run, {"test_entity_f1": metrics["test_entity_f1"]})
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
