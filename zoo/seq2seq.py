"""What every sequence-to-sequence recipe shares (translation with attention, the transformer, ...):

- `Seq2SeqTokenizers` and `teacher_forcing_dataset`: sentence pairs -> batches of
  `({"source": ids, "target_in": <s> y1 .. yn}, y1 .. yn </s>)`, grouped by length. With teacher forcing
  the decoder reads the true previous token at every step, so a whole target sentence trains in one
  parallel pass; the price is exposure bias (at test time it reads its own guesses), which beam search
  partly pays back.
- `Translator`: raw strings -> raw strings in one TensorFlow graph: tokenise, encode once, decode token by
  token with a keras-hub sampler (greedy) or `zoo.decoding.BeamSearch`, detokenise. A recipe supplies two
  functions, `encode(source_ids) -> cache` and keras-hub's `next(prompt, cache, index)`; the same graph is
  used for validation BLEU, test scores and the exported SavedModel.
"""

from __future__ import annotations

import dataclasses
import itertools
import pathlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

import keras_hub
import numpy as np
import tensorflow as tf

import zoo.io
import zoo.predict
import zoo.train
from zoo.cli import flag
from zoo.config import TranslationConfig  # noqa: F401 (named here too)
from zoo.decoding import Decoder
from zoo.errors import ZooError
from zoo.progress import progress
from zoo.text.subword import END_ID, PAD_ID, START_ID, UNK_ID, train_sentencepiece


@dataclasses.dataclass
class Seq2SeqTokenizers:
    """The tokenizers of the source and the target side.

    `train` learns one joint SentencePiece model on both sides of the training pairs and uses it for
    both: English and Spanish share names, numbers and many word pieces, and one model is also what a
    SavedModel can carry. Two SentencePiece models in one SavedModel collide when it is loaded (tf-text's
    `SentencepieceOp` resources share a name, so both sides get the same model: we measured 64 of 64
    translations turned to gibberish); `zoo.seq2seq.export_translator` checks a fresh-process reload.
    """

    source: keras_hub.tokenizers.SentencePieceTokenizer
    target: keras_hub.tokenizers.SentencePieceTokenizer

    @classmethod
    def train(cls, pairs: Iterable[tuple[str, str]], vocabulary_size: int) -> Seq2SeqTokenizers:
        """One joint model learnt from every source sentence, then every target sentence, of `pairs`
        (the training split), which is read twice and never copied: it may stream from disk
        (`zoo.data.PairStream`)."""
        joint = train_sentencepiece(_BothSides(pairs), vocabulary_size)
        return cls(joint, joint)

    @property
    def shared(self) -> bool:
        return self.source is self.target

    def save(self, directory) -> None:
        """The SentencePiece model proto(s): `tokenizer.spm`, or `source.spm` and `target.spm`."""
        protos = {"tokenizer": self.source} if self.shared else {"source": self.source, "target": self.target}
        for name, tokenizer in protos.items():
            with zoo.io.replacing(directory / f"{name}.spm") as staging:
                staging.write_bytes(tokenizer.proto)


class _BothSides:
    """The source sentences of `pairs`, then their target sentences, read from `pairs` as they are needed."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self.pairs = pairs

    def __len__(self) -> int:
        return 2 * len(self.pairs)

    def __iter__(self) -> Iterator[str]:
        yield from (source for source, _ in self.pairs)
        yield from (target for _, target in self.pairs)


def teacher_forcing_dataset(
    pairs: Iterable[tuple[str, str]],
    tokenizers: Seq2SeqTokenizers,
    *,
    batch_size: int,
    max_length: int,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of `({"source": (B, S), "target_in": (B, T)}, target_out (B, T))` int32, padded with 0.

    Pairs whose source or target is longer than `max_length` pieces are dropped (training only: keep the
    evaluation pairs out of this function and score them with a `Translator`). Batches hold sentences of
    similar length, so little time goes into padding. `shuffle_seed=None`: no shuffling.

    `pairs` is a list, or a stream read from disk at each iteration (`zoo.data.PairStream`, which has a
    length): the stream is read once, as the pipeline's first pass tokenises it, and the cache then holds
    its ids, never its strings.
    """
    if isinstance(pairs, Sequence):
        sources, targets = (list(side) for side in zip(*pairs))
        dataset = tf.data.Dataset.from_tensor_slices((sources, targets)).batch(1024)
    else:
        spec = tf.TensorSpec([None], tf.string)
        dataset = tf.data.Dataset.from_generator(lambda: _chunks(pairs, 1024), output_signature=(spec, spec))
    dataset = dataset.map(
        lambda source, target: (tokenizers.source(source), tokenizers.target(target)),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).unbatch()
    dataset = dataset.filter(
        lambda source, target: tf.logical_and(
            tf.size(source) <= max_length, tf.logical_and(tf.size(target) <= max_length, tf.size(source) > 0)
        )
    )

    def with_start_and_end(source, target):
        start, end = tf.constant([START_ID], target.dtype), tf.constant([END_ID], target.dtype)
        return source, tf.concat([start, target], 0), tf.concat([target, end], 0)

    dataset = dataset.map(with_start_and_end, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(pairs), seed=shuffle_seed, reshuffle_each_iteration=True)
    boundaries = sorted({max(2, max_length * k // 16) for k in (2, 3, 4, 6, 8, 12)})
    dataset = dataset.bucket_by_sequence_length(
        lambda source, target_in, target_out: tf.maximum(tf.size(source), tf.size(target_in)),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=(PAD_ID, PAD_ID, PAD_ID),
    )
    dataset = dataset.map(
        lambda source, target_in, target_out: ({"source": source, "target_in": target_in}, target_out)
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _chunks(pairs: Iterable[tuple[str, str]], size: int) -> Iterator[tuple[list[str], list[str]]]:
    """`(sources, targets)` of `size` pairs at a time (fewer in the last)."""
    iterator = iter(pairs)
    while chunk := list(itertools.islice(iterator, size)):
        sources, targets = zip(*chunk)
        yield list(sources), list(targets)


class Translator:
    """Strings in, strings out: tokenise -> `encode` -> decode with `sampler` -> detokenise, one graph.

    Args:
        tokenizers: the source and target tokenizers.
        encode: `source_ids (B, S) int32 -> cache`, any nest of tensors with the batch first (encoder
            outputs, the decoder's initial state, the source mask). The sampler repeats it for the beams.
        next_token: keras-hub's sampler callback `next(prompt, cache, index) -> (logits, hidden, cache)`:
            the logits of the token at `index` given the prompt's tokens before it.
        sampler: `zoo.decoding.make_sampler(beam_size, length_penalty)`.
        max_length: longest source (longer ones are cut) and longest translation, in pieces.

    Call `translator(texts)` with a 1-D string tensor or a list of strings; it returns a 1-D string tensor.
    `translator.ids(texts)` returns the decoded target ids (B, max_length), 0 from the end token on, and
    `translator.source_ids(texts)` the source ids it decodes them from (B, S), cut to `max_length`.
    """

    def __init__(
        self,
        tokenizers: Seq2SeqTokenizers,
        encode: Callable,
        next_token: Callable,
        sampler,
        max_length: int,
    ):
        self.tokenizers, self.sampler, self.max_length = tokenizers, sampler, max_length
        self.decoder = Decoder(
            encode, next_token, start_id=START_ID, end_id=END_ID, max_length=max_length, sampler=sampler
        )
        spec = [tf.TensorSpec([None], tf.string, name="texts")]
        self.ids = tf.function(self._ids, input_signature=spec)
        self.source_ids = tf.function(self._source_ids, input_signature=spec)
        self.translate = tf.function(self._translate, input_signature=spec)

    def _source_ids(self, texts: tf.Tensor) -> tf.Tensor:
        ids = self.tokenizers.source(texts)[:, : self.max_length]
        return _pad_at_least_one(ids)

    def _ids(self, texts: tf.Tensor) -> tf.Tensor:
        return self.decode(self._source_ids(texts))

    def decode(self, source_ids: tf.Tensor, sampler=None) -> tf.Tensor:
        """Target ids (B, max_length), 0 from the end token on, of source ids (B, S) (0-padded); decoded
        with `sampler`, the translator's own by default."""
        ids = self.decoder(source_ids, sampler)
        return tf.where(ids == END_ID, PAD_ID, ids)

    def _translate(self, texts: tf.Tensor) -> tf.Tensor:
        ids = tf.RaggedTensor.from_tensor(self._ids(texts), padding=PAD_ID)
        return self.tokenizers.target.detokenize(ids)

    def __call__(self, texts) -> tf.Tensor:
        return self.translate(tf.constant(texts, tf.string))

    def translate_all(self, texts: Sequence[str], batch_size: int = 128) -> list[str]:
        """Python strings in batches (the graph is traced once), with a progress bar (`zoo.progress`)."""
        outputs = []
        starts = range(0, len(texts), batch_size)
        for start in progress(starts, f"translating ({type(self.sampler).__name__})", unit="batch"):
            batch = self(list(texts[start : start + batch_size])).numpy()
            outputs += [text.decode("utf-8") for text in batch]
        return outputs


def _pad_at_least_one(ids: tf.RaggedTensor) -> tf.Tensor:
    """Dense (B, S) ids padded with 0; one padding step if every text is empty, so S >= 1."""
    dense = ids.to_tensor(default_value=PAD_ID)
    width = tf.maximum(tf.shape(dense)[1], 1)
    return tf.pad(dense, [[0, 0], [0, width - tf.shape(dense)[1]]])


def attention_rows(weights: np.ndarray, target_ids: np.ndarray, source_ids: np.ndarray) -> np.ndarray:
    """Crops a (T, S) attention matrix to the real target steps (up to the end token) and source tokens."""
    target_length = int(np.sum(target_ids != PAD_ID)) + 1  # + the end token's row
    source_length = int(np.sum(source_ids != PAD_ID))
    return weights[:target_length, :source_length]


# ## Data, scores and export shared by the translation recipes


class TranslationData(NamedTuple):
    train: tf.data.Dataset  # ({"source", "target_in"}, target_out) batches
    validation: tf.data.Dataset
    tokenizers: Seq2SeqTokenizers
    validation_pairs: list[tuple[str, str]]  # (source, target) strings, in the run's direction
    test_pairs: list[tuple[str, str]]
    train_batches: int  # batches in one training epoch (for learning-rate schedules)
    train_target_tokens: int  # target pieces (end tokens included) in one epoch: tokens/s = this / epoch time


def load_translation_data(config) -> TranslationData:
    """Reads and splits the pairs (`zoo.data.load_translation`), turns the Tatoeba pairs around when
    `config.source == "spa"`, trims train/test to `max_train_samples`/`max_test_samples`, learns the
    tokenizers on the training split and builds the teacher-forcing datasets.

    With `--dataset file` the training split streams from the user's file (`zoo.data.read_user_pairs`):
    the tokenizer and the training pipeline's first pass each read it line by line, and only its ids are
    kept (the pipeline's cache).

    `config` needs: dataset, data_dir, seed, (skip_checksum,) source, target, max_train_samples,
    max_test_samples, vocabulary_size, batch_size, max_length, and with `--dataset file` the flags of
    `zoo.config.FileDataConfig` (the translation recipes' Config, `zoo.config.TranslationConfig`)."""
    from zoo.data.translation import load_translation

    files = {"seed": config.seed}
    if config.dataset == "file":
        files = {**config.data_files(), "source": config.source, "target": config.target}
    corpus = load_translation(
        config.dataset, config.data_dir, skip_checksum=getattr(config, "skip_checksum", False), **files
    )
    splits = {"train": corpus.train, "validation": corpus.validation, "test": corpus.test}
    if config.source == "spa" and config.dataset != "file":  # the Tatoeba readers give (english, spanish)
        splits = {name: [(spanish, english) for english, spanish in pairs] for name, pairs in splits.items()}
    if config.max_train_samples:
        splits["train"] = splits["train"][: config.max_train_samples]
    if config.max_test_samples:
        splits["test"] = splits["test"][: config.max_test_samples]
    print(f"{corpus.source}: " + ", ".join(f"{name} {len(pairs):,} pairs" for name, pairs in splits.items()))
    tokenizers = Seq2SeqTokenizers.train(splits["train"], config.vocabulary_size)

    def batches(pairs, seed=None):
        return teacher_forcing_dataset(
            pairs, tokenizers, batch_size=config.batch_size, max_length=config.max_length, shuffle_seed=seed
        )

    train = batches(splits["train"], config.seed)
    # One pass over the training batches also fills the pipeline's cache, so the first epoch does not pay it.
    train_batches, train_target_tokens = train.reduce(
        (0, 0),
        lambda totals, batch: (
            totals[0] + 1,
            totals[1] + tf.math.count_nonzero(batch[1] != PAD_ID, dtype=tf.int32),
        ),
    )
    return TranslationData(
        train,
        batches(splits["validation"]),
        tokenizers,
        splits["validation"],
        splits["test"],
        int(train_batches),
        int(train_target_tokens),
    )


def translation_scores(translator: Translator, pairs, prefix: str) -> tuple[dict[str, float], list[str]]:
    """Corpus BLEU and chrF (sacrebleu's definitions) of `translator` on (source, reference) pairs.

    Tatoeba gives many sentences several translations (`Go.` -> `Ve.`, `Vete.`, `Vaya.`), and the split
    keeps them together, so each distinct source is translated once and scored two ways:
    `{prefix}bleu`/`{prefix}chrf` against each pair's own reference (one row per pair, the strict
    figure), and `{prefix}multiref_bleu`/`{prefix}multiref_chrf` once per distinct source against all of
    its references (the usual multi-reference BLEU). `{prefix}seconds` is the decoding time.

    Returns the scores and the translations, one per pair."""
    from zoo.metrics.translation import corpus_bleu, corpus_chrf

    references_of: dict[str, list[str]] = {}
    for source, reference in pairs:
        references_of.setdefault(source, []).append(reference)
    sources = list(references_of)
    start = time.perf_counter()
    translated = dict(zip(sources, translator.translate_all(sources)))
    seconds = time.perf_counter() - start
    hypotheses = [translated[source] for source, _ in pairs]
    references = [reference for _, reference in pairs]
    distinct, all_references = list(translated.values()), list(references_of.values())
    return {
        f"{prefix}bleu": corpus_bleu(hypotheses, references),
        f"{prefix}chrf": corpus_chrf(hypotheses, references),
        f"{prefix}multiref_bleu": corpus_bleu(distinct, all_references),
        f"{prefix}multiref_chrf": corpus_chrf(distinct, all_references),
        f"{prefix}seconds": seconds,
    }, hypotheses


def train_and_score(
    model, data: TranslationData, config, run: zoo.train.Run, translator: Callable[..., Translator]
) -> tuple[Translator, Translator | None, dict[str, float]]:
    """Train `model.trainer` with `run` on `data`, the checkpoint chosen by the BLEU of greedy translations
    of the first `config.bleu_samples` validation pairs (with `--ema` the runner swaps the average in
    first, so validation, BLEU and checkpoints see it), then score the test split (`score_test_split`).

    Args:
        translator: the recipe's `(model, tokenizers, config, beam_size=1) -> Translator`.

    Returns:
        The greedy translator, the beam translator (None unless `config.beam_size` > 1) and the test
        metrics with `train_target_tokens_per_epoch`.
    """
    from zoo.metrics.translation import TranslationScoreCallback

    greedy = translator(model, data.tokenizers, config)
    sample = data.validation_pairs[: config.bleu_samples]
    bleu = TranslationScoreCallback(greedy.translate_all, [s for s, _ in sample], [t for _, t in sample])
    run.fit(
        model.trainer, data.train, data.validation, monitor="val_bleu", mode="max", extra_callbacks=[bleu]
    )
    beam = translator(model, data.tokenizers, config, config.beam_size) if config.beam_size > 1 else None
    metrics = score_test_split(greedy, beam, data.test_pairs)
    metrics["train_target_tokens_per_epoch"] = data.train_target_tokens
    return greedy, beam, metrics


def score_test_split(
    greedy: Translator, beam: Translator | None, pairs, examples: int = 5
) -> dict[str, float]:
    """test_greedy_*, test_beam_* (if `beam`; see `translation_scores`), test_bleu and test_chrf (the
    beam's when there is one, one reference per pair) and test_pairs. Prints a few translations."""
    metrics, hypotheses = translation_scores(greedy, pairs, "test_greedy_")
    key = "greedy"
    if beam is not None:
        beam_metrics, hypotheses = translation_scores(beam, pairs, "test_beam_")
        metrics |= beam_metrics
        key = "beam"
    metrics |= {"test_bleu": metrics[f"test_{key}_bleu"], "test_chrf": metrics[f"test_{key}_chrf"]}
    metrics["test_pairs"] = len(pairs)
    print(f"\nTest translations ({key}; source | reference | ours):")
    for (source, reference), hypothesis in list(zip(pairs, hypotheses))[:examples]:
        print(f"  {source} | {reference} | {hypothesis}")
    return metrics


def export_translator(
    translator: Translator,
    data: TranslationData,
    output_dir,
    track,
    beam: Translator | None = None,
    config=None,
    metrics: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Everything a translation run deploys, each export checked before `deploy.json` marks it done:

    - `model.keras`: the teacher-forcing model, when `track` is the recipe's model.
    - `tokenizer.spm` (or `source.spm` and `target.spm`): the SentencePiece model(s).
    - `saved_model/1/`: strings in, strings out (outputs named `translation`). `serve` (also
      `serving_default`) decodes greedily with `translator`; `beam`, when given, is the beam search the
      test scores used (`test_bleu`). Loaded in a fresh Python process, each endpoint must translate
      exactly as in memory on real test sentences and on the edge cases of `edge_sources`
      (`zoo.export.verify_in_fresh_process`).
    - `model.tflite`: the whole greedy decoder with built-in ops only (`translator_tflite`). Run by
      LiteRT on 32 test sentences, a one-piece source, the longest source and an empty one, it must give
      the ids `translator` gives, the ones `serve` detokenises. Not written for a model computing in
      bfloat16 (`zoo.export.half_precision`); deploy.json then says why.
    - `deploy.json` (`zoo.export.write_manifest`): the exports' inputs and outputs, the tokenizer files,
      languages, special ids, each endpoint's decoder, the test scores each endpoint reproduces
      (`metrics`), and the checks' results.

    A difference, or a case an export fails on, raises `ExportMismatchError` naming the export and case.

    Args:
        translator: the greedy translator.
        data: the run's data (tokenizers, test sentences).
        output_dir: a `pathlib.Path`.
        track: the Keras models whose variables the translators use, or the recipe's model: its
            `encoder` and `decoder` are tracked and its `trainer` written to `model.keras`.
        beam: the beam-search translator the test scores, or None.
        config: the run's config (source and target languages) for deploy.json, or None.
        metrics: the run's test scores (`score_test_split`) for deploy.json, or None.

    Returns:
        `{"savedmodel_differing_translations": 0, "tflite_differing_translations": 0}` (any difference
        raises; without a TFLite file, the first only).
    """
    from zoo.export import Endpoint, export_keras, export_text_model

    if hasattr(track, "trainer"):
        export_keras(track.trainer, output_dir / "model.keras")
        track = [track.encoder, track.decoder]
    data.tokenizers.save(output_dir)
    sources = [source for source, _ in data.test_pairs[:64]]
    edges = edge_sources(sources, data.tokenizers.source, translator.max_length)
    spec = [tf.TensorSpec([None], tf.string, name="text")]
    endpoints = {"serve": Endpoint(translator.translate, spec, "translation")}
    if beam is not None:
        endpoints["beam"] = Endpoint(beam.translate, spec, "translation")
    tokenizers = {id(t): t for t in (data.tokenizers.source, data.tokenizers.target)}.values()
    cases = {"test sentences": sources, **edges}
    beam_cases = {"beam_cases": 16} if beam is not None else {}
    export_text_model(output_dir / "saved_model", endpoints, cases, [*track, *tokenizers], **beam_cases)
    verified = {"savedmodel_differing_translations": 0}
    tflite = _export_translator_tflite(translator, track, output_dir / "model.tflite", sources[:32], edges)
    if isinstance(tflite, dict):
        verified["tflite_differing_translations"] = 0
    _write_translation_manifest(output_dir, data, translator, beam, config, metrics, tflite, verified)
    return verified


def translator_tflite(translator: Translator) -> Callable:
    """`translator`'s greedy decoding as one function for a TFLite file: `source_ids` (1, max_length)
    int32, the source's pieces cut to `max_length` and padded with 0, -> `{"target_ids": (1, max_length)
    int32}`, 0 from the end token on (what `translator.ids` gives). The encoder, the `while` loop over
    the decoder step (TFLite's built-in `WHILE`, which stops once the end token is written) and the
    argmax are all inside (`zoo.decoding.TFLiteGreedySampler`)."""
    from zoo.decoding import TFLiteGreedySampler

    sampler = TFLiteGreedySampler()
    return lambda source_ids: {"target_ids": translator.decode(source_ids, sampler)}


def translate_with_tflite(output_dir, texts: Sequence[str]) -> list[str]:
    """Translations of `texts` by a run's `model.tflite`, done as a device does it: tokenise each text
    with the SentencePiece model beside it (`tokenizer.spm` or `source.spm`), cut to the file's length and
    pad with 0, run it with LiteRT, detokenise the ids before the first 0 (`target.spm`)."""
    import json

    import zoo.export

    folder = pathlib.Path(output_dir)
    tokenizer = json.loads((folder / "deploy.json").read_text(encoding="utf-8"))["tokenizer"]
    source, target = (
        keras_hub.tokenizers.SentencePieceTokenizer(proto=str(folder / tokenizer[side]))
        for side in ("source", "target")
    )
    interpreter = zoo.export.tflite_interpreter(folder / "model.tflite")
    (input_detail,), (output_detail,) = interpreter.get_input_details(), interpreter.get_output_details()
    length = int(input_detail["shape"][1])
    translations = []
    for text in texts:
        ids = np.zeros((1, length), np.int32)
        pieces = np.asarray(source.tokenize(text))[:length]
        ids[0, : len(pieces)] = pieces
        interpreter.set_tensor(input_detail["index"], ids)
        interpreter.invoke()
        output = interpreter.get_tensor(output_detail["index"])[0].tolist()
        output = output[: output.index(PAD_ID)] if PAD_ID in output else output
        translations.append(_text(np.asarray(target.detokenize([output]))[0]) if output else "")
    return translations


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _export_translator_tflite(translator, track, path, sources, edges) -> dict | str:
    """model.tflite, checked against `translator` (`export_translator`): its verified cases, or the
    reason it was not written."""
    import zoo.export

    length = translator.max_length
    words = list(dict.fromkeys(" ".join(sources).split()))[:200] or ["a"]
    pieces = np.sum(translator.source_ids(tf.constant(words)).numpy() > 0, axis=1)
    cases = {
        "test sentences": sources,
        "one_token": [words[int(np.argmin(pieces))]],  # a word of one piece, or of the fewest
        "longest": edges["longest"],  # max_length pieces once cut: the longest source the file takes
        "empty_text": [""],
    }
    inputs = {}
    for name, texts in cases.items():
        ids = translator.source_ids(tf.constant(texts)).numpy()
        inputs[name] = np.pad(ids, [[0, 0], [0, length - ids.shape[1]]])
    expected = {name: translator.ids(tf.constant(texts)).numpy() for name, texts in cases.items()}
    spec = [tf.TensorSpec([1, length], tf.int32, name="source_ids")]
    decode = translator_tflite(translator)
    return zoo.export.export_decoder_tflite(decode, path, spec, track, inputs, expected)


def _write_translation_manifest(output_dir, data, translator, beam, config, metrics, tflite, verified):
    import zoo.export

    tokenizer = "tokenizer.spm" if data.tokenizers.shared else None
    decoders, beam_search = {"serve": "greedy"}, None
    if beam is not None:
        alpha = beam.sampler.length_penalty
        beam_search = {"endpoint": "beam", "beam_size": beam.sampler.beam_size, "length_penalty": alpha}
        decoders["beam"] = (
            f"beam search, {beam.sampler.beam_size} beams, length penalty {alpha:g} (GNMT: the "
            f"log-probability divided by ((5 + length) / 6) ** {alpha:g})"
        )
    metrics = dict(metrics or {})
    reproduces = {
        "serve": {
            key: metrics[key]
            for key in ("test_greedy_bleu", "test_greedy_chrf", "test_pairs")
            if key in metrics
        },
        "beam": {key: metrics[key] for key in ("test_bleu", "test_chrf", "test_pairs") if key in metrics},
    }
    if isinstance(tflite, dict):
        tflite = {
            "model.tflite": (
                "greedy decoding, the whole loop inside: source_ids = the source's SentencePiece ids "
                f"(tokenizer, no start or end id) cut to max_length {translator.max_length} and padded with "
                "0 -> target_ids, 0 from the end id on: detokenise the ids before the first 0"
            ),
            "checked_on": tflite,
        }
    else:
        tflite = {"not_exported": tflite}
    facts = {
        "task": "translation",
        "source_language": getattr(config, "source", None),
        "target_language": getattr(config, "target", None),
        "tokenizer": {
            "kind": "SentencePiece",
            "source": tokenizer or "source.spm",
            "target": tokenizer or "target.spm",
        },
        "side_files": [tokenizer] if tokenizer else ["source.spm", "target.spm"],
        "special_ids": {"padding": PAD_ID, "unknown": UNK_ID, "start": START_ID, "end": END_ID},
        "max_length": translator.max_length,
        "decoders": decoders,
        "beam_search": beam_search,
        "reproduces": {name: scores for name, scores in reproduces.items() if name in decoders},
        "tflite": tflite,
    }
    facts = {name: value for name, value in facts.items() if value is not None}
    zoo.export.write_manifest(output_dir, **facts, verified=verified)


@dataclasses.dataclass
class PredictConfig(zoo.predict.PredictConfig):
    """`predict`'s flags for a translation run: `zoo.predict.PredictConfig`'s and `--beam`."""

    beam: int = flag(1, "1: greedy decoding (the serve endpoint); the run's beam size: its beam search")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.beam < 1:
            raise ValueError(f"--beam must be at least 1, got {self.beam}")


def answer(export: zoo.predict.Export, texts: list[str], options: PredictConfig) -> list[dict]:
    """`predict`: each text's translation by the run's SavedModel, greedy (`--beam 1`, the `serve`
    endpoint) or with the beam search the test scored (`--beam` its size, the `beam` endpoint). Another
    beam size is refused, naming the ones the run exported."""
    exported = (export.manifest.get("beam_search") or {}).get("beam_size")
    if options.beam not in (1, exported):
        sizes = "--beam 1 (greedy)" + (f" or --beam {exported} (beam search)" if exported else " only")
        raise ZooError(f"--beam {options.beam}: {export.folder} exports {sizes}")
    translations = export.call("serve" if options.beam == 1 else "beam", texts)
    return [
        {"text": text, "translation": _text(translation)} for text, translation in zip(texts, translations)
    ]


def edge_sources(sources: Sequence[str], tokenizer, max_length: int) -> dict[str, list[str]]:
    """The inputs a translation export must answer as the translator does, besides real sentences: a
    batch of one, one word, an empty text, an empty batch, and a text longer than `max_length` pieces
    (made of `sources`), which the translator cuts to its first `max_length` pieces."""
    longest = " ".join(sources) or "a"
    while int(tf.size(tokenizer.tokenize(longest))) <= max_length:
        longest = f"{longest} {longest}"
    return {
        "batch_of_one": list(sources[:1]),
        "one_word": [longest.split()[0]],
        "empty_text": [""],
        "empty_batch": [],
        "longest": [longest],
    }
