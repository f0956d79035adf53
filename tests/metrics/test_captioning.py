"""BLEU-1..4 with several references per image: equal to NLTK's corpus_bleu (an independent implementation)
and to sacrebleu's, on generated captions and on Flickr8k's own (one human caption scored against the other
four); the exact-caption rate and the validation callback."""

from __future__ import annotations

import doctest
import random

import pytest
import sacrebleu
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

import zoo.data
import zoo.metrics.captioning
from zoo.captioning import normalize_caption
from zoo.metrics import CaptionScoreCallback, bleu_n, caption_scores, exact_match_rate

WORDS = "a an the dog dogs man woman child runs running jumps in on through grass water snow red ball".split()


def nltk_bleu(hypotheses, references, n):
    """NLTK's corpus BLEU-n (uniform weights, no smoothing, closest reference length), on 0-100.

    NLTK counts a hypothesis of fewer than n words as one unmatched n-gram (its denominator is
    `max(1, count)`); sacrebleu and the COCO caption evaluation count none. The comparisons below use
    hypotheses of at least 4 words, where the two definitions agree."""
    tokens = [[reference.split() for reference in options] for options in references]
    return 100 * nltk_corpus_bleu(
        tokens, [hypothesis.split() for hypothesis in hypotheses], weights=(1 / n,) * n
    )


def generated_corpus(seed=0, images=200):
    """Captions of 3-12 words with 1-5 references per image; hypotheses share some words and n-grams with
    them, some are shorter or longer than every reference."""
    rng = random.Random(seed)
    hypotheses, references = [], []
    for _ in range(images):
        base = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
        options = []
        for _ in range(rng.randint(1, 5)):
            words = [word if rng.random() < 0.7 else rng.choice(WORDS) for word in base]
            options.append(" ".join(words[: rng.randint(max(2, len(words) - 3), len(words))]))
        hypothesis = [word if rng.random() < 0.6 else rng.choice(WORDS) for word in base]
        hypotheses.append(" ".join(hypothesis[: rng.randint(4, len(hypothesis))]))
        references.append(options)
    return hypotheses, references


@pytest.mark.filterwarnings("ignore::UserWarning")  # NLTK warns when an order has no match
def test_bleu_n_equals_nltk_and_sacrebleu_with_several_references():
    for seed in range(3):
        hypotheses, references = generated_corpus(seed)
        for n in (1, 2, 3, 4):
            expected = nltk_bleu(hypotheses, references, n)
            assert 1 < expected < 95  # partly right, so the comparison means something
            assert bleu_n(hypotheses, references, n) == pytest.approx(expected, abs=1e-9)
            streams = [[options[k] if k < len(options) else None for options in references] for k in range(5)]
            sacre = sacrebleu.metrics.BLEU(max_ngram_order=n, smooth_method="none", tokenize="none")
            assert bleu_n(hypotheses, references, n) == pytest.approx(
                sacre.corpus_score(hypotheses, streams).score, abs=1e-9
            )
    # No 4-gram in common: 0 without smoothing, as NLTK (up to its 1e-76) and the COCO evaluation.
    assert bleu_n(["a dog runs on"], [["a dog runs in grass"]], 4) == 0.0
    assert nltk_bleu(["a dog runs on"], [["a dog runs in grass"]], 4) < 1e-60
    assert bleu_n(["x y z"], ["x y z"], 3) == pytest.approx(100.0)
    # The one difference: NLTK counts a 2-word hypothesis as one unmatched trigram and 4-gram.
    assert bleu_n(["a dog", "a dog runs fast"], ["a dog", "a dog runs fast"], 4) == pytest.approx(100.0)
    assert nltk_bleu(["a dog", "a dog runs fast"], ["a dog", "a dog runs fast"], 4) < 80


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bleu_n_equals_nltk_on_flickr8k_captions(shared_data):
    """Each validation image's fifth caption scored against its first four: human agreement."""
    splits = zoo.data.read_flickr8k(shared_data("flickr8k"))
    captions = [[normalize_caption(caption) for caption in options] for options in splits.validation.captions]
    pairs = [(options[4], options[:4]) for options in captions if len(options[4].split()) >= 4]
    hypotheses, references = [hypothesis for hypothesis, _ in pairs], [options for _, options in pairs]
    assert len(pairs) > 80
    for n in (1, 2, 3, 4):
        assert bleu_n(hypotheses, references, n) == pytest.approx(
            nltk_bleu(hypotheses, references, n), abs=1e-9
        )
    scores = caption_scores(hypotheses, references)
    assert (
        50 < scores["bleu1"] < 90
        and 5 < scores["bleu4"] < scores["bleu3"] < scores["bleu2"] < scores["bleu1"]
    )


def test_exact_match_rate_and_bad_input():
    assert exact_match_rate(["one two", "three", "four"], [["two one", "one two"], "three", "five"]) == 2 / 3
    assert caption_scores(["one two"], ["one two"])["exact"] == 1.0
    with pytest.raises(ValueError, match="n must be an integer from 1 to 4"):
        bleu_n(["a"], ["a"], 5)
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        bleu_n(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="needs at least one reference"):
        caption_scores(["a"], [[]])


def test_callback_writes_the_scores_into_the_logs(capsys):
    callback = CaptionScoreCallback(lambda: [b"seven two", b"one"], [["seven two"], ["one one", "one"]])
    logs = {"loss": 1.0}
    callback.on_epoch_end(0, logs)
    assert logs["val_exact"] == 1.0 and logs["val_bleu1"] == pytest.approx(100.0)
    assert set(logs) == {"loss", "val_bleu1", "val_bleu2", "val_bleu3", "val_bleu4", "val_exact"}
    assert "'seven two'  (reference: 'seven two')" in capsys.readouterr().out
    with pytest.raises(ValueError, match="returned 1 captions for 2 images"):
        CaptionScoreCallback(lambda: ["a"], ["a", "b"]).evaluate()


def test_docstring_examples_run():
    assert doctest.testmod(zoo.metrics.captioning).failed == 0
