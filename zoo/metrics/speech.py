"""Character and word error rates of transcripts (edit distance), and a callback that logs them each epoch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from zoo.metrics.score_callback import ScoreCallback


def _corpus_error_rate(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Sum of token edit distances over sum of reference lengths (`tf.edit_distance`, Levenshtein)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    total = sum(map(len, references))
    if total == 0:
        raise ValueError("the references hold no tokens: an error rate needs a reference to count against")
    truth = tf.ragged.constant(references, dtype=tf.string, ragged_rank=1).to_sparse()
    guess = tf.ragged.constant(hypotheses, dtype=tf.string, ragged_rank=1).to_sparse()
    distances = tf.edit_distance(guess, truth, normalize=False)
    return float(tf.reduce_sum(distances).numpy()) / total


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """Corpus character and word error rates, as speech recognition papers and `jiwer` compute them.

    WER is the number of word substitutions, deletions and insertions needed to turn every hypothesis
    into its reference (Levenshtein distance over words split at whitespace), summed over the corpus and
    divided by the number of reference words; CER is the same over the characters of each stripped
    transcript, spaces included. Both can exceed 1 when hypotheses insert a lot.

    Args:
        references: the true transcripts.
        hypotheses: the model's transcripts, in the same order.

    Returns:
        `{"cer": ..., "wer": ...}`.

    Raises:
        ValueError: different numbers of references and hypotheses, or references with no words at all.

    Example:

    >>> from zoo.metrics import error_rates
    >>> error_rates(["three one four"], ["three one for"])
    {'cer': 0.07142857142857142, 'wer': 0.3333333333333333}
    """
    return {
        "cer": _corpus_error_rate(
            [list(text.strip()) for text in references], [list(text.strip()) for text in hypotheses]
        ),
        "wer": _corpus_error_rate(
            [text.split() for text in references], [text.split() for text in hypotheses]
        ),
    }


class TranscriptionCallback(ScoreCallback):
    """Transcribes the validation set after every epoch and logs its CER and WER like Keras metrics.

    A `ScoreCallback` whose score is `transcribe` called on every batch of `inputs` and scored against
    `references` with `error_rates`: it writes `{prefix}cer` and `{prefix}wer` into the epoch's logs (so
    early stopping, checkpoints, history.csv and TensorBoard see them; put this callback before them, as
    `zoo.train.Run.fit` does with `extra_callbacks`, and monitor with `mode="min"`) and prints a few
    transcripts beside their references.

    Args:
        inputs: re-iterable batches of model inputs (a `tf.data.Dataset` of inputs only, in the order of
            `references`).
        transcribe: a batch of inputs -> transcripts (strings, bytes or a string tensor), e.g. a
            model ending in `zoo.layers.CTCTranscriber`.
        references: the true transcript of every utterance, in dataset order.
        prefix: put before the names written to the logs. Defaults to `"val_"`.
        examples: transcripts printed after each epoch. Defaults to 3; 0 prints none.
        every: transcribe every `every`-th epoch (and the first and last of a `fit`; `ScoreCallback`).
            Defaults to 1.
    """

    def __init__(
        self,
        inputs,
        transcribe: Callable[[object], Sequence[str | bytes]],
        references: Sequence[str],
        prefix: str = "val_",
        examples: int = 3,
        every: int = 1,
    ):
        super().__init__(self._transcribe_and_score, prefix, every, examples, headline=False)
        self.inputs = inputs
        self.transcribe = transcribe
        self.references = list(references)

    def transcripts(self) -> list[str]:
        """Transcribe every validation utterance once, in dataset order."""
        texts = []
        for batch in self.inputs:
            batch_texts = self.transcribe(batch)
            if hasattr(batch_texts, "numpy"):  # a tf.string tensor (what CTCTranscriber returns)
                batch_texts = batch_texts.numpy()
            for text in batch_texts:
                texts.append(text.decode("utf-8") if isinstance(text, bytes) else str(text))
        if len(texts) != len(self.references):
            raise ValueError(f"transcribed {len(texts)} utterances for {len(self.references)} references")
        return texts

    def _transcribe_and_score(self) -> tuple[dict[str, float], list[str]]:
        hypotheses = self.transcripts()
        shown = [f"    {truth!r} -> {guess!r}" for truth, guess in zip(self.references, hypotheses)]
        return error_rates(self.references, hypotheses), shown
