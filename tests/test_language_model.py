"""The n-gram count models the character LM is measured against: a hand-computed unigram, an independent
dictionary-based Kneser-Ney, normalised distributions, the entropy they reach with nothing to smooth, the
order they rank in on real text, finite costs for unseen characters, and the stretches a language model
reads (in memory, in blocks and streamed from disk)."""

from __future__ import annotations

import collections
import functools
import math

import numpy as np
import pytest

import zoo.language_model as lm
from zoo.data import characters
from zoo.metrics.information import entropy

LEE = characters.load_characters()  # the recipe's default corpus, gensim's Lee news stories


def test_unigram_bits_by_hand():
    """Train "aab": counts a 2, b 1, so n1 = n2 = 1 and D = 1/3; three outcomes (a, b, unknown) at level
    0. p(a) = (2 - 1/3 + 1/3 * 2 * 1/3) / 3 = 17/27, p(b) = 8/27, p(c, unseen) = 2/27. The first
    validation character is given, the other three scored."""
    expected = -(math.log2(17 / 27) + math.log2(8 / 27) + math.log2(2 / 27)) / 3
    assert lm.ngram_bits("aab", "babc", orders=(1,))[1] == pytest.approx(expected, abs=1e-12)


def reference_bits(train: str, validation: str, order: int) -> float:
    """Interpolated Kneser-Ney as its formula reads, with Counters and recursion over strings."""
    outcomes = len(set(train)) + 1

    def table(k: int) -> collections.Counter:
        grams = collections.Counter(train[i : i + k] for i in range(len(train) - k + 1))
        if k == order:
            return grams
        longer = {train[i : i + k + 1] for i in range(len(train) - k)}
        return collections.Counter(gram[1:] for gram in longer)

    tables = {k: table(k) for k in range(1, order + 1)}

    def discount(counts: collections.Counter) -> float:
        ones, twos = sum(c == 1 for c in counts.values()), sum(c == 2 for c in counts.values())
        return ones / (ones + 2 * twos) if ones else 0.5

    discounts = {k: discount(tables[k]) for k in tables}

    def probability(history: str, character: str) -> float:
        k = len(history) + 1
        lower = probability(history[1:], character) if history else 1.0 / outcomes
        counts = {gram: c for gram, c in tables[k].items() if gram[:-1] == history}
        total = sum(counts.values())
        if not total:
            return lower
        d = discounts[k]
        return (max(counts.get(history + character, 0) - d, 0) + d * len(counts) * lower) / total

    bits = [
        -math.log2(probability(validation[max(0, t - order + 1) : t], validation[t]))
        for t in range(1, len(validation))
    ]
    return sum(bits) / len(bits)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_matches_a_dictionary_kneser_ney(order):
    train, validation = LEE.train[:3000], LEE.validation[:400] + "\u00e9~"  # two characters never seen
    assert lm.ngram_bits(train, validation, orders=(order,))[order] == pytest.approx(
        reference_bits(train, validation, order), rel=1e-10
    )


def test_each_history_gives_a_distribution():
    """p(w | h) over the training characters and the unknown one sums to 1, for a seen history, a seen
    character after an unseen one, and an unseen history. Scoring h alone gives p(h[1] | h[0]); scoring
    h + w adds p(w | h)."""
    train = LEE.train[:20_000]
    outcomes = sorted(set(train)) + ["\u00e9"]
    for history in ["th", "\u00e9e", "q\u00e9", "zq"]:
        first = lm.ngram_bits(train, history, orders=(3,))[3]
        total = sum(2 ** -(2 * lm.ngram_bits(train, history + w, orders=(3,))[3] - first) for w in outcomes)
        assert total == pytest.approx(1.0, abs=1e-9), history


def test_unigram_bits_are_the_entropy_when_smoothing_is_negligible():
    """Scored on its own training text, a unigram model pays the entropy of the character frequencies:
    its discount moves a few counts out of 360,000."""
    text = LEE.train + LEE.validation
    frequencies = list(collections.Counter(text[1:]).values())
    assert lm.ngram_bits(text, text, orders=(1,))[1] == pytest.approx(entropy(frequencies), abs=1e-3)


def test_longer_histories_cost_fewer_bits_on_real_text():
    bits = lm.ngram_bits(LEE.train, LEE.validation)
    assert 4.2 < bits[1] < 4.7  # English with capitals and punctuation
    assert bits[1] - 0.5 > bits[2] > bits[3] + 0.4
    assert bits[3] < 3.2


def test_unseen_characters_cost_finite_bits():
    train = "abba cab " * 50
    seen = lm.ngram_bits(train, "abc abc abc")
    unseen = lm.ngram_bits(train, "abc xyz \u00e9\u00e9\u00e9")
    assert all(np.isfinite(value) for value in unseen.values())
    assert all(unseen[order] > seen[order] + 1.0 for order in (1, 2, 3))


def test_spans_are_read_each_from_a_blank_history():
    """Two stretches give the mean of their bits read alone (each stretch's first character is given),
    whether they share a character or not; longer histories never cross a stretch's start."""
    train, validation = LEE.train[:50_000], LEE.validation[:2000]
    for first, second in [((0, 1000), (1000, 2000)), ((0, 1000), (999, 2000)), ((10, 500), (700, 1900))]:
        joint = lm.ngram_bits(train, validation, spans=[first, second])
        alone = [lm.ngram_bits(train, validation[start:stop]) for start, stop in (first, second)]
        weights = [first[1] - first[0] - 1, second[1] - second[0] - 1]
        for order in (1, 2, 3):
            expected = np.average([bits[order] for bits in alone], weights=weights)
            assert joint[order] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="in order"):
        lm.ngram_bits(train, validation, spans=[(0, 1000), (998, 2000)])
    with pytest.raises(ValueError, match="2 or more"):
        lm.ngram_bits(train, validation, spans=[(0, 2001)])


def test_blocks_and_streams_give_the_bits_of_arrays(tmp_path, monkeypatch):
    """Counting and scoring in blocks (as a `CharacterStream` is read) carry the n-grams across block
    edges: blocks of 7 ids, and the same text streamed from disk, give the in-memory bits."""
    text = LEE.train[:20_000]
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    corpus = characters.scan_characters(path)
    vocabulary = characters.character_vocabulary(text[: len(corpus.train)])
    train_ids = characters.encode(text[: len(corpus.train)], vocabulary)
    validation_ids = characters.encode(text[len(corpus.train) :], vocabulary)
    spans = characters.bptt_spans(len(validation_ids), 4, 50)
    whole = lm.ngram_bits(train_ids, validation_ids, spans=spans)
    monkeypatch.setattr(lm, "_id_blocks", functools.partial(lm._id_blocks, size=7))
    assert lm.ngram_bits(train_ids, validation_ids, spans=spans) == pytest.approx(whole, rel=1e-12)
    assert lm.ngram_bits(corpus.train, corpus.validation, spans=spans) == pytest.approx(whole, rel=1e-12)


def test_print_ngram_split_returns_the_model_saving(capsys):
    metrics = lm.print_ngram_split(LEE.train, LEE.validation, None, model_bits=2.5)
    bits = lm.ngram_bits(LEE.train, LEE.validation)
    for order, name in [(1, "unigram"), (2, "bigram"), (3, "trigram")]:
        assert metrics[f"val_{name}_bits_per_char"] == bits[order]
        assert metrics[f"val_bits_saved_over_{name}"] == pytest.approx(bits[order] - 2.5)
    assert f"| trigram (Kneser-Ney) | {bits[3]:.3f} |" in capsys.readouterr().out
