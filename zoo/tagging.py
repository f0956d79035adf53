"""The library half of `recipes.ner`: a sequence tagger over `zoo.layers.TokenFeatures`, from tagged
sentences to its exports.

- Data: `vocabularies` (the words and characters a tagger looks up), `lookup_form` and
  `with_pretrained_vectors` (a vocabulary joined by a vector file's words, and their table),
  `move_to_training` and `prepare_splits` (the splits a tagger trains on), `tag_vocabulary` and
  `tagged_dataset` (batches of packed token features and tag ids).
- Model: `word_embedding`, `tagger_tower` (packed token features -> tag scores: word vector, casing,
  characters, gazetteer bits, a BiLSTM), `tagger_models` (scores -> the trained model and its loss, and
  the tagger) and `ensemble_tagger` (trained taggers decoded by their mean scores).
- Decoding: `compiled_tagger`, `predict_tags`, `end_to_end_tagger` (token strings -> tag strings, the
  SavedModel's graph) and `answer` (`predict`: raw text -> tokens, tags and the entities' spans).
- Export: `device_tagger` (a smaller word table for the TFLite, checked to change no test tag) and
  `export_tagger` (SavedModel, TFLite over one sentence's packed ids, the side files, deploy.json).
"""

from __future__ import annotations

import collections
import pathlib
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

import zoo.data
import zoo.export
import zoo.io
import zoo.layers
import zoo.metrics
import zoo.text
from zoo.errors import DataFormatError, ExportMismatchError

# ## Data


def vocabularies(train: zoo.data.TaggedSentences, min_word_count: int) -> tuple[list[str], list[str]]:
    """Normalised words (`TokenFeatures.normalize`) seen at least `min_word_count` times, and every
    character of the training split, most frequent first."""
    tokens = tf.ragged.constant(train.tokens)
    words = zoo.layers.TokenFeatures.normalize(tokens.flat_values).numpy()
    word_counts = collections.Counter(word.decode("utf-8") for word in words)
    char_counts = collections.Counter(char for sentence in train.tokens for t in sentence for char in t)
    words = [w for w, n in word_counts.most_common() if n >= min_word_count and w]
    return words, [char for char, _ in char_counts.most_common()]


def lookup_form(vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The vectors keyed by their words' lookup form (`TokenFeatures.normalize`: lowercased, digits as 0,
    ...); where several words share a form, the file's first (its most frequent) keeps it."""
    forms = zoo.layers.TokenFeatures.normalize(tf.constant(list(vectors))).numpy()
    keyed: dict[str, np.ndarray] = {}
    for form, vector in zip(forms, vectors.values()):
        keyed.setdefault(form.decode("utf-8"), vector)
    return keyed


def with_pretrained_vectors(
    words: list[str], vectors: dict[str, np.ndarray], seed: int
) -> tuple[list[str], np.ndarray, int]:
    """`words` followed by every other word of `vectors` (in its lookup form), so that a word training
    never saw keeps its vector, and the table of a word embedding over them (`zoo.text.embedding_matrix`:
    row 0 padding, row 1 unknown, then the words; a word without a vector gets noise drawn with `seed`).

    Returns:
        `(words, table, found)`: the words, the float32 table and how many of the words have a vector.
    """
    vectors = lookup_form(vectors)
    known = set(words)
    words = words + [word for word in vectors if word not in known]
    table, found = zoo.text.embedding_matrix(["", "[UNK]", *words], vectors, seed)
    return words, table, found


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


def prepare_splits(
    splits: dict[str, zoo.data.TaggedSentences],
    max_train_samples: int | None = None,
    dev_for_training: float = 0.0,
    scheme: str = "bio",
    seed: int = 0,
) -> dict[str, zoo.data.TaggedSentences]:
    """The splits a tagger trains on: the first `max_train_samples` training sentences, `dev_for_training`
    of validation moved into training (`move_to_training`, by `seed`), and the BIO tags the readers give
    converted to `scheme` (which keeps every entity)."""
    splits = dict(splits)
    if max_train_samples:
        train = splits["train"]
        splits["train"] = train._replace(
            tokens=train.tokens[:max_train_samples], tags=train.tags[:max_train_samples]
        )
    if dev_for_training:
        splits["train"], splits["validation"] = move_to_training(
            splits["train"], splits["validation"], dev_for_training, seed
        )
    if scheme != "bio":
        splits = {
            name: split._replace(tags=[zoo.data.convert_tags(tags, "bio", scheme) for tags in split.tags])
            for name, split in splits.items()
        }
    return splits


def tag_vocabulary(splits: Mapping[str, zoo.data.TaggedSentences], scheme: str = "bio") -> list[str]:
    """Tag id -> tag: `O` first, then B-/I- (and E-/S- for "bioes") of each entity type of the training
    split, so id 0 is the most common tag, never padding (-1 is). Raises `DataFormatError` naming a split
    that holds a tag the training split has not."""
    types = sorted({tag[2:] for sentence in splits["train"].tags for tag in sentence if tag != "O"})
    prefixes = "BIES" if scheme == "bioes" else "BI"
    tag_names = ["O"] + [f"{prefix}-{kind}" for kind in types for prefix in prefixes]
    for name, split in splits.items():
        unseen = {tag for sentence in split.tags for tag in sentence} - set(tag_names)
        if unseen:
            raise DataFormatError(name, None, f"tags {sorted(unseen)} never occur in the training split")
    return tag_names


def tagged_dataset(
    split: zoo.data.TaggedSentences,
    features: zoo.layers.TokenFeatures,
    tag_names: list[str],
    batch_size: int,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of (packed token features `(B, T, features.width)`, tag ids `(B, T)` padded with -1):
    in the split's order and cached, or with `shuffle_seed` reshuffled every epoch (for training)."""
    tag_ids = {tag: index for index, tag in enumerate(tag_names)}
    tags = [[tag_ids[tag] for tag in sentence] for sentence in split.tags]
    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.ragged.constant(split.tokens), tf.ragged.constant(tags, dtype=tf.int32))
    )
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(tags), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.ragged_batch(batch_size).map(
        lambda tokens, tags: (features(tokens.to_tensor("")), tags.to_tensor(-1)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.cache().prefetch(tf.data.AUTOTUNE) if shuffle_seed is None else dataset.prefetch(2)


# ## Model


def word_embedding(
    input_dim: int,
    output_dim: int,
    table: np.ndarray | None = None,
    trainable: bool = True,
    name: str = "word_embedding",
) -> keras.layers.Embedding:
    """A word `Embedding` masking id 0, so padding steps are skipped by the LSTM and by the CRF; it holds
    `table` from the start (e.g. `with_pretrained_vectors`'s), or uniform noise without one."""
    words = keras.layers.Embedding(
        input_dim,
        output_dim,
        mask_zero=True,
        embeddings_initializer="uniform" if table is None else "zeros",
        trainable=trainable,
        name=name,
    )
    if table is not None:  # built now, so it holds the table's vectors from the start
        words.build((None, None))
        words.set_weights([table])
    return words


def tagger_tower(
    packed,
    words: keras.layers.Embedding,
    num_tags: int,
    *,
    char_vocabulary_size: int = 0,
    chars: str = "cnn",
    char_dim: int = 30,
    char_filters: int = 50,
    units: int = 100,
    dropout: float = 0.5,
    head: str = "crf",
    gazetteer_bits: int = 0,
    gazetteer_dim: int = 8,
    suffix: str = "",
    source: keras.Model | None = None,
):
    """One tagger's tower: packed token features (`zoo.layers.TokenFeatures`) -> tag scores `(B, T,
    num_tags)`, emissions for a CRF head, probabilities for softmax.

    A token is its word vector (`words`), an 8-dimensional casing vector, unless `chars` is "none" its
    characters encoded by `zoo.layers.CharacterEncoder` ("cnn": Ma and Hovy 2016, "lstm": Lample et al.
    2016), and with `gazetteer_bits` (`TokenFeatures.gazetteer_bits`; the packed ids' last column) those
    bits projected to `gazetteer_dim` numbers by a dense layer named `gazetteers{suffix}`; then dropout,
    a BiLSTM of `units` per direction, dropout and a dense layer of scores named `tag_scores{suffix}`
    (every layer's name ends in `suffix`, so towers can meet in one model). With
    `source`, a trained tagger built by this function with the same `suffix`, the tower is that tagger's
    (its layers, weights shared, read on `packed`): how `ensemble_tagger` joins trained taggers.
    """

    def layer(name: str, make):  # the source's layer of that name, or a new one
        return source.get_layer(name + suffix) if source is not None else make(name + suffix)

    word_ids, casing_ids = packed[..., 0], packed[..., 1]
    char_ids = packed[..., 2:-1] if gazetteer_bits else packed[..., 2:]
    casing = layer(
        "casing", lambda name: keras.layers.Embedding(len(zoo.layers.TokenFeatures.CASINGS), 8, name=name)
    )
    parts = [words(word_ids), casing(casing_ids)]
    if chars != "none":
        encoder = layer(
            "characters",
            lambda name: zoo.layers.CharacterEncoder(
                char_vocabulary_size, char_dim, char_filters, kind=chars, name=name
            ),
        )
        parts.append(encoder(char_ids))
    if gazetteer_bits:
        # The id's bits as 0/1 numbers: floor division and modulo are TFLite built-ins.
        powers = 2 ** np.arange(gazetteer_bits, dtype="int32")
        bits = keras.ops.mod(keras.ops.floor_divide(packed[..., -1:], powers), 2)
        gazetteers = layer("gazetteers", lambda name: keras.layers.Dense(gazetteer_dim, name=name))
        parts.append(gazetteers(keras.ops.cast(bits, "float32")))
    # Concatenate ORs its inputs' masks and the casing branch has none, so the merged mask is all
    # true: the BiLSTM gets the word mask itself, or it would read padding and tags would depend on it.
    x = layer("token_vectors", lambda name: keras.layers.Concatenate(name=name))(parts)
    x = layer("token_dropout", lambda name: keras.layers.Dropout(dropout, name=name))(x)
    lstm = layer(
        "bilstm",
        lambda name: keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True), name=name),
    )
    x = lstm(x, mask=word_ids > 0)
    x = layer("bilstm_dropout", lambda name: keras.layers.Dropout(dropout, name=name))(x)
    activation = "softmax" if head == "softmax" else None
    return layer("tag_scores", lambda name: keras.layers.Dense(num_tags, activation=activation, name=name))(x)


def tagger_models(packed, scores: list, head: str = "crf", name: str = "tagger"):
    """The models over the tag scores of one or several towers (`tagger_tower`) reading `packed`.

    Returns:
        `(model, loss, tagger)`: the trained model (packed -> the first tower's scores) and its loss; the
        tagger (packed -> int32 tag ids) decoding the towers' mean scores.

    With a CRF head (`zoo.layers.CRF`) the loss is the CRF's negative log-likelihood and the tagger runs
    Viterbi over the mean emissions: a path's score is a sum of emission and transition scores, so with
    the members' mean transitions it finds the path whose mean score over the towers is highest. With
    softmax the loss is cross-entropy (tag -1 is padding) and the tagger takes the argmax of the mean of
    the towers' log-probabilities, the product of their distributions.
    """
    word_ids = packed[..., 0]
    if head == "crf":
        crf = zoo.layers.CRF(scores[0].shape[-1], name="crf")
        scores = [crf(tower_scores) for tower_scores in scores]
        mean = scores[0] if len(scores) == 1 else keras.ops.mean(keras.ops.stack(scores), axis=0)
        tags = crf(mean, mask=word_ids > 0, decode=True)
        loss = crf.loss
    else:
        mean = (
            scores[0] if len(scores) == 1 else keras.ops.mean(keras.ops.log(keras.ops.stack(scores)), axis=0)
        )
        tags = keras.ops.argmax(mean, axis=-1)
        loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    model = keras.Model(packed, scores[0], name=f"{name}_{head}")
    tagger = keras.Model(packed, keras.ops.cast(tags, "int32"), name=f"{name}_tagger")
    return model, loss, tagger


def ensemble_tagger(
    members: Sequence[keras.Model], chars: str = "cnn", head: str = "crf", share_words: bool = False,
    name: str = "tagger", gazetteer_bits: int = 0,
) -> keras.Model:  # fmt: skip
    """Trained taggers decoded together: packed token features -> the int32 tags of their mean scores
    (`tagger_models`), with the CRF's transition scores the members' mean. Member i is a `tagger_models`
    model over one `tagger_tower` and a `word_embedding`, built with suffix `_i` on their layers' names
    (and `gazetteer_bits`, as its tower was). `share_words` reads every member's words from the first
    member's table (the same fixed vectors in each), so an export holds that table once."""
    packed = keras.Input(shape=members[0].input_shape[1:], dtype="int32", name="token_features")
    words = [member.get_layer(f"word_embedding_{i}") for i, member in enumerate(members)]
    scores = [
        tagger_tower(
            packed,
            words[0] if share_words else words[i],
            member.output_shape[-1],
            chars=chars,
            head=head,
            gazetteer_bits=gazetteer_bits,
            suffix=f"_{i}",
            source=member,
        )
        for i, member in enumerate(members)
    ]
    _, _, tagger = tagger_models(packed, scores, head, name)
    if head == "crf":
        tagger.get_layer("crf").set_weights(
            [
                np.mean(weights, axis=0)
                for weights in zip(*(m.get_layer("crf").get_weights() for m in members))
            ]
        )
    return tagger


# ## Decoding


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


def end_to_end_tagger(
    tagger: keras.Model, features: zoo.layers.TokenFeatures, tag_names: list[str], name: str = "tagger"
) -> keras.Model:
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
    return keras.Model(tokens, lookup(tag_ids), name=name)


def answer(export, texts: list[str], options) -> list[dict]:
    """`predict`: raw text -> its tokens (`zoo.text.token_spans`), their tags by the run's SavedModel and
    the entities' types, texts and character spans."""
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


# ## Export

TFLITE_LENGTH = 64  # tokens of the one sentence model.tflite takes


def device_tagger(
    tagger: keras.Model,
    features: zoo.layers.TokenFeatures,
    splits: Mapping[str, zoo.data.TaggedSentences],
    tag_names: list[str],
    keep: int,
    batch_size: int = 32,
) -> tuple[zoo.layers.TokenFeatures, keras.Model]:
    """`features` and `tagger` for a smaller word table: the words of `splits` and the vocabulary's first
    `keep` (the most frequent) keep their vectors, any other word is looked up as unknown. Raises
    `ExportMismatchError` if that changes a single tag of the test split."""
    tokens = tf.constant([t for split in splits.values() for s in split.tokens for t in s])
    seen = {word.decode() for word in features.normalize(tokens).numpy()}
    smaller, rows = features.keeping(seen | set(features.word_vocabulary[:keep]))
    device = zoo.export.with_embedding_rows(tagger, len(features.word_vocabulary) + 2, rows)
    test = splits["test"]
    _, device_tags = predict_tags(device, tagged_dataset(test, smaller, tag_names, batch_size), tag_names)
    _, tags = predict_tags(tagger, tagged_dataset(test, features, tag_names, batch_size), tag_names)
    if device_tags != tags:
        raise ExportMismatchError(
            f"the word table of {len(smaller.word_vocabulary):,} words changed a test prediction; keep more"
        )
    return smaller, device


def export_tagger(
    output_dir: str | pathlib.Path,
    tagger: keras.Model,
    features: zoo.layers.TokenFeatures,
    tag_names: list[str],
    splits: Mapping[str, zoo.data.TaggedSentences],
    *,
    device_words: int = 0,
    batch_size: int = 32,
    quantize: str | Sequence[str] = "none",
    manifest: Mapping | None = None,
    name: str = "tagger",
) -> dict[str, float]:
    """model.keras and saved_model/1/ take token strings (`end_to_end_tagger`); model.tflite takes one
    sentence's packed ids, `(1, TFLITE_LENGTH, features.width)` int32 (`zoo.layers.TokenFeatures`), and
    writes tag ids; words.txt, chars.txt and tags.txt go beside it (line n = id n + 2 for words and chars,
    id n for tags), and with gazetteers gazetteers.tsv (a line per entry: its list, a tab, the entry), from
    which a device computes the packed ids' last column.

    Every export is checked against the Keras models (`zoo.export.export_and_verify`) on the first 32
    test sentences and on edge cases: one sentence, one word, a sentence of `TFLITE_LENGTH` tokens, an
    empty batch, sentences of no tokens. `device_words`: if not 0, the TFLite's word table keeps only the
    words of `splits` and the vocabulary's first `device_words` (`device_tagger`). `manifest`: further
    entries of deploy.json. `quantize`: the TFLite's quantisation; the BiLSTM takes dynamic or float16
    (int8 cannot convert recurrences).
    """
    output_dir = pathlib.Path(output_dir)
    serving_model = end_to_end_tagger(tagger, features, tag_names, name=name)
    sentences = splits["test"].tokens[:32]
    width = max(map(len, sentences))
    padded = [sentence + [""] * (width - len(sentence)) for sentence in sentences]
    device_features, device_model = features, tagger
    if device_words:
        device_features, device_model = device_tagger(
            tagger, features, splits, tag_names, device_words, batch_size
        )
    side_files = {
        "words.txt": device_features.word_vocabulary,
        "chars.txt": features.char_vocabulary,
        "tags.txt": tag_names,
    }
    gazetteers = {}
    if features.gazetteers:
        side_files["gazetteers.tsv"] = [
            f"{k}\t{e}" for k, entries in features.gazetteers.items() for e in entries
        ]
        gazetteers = {
            "gazetteers": {
                "lists": list(features.gazetteers),
                "entries": {kind: len(entries) for kind, entries in features.gazetteers.items()},
                "bits": "list i of n: bit i on an entry's first token, bit n + i on its further tokens",
            }
        }
    for file_name, lines in side_files.items():
        zoo.io.write_text(output_dir / file_name, "\n".join(lines) + "\n")
    length = TFLITE_LENGTH

    def pad(sentence):
        return sentence[:length] + [""] * (length - len(sentence[:length]))

    short = [pad(sentence) for sentence in sentences[:8]]
    one_word = [sentences[0][0]]
    longest = [token for sentence in sentences for token in sentence][:length]
    return zoo.export.export_and_verify(
        output_dir,
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
        tflite_model=device_model,
        tflite_signature=[tf.TensorSpec([1, length, features.width], tf.int32)],
        tflite_inputs=device_features(tf.constant(short)).numpy(),
        tflite_edge_inputs={
            "one_word": device_features(tf.constant([pad(one_word)])).numpy(),
            "longest": device_features(tf.constant([pad(longest)])).numpy(),
        },
        quantize=quantize,
        output_name="tags",
        manifest={
            "tokenizer": "zoo.text.token_spans",
            **(manifest or {}),
            "side_files": list(side_files),
            "tflite_words": len(device_features.word_vocabulary),
            **gazetteers,
        },
    )
