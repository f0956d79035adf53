"""Corpus BLEU and chrF of detokenised translations, as sacrebleu computes them, and a callback.

Translation papers report sacrebleu's numbers: corpus BLEU with its `13a` tokenizer, case-sensitive,
`exp` smoothing, the closest reference length for the brevity penalty, on detokenised text; and chrF
(character 6-grams, beta 2). Both functions here call sacrebleu (`sacrebleu.metrics.BLEU` and
`sacrebleu.metrics.CHRF` with their defaults), so the values are sacrebleu's by construction, on the
same 0-100 scale.

Why not `keras_hub.metrics.Bleu` (keras-hub 0.32)? It agrees with sacrebleu on a corpus with one
reference per sentence and matches at every n-gram order (0.000 apart on 300 spa-eng lines), but not in
general: (1) with several references it takes the shortest reference length for the brevity penalty,
sacrebleu the closest to the hypothesis (72.90 vs 84.09 on a two-reference case); (2) it has no `exp`
smoothing, so a sample without a matching 4-gram scores 0 instead of sacrebleu's positive value
(46.71 vs 0.0), which is the usual state of an early-epoch validation sample; (3) its 13a tokenizer does
not pad the line with spaces, so `.5` at the start of a line stays one token; (4) all-empty hypotheses
divide by zero (a NumPy warning). Passing sacrebleu's tokenizer as its `tokenizer` fixes only (3).
`tests/metrics/test_translation.py` checks each of these, so a keras-hub release that fixes them shows up.

- `corpus_bleu(hypotheses, references)`, `corpus_chrf(hypotheses, references)`: one number each.
- `TranslationScoreCallback`: a `ScoreCallback` that translates a fixed validation sample at every epoch
  end and writes `val_bleu` and `val_chrf` into the epoch's `logs`, like a compiled metric.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sacrebleu

from zoo.metrics.score_callback import ScoreCallback

References = Sequence[str] | Sequence[Sequence[str]]


def _reference_streams(hypotheses: Sequence[str], references: References) -> list[list[str | None]]:
    """Per-hypothesis references -> sacrebleu's reference streams (one list per reference position,
    `None` where a hypothesis has fewer references than others)."""
    hypotheses = list(hypotheses)
    if not hypotheses:
        raise ValueError("no hypotheses to score")
    if any(not isinstance(hypothesis, str) for hypothesis in hypotheses):
        raise ValueError("hypotheses must be strings (decode bytes and detokenise first)")
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    per_hypothesis = [
        [reference] if isinstance(reference, str) else list(reference) for reference in references
    ]
    for position, options in enumerate(per_hypothesis):
        if not options or any(not isinstance(reference, str) for reference in options):
            raise ValueError(
                f"hypothesis {position} needs at least one reference, and references are strings"
            )
    count = max(map(len, per_hypothesis))
    return [[options[k] if k < len(options) else None for options in per_hypothesis] for k in range(count)]


def corpus_bleu(hypotheses: Sequence[str], references: References) -> float:
    """Corpus BLEU on a 0-100 scale, exactly sacrebleu's default (`13a` tokenizer, `exp` smoothing,
    case-sensitive, closest reference length).

    Scores are computed on the whole corpus at once (n-gram counts summed over sentences), which is not
    the mean of sentence scores.

    Args:
        hypotheses: the system's translations, detokenised text, one string per sentence.
        references: per hypothesis, either one reference string or a list of reference strings (the
            count may vary between sentences).

    Returns:
        BLEU in [0, 100]; 100 when every hypothesis equals a reference, 0 for empty hypotheses.

    Raises:
        ValueError: no hypotheses, counts that differ, a sentence without reference, or non-strings.

    Example:

    >>> from zoo.metrics import corpus_bleu
    >>> round(corpus_bleu(["the cat sat on a mat"], ["the cat sat on the mat"]), 2)
    53.73
    >>> # n-grams may match either reference: "the cat sat on" the first, "sat on a mat" the second.
    >>> round(corpus_bleu(["the cat sat on a mat"], [["the cat sat on the mat", "a cat sat on a mat"]]), 2)
    100.0
    """
    streams = _reference_streams(hypotheses, references)
    return float(sacrebleu.metrics.BLEU().corpus_score(list(hypotheses), streams).score)


def corpus_chrf(hypotheses: Sequence[str], references: References, word_order: int = 0) -> float:
    """Corpus chrF on a 0-100 scale, exactly sacrebleu's (character n-grams up to 6, beta 2).

    chrF rewards partly right words (a wrong inflection still shares most characters), so it moves
    earlier in training than BLEU and is steadier on small samples.

    Args:
        hypotheses: the system's translations, detokenised text.
        references: per hypothesis, one reference string or a list of them.
        word_order: 0 for chrF; 2 for chrF++ (adds word unigrams and bigrams).

    Returns:
        chrF in [0, 100].

    Raises:
        ValueError: as `corpus_bleu`.

    Example:

    >>> from zoo.metrics import corpus_chrf
    >>> round(corpus_chrf(["the cats sat"], ["the cat sat"]), 2)
    74.78
    """
    streams = _reference_streams(hypotheses, references)
    return float(sacrebleu.metrics.CHRF(word_order=word_order).corpus_score(list(hypotheses), streams).score)


def _as_strings(translations: Any) -> list[str]:
    """A list of str from a list, array or string tensor (bytes are read as UTF-8)."""
    if hasattr(translations, "numpy"):
        translations = translations.numpy()
    values = np.asarray(translations, dtype=object).reshape(-1).tolist()
    return [value.decode("utf-8") if isinstance(value, bytes) else value for value in values]


class TranslationScoreCallback(ScoreCallback):
    """Translates a fixed validation sample after every epoch and adds BLEU and chrF to the logs.

    A `ScoreCallback` whose score is `translate(sources)` called once and scored against `references`
    with `corpus_bleu` and `corpus_chrf`: it writes `{prefix}bleu` and `{prefix}chrf` (0-100) into the
    epoch's `logs` and prints the first `examples` sources with their references and translations. The
    last translations and scores are kept in `self.translations` and `self.scores`.

    Pass it in `zoo.train.Run.fit`'s `extra_callbacks` (they run before the runner's own) and monitor
    `val_bleu` with `mode="max"`. Decoding is slow next to a validation pass: keep the sample to a few
    hundred sentences (the scores of a corpus that small move by a few points between epochs on noise
    alone; report test-set scores from the full test set), or score every few epochs with `every`.

    Args:
        translate: function from a list of source sentences to a list of detokenised translations (a list
            of str, or an array/tensor of UTF-8 bytes), e.g. tokenise -> `BeamSearch` -> detokenise.
        sources: the source sentences of the validation sample.
        references: per source, one reference translation or a list of them.
        prefix: put before the names written to the logs. Defaults to `"val_"`.
        examples: how many translations to print after each epoch; 0 prints none. Defaults to 3.
        every: translate every `every`-th epoch (and the first and last of a `fit`; `ScoreCallback`).
            Defaults to 1.

    Example:

    ```python
    scorer = zoo.metrics.TranslationScoreCallback(translate, sources[:200], references[:200])
    run.fit(model, train, validation, monitor="val_bleu", mode="max", extra_callbacks=[scorer])
    ```
    """

    def __init__(
        self,
        translate: Callable[[list[str]], Any],
        sources: Sequence[str],
        references: References,
        prefix: str = "val_",
        examples: int = 3,
        every: int = 1,
    ):
        super().__init__(self._translate_and_score, prefix=prefix, every=every, examples=examples)
        self.sources = list(sources)
        _reference_streams(self.sources, references)  # bad references fail here, not after an epoch
        self.translate = translate
        self.references = list(references)
        self.translations: list[str] = []

    @property
    def scores(self) -> dict[str, float]:
        """The last scores written into the logs: `{prefix}bleu` and `{prefix}chrf`."""
        return self.logged

    def evaluate(self) -> dict[str, float]:
        """Translate and score the sample once (what every epoch end does).

        Returns:
            `{prefix}bleu` and `{prefix}chrf`.

        Raises:
            ValueError: `translate` returned a different number of translations than sources.
        """
        return self._evaluate()[0]

    def _translate_and_score(self) -> tuple[dict[str, float], list[str]]:
        translations = _as_strings(self.translate(self.sources))
        if len(translations) != len(self.sources):
            raise ValueError(
                f"translate returned {len(translations)} translations for {len(self.sources)} sources"
            )
        self.translations = translations
        shown = [
            f"  source:      {source}\n"
            f"  reference:   {reference if isinstance(reference, str) else reference[0]}\n"
            f"  translation: {translation}"
            for source, reference, translation in zip(self.sources, self.references, translations)
        ]
        scores = {"bleu": corpus_bleu(translations, self.references)}
        return scores | {"chrf": corpus_chrf(translations, self.references)}, shown
