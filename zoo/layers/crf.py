"""A linear-chain conditional random field on top of per-step tag scores, and its training loss."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class CRF(keras.layers.Layer):
    """Linear-chain conditional random field: scores whole tag sequences, decodes the best one (Viterbi).

    A softmax over each step's tag scores picks every tag on its own, so it happily emits `I-PER` after
    `O`. A CRF adds a learned score for every pair of consecutive tags and normalises over whole tag
    sequences, so the decoded sequence is the best one as a whole (Lample et al. 2016). The layer below
    (a `Dense(num_tags)` over a bidirectional RNN, usually) supplies the emission scores `E`; this layer
    owns the transition scores `A`, the start scores `s` and the end scores `e`.

    For a sentence of `n` real tokens and tags `y_1 .. y_n` the score of the path is

        score(y) = s[y_1] + sum_{t=1..n} E[t, y_t] + sum_{t=2..n} A[y_{t-1}, y_t] + e[y_n]

    and `p(y) = exp(score(y)) / Z` with the partition function `Z = sum over all num_tags**n paths of
    exp(score(y))`. `log Z` comes from the forward algorithm in log space,

        alpha_1[j] = s[j] + E[1, j],   alpha_t[j] = E[t, j] + logsumexp_i(alpha_{t-1}[i] + A[i, j]),
        log Z = logsumexp_j(alpha_n[j] + e[j]),

    and the best path from Viterbi: the same recursion with `max` for `logsumexp`, remembering
    `argmax_i` at each step and following those back pointers from `argmax_j(delta_n[j] + e[j])`. Ties
    go to the smallest tag index.

    **How it is used.** With `decode=False` (the default) the layer returns the emissions unchanged: the
    training model's output is the emissions, and `crf.loss` (a `CRFLoss` holding this layer) reads the
    transitions when it computes the negative log-likelihood. With `decode=True` the same layer returns
    the Viterbi path, so a serving model reuses the trained layer (see the example).

    **Masking.** The mask marks real tokens and must be left-aligned (real tokens first, padding after),
    as `keras.layers.Embedding(mask_zero=True)` over right-padded ids gives. Padded steps add neither
    emission nor transition scores; the end score is applied at each row's last real token; a row with
    no real token has log-likelihood 0, best score 0 and tags 0, never NaN. `compute_mask` returns None:
    the loss takes its mask from the labels (`y_true >= 0`), so Keras must not mask the loss again.

    **Pass `mask=` explicitly when branches are concatenated** below the CRF, such as word embeddings
    with a character branch (`zoo.layers.CharacterEncoder`) or a casing embedding. Keras's
    `keras.layers.Concatenate` merges its inputs' masks with a logical OR, and an input that carries no
    mask (the character branch) counts as true everywhere, so the concatenated mask is all true and the
    padded positions would be decoded as tokens, the end score taken at the padding. Give the word mask
    to the call instead: `crf(emissions, mask=word_ids > 0, decode=True)` (second example).

    **Loops.** Both recursions are `keras.ops.scan` over time, so they work for a time dimension unknown
    until run time (padded batches of any length). With a fully static input shape (batch 1, fixed
    length) the loop's tensors have static shapes and the TFLite converter lowers it to the built-in
    `WHILE` op; the tag argmax is written with comparisons because `keras.ops.argmax` of floats brings
    in `BitwiseAnd`, which TFLite has only as a Flex op. All arithmetic is float32 whatever the layer's
    dtype policy. Written with `keras.ops` only; tested under the TensorFlow backend.

    Args:
        num_tags: number of tags; the last axis of the emissions. Must be >= 1.
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        emissions: float `(batch, time, num_tags)` unnormalised tag scores.
        mask: optional boolean `(batch, time)`, True at real tokens; propagated by Keras from an
            `Embedding(mask_zero=True)` below, but pass it explicitly after a `Concatenate` (see
            Masking). Used only with `decode=True`.
        decode: False returns `emissions` unchanged; True returns the best tag path.

    Output shape: `(batch, time, num_tags)` emissions with `decode=False`; int32 `(batch, time)` tags
    with `decode=True`, 0 at masked steps. No mask is propagated.

    Example:

    >>> import math
    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> ids = keras.Input((None,), dtype="int32")
    >>> hidden = keras.layers.Embedding(100, 16, mask_zero=True)(ids)
    >>> hidden = keras.layers.Bidirectional(keras.layers.GRU(16, return_sequences=True))(hidden)
    >>> emissions = keras.layers.Dense(5)(hidden)
    >>> crf = zoo.layers.CRF(num_tags=5)
    >>> model = keras.Model(ids, crf(emissions))
    >>> model.compile(optimizer="adam", loss=crf.loss)  # then model.fit(x, y) like any model
    >>> x = np.array([[4, 8, 15, 0], [16, 23, 42, 7]])
    >>> y = np.array([[1, 2, 0, -1], [0, 3, 4, 0]])  # tags, padded with -1
    >>> loss = float(crf.loss(y, model(x)))  # the mean over sentences of -log p(tags)
    >>> round(loss / (3.5 * math.log(5)), 1)  # untrained: about log(5) per real token, 3.5 per sentence
    1.0
    >>> tagger = keras.Model(ids, crf(emissions, decode=True))  # same weights, Viterbi output
    >>> tags = keras.ops.convert_to_numpy(tagger(x))
    >>> tags.shape, tags.dtype.name, int(tags[0, 3])  # 0 at the padding
    ((2, 4), 'int32', 0)

    Words and characters concatenated: the CRF gets the word mask from the call.

    >>> chars = keras.Input((None, 6), dtype="int32")  # each token's character ids, 0-padded
    >>> words = keras.layers.Embedding(100, 16, mask_zero=True)(ids)
    >>> spelled = zoo.layers.CharacterEncoder(vocabulary_size=50, filters=8)(chars)  # no mask
    >>> merged = keras.layers.Concatenate()([words, spelled])  # mask: all true
    >>> emissions = keras.layers.Dense(5)(merged)
    >>> tags = zoo.layers.CRF(num_tags=5)(emissions, mask=ids > 0, decode=True)
    >>> tagger = keras.Model([ids, chars], tags)
    >>> predicted = tagger([np.array([[4, 8, 0]]), np.ones((1, 3, 6), "int32")])
    >>> int(predicted[0, 2])  # the padded token is not tagged
    0

    References:
        Lafferty, McCallum, Pereira. Conditional Random Fields: Probabilistic Models for Segmenting and
        Labeling Sequence Data. ICML 2001.
        Lample, Ballesteros, Subramanian, Kawakami, Dyer. Neural Architectures for Named Entity
        Recognition. NAACL 2016.
    """

    def __init__(self, num_tags: int, **kwargs):
        super().__init__(**kwargs)
        if num_tags < 1:
            raise ValueError(f"CRF needs num_tags >= 1, got {num_tags}")
        self.num_tags = num_tags

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_tags:
            raise ValueError(
                f"CRF(num_tags={self.num_tags}) got emissions with {input_shape[-1]} scores per step "
                f"(shape {tuple(input_shape)})"
            )
        # Zeros: no preference between tag pairs before training; the emissions break the symmetry.
        self.transitions = self.add_weight(
            shape=(self.num_tags, self.num_tags), initializer="zeros", name="transitions"
        )
        self.start_transitions = self.add_weight(
            shape=(self.num_tags,), initializer="zeros", name="start_transitions"
        )
        self.end_transitions = self.add_weight(
            shape=(self.num_tags,), initializer="zeros", name="end_transitions"
        )

    @property
    def loss(self) -> CRFLoss:
        """A `CRFLoss` bound to this layer, for `model.compile(loss=crf.loss)`."""
        return CRFLoss(self)

    def call(self, emissions, mask=None, decode=False):
        if decode:
            tags, _ = self.decode(emissions, mask)
            return tags
        # A new tensor, not the input itself: the input carries Keras's mask, which must not reach the loss.
        return ops.copy(emissions)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_spec(self, emissions, mask=None, decode=False):
        if decode:
            return keras.KerasTensor(emissions.shape[:2], dtype="int32")
        return keras.KerasTensor(emissions.shape, dtype=emissions.dtype)

    def log_likelihood(self, emissions, tags, mask=None):
        """`log p(tags | emissions)` per sequence, float32 `(batch,)`.

        Args:
            emissions: float `(batch, time, num_tags)`.
            tags: int `(batch, time)`; values at masked steps are ignored (-1 padding is fine).
            mask: optional boolean `(batch, time)`, left-aligned; None means every step is real.
        """
        emissions, mask = self._standardize(emissions, mask)
        tags = ops.where(mask, ops.cast(tags, "int32"), 0)
        weights = ops.cast(mask, "float32")
        transitions, start, end = self._weights()
        tags_one_hot = ops.one_hot(tags, self.num_tags, dtype="float32") * weights[..., None]

        # Score of the given path, summed as one-hot products so any time length works.
        emission_score = ops.sum(emissions * tags_one_hot, axis=(1, 2))
        # [:, :1], not [:, 0]: a batch with no time steps has no first step (and a start score of 0).
        start_score = ops.sum(ops.sum(tags_one_hot[:, :1], axis=1) * start, axis=-1)
        # A transition into step t counts when step t is real (then, left-aligned, so is step t - 1).
        transition_score = ops.sum(
            ops.matmul(tags_one_hot[:, :-1], transitions) * tags_one_hot[:, 1:], axis=(1, 2)
        )
        next_is_real = ops.concatenate([weights[:, 1:], ops.zeros_like(weights[:, :1])], axis=1)
        is_last = weights * (1.0 - next_is_real)
        end_score = ops.sum(ops.sum(tags_one_hot * is_last[..., None], axis=1) * end, axis=-1)
        path_score = start_score + emission_score + transition_score + end_score

        log_partition = self._log_partition(emissions, mask)
        has_tokens = ops.any(mask, axis=1)
        return ops.where(has_tokens, path_score - log_partition, ops.zeros_like(path_score))

    def decode(self, emissions, mask=None):
        """Viterbi: the best tag path, int32 `(batch, time)` with 0 at masked steps, and its score,
        float32 `(batch,)` (0 for a row without real tokens).

        Args:
            emissions: float `(batch, time, num_tags)`.
            mask: optional boolean `(batch, time)`, left-aligned; None means every step is real.
        """
        emissions, mask = self._standardize(emissions, mask)
        time = ops.shape(emissions)[1]
        transitions, start, end = self._weights()
        steps = _time_major_steps(emissions, mask)
        tag_range = ops.arange(self.num_tags, dtype="int32")

        def forward(carry, step):
            scores, _ = carry
            emission, keep = _split_step(step)
            candidates = scores[:, :, None] + transitions[None]  # (batch, previous tag, tag)
            best_previous = _first_argmax(candidates, axis=1, indices=tag_range[None, :, None])
            best = ops.max(candidates, axis=1) + emission
            # A padded step keeps the scores and points every tag back to itself, so the backtrack
            # passes through padding unchanged to the row's last real step.
            scores = ops.where(keep[:, None], best, scores)
            back_pointers = ops.where(keep[:, None], best_previous, tag_range[None])
            return (scores, back_pointers), (scores, back_pointers)

        first_emission, first_keep = _split_step(steps[0])
        first_scores = start + ops.where(first_keep[:, None], first_emission, 0.0)
        # keras.ops.scan wants the per-step outputs shaped like the carry, hence the back pointers in both.
        (scores, _), (_, back_pointers) = ops.scan(
            forward, (first_scores, ops.zeros_like(first_scores, dtype="int32")), steps[1:]
        )
        final_scores = scores + end
        last_tags = _first_argmax(final_scores, axis=-1, indices=tag_range[None])
        best_score = ops.max(final_scores, axis=-1)

        def backward(next_tags, step_back_pointers):
            tags = ops.sum(step_back_pointers * ops.one_hot(next_tags, self.num_tags, dtype="int32"), axis=-1)
            return tags, tags

        _, earlier_tags = ops.scan(backward, last_tags, back_pointers, reverse=True)
        tags = ops.concatenate([ops.transpose(earlier_tags, (1, 0)), last_tags[:, None]], axis=1)
        tags = tags[:, :time]  # without the padding steps `_time_major_steps` appended
        tags = ops.where(mask, tags, ops.zeros_like(tags))
        best_score = ops.where(ops.any(mask, axis=1), best_score, ops.zeros_like(best_score))
        return tags, best_score

    def _log_partition(self, emissions, mask):
        """`log Z` by the forward algorithm; `emissions` float32 and `mask` bool, as `_standardize` gives."""
        transitions, start, end = self._weights()
        steps = _time_major_steps(emissions, mask)

        def forward(alpha, step):
            emission, keep = _split_step(step)
            alpha_next = ops.logsumexp(alpha[:, :, None] + transitions[None], axis=1) + emission
            alpha = ops.where(keep[:, None], alpha_next, alpha)
            return alpha, alpha

        first_emission, first_keep = _split_step(steps[0])
        alpha = start + ops.where(first_keep[:, None], first_emission, 0.0)
        alpha, _ = ops.scan(forward, alpha, steps[1:])
        return ops.logsumexp(alpha + end, axis=-1)

    def _standardize(self, emissions, mask):
        if not self.built:
            self.build(emissions.shape)
        emissions = ops.cast(emissions, "float32")
        if mask is None:
            mask = ops.ones_like(emissions[..., 0], dtype="bool")
        return emissions, ops.cast(mask, "bool")

    def _weights(self):
        return (
            ops.cast(self.transitions, "float32"),
            ops.cast(self.start_transitions, "float32"),
            ops.cast(self.end_transitions, "float32"),
        )

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags}


def _time_major_steps(emissions, mask):
    """`(time + 2, batch, num_tags + 1)`: each step's emissions with the mask (1.0 or 0.0) as the last
    column, then two padding steps.

    The padding steps leave the scores unchanged (a masked step keeps them) and give the scan over
    `steps[1:]` at least one step: a scan over no steps stacks an empty tensor list, which TensorFlow
    cannot do when the batch size is unknown at trace time, so a served batch of one-token (or empty)
    sentences would fail.

    One tensor rather than two because `keras.ops.scan` under TensorFlow (Keras 3.15) fails on several
    scanned tensors whose length is unknown when traced (`NoneType` has no `assert_is_compatible_with`).
    """
    steps = ops.concatenate([emissions, ops.cast(mask, emissions.dtype)[..., None]], axis=-1)
    padding = ops.zeros_like(ops.sum(steps, axis=1, keepdims=True))  # (batch, 1, num_tags + 1), any time
    steps = ops.concatenate([steps, padding, padding], axis=1)
    return ops.transpose(steps, (1, 0, 2))


def _split_step(step):
    """One step of `_time_major_steps` -> (emissions `(batch, num_tags)`, boolean mask `(batch,)`)."""
    return step[:, :-1], step[:, -1] > 0.5


def _first_argmax(values, axis, indices):
    """Index of the first maximum along `axis`; `indices` broadcasts against `values` and counts along `axis`.

    `keras.ops.argmax` of floats adds a `BitwiseAnd` (its -0.0 fix) that TFLite only has as a Flex op.
    """
    is_max = values >= ops.max(values, axis=axis, keepdims=True)
    return ops.min(ops.where(is_max, indices, ops.shape(values)[axis]), axis=axis)


@keras.saving.register_keras_serializable(package="zoo")
class CRFLoss(keras.losses.Loss):
    """Negative log-likelihood of the gold tag paths under a `CRF` layer: `model.compile(loss=crf.loss)`.

    `y_true` is int tags `(batch, time)` padded with -1 (the mask is `y_true >= 0`), `y_pred` the
    emissions the CRF layer passed through. Returns the per-sequence negative log-likelihood `(batch,)`,
    which Keras averages over the batch. A row of padding only contributes 0.

    The loss holds the layer, which a config cannot: a model saved compiled with it loads (the class is
    registered) but must be compiled again, `model.compile(loss=model.get_layer(name).loss, ...)`,
    before it trains; until then the loss raises a `ValueError` when called.

    Args:
        crf: the `CRF` layer whose transitions score the paths.
        name: loss name. Default "crf_loss".
        reduction: standard `keras.losses.Loss` reduction. Default "sum_over_batch_size".
        dtype: standard `keras.losses.Loss` dtype.
    """

    def __init__(
        self, crf: CRF | None = None, name: str = "crf_loss", reduction="sum_over_batch_size", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        # The bound method, not the layer: `.keras` loading walks every attribute of every layer and
        # loss depth first, and a layer -> loss -> layer cycle would never end.
        self._log_likelihood = None if crf is None else crf.log_likelihood

    def call(self, y_true, y_pred):
        if self._log_likelihood is None:
            raise ValueError(
                "CRFLoss has no CRF layer (a loss restored from a saved config cannot keep one); compile "
                "again with loss=crf_layer.loss"
            )
        tags = ops.cast(y_true, "int32")
        return -self._log_likelihood(y_pred, tags, tags >= 0)
