"""BLEU-1 to BLEU-4 of generated captions against every reference of each image, and a callback.

Captioning papers (Show, Attend and Tell; the COCO caption evaluation) report BLEU-n for n = 1..4: corpus
BLEU with n-gram orders 1 to n weighted equally, several references per image (five in Flickr8k and
COCO), the brevity penalty from the reference length closest to each hypothesis, and no smoothing, on
lower-cased captions stripped of punctuation. `bleu_n` is sacrebleu's corpus BLEU with
`max_ngram_order=n`, `smooth_method="none"` and `tokenize="none"` (captions are split on whitespace, so
normalise them first, as the COCO evaluation's PTB tokenizer does); `tests/metrics/test_captioning.py`
checks it against NLTK's `corpus_bleu`, an independent implementation. The scale is sacrebleu's, 0-100.

- `bleu_n(hypotheses, references, n)`: one number.
- `caption_scores(hypotheses, references)`: `bleu1` .. `bleu4` and `exact`, the share of captions equal
  to one of their image's references (the goal on the digit strips, where a caption is right or wrong).
- `CaptionScoreCallback`: a `ScoreCallback` that captions a fixed validation sample after every epoch and
  writes those scores into the epoch's logs as `val_bleu1` .. `val_bleu4`, `val_exact`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sacrebleu

from zoo.metrics.score_callback import ScoreCallback
from zoo.metrics.translation import References, _as_strings, _reference_streams

MAX_ORDER = 4


def bleu_n(hypotheses: Sequence[str], references: References, n: int = 4) -> float:
    """Corpus BLEU-n on a 0-100 scale: n-gram precisions of orders 1..n, geometric mean, brevity penalty.

    Exactly sacrebleu's `BLEU(max_ngram_order=n, smooth_method="none", tokenize="none")`: counts are
    summed over the corpus, an n-gram counts as often as the reference using it most often allows (clipped
    counts), and the brevity penalty compares the hypotheses' length with the sum of each hypothesis's
    closest reference length (the shorter on a tie). Without smoothing a corpus with no matching n-gram
    of some order scores 0.

    Args:
        hypotheses: generated captions, one per image, words separated by spaces.
        references: per image, one reference caption or a list of them (any number, e.g. five).
        n: the highest n-gram order, 1 to 4 (BLEU-4 is the usual "BLEU").

    Returns:
        BLEU-n in [0, 100].

    Raises:
        ValueError: `n` outside 1-4, no hypotheses, counts that differ, an image without references, or
            non-strings.

    Example:

    >>> from zoo.metrics import bleu_n
    >>> references = [["a dog runs on the grass", "a brown dog is running"]]
    >>> [round(bleu_n(["a dog is running"], references, n), 2) for n in (1, 2, 3, 4)]
    [77.88, 77.88, 61.81, 0.0]

    Every word and bigram is in a reference, but 4 words are shorter than the closest reference (5 words):
    brevity penalty exp(1 - 5/4) = 0.78. No reference holds the 4-gram, so BLEU-4 is 0.
    """
    if not isinstance(n, int) or not 1 <= n <= MAX_ORDER:
        raise ValueError(f"n must be an integer from 1 to {MAX_ORDER}, got {n!r}")
    streams = _reference_streams(hypotheses, references)
    bleu = sacrebleu.metrics.BLEU(max_ngram_order=n, smooth_method="none", tokenize="none")
    return float(bleu.corpus_score(list(hypotheses), streams).score)


def exact_match_rate(hypotheses: Sequence[str], references: References) -> float:
    """The share of hypotheses equal to one of their references (after collapsing runs of spaces).

    Example:

    >>> from zoo.metrics import exact_match_rate
    >>> exact_match_rate(["seven two", "one one"], ["seven two", ["one", "one  one"]])
    1.0
    """
    _reference_streams(hypotheses, references)
    matches = 0
    for hypothesis, options in zip(hypotheses, references):
        options = [options] if isinstance(options, str) else options
        matches += " ".join(hypothesis.split()) in {" ".join(option.split()) for option in options}
    return matches / len(hypotheses)


def caption_scores(hypotheses: Sequence[str], references: References) -> dict[str, float]:
    """`bleu1` .. `bleu4` (`bleu_n`, 0-100) and `exact` (`exact_match_rate`, 0-1).

    Example:

    >>> from zoo.metrics import caption_scores
    >>> scores = caption_scores(["a dog is running"], [["a dog runs", "a dog is running"]])
    >>> round(scores["bleu4"], 2), scores["exact"]
    (100.0, 1.0)
    """
    scores = {f"bleu{n}": bleu_n(hypotheses, references, n) for n in range(1, MAX_ORDER + 1)}
    return scores | {"exact": exact_match_rate(hypotheses, references)}


class CaptionScoreCallback(ScoreCallback):
    """Captions a fixed validation sample after every epoch and adds BLEU-1..4 and the exact rate to logs.

    A `ScoreCallback` whose score is `caption()` called once and scored against `references` with
    `caption_scores`: it writes `{prefix}bleu1` .. `{prefix}bleu4` and `{prefix}exact` into the epoch's
    `logs`, where checkpoints, early stopping, history.csv and TensorBoard read them, and prints the first
    `examples` captions with their first reference. Pass it in `zoo.train.Run.fit`'s `extra_callbacks`
    (they run before the runner's own) and monitor, say, `val_bleu4` with `mode="max"`.

    Args:
        caption: function of no arguments returning the captions of the sample's images, in order (a list
            of str, or an array/tensor of UTF-8 bytes).
        references: per image, one reference caption or a list of them.
        prefix: put before the names written to the logs. Defaults to `"val_"`.
        examples: captions printed after each epoch with their first reference; 0 prints none.
        every: caption every `every`-th epoch (and the first and last of a `fit`; `ScoreCallback`).
            Defaults to 1.

    Example:

    ```python
    scores = zoo.metrics.CaptionScoreCallback(lambda: captioner.caption_all(images), references)
    run.fit(model, train, validation, monitor="val_bleu4", mode="max", extra_callbacks=[scores])
    ```
    """

    def __init__(
        self,
        caption: Callable[[], object],
        references: References,
        prefix: str = "val_",
        examples: int = 3,
        every: int = 1,
    ):
        super().__init__(self._caption_and_score, prefix=prefix, every=every, examples=examples)
        self.caption = caption
        self.references = list(references)
        self.captions: list[str] = []

    @property
    def scores(self) -> dict[str, float]:
        """The last scores written into the logs: `{prefix}bleu1` .. `{prefix}bleu4`, `{prefix}exact`."""
        return self.logged

    def evaluate(self) -> dict[str, float]:
        """Caption and score the sample once (what every epoch end does)."""
        return self._evaluate()[0]

    def _caption_and_score(self) -> tuple[dict[str, float], list[str]]:
        captions = _as_strings(self.caption())
        if len(captions) != len(self.references):
            raise ValueError(f"caption() returned {len(captions)} captions for {len(self.references)} images")
        self.captions = captions
        shown = [
            f"  {caption!r}  (reference: {options if isinstance(options, str) else options[0]!r})"
            for caption, options in zip(captions, self.references)
        ]
        return caption_scores(captions, self.references), shown
