"""zoo.embeddings: the training pairs, subsampling and noise distribution against hand-worked cases and
gensim's own numbers, the blocks' hand-written gradient, and the corpus readers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.data.corpora
import zoo.embeddings
from zoo.errors import DataFormatError

# Word ids 10..15; the first four are one sentence, the last two another.
TOKENS = [10, 11, 12, 13, 14, 15]
SENTENCES = [0, 0, 0, 0, 1, 1]


@pytest.mark.parametrize("block", [1, 3, 8])
def test_skipgram_pairs_match_a_hand_worked_example(block):
    pairs = zoo.embeddings.skipgram_pairs(TOKENS, SENTENCES, windows=[2] * 6, window=2, block=block)
    expected = [
        (10, 11), (10, 12),
        (11, 10), (11, 12), (11, 13),
        (12, 10), (12, 11), (12, 13),
        (13, 11), (13, 12),  # 14 is two away but in the next sentence
        (14, 15),
        (15, 14),
    ]  # fmt: skip
    assert [tuple(pair) for pair in pairs] == expected


def test_each_centre_uses_its_own_window():
    pairs = zoo.embeddings.skipgram_pairs(TOKENS, SENTENCES, windows=[1, 2, 1, 1, 2, 1], window=2, block=2)
    expected = [(10, 11), (11, 10), (11, 12), (11, 13), (12, 11), (12, 13), (13, 12), (14, 15), (15, 14)]
    assert [tuple(pair) for pair in pairs] == expected


def test_subsampling_off_keeps_every_token_and_drops_padding():
    keep = zoo.embeddings.keep_probabilities(np.array([1000, 10, 1]), sample=0)
    np.testing.assert_array_equal(keep, [1.0, 1.0, 1.0])
    tokens, sentences = zoo.embeddings.subsample(
        tf.constant([0, 1, 2, 0]), tf.constant([0, 0, 1, -1]), tf.constant(keep), tf.constant([0.99] * 4)
    )
    assert tokens.numpy().tolist() == [0, 1, 2] and sentences.numpy().tolist() == [0, 0, 1]


@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_block_loss_equals_word2vec_loss_pair_by_pair(architecture):
    """The blocked, matrix-product loss of a slice is word2vec's, written out pair by pair: each true
    pair (context word's W row, centre word's W' row) scores softplus(-s), and each of its block's pooled
    noise words other than the centre softplus(s) / block (for CBOW the mean of the context rows stands in
    for the context word). Same draws: subsampling off, the windows and noise of the model's own seed."""
    rng = np.random.default_rng(0)
    vocabulary, dimension, window, negative, block = 16, 4, 2, 2, 3
    model = zoo.embeddings.Word2Vec(
        rng.integers(1, 50, vocabulary), dimension=dimension, window=window, negative=negative, sample=0,
        architecture=architecture, shared_negatives=block, workers=1,
    )  # fmt: skip
    model.input_vectors.assign(rng.normal(size=(vocabulary, dimension)).astype("float32"))
    model.output_vectors.assign(rng.normal(size=(vocabulary, dimension)).astype("float32"))
    tokens = np.array([3, 7, 7, 1, 12, 5, 0, 9, 3, 15, 2], np.int32)
    sentences = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2], np.int32)
    seed = tf.constant([5, 0])
    loss, count = model._slice_loss(tf.constant(tokens), tf.constant(sentences), seed)

    n = len(tokens)
    draws = tf.random.stateless_uniform([2 * n], seed).numpy()
    windows = 1 + (draws[n:] * window).astype(int)
    blocks = -(-n // block)
    uniform = tf.random.stateless_uniform([blocks, negative * block], seed + 1)
    noise = zoo.embeddings.sample_negatives(model._cumulative, uniform).numpy()
    inputs, outputs = model.input_vectors.numpy(), model.output_vectors.numpy()
    softplus = lambda x: np.logaddexp(0.0, x)  # noqa: E731
    expected, units = 0.0, 0
    for i, centre in enumerate(tokens):
        near = [j for j in range(n) if 0 < abs(j - i) <= windows[i] and sentences[j] == sentences[i]]
        readers = [inputs[tokens[j]] for j in near]
        if architecture == "cbow":
            readers = [np.mean(readers, axis=0)] if near else []
        for reader in readers:
            expected += softplus(-reader @ outputs[centre])
            expected += sum(softplus(reader @ outputs[m]) / block for m in noise[i // block] if m != centre)
            units += 1
    assert int(count) == units > 0
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


@pytest.fixture(scope="module")
def gensim_model():
    from gensim.models import Word2Vec

    sentences = [zoo.data.corpora.words(text) for text in zoo.data.corpora.load_text_corpus("lee")]
    model = Word2Vec(vector_size=8, min_count=5, sample=1e-3, seed=0)
    model.build_vocab(sentences)
    return sentences, model


def test_vocabulary_and_subsampling_match_gensim(gensim_model):
    sentences, model = gensim_model
    corpus = zoo.embeddings.build_corpus(sentences, min_count=5)
    assert corpus.words == model.wv.index_to_key  # same words, same order (count, then first seen)
    assert corpus.raw_words == sum(map(len, sentences))
    keep = zoo.embeddings.keep_probabilities(corpus.counts, 1e-3)
    gensim_keep = np.array([model.wv.get_vecattr(word, "sample_int") / 2**32 for word in corpus.words])
    np.testing.assert_allclose(keep, gensim_keep, atol=1e-6)
    assert keep[0] < 0.2 and keep[-1] == 1.0  # "the" mostly dropped, rare words always kept


def test_noise_words_follow_unigram_counts_to_the_three_quarters(gensim_model):
    _, model = gensim_model
    counts = np.array([model.wv.get_vecattr(word, "count") for word in model.wv.index_to_key])
    cumulative = zoo.embeddings.negative_distribution(counts)
    np.testing.assert_allclose(cumulative, model.cum_table / model.cum_table[-1], atol=1e-6)
    small = zoo.embeddings.negative_distribution(np.array([100, 10, 1, 50]))
    draws = zoo.embeddings.sample_negatives(
        tf.constant(small), tf.random.stateless_uniform([200_000], [1, 2])
    )
    frequencies = np.bincount(draws.numpy(), minlength=4) / 200_000
    expected = np.array([100, 10, 1, 50]) ** 0.75 / np.sum(np.array([100, 10, 1, 50]) ** 0.75)
    np.testing.assert_allclose(frequencies, expected, atol=0.005)


def test_overlapping_blocks_gradient_equals_autodiff():
    rows = tf.constant(np.random.default_rng(0).normal(size=(24, 3)).astype("float32"))  # (4 + 3 - 1) * 4
    weights = tf.constant(np.random.default_rng(1).normal(size=(4, 9, 3)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(rows)
        ours = zoo.embeddings.overlapping_blocks(rows, tf.constant(4), 4, 9)
        reference = tf.stack([rows[k * 4 : k * 4 + 9] for k in range(4)])
        loss_ours, loss_reference = tf.reduce_sum(ours * weights), tf.reduce_sum(reference * weights)
    np.testing.assert_array_equal(ours.numpy(), reference.numpy())
    np.testing.assert_allclose(tape.gradient(loss_ours, rows), tape.gradient(loss_reference, rows), atol=1e-6)


@pytest.mark.parametrize(
    "architecture, tie_weights", [("skipgram", False), ("cbow", False), ("skipgram", True)]
)
def test_training_lowers_the_loss(architecture, tie_weights):
    sentences = [["a", "b", "c", "d"] * 5, ["e", "f", "g", "h"] * 5] * 20
    corpus = zoo.embeddings.build_corpus(sentences, min_count=1)
    model = zoo.embeddings.Word2Vec(
        corpus.counts, dimension=8, window=2, negative=3, sample=0, architecture=architecture,
        tie_weights=tie_weights, shared_negatives=4, seed=1,
    )  # fmt: skip
    # Each of the 8 words is in every step many times and a step sums its updates: a small rate.
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
    history = model.fit(
        zoo.embeddings.token_dataset(corpus, 64, workers=2), epochs=6, verbose=0, shuffle=False
    )
    # One matrix cannot score a word high beside its neighbours without scoring it high beside itself:
    # tied weights learn, but their loss stays higher.
    assert history.history["loss"][-1] < (0.95 if tie_weights else 0.8) * history.history["loss"][0]
    assert len(model.trainable_variables) == (1 if tie_weights else 2)
    keyed = zoo.embeddings.keyed_vectors(corpus.words, model.vectors())
    # Words of the same sentence keep the same company: "a"'s nearest word is from its own sentence.
    assert keyed.most_similar("a", topn=1)[0][0] in {"b", "c", "d"}


def test_text_corpus_reader_names_a_bad_file(tmp_path):
    (tmp_path / "a.txt").write_text("One sentence here.\n\nAnother, with <b>HTML</b>!\n", encoding="utf-8")
    (tmp_path / "skip.csv").write_text("not read\n")
    assert zoo.data.corpora.read_lines(tmp_path) == ["One sentence here.", "Another, with <b>HTML</b>!"]
    assert zoo.data.corpora.words("Another, with <b>HTML</b>!") == ["another", "with", "html"]
    (tmp_path / "b.txt").write_bytes(b"fine\ncaf\xe9\n")
    with pytest.raises(DataFormatError, match=r"b\.txt:2"):
        zoo.data.corpora.read_lines(tmp_path)


# ## The streamed corpus (`scan_corpus`, `stream_dataset`, `zoo.data.corpora.text_files`/`iterate_lines`)

PARTS = {
    "part-1.txt": "The cat sat on the mat.\n\nThe dog sat on the log.\r\nA cat, a dog!\n",
    "part-2.txt": "Café au lait, the cat said.\n   \nthe mat the log the cat\n",
    "part-3.txt": "dog cat mat log sat on the\n",  # no blank lines, and no final newline next:
    "part-4.txt": "on the mat sat the dog",
}


def _stream_corpus(folder, pattern="*"):
    for name, text in PARTS.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    return zoo.data.corpora.text_files(folder if pattern == "*" else folder / pattern)


def _flatten(dataset):
    """A dataset of (token_ids, sentence_ids) stretches as the kept ids and, per token, whether the next
    token is in the same sentence (sentence ids may be numbered differently but must split alike)."""
    tokens, sentences = [], []
    for ids, sentence_ids in dataset:
        tokens += ids.numpy().ravel().tolist()
        sentences += sentence_ids.numpy().ravel().tolist()
    kept = [(t, s) for t, s in zip(tokens, sentences) if s >= 0]
    same = [a[1] == b[1] for a, b in zip(kept, kept[1:])]
    return [t for t, _ in kept], same, len(tokens)


def test_stream_over_several_files_equals_the_in_memory_corpus(tmp_path):
    files = _stream_corpus(tmp_path)
    assert [file.name for file in files] == sorted(PARTS)
    sentences = [zoo.data.corpora.words(line) for line in zoo.data.corpora.read_lines(tmp_path)]
    corpus = zoo.embeddings.build_corpus(sentences, min_count=2)
    lines = zoo.data.corpora.iterate_lines(files)  # a generator: nothing is held but the counts
    vocabulary = zoo.embeddings.scan_corpus(map(zoo.data.corpora.words, lines), min_count=2)
    assert vocabulary.words == corpus.words and vocabulary.counts.tolist() == corpus.counts.tolist()
    assert (vocabulary.raw_words, vocabulary.tokens) == (corpus.raw_words, corpus.tokens)
    stream = zoo.embeddings.stream_dataset(files, vocabulary, zoo.data.corpora.words, 8, workers=2)
    assert _flatten(stream) == _flatten(zoo.embeddings.token_dataset(corpus, 8, workers=2))
    assert next(iter(stream))[0].shape == (2, 4)
    assert int(stream.cardinality()) == -(-corpus.tokens // 8) == len(list(stream))


def test_stream_reads_a_glob_and_shuffles_and_shards_its_lines(tmp_path):
    files = _stream_corpus(tmp_path, "part-[12].txt")
    assert [file.name for file in files] == ["part-1.txt", "part-2.txt"]
    files = zoo.data.corpora.text_files(tmp_path)
    vocabulary = zoo.embeddings.scan_corpus(
        map(zoo.data.corpora.words, zoo.data.corpora.iterate_lines(files)), 1
    )
    read = lambda **options: _flatten(  # noqa: E731
        zoo.embeddings.stream_dataset(files, vocabulary, zoo.data.corpora.words, 4, **options)
    )[0]
    in_order = read()
    shuffled = zoo.embeddings.stream_dataset(
        files, vocabulary, zoo.data.corpora.words, 4, shuffle_lines=8, seed=3
    )
    epochs = [_flatten(shuffled)[0] for _ in range(3)]
    assert all(sorted(epoch) == sorted(in_order) for epoch in epochs)
    assert len({tuple(epoch) for epoch in epochs + [in_order]}) > 1  # each epoch draws a new order
    shards = [read(shard=(index, 2)) for index in range(2)]
    assert sorted(shards[0] + shards[1]) == sorted(in_order) and shards[0] and shards[1]


def test_stream_names_an_undecodable_line_and_a_missing_corpus(tmp_path):
    _stream_corpus(tmp_path)
    (tmp_path / "part-5.txt").write_bytes(b"fine\n\ncaf\xe9 au lait\n")
    files = zoo.data.corpora.text_files(tmp_path)
    with pytest.raises(DataFormatError, match=r"part-5\.txt:3: not UTF-8"):
        zoo.embeddings.scan_corpus(map(zoo.data.corpora.words, zoo.data.corpora.iterate_lines(files)))
    with pytest.raises(DataFormatError, match="no file matches"):
        zoo.data.corpora.text_files(tmp_path / "nothing-*.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no text files"):
        zoo.data.corpora.text_files(tmp_path / "empty")


# ## PPMI + SVD, the count-based twin


def test_cooccurrence_counts_are_the_pairs_within_the_window_of_each_sentence():
    corpus = zoo.embeddings.build_corpus([["a", "b", "c", "a"], ["b", "a"]], min_count=1)
    index = {word: i for i, word in enumerate(corpus.words)}
    expected = np.zeros((3, 3))
    for sentence in (["a", "b", "c", "a"], ["b", "a"]):  # by hand: every pair at most 2 apart, both ways
        for i, word in enumerate(sentence):
            for j in range(i + 1, min(i + 3, len(sentence))):
                weight = (2 - (j - i) + 1) / 2
                expected[index[word], index[sentence[j]]] += weight
                expected[index[sentence[j]], index[word]] += weight
    counts = zoo.embeddings.cooccurrence_counts(corpus, window=2).toarray()
    np.testing.assert_allclose(counts, expected)
    plain = zoo.embeddings.cooccurrence_counts(corpus, window=2, weighted=False).toarray()
    assert plain[index["a"], index["c"]] == 2  # "c a" and "a _ c", never across the sentence break


def test_ppmi_svd_is_the_truncated_svd_of_the_smoothed_ppmi():
    from zoo.metrics import pointwise_mutual_information

    texts = zoo.data.corpora.load_text_corpus(None, None)[:150]
    corpus = zoo.embeddings.build_corpus([zoo.data.corpora.words(text) for text in texts], min_count=3)
    ppmi = pointwise_mutual_information(
        zoo.embeddings.cooccurrence_counts(corpus, 5), positive=True, alpha=0.75
    ).toarray()
    u, singular, _ = np.linalg.svd(ppmi)
    vectors = zoo.embeddings.ppmi_svd(corpus, dimension=8, eigenvalue_weight=1.0)
    assert vectors.shape == (len(corpus.words), 8)
    # Column by column, up to sign: the left singular vectors times the 8 largest singular values.
    for column in range(8):
        expected = u[:, column] * singular[column]
        sign = np.sign(expected @ vectors[:, column])
        np.testing.assert_allclose(sign * vectors[:, column], expected, atol=1e-3)
    again = zoo.embeddings.ppmi_svd(corpus, dimension=8, eigenvalue_weight=1.0)
    np.testing.assert_array_equal(vectors, again)  # seeded
