"""word2vec in Keras: skip-gram and CBOW with negative sampling, and the tools to judge the vectors.

The pieces, in the order training uses them:

- `build_corpus`: token lists -> vocabulary (`min_count`, most frequent first, gensim's order) and the
  corpus as one int32 stream of word ids with the sentence each token belongs to.
- `scan_corpus` and `stream_dataset`: the same vocabulary from one streaming pass, and the same stretches
  of ids read from text files by tf.data each epoch, for corpora that should not be held in memory.
- `keep_probabilities` (frequent-word subsampling, gensim's formula) and `negative_distribution` (the
  unigram distribution raised to the 3/4 power, as a cumulative table for `sample_negatives`).
- `subsample`, `context_mask`: the training pairs of a stretch of the stream, drawn in the TensorFlow graph
  with vectorised ops (no Python loop over tokens): subsampled words are dropped before windowing, as in
  word2vec, so windows reach further; each centre draws its window size uniformly from 1..`window`
  (word2vec's "dynamic window"); windows never cross a sentence. `skipgram_pairs` lists the pairs.
- `Word2Vec`: a `keras.Model` holding the input vectors W and output vectors W' (or one shared matrix),
  trained by `fit` on stretches of the token stream with plain SGD on the rows each step touches.
- `keyed_vectors`, `evaluate_vectors`, `nearest_neighbours`: gensim's own evaluation (analogies,
  WordSim353, SimLex-999) on our vectors, so they are scored exactly as gensim's are; `write_projector`
  and `plot_word_map` for looking at them.

Example:

```python
corpus = zoo.embeddings.build_corpus([["the", "cat", "sat"], ["the", "dog", "sat"]], min_count=1)
model = zoo.embeddings.Word2Vec(corpus.counts, dimension=16, window=2)
model.compile(optimizer=keras.optimizers.SGD(0.025))
model.fit(zoo.embeddings.token_dataset(corpus, batch_size=8, workers=model.workers), epochs=5)
vectors = zoo.embeddings.keyed_vectors(corpus.words, model.vectors())
```

References:
    Mikolov et al. (2013), Efficient Estimation of Word Representations in Vector Space (arXiv:1301.3781);
    Mikolov et al. (2013), Distributed Representations of Words and Phrases and their Compositionality
    (NeurIPS); Ji et al. (2016), Parallelizing Word2Vec in Shared and Distributed Memory
    (arXiv:1604.04661), for sharing negative samples to turn many dot products into matrix products.
"""

from __future__ import annotations

import collections
import os
import pathlib
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, NamedTuple

import keras
import numpy as np
import tensorflow as tf

# ## Corpus and vocabulary


class Corpus(NamedTuple):
    words: list[str]  # the vocabulary, most frequent first; word id i is words[i]
    counts: np.ndarray  # int64 count of each vocabulary word in the corpus
    token_ids: np.ndarray  # int32, every in-vocabulary token of the corpus in order
    sentence_ids: np.ndarray  # int32, the sentence (line, document) each of those tokens is in
    raw_words: int  # tokens before min_count dropped any: what words per second counts, as gensim does

    @property
    def tokens(self) -> int:
        """Tokens kept: the length of the id stream training reads."""
        return len(self.token_ids)


def build_corpus(
    sentences: Iterable[Sequence[str]], min_count: int = 5, max_vocabulary: int | None = None
) -> Corpus:
    """The vocabulary (words seen at least `min_count` times, most frequent first, ties in gensim's order)
    and the corpus as word ids, rarer words dropped.

    Args:
        sentences: token lists; a window never crosses from one to the next.
        min_count: rarer words are dropped from the corpus before training, as in word2vec.
        max_vocabulary: keep at most this many of the most frequent words (None: all).
    """
    sentences = [list(sentence) for sentence in sentences]
    vocabulary = scan_corpus(sentences, min_count, max_vocabulary)
    index = {word: i for i, word in enumerate(vocabulary.words)}
    ids = [[index[token] for token in sentence if token in index] for sentence in sentences]
    lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
    token_ids = np.fromiter((i for row in ids for i in row), dtype=np.int32, count=int(lengths.sum()))
    return Corpus(
        words=vocabulary.words,
        counts=vocabulary.counts,
        token_ids=token_ids,
        sentence_ids=np.repeat(np.arange(len(ids), dtype=np.int32), lengths),
        raw_words=vocabulary.raw_words,
    )


class Vocabulary(NamedTuple):
    """What one streaming pass over a corpus learns: `Corpus` without the token stream."""

    words: list[str]  # most frequent first; word id i is words[i]
    counts: np.ndarray  # int64 count of each vocabulary word
    raw_words: int  # tokens before min_count dropped any
    tokens: int  # tokens kept (in the vocabulary): the length of the id stream training reads


def scan_corpus(
    sentences: Iterable[Sequence[str]], min_count: int = 5, max_vocabulary: int | None = None
) -> Vocabulary:
    """The vocabulary of `build_corpus` (same words, same order) from one pass over `sentences`, which may
    be a generator: only the counts are held, never the corpus."""
    counts: collections.Counter = collections.Counter()
    for sentence in sentences:
        counts.update(sentence)
    # gensim's order: by count, ties latest-seen first (`KeyedVectors.sort_by_descending_frequency`).
    kept = [item for item in counts.items() if item[1] >= min_count]
    ranked = [kept[i] for i in sorted(range(len(kept)), key=lambda i: (-kept[i][1], -i))]
    ranked = ranked[:max_vocabulary] if max_vocabulary else ranked
    if not ranked:
        raise ValueError(f"no word occurs at least min_count={min_count} times")
    kept_counts = np.array([count for _, count in ranked], dtype=np.int64)
    return Vocabulary(
        words=[word for word, _ in ranked],
        counts=kept_counts,
        raw_words=int(sum(counts.values())),
        tokens=int(kept_counts.sum()),
    )


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each occurrence of a word, word2vec's subsampling as gensim computes it:
    `(sqrt(f / t) + 1) * t / f` capped at 1, with `f` the word's count and `t = sample * total count`.
    Frequent words ("the", "of") are mostly dropped; words rarer than about `sample` are always kept.
    `sample=0` keeps everything."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones(len(counts), dtype=np.float32)
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts).astype(np.float32)


def negative_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """Cumulative distribution of the noise words: P(w) proportional to count(w) ** `exponent` (3/4 in
    word2vec: rare words are drawn more often than their frequency, frequent ones less)."""
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    cumulative = np.cumsum(weights)
    return (cumulative / cumulative[-1]).astype(np.float32)


def sample_negatives(cumulative: tf.Tensor, uniform: tf.Tensor) -> tf.Tensor:
    """Word ids drawn from the distribution whose cumulative table is `cumulative` (see
    `negative_distribution`), one per value of `uniform` (uniform in [0, 1), any shape): inverse-CDF
    sampling, exact for every vocabulary size (word2vec approximates it with a 100M-entry table)."""
    flat = tf.reshape(uniform, [1, -1])
    ids = tf.searchsorted(cumulative, flat, side="right")[0]
    ids = tf.minimum(ids, tf.size(cumulative, out_type=ids.dtype) - 1)  # guards a rounding of the last step
    return tf.reshape(tf.cast(ids, tf.int32), tf.shape(uniform))


def token_dataset(corpus: Corpus, batch_size: int, workers: int = 1) -> tf.data.Dataset:
    """The corpus as consecutive stretches of `batch_size` tokens, `(token_ids, sentence_ids)`, each
    reshaped to `(workers, batch_size // workers)`; the last one is padded with sentence id -1 (never a
    centre or context). The same stretches every epoch, in corpus order, as gensim reads its corpus; the
    model draws new subsamples, windows and negatives each time."""
    if batch_size % workers:
        raise ValueError(f"batch_size {batch_size} is not a multiple of workers {workers}")
    padding = -len(corpus.token_ids) % batch_size
    tokens = np.concatenate([corpus.token_ids, np.zeros(padding, np.int32)])
    sentences = np.concatenate([corpus.sentence_ids, np.full(padding, -1, np.int32)])
    shape = (-1, workers, batch_size // workers)
    return tf.data.Dataset.from_tensor_slices((tokens.reshape(shape), sentences.reshape(shape))).prefetch(
        tf.data.AUTOTUNE
    )


def stream_dataset(
    files: Sequence[str | os.PathLike],
    vocabulary: Vocabulary,
    tokenise: Callable[[str], list[str]],
    batch_size: int,
    workers: int = 1,
    shuffle_lines: int = 0,
    seed: int = 0,
    shard: tuple[int, int] | None = None,
    lines_per_call: int = 64,
) -> tf.data.Dataset:
    """`token_dataset`'s stretches read from text files as a stream: memory holds the vocabulary, a
    shuffle buffer of lines and a few stretches, whatever the corpus's size.

    `tf.data.TextLineDataset` reads the files one after the other, line by line; a line is one sentence
    (windows never cross lines). Lines are tokenised by `tokenise` (Python, in a `tf.numpy_function`, a
    chunk of `lines_per_call` lines at a time, so the tokens are exactly those `scan_corpus` counted),
    mapped to word ids with out-of-vocabulary words dropped, and cut into stretches of `batch_size` ids,
    the last padded with sentence id -1. Each epoch reads the files again.

    Args:
        files: the text files, in reading order (`zoo.data.corpora.text_files`); their lines must decode
            as UTF-8 (the vocabulary pass, `zoo.data.corpora.iterate_lines`, checks it and names a bad line).
        vocabulary: from `scan_corpus` over the same lines.
        tokenise: text -> tokens, the function the vocabulary was counted with.
        batch_size, workers: as `token_dataset` (each stretch reshaped to `(workers, batch_size // workers)`).
        shuffle_lines: lines in a shuffle buffer, drawn anew each epoch (0: the files' order, as gensim
            reads a corpus). Only the buffer is held, so the order is local: a line moves at most about
            `shuffle_lines` places.
        seed: the shuffle's seed.
        shard: `(index, count)`: keep only lines `index, index + count, ...` of the files, so `count`
            workers each read a disjoint share of the corpus (every worker still scans the files).
        lines_per_call: lines tokenised per Python call.
    """
    if batch_size % workers:
        raise ValueError(f"batch_size {batch_size} is not a multiple of workers {workers}")
    index = {word: i for i, word in enumerate(vocabulary.words)}

    def to_ids(numbers: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = [[index[t] for t in tokenise(line.decode("utf-8")) if t in index] for line in lines]
        lengths = [len(row) for row in rows]
        ids = np.fromiter((i for row in rows for i in row), dtype=np.int32, count=sum(lengths))
        # The line's number is its sentence id: consecutive lines always differ (int32 wraps past 2**31
        # lines, which two neighbours never share).
        sentence_ids = np.repeat((numbers % 2**31).astype(np.int32), lengths)
        return ids, sentence_ids

    def tokenised(numbers, lines):
        ids, sentence_ids = tf.numpy_function(to_ids, [numbers, lines], [tf.int32, tf.int32], stateful=False)
        return tf.ensure_shape(ids, [None]), tf.ensure_shape(sentence_ids, [None])

    def stretch(ids, sentence_ids):
        padding = batch_size - tf.shape(ids)[0]
        ids = tf.pad(ids, [[0, padding]])
        sentence_ids = tf.pad(sentence_ids, [[0, padding]], constant_values=-1)
        shape = [workers, batch_size // workers]
        return tf.reshape(ids, shape), tf.reshape(sentence_ids, shape)

    lines = tf.data.TextLineDataset([os.fspath(file) for file in files]).enumerate()
    if shard is not None:
        lines = lines.shard(shard[1], shard[0])
    if shuffle_lines > 1:
        lines = lines.shuffle(shuffle_lines, seed=seed, reshuffle_each_iteration=True)
    chunks = lines.batch(lines_per_call).map(tokenised, num_parallel_calls=1)
    stretches = chunks.rebatch(batch_size).map(stretch, num_parallel_calls=tf.data.AUTOTUNE)
    if shard is None:  # the length is known (Keras shows it, and a changed file is an error, not a surprise)
        stretches = stretches.apply(
            tf.data.experimental.assert_cardinality(-(-vocabulary.tokens // batch_size))
        )
    return stretches.prefetch(tf.data.AUTOTUNE)


# ## Training pairs, in the graph


def subsample(token_ids: tf.Tensor, sentence_ids: tf.Tensor, keep: tf.Tensor, uniform: tf.Tensor):
    """Drop each token with probability 1 - `keep[token]` (`uniform`: one draw per token) and padding
    (sentence id < 0). Returns the kept `(token_ids, sentence_ids)`, in order."""
    kept = (uniform < tf.gather(keep, token_ids)) & (sentence_ids >= 0)
    return tf.boolean_mask(token_ids, kept), tf.boolean_mask(sentence_ids, kept)


def _overlapping_blocks_forward(rows: tf.Tensor, blocks: tf.Tensor, block: int, width: int) -> tf.Tensor:
    parts = -(-width // block)
    shape = tf.concat([[blocks, block], tf.shape(rows)[1:]], 0)
    pieces = [tf.reshape(rows[part * block : (part + blocks) * block], shape) for part in range(parts)]
    return tf.concat(pieces, 1)[:, :width]


def overlapping_blocks(rows: tf.Tensor, blocks: tf.Tensor, block: int, width: int) -> tf.Tensor:
    """`[blocks, width, ...]` whose block k is `rows[k * block : k * block + width]` (`rows` must have at
    least `(blocks + ceil(width / block) - 1) * block` rows).

    Built from reshapes and slices, with a hand-written gradient (overlap-add by pads and one sum): the
    gradient TensorFlow derives for these slices (StridedSliceGrad, one zero-filled copy of `rows` per
    slice) took half of the training step's time."""

    @tf.custom_gradient
    def function(rows):
        def gradient(upstream):
            parts = -(-width // block)
            upstream = tf.pad(upstream, [[0, 0], [0, parts * block - width], [0, 0]])
            pieces = tf.split(upstream, parts, axis=1)
            flat = [tf.reshape(piece, [-1, tf.shape(rows)[1]]) for piece in pieces]
            extra = tf.shape(rows)[0] - (blocks + parts - 1) * block
            padded = [
                tf.pad(piece, [[part * block, (parts - 1 - part) * block + extra], [0, 0]])
                for part, piece in enumerate(flat)
            ]
            return tf.add_n(padded)

        return _overlapping_blocks_forward(rows, blocks, block, width), gradient

    return function(rows)


def context_mask(sentence_ids: tf.Tensor, windows: tf.Tensor, window: int, block: int) -> tf.Tensor:
    """Which (centre, context) pairs a stretch of kept tokens holds, block by block.

    The n centres are grouped in `ceil(n / block)` blocks of `block` consecutive tokens; block k's
    contexts are the `block + 2 * window` tokens around it (positions `k * block - window` onwards).

    Args:
        sentence_ids: `(n,)` int32, the sentence of each kept token.
        windows: `(n,)` int32 in 1..`window`, each centre's window size (drawn per centre: word2vec's
            dynamic window, which weights near words more than far ones).
        window: the largest window.
        block: centres per block.

    Returns:
        float32 `(blocks, block, block + 2 * window)`: 1 where context j of block k is within centre i's
        window, in the same sentence, and not the centre itself.
    """
    n = tf.shape(sentence_ids)[0]
    blocks = (n + block - 1) // block
    parts = -(-(block + 2 * window) // block)
    after = (blocks + parts - 1) * block - n - window
    centre_sentence = tf.reshape(
        tf.pad(sentence_ids, [[0, blocks * block - n]], constant_values=-1), [-1, block]
    )
    centre_window = tf.reshape(tf.pad(windows, [[0, blocks * block - n]]), [-1, block])
    padded = tf.pad(sentence_ids, [[window, after]], constant_values=-2)
    context_sentence = _overlapping_blocks_forward(padded, blocks, block, block + 2 * window)
    # Context j of a block is `j - i - window` tokens after centre i of the block.
    offset = tf.range(block + 2 * window)[None, :] - tf.range(block)[:, None] - window
    mask = (
        (context_sentence[:, None, :] == centre_sentence[:, :, None])
        & (centre_sentence[:, :, None] >= 0)
        & (offset != 0)[None]
        & (tf.abs(offset)[None] <= centre_window[:, :, None])
    )
    return tf.cast(mask, tf.float32)


def _blocks_of(values: tf.Tensor, window: int, block: int, fill=0):
    """`(centres, contexts)`: `values` (one per kept token) as `[blocks, block]` centres and as
    `[blocks, block + 2 * window]` contexts, padded with `fill`."""
    n = tf.shape(values)[0]
    blocks = (n + block - 1) // block
    parts = -(-(block + 2 * window) // block)
    after = (blocks + parts - 1) * block - n - window
    centres = tf.reshape(tf.pad(values, [[0, blocks * block - n]], constant_values=fill), [-1, block])
    padded = tf.pad(values, [[window, after]], constant_values=fill)
    return centres, _overlapping_blocks_forward(padded, blocks, block, block + 2 * window)


def skipgram_pairs(token_ids, sentence_ids, windows, window: int, block: int = 8) -> np.ndarray:
    """Every (centre, context) word-id pair of a stretch of tokens, centre by centre and left to right
    within a window: the pairs `Word2Vec` trains on, listed (its training step never lists them; it
    scores them block by block). `windows` holds each token's window size (1..`window`)."""
    token_ids = tf.constant(token_ids, tf.int32)
    mask = context_mask(tf.constant(sentence_ids, tf.int32), tf.constant(windows, tf.int32), window, block)
    centres, contexts = _blocks_of(token_ids, window, block)
    where = tf.where(mask > 0).numpy()
    return np.stack(
        [centres.numpy()[where[:, 0], where[:, 1]], contexts.numpy()[where[:, 0], where[:, 2]]], axis=1
    )


# ## The model


@keras.saving.register_keras_serializable(package="zoo")
class Word2Vec(keras.Model):
    """word2vec with negative sampling: skip-gram (each word predicts the words around it) or CBOW (the
    mean of the words around predicts the word), trained on a stream of word ids.

    Two matrices, as in word2vec: the input vectors W (`input_vectors`, the word vectors one keeps) and the
    output vectors W' (`output_vectors`, the words as things to predict). A pair (input word a, output word
    b) scores `sigmoid(W[a] . W'[b])`; each true pair is pushed up and `negative` noise words drawn from
    the unigram distribution to the 3/4 power are pushed down. As in gensim, skip-gram's input is the
    context word and its output the centre word; W starts uniform in +-0.5/dimension, W' at zero.
    `tie_weights=True` uses W for both.

    Why a custom `train_step`: a batch is a stretch of the raw token stream, not (x, y) examples. Each step
    draws, in the graph, which frequent words to skip, each centre's window and the noise words, so every
    epoch sees new pairs, as word2vec does. The loss is the sum over pairs (not the mean) and the optimizer
    should be plain SGD with word2vec's linearly decaying learning rate: then one step makes each pair's
    word2vec update, and the gradients of the gathered rows reach the optimizer as `tf.IndexedSlices`, so
    only the rows a step touches are updated (a dense update of 100k x 100 matrices every step would cost
    more than the step itself).
    The step's loss is `summed_loss` (a sum over the batch's rows), so on a cluster `zoo.distributed.Trainer`
    splits the rows among the workers and adds their gradients into this very step.

    For speed the centres are scored in blocks of `shared_negatives` consecutive words whose noise words
    are pooled (after Ji et al. 2016): the block draws `negative * shared_negatives` of them and every
    pair of the block meets all of them, each weighing `1 / shared_negatives`, which has the expected
    gradient of `negative` noise words per pair. All scores of a block (skip-gram) are then one matrix
    product, its centres and noise words against its context words, instead of many small dot products.
    (Letting a block share only `negative` noise words was faster still, but a context word then met 5
    different noise words instead of about 30, and on WikiText-2 the analogy accuracy fell from 4% to
    0.2%.) `shared_negatives=1` draws `negative` noise words for each centre, shared by its context
    words.

    Args:
        counts: int `(vocabulary_size,)`, each word's count in the corpus (for subsampling and noise).
        dimension: size of the vectors.
        window: largest distance between a centre and a context word (each centre draws its own, 1..window).
        negative: noise words per pair (pooled by a block of `shared_negatives` centres).
        sample: subsampling threshold (see `keep_probabilities`); 0 keeps every word.
        architecture: "skipgram" or "cbow" (the mean of the context vectors predicts the centre).
        tie_weights: one matrix for input and output vectors.
        shared_negatives: consecutive centres pooling their noise words (1: each centre draws its own).
        workers: independent slices of each batch, scored side by side so both CPU cores work (each
            batch element must hold `workers` rows; see `token_dataset`).
        ns_exponent: exponent of the noise distribution.
        seed: seed of the initial vectors and of every step's draws (a step's draws depend only on the seed
            and the step number, so a resumed run draws what the uninterrupted one would have).

    Call arguments:
        token_ids: int tensor of any shape. Returns the input vectors of those words (shape + (dimension,)).

    Example:

    >>> import numpy as np
    >>> import zoo.embeddings
    >>> model = zoo.embeddings.Word2Vec(np.array([5, 3, 2]), dimension=4, window=1)
    >>> model(np.array([[0, 2]])).shape
    TensorShape([1, 2, 4])
    """

    def __init__(
        self,
        counts,
        dimension: int = 100,
        window: int = 5,
        negative: int = 5,
        sample: float = 1e-3,
        architecture: Literal["skipgram", "cbow"] = "skipgram",
        tie_weights: bool = False,
        shared_negatives: int = 8,
        workers: int = 2,
        ns_exponent: float = 0.75,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if architecture not in ("skipgram", "cbow"):
            raise ValueError(f"architecture must be 'skipgram' or 'cbow', got {architecture!r}")
        if min(dimension, window, negative, shared_negatives, workers) < 1:
            raise ValueError("dimension, window, negative, shared_negatives and workers must be >= 1")
        self.counts = [int(count) for count in np.asarray(counts)]
        self.dimension = dimension
        self.window = window
        self.negative = negative
        self.sample = sample
        self.architecture = architecture
        self.tie_weights = tie_weights
        self.shared_negatives = shared_negatives
        self.workers = workers
        self.ns_exponent = ns_exponent
        self.seed = seed
        vocabulary_size = len(self.counts)
        self._keep = tf.constant(keep_probabilities(self.counts, sample))
        self._cumulative = tf.constant(negative_distribution(self.counts, ns_exponent))
        bound = 0.5 / dimension
        self.input_vectors = self.add_weight(
            shape=(vocabulary_size, dimension),
            initializer=keras.initializers.RandomUniform(-bound, bound, seed=seed),
            name="input_vectors",
        )
        self.output_vectors = (
            self.input_vectors
            if tie_weights
            else self.add_weight(
                shape=(vocabulary_size, dimension), initializer="zeros", name="output_vectors"
            )
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.pairs_tracker = keras.metrics.Sum(name="pairs")
        self.built = True  # the weights exist: checkpoints can be written before any call

    def call(self, token_ids):
        return tf.gather(self.input_vectors.value, tf.cast(token_ids, tf.int32))

    def vectors(self) -> np.ndarray:
        """The word vectors (W), float32 `(vocabulary_size, dimension)`."""
        return keras.ops.convert_to_numpy(self.input_vectors)

    @property
    def metrics(self):
        return [self.loss_tracker, self.pairs_tracker]

    def _slice_loss(self, token_ids, sentence_ids, seed):
        """Summed loss and number of pairs (skip-gram) or centres (CBOW) of one slice of the stream."""
        length = tf.shape(token_ids)[0]
        draws = tf.random.stateless_uniform([2 * length], seed)
        token_ids, sentence_ids = subsample(token_ids, sentence_ids, self._keep, draws[:length])
        n = tf.shape(token_ids)[0]
        windows = 1 + tf.cast(draws[length : length + n] * self.window, tf.int32)
        block = self.shared_negatives
        mask = context_mask(sentence_ids, windows, self.window, block)  # [blocks, block, block + 2w]
        blocks = tf.shape(mask)[0]
        centres, _ = _blocks_of(token_ids, self.window, block)
        # The block's centres pool their noise words: each pair meets all `negative * block` of them,
        # each weighing 1 / block, so a context word meets as many different noise words as in gensim.
        noise = sample_negatives(
            self._cumulative, tf.random.stateless_uniform([blocks, self.negative * block], seed + 1)
        )
        # A noise word equal to the centre is skipped, as gensim does.
        not_centre = tf.cast(noise[:, :, None] != centres[:, None, :], tf.float32) / block
        parts = -(-(block + 2 * self.window) // block)
        after = (blocks + parts - 1) * block - n - self.window
        rows = tf.gather(self.input_vectors.value, token_ids)
        contexts = overlapping_blocks(
            tf.pad(rows, [[self.window, after], [0, 0]]), blocks, block, block + 2 * self.window
        )  # [blocks, block + 2w, dimension]
        # The centres and the noise words of a block are read in one gather and scored in one matrix
        # product (one sparse update of W' and half the kernels of two of each).
        targets = tf.gather(self.output_vectors.value, tf.concat([centres, noise], 1))
        if self.architecture == "skipgram":
            scores = tf.matmul(targets, contexts, transpose_b=True)  # [blocks, block + noise, block + 2w]
            # A noise score stands for every pair of the block its context word is in.
            weights = tf.concat([mask, tf.matmul(not_centre, mask)], 1)
            # True pairs are pushed up (-log sigmoid(s) = softplus(-s)), noise down (softplus(s)).
            signs = tf.constant([-1.0] * block + [1.0] * (self.negative * block))[:, None]
            return tf.reduce_sum(weights * tf.nn.softplus(signs * scores)), tf.reduce_sum(mask)
        centre_vectors, noise_vectors = targets[:, :block], targets[:, block:]
        count = tf.reduce_sum(mask, -1)  # context words of each centre
        hidden = tf.matmul(mask / tf.maximum(count, 1.0)[..., None], contexts)  # mean context vector
        has_context = tf.cast(count > 0, tf.float32)
        positive = tf.reduce_sum(hidden * centre_vectors, -1)
        negative = tf.matmul(hidden, noise_vectors, transpose_b=True)
        loss = tf.reduce_sum(has_context * tf.nn.softplus(-positive)) + tf.reduce_sum(
            has_context[..., None] * tf.transpose(not_centre, [0, 2, 1]) * tf.nn.softplus(negative)
        )
        return loss, tf.reduce_sum(has_context)

    def summed_loss(self, data, first_row=0):
        """The loss of a batch's rows summed (not averaged) over their pairs, and the number of pairs.

        `data` is `(token_ids, sentence_ids)`, each `(rows, length)`; `first_row` is the index of its
        first row in the whole batch (a worker of a cluster trains a slice of the rows), which seeds that
        row's draws, so the rows draw the same wherever they are computed. A sum over rows is what lets
        `zoo.distributed.Trainer` add the workers' gradients into the one-process gradient.
        """
        token_ids, sentence_ids = data
        if not token_ids.shape[0]:
            raise ValueError(
                "a slice of the batch has no rows: on a cluster, give --workers a multiple of its workers"
            )
        step = tf.cast(self.optimizer.iterations, tf.int32)
        losses, pairs = [], []
        for row in range(token_ids.shape[0]):
            seed = tf.stack([self.seed * 1_000_003 + step, 2 * (first_row + row)])
            loss, count = self._slice_loss(token_ids[row], sentence_ids[row], seed)
            losses.append(loss)
            pairs.append(count)
        return tf.add_n(losses), tf.add_n(pairs)

    def track(self, loss, pairs):
        """Update the metrics with a whole batch's summed loss and number of pairs."""
        self.loss_tracker.update_state(loss / tf.maximum(pairs, 1.0), sample_weight=pairs)
        self.pairs_tracker.update_state(pairs)

    def train_step(self, data):
        variables = [self.input_vectors] if self.tie_weights else [self.input_vectors, self.output_vectors]
        with tf.GradientTape() as tape:
            loss, pairs = self.summed_loss(data)
        gradients = tape.gradient(loss, [variable.value for variable in variables])
        self.optimizer.apply(gradients, variables)
        self.track(loss, pairs)
        return {metric.name: metric.result() for metric in self.metrics}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            counts=self.counts,
            dimension=self.dimension,
            window=self.window,
            negative=self.negative,
            sample=self.sample,
            architecture=self.architecture,
            tie_weights=self.tie_weights,
            shared_negatives=self.shared_negatives,
            workers=self.workers,
            ns_exponent=self.ns_exponent,
            seed=self.seed,
        )
        return config


# ## The count-based twin: PPMI and SVD


def cooccurrence_counts(corpus: Corpus, window: int = 5, weighted: bool = True):
    """The word-context count matrix of the corpus, `scipy.sparse.csr_matrix` (vocabulary x vocabulary):
    each pair of words at most `window` apart in one sentence counts in both directions. `weighted`
    counts a pair `d` apart `(window - d + 1) / window` times, the expected count under word2vec's dynamic
    windows (each centre draws its window from 1..window), as Levy, Goldberg and Dagan (2015) do."""
    from scipy import sparse

    size = len(corpus.words)
    counts = sparse.csr_matrix((size, size), dtype=np.float64)
    ids, sentences = corpus.token_ids, corpus.sentence_ids
    for distance in range(1, window + 1):  # one offset at a time: memory of one pass over the stream
        same = sentences[distance:] == sentences[:-distance]
        left, right = ids[:-distance][same], ids[distance:][same]
        weight = (window - distance + 1) / window if weighted else 1.0
        pairs = sparse.coo_matrix((np.full(len(left), weight), (left, right)), shape=(size, size)).tocsr()
        counts = counts + pairs + pairs.T
    return counts


def ppmi_svd(
    corpus: Corpus,
    dimension: int = 100,
    window: int = 5,
    alpha: float = 0.75,
    eigenvalue_weight: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Word vectors by counting, skip-gram's count-based twin (Levy, Goldberg and Dagan 2015): the
    positive pointwise mutual information of the `cooccurrence_counts` within `window`, contexts smoothed
    to the power `alpha` (as skip-gram's noise distribution is), factorised by a truncated SVD to
    `dimension`; a word's vector is its row of `U * S ** eigenvalue_weight` (0.5, the paper's symmetric
    choice, weights the singular values as skip-gram's two matrices share them). Skip-gram with
    negative sampling factorises a shifted PMI matrix (Levy and Goldberg 2014); this does it explicitly.

    Returns:
        float32 `(vocabulary_size, dimension)`, row i the vector of `corpus.words[i]`.
    """
    from scipy.sparse.linalg import svds

    from zoo.metrics.information import pointwise_mutual_information

    ppmi = pointwise_mutual_information(cooccurrence_counts(corpus, window), positive=True, alpha=alpha)
    start = np.random.default_rng(seed).uniform(size=min(ppmi.shape))  # svds' start: seeded, repeatable
    u, singular, _ = svds(ppmi, k=dimension, v0=start)
    order = np.argsort(-singular)  # svds returns them in ascending order
    return (u[:, order] * singular[order] ** eigenvalue_weight).astype(np.float32)


def linear_decay(
    alpha: float, min_alpha: float, steps: int
) -> keras.optimizers.schedules.LearningRateSchedule:
    """word2vec's learning rate: from `alpha` down to `min_alpha` in a straight line over `steps`."""
    return keras.optimizers.schedules.PolynomialDecay(alpha, max(1, steps), min_alpha, power=1.0)


# ## Judging the vectors (gensim's evaluation, on our vectors or gensim's)


def keyed_vectors(words: Sequence[str], vectors: np.ndarray, counts: Sequence[int] | None = None):
    """Our vectors as a `gensim.models.KeyedVectors`, so gensim's evaluation and `most_similar` apply."""
    from gensim.models import KeyedVectors

    keyed = KeyedVectors(vectors.shape[1], dtype=np.float32)
    keyed.add_vectors(list(words), np.asarray(vectors, dtype=np.float32))
    if counts is not None:
        for word, count in zip(words, counts):
            keyed.set_vecattr(word, "count", int(count))
    return keyed


def evaluate_vectors(keyed) -> dict[str, float]:
    """gensim's own scores on the test sets it ships: `analogy_accuracy` on questions-words.txt (3CosAdd
    over the 300,000 most frequent words, case-insensitive, questions with an unknown word left out),
    and the Spearman correlation with human similarity judgements on WordSim353 and SimLex-999 (pairs
    with an unknown word left out; `*_oov` is their percentage)."""
    from gensim.test.utils import datapath

    analogy, _ = keyed.evaluate_word_analogies(datapath("questions-words.txt"))
    scores = {"analogy_accuracy": float(analogy)}
    for name, file in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        _, spearman, oov = keyed.evaluate_word_pairs(datapath(file))
        scores[f"{name}_spearman"] = float(np.nan_to_num(spearman.statistic))
        scores[f"{name}_oov"] = float(oov)
    return scores


def nearest_neighbours(keyed, words: Sequence[str], count: int = 8) -> dict[str, list[tuple[str, float]]]:
    """The `count` nearest words (cosine similarity) of each word of `words` in the vocabulary."""
    return {word: keyed.most_similar(word, topn=count) for word in words if word in keyed.key_to_index}


def write_projector(folder: str | os.PathLike, words: Sequence[str], vectors: np.ndarray) -> pathlib.Path:
    """TensorBoard projector files for `tensorboard --logdir folder`: the vectors as a checkpoint, their
    words as metadata, and `projector_config.pbtxt` tying them (vectors.tsv and metadata.tsv too, for
    projector.tensorflow.org)."""
    from tensorboard.plugins import projector

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # TSV metadata cannot hold a tab or newline inside a word.
    labels = [" ".join(word.split()) or "<blank>" for word in words]
    (folder / "metadata.tsv").write_text("\n".join(labels) + "\n", encoding="utf-8")
    np.savetxt(folder / "vectors.tsv", vectors, delimiter="\t", fmt="%.5f")
    checkpoint = tf.train.Checkpoint(embedding=tf.Variable(vectors))
    checkpoint.save(str(folder / "embedding.ckpt"))
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
    embedding.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(str(folder), config)
    return folder


def plot_word_map(
    keyed, words: Sequence[str], path: str | os.PathLike, neighbours: int = 8, title: str = ""
) -> pathlib.Path:
    """A PNG of `words` and their nearest neighbours projected to 2-D with PCA, one colour per query word:
    related words should sit together."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = nearest_neighbours(keyed, words, neighbours)
    labels, colours = [], []
    for number, (word, similar) in enumerate(groups.items()):
        for label in [word] + [other for other, _ in similar]:
            labels.append(label)
            colours.append(number)
    figure, axis = plt.subplots(figsize=(9, 7))
    if labels:
        points = np.stack([keyed.get_vector(label, norm=True) for label in labels])
        points = points - points.mean(0)
        _, _, components = np.linalg.svd(points, full_matrices=False)
        xy = points @ components[:2].T
        axis.scatter(xy[:, 0], xy[:, 1], c=colours, cmap="tab10", s=12)
        query = {label for label in groups}
        for (x, y), label in zip(xy, labels):
            axis.annotate(
                label, (x, y), fontsize=9 if label in query else 7, weight="bold" if label in query else None
            )
    axis.set_title(title or "nearest neighbours, PCA of the unit vectors")
    axis.set_xticks([])
    axis.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return pathlib.Path(path)
