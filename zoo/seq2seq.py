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
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import keras_hub
import numpy as np
import tensorflow as tf

import zoo.io
import zoo.train
from zoo.config import TranslationConfig  # noqa: F401 (named here too)
from zoo.text.subword import END_ID, PAD_ID, START_ID, train_sentencepiece


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
    def train(cls, pairs: Sequence[tuple[str, str]], vocabulary_size: int) -> Seq2SeqTokenizers:
        sources, targets = zip(*pairs)
        joint = train_sentencepiece([*sources, *targets], vocabulary_size)
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


def teacher_forcing_dataset(
    pairs: Sequence[tuple[str, str]],
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
    """
    sources, targets = (list(side) for side in zip(*pairs))
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets)).batch(1024)
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
        dataset = dataset.shuffle(len(sources), seed=shuffle_seed, reshuffle_each_iteration=True)
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


class Translator:
    """Strings in, strings out: tokenise -> `encode` -> decode with `sampler` -> detokenise, one graph.

    Args:
        tokenizers: the source and target tokenizers.
        encode: `source_ids (B, S) int32 -> cache`, any nest of tensors with the batch first (encoder
            outputs, the decoder's initial state, the source mask). The sampler repeats it for the beams.
        next_token: keras-hub's sampler callback `next(prompt, cache, index) -> (logits, hidden, cache)`:
            the logits of the token at `index` given the prompt's tokens before it.
        sampler: `keras_hub.samplers.GreedySampler()` or `zoo.decoding.BeamSearch(...)`.
        max_length: longest source (longer ones are cut) and longest translation, in pieces.

    Call `translator(texts)` with a 1-D string tensor or a list of strings; it returns a 1-D string tensor.
    `translator.ids(texts)` returns the decoded target ids (B, max_length), 0 after the end token.
    """

    def __init__(
        self,
        tokenizers: Seq2SeqTokenizers,
        encode: Callable,
        next_token: Callable,
        sampler,
        max_length: int,
    ):
        self.tokenizers, self.encode, self.next_token = tokenizers, encode, next_token
        self.sampler, self.max_length = sampler, max_length
        spec = [tf.TensorSpec([None], tf.string, name="texts")]
        self.ids = tf.function(self._ids, input_signature=spec)
        self.source_ids = tf.function(self._source_ids, input_signature=spec)
        self.translate = tf.function(self._translate, input_signature=spec)

    def _source_ids(self, texts: tf.Tensor) -> tf.Tensor:
        ids = self.tokenizers.source(texts)[:, : self.max_length]
        return _pad_at_least_one(ids)

    def _ids(self, texts: tf.Tensor) -> tf.Tensor:
        cache = self.encode(self._source_ids(texts))
        batch = tf.shape(texts)[0]
        prompt = tf.concat(
            [tf.fill([batch, 1], START_ID), tf.zeros([batch, self.max_length], tf.int32)], axis=1
        )
        output = self.sampler(
            self.next_token,
            prompt=prompt,
            cache=cache,
            index=1,
            mask=tf.concat([tf.ones([batch, 1], tf.bool), tf.zeros([batch, self.max_length], tf.bool)], 1),
            stop_token_ids=[END_ID],
        )
        output = tf.cast(output[:, 1:], tf.int32)
        # Everything from the end token on becomes padding.
        finished = tf.cumsum(tf.cast(output == END_ID, tf.int32), axis=1) > 0
        return tf.where(finished, PAD_ID, output)

    def _translate(self, texts: tf.Tensor) -> tf.Tensor:
        ids = tf.RaggedTensor.from_tensor(self._ids(texts), padding=PAD_ID)
        return self.tokenizers.target.detokenize(ids)

    def __call__(self, texts) -> tf.Tensor:
        return self.translate(tf.constant(texts, tf.string))

    def translate_all(self, texts: Sequence[str], batch_size: int = 128) -> list[str]:
        """Python strings in batches (the graph is traced once)."""
        outputs = []
        for start in range(0, len(texts), batch_size):
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
    """Reads and splits the pairs (`zoo.data.load_translation`), turns them around when
    `config.source == "spa"`, trims train/test to `max_train_samples`/`max_test_samples`, learns the
    tokenizers on the training split and builds the teacher-forcing datasets.

    `config` needs: dataset, data_dir, seed, (skip_checksum,) source, max_train_samples, max_test_samples,
    vocabulary_size, batch_size, max_length (the translation recipes' Config)."""
    from zoo.data.translation import load_translation

    corpus = load_translation(
        config.dataset,
        config.data_dir,
        seed=config.seed,
        skip_checksum=getattr(config, "skip_checksum", False),
    )
    flip = config.source == "spa"
    splits = {
        name: [(spanish, english) if flip else (english, spanish) for english, spanish in pairs]
        for name, pairs in (("train", corpus.train), ("validation", corpus.validation), ("test", corpus.test))
    }
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


def export_translator(translator: Translator, data: TranslationData, output_dir, track) -> dict[str, float]:
    """saved_model/ with a `serve` (= `serving_default`) signature, strings -> strings, and the tokenizer
    proto(s) beside it. The SavedModel is loaded in a fresh Python process and must translate exactly as
    the in-memory translator does, on real test sentences and on the edge cases of `edge_sources`
    (`zoo.export.verify_in_fresh_process`): a difference, or a case the export fails on, raises
    `ExportMismatchError` naming the case.

    Args:
        translator: the (greedy) translator to export.
        data: the run's data (tokenizers, test sentences).
        output_dir: a `pathlib.Path`.
        track: the Keras models whose variables `translator` uses.

    Returns:
        `{"savedmodel_differing_translations": 0}` (any difference raises).
    """
    from zoo.export import export_saved_model, verify_in_fresh_process

    data.tokenizers.save(output_dir)
    sources = [source for source, _ in data.test_pairs[:64]]
    cases = {
        "test sentences": sources,
        **edge_sources(sources, data.tokenizers.source, translator.max_length),
    }
    expected = {name: translator(texts).numpy() for name, texts in cases.items()}
    path = export_saved_model(
        translator.translate,
        output_dir / "saved_model",
        [tf.TensorSpec([None], tf.string, name="text")],
        output_name="translation",
        track=[*track, *{id(t): t for t in (data.tokenizers.source, data.tokenizers.target)}.values()],
    )
    verify_in_fresh_process(path, cases, expected)
    return {"savedmodel_differing_translations": 0}


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
