"""Decoding: a model's scores to token ids, for translation, the transformer, captioning and the char LM.

- `Decoder`: encode once, then a step function (or one per ensemble member) scored token after token by
  a sampler, start/end/banned ids, padding after the end token. `zoo.seq2seq.Translator`,
  `zoo.captioning.Captioner` and `zoo.language_model.generate` are thin uses of it.
- `make_sampler`: the one place a search is chosen: greedy, beam search, or keras-hub's random
  samplers with temperature, top-k and top-p.
- `BeamSearch`: beam search with GNMT length normalisation; see its docstring for why it exists beside
  `keras_hub.samplers.BeamSampler`.
- `TFLiteGreedySampler`: keras-hub's `GreedySampler` with an argmax and a loop that TFLite's built-in
  ops can run, for the greedy loops that go whole into a TFLite file.
- `pad_after_end`: keras-hub's `GreedySampler` keeps its loop running until *every* row has ended and
  writes the argmax into the rows that already ended too; padding after each row's end gives greedy and
  beam outputs one form (a row decoded in a batch equals the row decoded alone).

Every sampler speaks the keras-hub interface:

    next(prompt, cache, index) -> (logits, hidden_states, cache)

`prompt` is a `(batch, max_length)` int tensor of token ids filled up to (not including) `index`,
`logits` is `(batch, vocab)` for the token at position `index`, `hidden_states` is ignored (may be
`None`), and `cache` is any nest of tensors with the batch first (encoder outputs, a key/value cache) that
`next` may update and return. A sampler writes the chosen token at `index` and calls `next` again with
`index + 1`, until `max_length` or until every sequence has emitted an end token. All run eagerly and
inside `tf.function` (the loop is `keras.ops.while_loop`), so a SavedModel carries the decoder in its
serving signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import keras_hub
from keras import ops

Next = Callable[[Any, Any, Any], tuple[Any, Any, Any]]

# Log-probability given to the continuations a hypothesis may not take (a finished hypothesis may only
# add padding). Finite rather than -inf so sums and divisions never make NaN.
_IMPOSSIBLE = -1e9


def pad_after_end(
    sequences: Any, end_id: int, index: int | Any = 0, pad_id: int = 0, ends: Any = None
) -> Any:
    """Replace every token after the first `end_id` at or after position `index` with `pad_id`.

    Args:
        sequences: int tensor `(..., max_length)` of token ids, e.g. a sampler's output.
        end_id: the end token; it is kept, what follows it becomes padding.
        index: the first generated position; an `end_id` before it (part of the prompt) does not count.
        pad_id: the padding token. Defaults to 0.
        ends: optional bool, shaped like `sequences`: False where an `end_id` does not count (a fixed
            prompt token, as in a sampler's `mask`).

    Returns:
        `sequences` with the same shape and dtype.

    Example:

    >>> import keras
    >>> from zoo.decoding import pad_after_end
    >>> keras.ops.convert_to_numpy(pad_after_end([[1, 5, 2, 7, 2]], end_id=2, index=1)).tolist()
    [[1, 5, 2, 0, 0]]
    """
    sequences = ops.convert_to_tensor(sequences)
    positions = ops.arange(ops.shape(sequences)[-1], dtype="int32")
    is_end = ops.logical_and(ops.equal(sequences, end_id), positions >= ops.cast(index, "int32"))
    if ends is not None:
        is_end = ops.logical_and(is_end, ends)
    is_end = ops.cast(is_end, "int32")
    # Ends strictly before each position: cumulative count minus the position's own.
    after_end = (ops.cumsum(is_end, axis=-1) - is_end) > 0
    return ops.where(after_end, ops.cast(pad_id, sequences.dtype), sequences)


class TFLiteGreedySampler(keras_hub.samplers.GreedySampler):
    """keras-hub's greedy decoding in a loop that TFLite runs with its built-in ops (TensorFlow only).

    Called like `keras_hub.samplers.GreedySampler` and choosing the same tokens (the argmax of the
    softmax of `next`'s logits, until every row has written a stop token or `max_length` is reached),
    for prompts whose fixed tokens all come before `index` (a start token), as a translator's or a
    captioner's do. Two things differ, each because of TFLite:

    - The argmax is `tf.argmax`. `keras.ops.argmax` first maps -0.0 to the smallest negative float (to
      agree with NumPy) and finds -0.0 by its sign bit with `tf.bitwise.bitwise_and`, which has no
      TFLite built-in kernel: the converter stops at `tf.BitwiseAnd` ("neither a custom op nor a flex
      op"). A softmax is never -0.0, so both choose the same token.
    - The loop never reads `mask`: positions before `index` are never written and none after it is
      fixed. keras-hub's loop keeps a fixed token with `where(mask[:, index], prompt[:, index], token)`
      at every step; converted, that loop answers wrongly on the first invoke of a new LiteRT
      interpreter with its default XNNPACK delegate (ai-edge-litert 2.3: 10-16 of 30 fresh interpreters
      wrote other tokens for the same sentence; 0 of 30 with the reference kernels or
      `experimental_preserve_all_tensors`, so an arena buffer is reused too early). Without that read,
      0 of 30.

    The loop is `tf.while_loop` with a static trip count bound, which becomes TFLite's built-in `WHILE`
    (it stops as soon as every row has ended, like keras-hub's).
    """

    def __call__(
        self, next, prompt, cache=None, index=0, mask=None, stop_token_ids=None, hidden_states=None, **kwargs
    ):
        import tensorflow as tf

        prompt = tf.convert_to_tensor(prompt)
        start = tf.cast(index, tf.int32)
        generated = tf.range(tf.shape(prompt)[-1]) >= start  # the positions the loop writes

        def cond(prompt, cache, index):
            if not stop_token_ids:
                return tf.constant(True)
            ended = tf.reduce_any(tf.logical_and(_any_equal(prompt, stop_token_ids), generated), axis=-1)
            return tf.logical_not(tf.reduce_all(ended))

        def body(prompt, cache, index):
            logits, _, cache = next(prompt, cache, index)
            token = tf.argmax(self.compute_probabilities(logits), axis=-1, output_type=tf.int32)
            prompt = ops.slice_update(prompt, [0, index], tf.cast(token, prompt.dtype)[:, None])
            return prompt, cache, index + 1

        prompt, _, _ = tf.while_loop(
            cond,
            body,
            (prompt, () if cache is None else cache, start),
            maximum_iterations=tf.shape(prompt)[-1] - start,
        )
        return prompt


def _any_equal(tokens: Any, values: Sequence[int]) -> Any:
    found = ops.equal(tokens, values[0])
    for value in values[1:]:
        found = ops.logical_or(found, ops.equal(tokens, value))
    return found


def make_sampler(
    beam_size: int = 1,
    length_penalty: float = 0.6,
    temperature: float = 0.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    vocabulary_size: int | None = None,
):
    """The sampler for these settings, the one place a decoder's search is chosen.

    - `beam_size > 1`: `BeamSearch(beam_size, length_penalty)` (deterministic: no temperature).
    - `temperature == 0` (the default): keras-hub's `GreedySampler`.
    - otherwise keras-hub's random samplers, logits divided by `temperature`: `TopPSampler` when `top_p <
      1` (restricted to the `top_k` best first when `top_k > 0`), else `TopKSampler` when `top_k > 0`,
      else `RandomSampler` (the full distribution). The same seed gives the same text from a new sampler.
    """
    if beam_size < 1 or temperature < 0 or top_k < 0 or not 0.0 < top_p <= 1.0:
        raise ValueError("need beam_size >= 1, temperature >= 0, top_k >= 0 and 0 < top_p <= 1")
    if beam_size > 1:
        if temperature:
            raise ValueError("beam search is deterministic: give it no temperature")
        return BeamSearch(beam_size, length_penalty=length_penalty)
    if vocabulary_size is not None:
        top_k = min(top_k, vocabulary_size)
    if temperature == 0:
        return keras_hub.samplers.GreedySampler()
    if top_p < 1.0:
        return keras_hub.samplers.TopPSampler(p=top_p, k=top_k or None, seed=seed, temperature=temperature)
    if top_k:
        return keras_hub.samplers.TopKSampler(k=top_k, seed=seed, temperature=temperature)
    return keras_hub.samplers.RandomSampler(seed=seed, temperature=temperature)


class Decoder:
    """A model's inputs to token ids: encode once, then choose token after token with a sampler.

    Args:
        encode: `inputs -> cache`, any nest of tensors with the batch first (encoder outputs, initial
            states, a source mask), or None when the caller gives the cache (`complete`). A list makes an
            ensemble: one encoder per member.
        step: keras-hub's sampler callback `next(prompt, cache, index) -> (logits, hidden, cache)`, the
            scores of the token at `index`; or a list, one per member of `encode`'s list.
        start_id: the token every output of `decoder(inputs)` starts from (at position 0, not returned).
        end_id: the token that ends a sequence; it is kept and `pad_id` follows it.
        max_length: tokens generated per sequence, the end token included.
        sampler: from `make_sampler` (or any keras-hub sampler, or `TFLiteGreedySampler`).
        banned_ids: tokens never written (padding, unknown, the start token).
        pad_id: written after the end token.

    One member's scores are its step's logits. An ensemble's are the mean of its members' log-softmaxes:
    a product of experts, so a token wins where the members agree and one that any member finds very
    unlikely is held back (the mean of the probabilities would let one confident member decide). Banned
    tokens get -1e9.

    `decoder(inputs)` returns int32 `(batch, max_length)`: the generated tokens, the end token kept and
    `pad_id` after it (`sampler=` overrides the decoder's own for one call). `complete(prompt, cache,
    index, mask)` runs the sampler on a prompt the caller built (the char LM's text so far) and returns
    the whole buffer.

    Example:

    >>> import keras, numpy as np
    >>> from zoo.decoding import Decoder, make_sampler
    >>> table = np.log(np.full((4, 4), 0.01) + np.eye(4)[[2, 3, 1, 2]])  # token t -> row t's best
    >>> def step(prompt, cache, index):
    ...     previous = keras.ops.take(prompt, index - 1, axis=1)
    ...     return keras.ops.take(keras.ops.cast(table, "float32"), previous, axis=0), None, cache
    >>> decoder = Decoder(lambda x: None, step, start_id=0, end_id=1, max_length=4, sampler=make_sampler())
    >>> keras.ops.convert_to_numpy(decoder(np.zeros((1, 1)))).tolist()  # 0 -> 2 -> 1 (end), then padding
    [[2, 1, 0, 0]]
    """

    def __init__(
        self,
        encode: Callable | Sequence[Callable] | None,
        step: Next | Sequence[Next],
        *,
        start_id: int | None = None,
        end_id: int | None,
        max_length: int,
        sampler,
        banned_ids: Sequence[int] = (),
        pad_id: int = 0,
    ):
        self.ensemble = isinstance(step, Sequence)
        self.encoders = list(encode) if isinstance(encode, Sequence) else [encode]
        self.steps = list(step) if self.ensemble else [step]
        if self.ensemble and (not self.steps or len(self.steps) != len(self.encoders)):
            raise ValueError(
                f"one step per encoder: got {len(self.encoders)} encoders, {len(self.steps)} steps"
            )
        self.start_id, self.end_id, self.pad_id = start_id, end_id, pad_id
        self.max_length, self.sampler = max_length, sampler
        self.banned_ids = tuple(banned_ids)

    def _next(self, prompt, cache, index):
        if not self.ensemble:
            scores, hidden, cache = self.steps[0](prompt, cache, index)
        else:
            hidden, outputs = None, [step(prompt, part, index) for step, part in zip(self.steps, cache)]
            log_probs = [ops.log_softmax(logits, axis=-1) for logits, _, _ in outputs]
            scores = log_probs[0] if len(log_probs) == 1 else ops.mean(ops.stack(log_probs), axis=0)
            cache = [part for _, _, part in outputs]
        if self.banned_ids:
            vocabulary = ops.arange(ops.shape(scores)[-1])
            banned = _any_equal(vocabulary, self.banned_ids)
            scores = ops.where(banned, ops.cast(-1e9, scores.dtype), scores)
        return scores, hidden, cache

    def complete(self, prompt, cache=None, index=1, mask=None, sampler=None):
        """The sampler's output for `prompt` (`(batch, length)` ids, fixed where `mask` is True), generating
        from `index` on; padded after the first end token at or after `index` when there is an end token."""
        stop = None if self.end_id is None else [self.end_id]
        output = (sampler or self.sampler)(
            self._next, prompt, cache=cache, index=index, mask=mask, stop_token_ids=stop
        )
        if self.end_id is None:
            return output
        ends = None if mask is None else ops.logical_not(ops.cast(mask, "bool"))
        return pad_after_end(output, self.end_id, index=index, pad_id=self.pad_id, ends=ends)

    def __call__(self, inputs, sampler=None):
        if self.start_id is None:
            raise ValueError("a Decoder without start_id completes prompts (`complete`), it cannot start one")
        caches = [encode(inputs) for encode in self.encoders]
        batch = ops.shape(keras.tree.flatten(inputs)[0])[0]
        prompt = ops.concatenate(
            [ops.full((batch, 1), self.start_id, "int32"), ops.zeros((batch, self.max_length), "int32")], 1
        )
        mask = ops.concatenate([ops.ones((batch, 1), "bool"), ops.zeros((batch, self.max_length), "bool")], 1)
        output = self.complete(prompt, caches if self.ensemble else caches[0], 1, mask, sampler)
        return ops.cast(output[:, 1:], "int32")


class BeamSearch:
    """Beam search with GNMT length normalisation and finished hypotheses kept frozen.

    Called like a keras-hub sampler (`beam(next, prompt, cache, index, stop_token_ids)`), it keeps
    `beam_size` hypotheses per batch row. At each step every live hypothesis is extended by every token
    (log-softmax of `next`'s logits added to its log-probability), and the `beam_size` best candidates of
    each row survive, ranked by the length-normalised score of Wu et al. (2016), GNMT:

        score = log_prob / ((5 + length) / 6) ** length_penalty

    where `length` counts the generated tokens, the end token included. A hypothesis that has emitted an
    end token is finished: from then on it may only add `pad_id`, at zero cost and without growing, so it
    keeps its score and competes with the live ones until the end. The loop stops as soon as every
    hypothesis of every row has finished, or at `max_length`. The best hypothesis of a row is the one
    with the highest normalised score.

    Like every beam search it can miss the best hypothesis: a finished hypothesis holds a slot only while
    it ranks among the row's `beam_size` best candidates, so live hypotheses that score higher at some
    step push it out even if they all end up worse (`tests/test_decoding.py` has such a case). Decoders
    that keep finished hypotheses in a separate pool (fairseq, Hugging Face) miss fewer; a wider beam
    helps here.

    Why not `keras_hub.samplers.BeamSampler` (keras-hub 0.32)? It ranks by raw log-probability, which
    favours short outputs, and it does not freeze finished beams: a beam that has emitted the end token
    is extended again at the next step and the log-probabilities of the tokens after the end are added
    to its score. It stops only once every beam contains an end token. So the best finished hypothesis
    can lose to a worse one (`tests/test_decoding.py` shows a case: BeamSampler returns a hypothesis of
    log-probability -1.31 over one of -0.69) and the returned sequences hold tokens after the end.

    The prompt and every tensor in the cache are repeated `beam_size` times along the batch
    (rows `b * beam_size ... b * beam_size + beam_size - 1` belong to batch row `b`), so `next` sees
    `batch * beam_size` rows, encoder outputs included; after each step the cache rows are gathered to
    follow their hypotheses, so a key/value cache stays consistent with the prompt rows.

    Written with `keras.ops` and `keras.ops.while_loop`; checked under the TensorFlow backend, eagerly
    and inside `tf.function` with an unknown batch size (so it can be part of a SavedModel signature).

    Args:
        beam_size: hypotheses kept per row; 1 gives greedy decoding. Must not exceed the vocabulary.
        length_penalty: GNMT's alpha. 0 ranks by raw log-probability; larger values favour longer
            outputs. Defaults to 0.6 (in the range the GNMT paper found best, 0.6-0.7).
        pad_id: the only token a finished hypothesis may add. Defaults to 0.
        return_all_beams: return every hypothesis with its score instead of only the best. Defaults to
            False.

    Call arguments:
        next: `next(prompt, cache, index) -> (logits, hidden_states, cache)`.
        prompt: int `(batch, max_length)`, filled before `index` (e.g. with the start token).
        cache: a nest of tensors whose first axis is the batch (not yet repeated for the beams), or None.
        index: the first position to generate. Defaults to 0.
        mask: optional bool `(batch, max_length)`, as keras-hub samplers take it: True where the prompt's
            token is fixed. From `index` on, a fixed token is taken at zero cost, does not count in the
            length and does not finish the hypothesis even if it is a stop token (a hypothesis that has
            finished writes padding there instead). Positions before `index` are never written.
        stop_token_ids: the end token(s), e.g. `(end_id,)`. None: every hypothesis runs to `max_length`.

    Returns:
        int `(batch, max_length)`, the best hypothesis of each row, `pad_id` after its end token; with
        `return_all_beams`, `(sequences, scores)`: `(batch, beam_size, max_length)` and float32
        `(batch, beam_size)` length-normalised scores, best first.

    Example:

    ```python
    beam = zoo.decoding.BeamSearch(beam_size=4)
    tokens = beam(next, prompt, cache={"encoder": encoded}, index=1, stop_token_ids=(end_id,))
    ```

    References:
        - [Wu et al., 2016, Google's Neural Machine Translation System](https://arxiv.org/abs/1609.08144),
          section 7 (length normalisation).
    """

    def __init__(
        self,
        beam_size: int = 4,
        length_penalty: float = 0.6,
        pad_id: int = 0,
        return_all_beams: bool = False,
    ):
        if int(beam_size) != beam_size or beam_size < 1:
            raise ValueError(f"beam_size must be a positive integer, got {beam_size!r}")
        if length_penalty < 0:
            raise ValueError(f"length_penalty must be >= 0, got {length_penalty!r}")
        self.beam_size = int(beam_size)
        self.length_penalty = float(length_penalty)
        self.pad_id = int(pad_id)
        self.return_all_beams = return_all_beams

    def normalise(self, log_probs: Any, lengths: Any) -> Any:
        """GNMT's `log_probs / ((5 + lengths) / 6) ** length_penalty`, elementwise."""
        lengths = ops.cast(lengths, "float32")
        return log_probs / ops.power((5.0 + lengths) / 6.0, self.length_penalty)

    def __call__(
        self,
        next: Next,
        prompt: Any,
        cache: Any = None,
        index: int | Any = 0,
        mask: Any = None,
        stop_token_ids: Sequence[int] | None = None,
    ) -> Any:
        beams = self.beam_size
        prompt = ops.convert_to_tensor(prompt)
        batch_size, max_length = ops.shape(prompt)[0], ops.shape(prompt)[1]
        index = ops.cast(index, "int32")
        stop_token_ids = tuple(stop_token_ids or ())

        def flatten(x):  # (batch, beams, ...) -> (batch * beams, ...)
            return ops.reshape(x, (-1,) + tuple(ops.shape(x)[2:]))

        def unflatten(x):  # (batch * beams, ...) -> (batch, beams, ...)
            return ops.reshape(x, (-1, beams) + tuple(ops.shape(x)[1:]))

        # `repeat`, not `tile`: the beams of one row are adjacent, so `unflatten` separates them.
        has_cache = cache is not None
        cache = keras.tree.map_structure(lambda x: ops.repeat(x, beams, axis=0), cache) if has_cache else ()
        prompt = ops.repeat(prompt, beams, axis=0)
        mask = (
            ops.zeros_like(prompt, dtype="bool")
            if mask is None
            else ops.repeat(ops.cast(mask, "bool"), beams, 0)
        )
        # Only the first beam is live at the start; the others would duplicate it.
        log_probs = ops.broadcast_to(
            ops.convert_to_tensor([[0.0] + [_IMPOSSIBLE] * (beams - 1)], "float32"), (batch_size, beams)
        )
        log_probs = flatten(log_probs)
        finished = ops.zeros_like(log_probs, dtype="bool")
        lengths = ops.zeros_like(log_probs, dtype="int32")

        def cond(prompt, cache, index, log_probs, finished, lengths, mask):
            if not stop_token_ids:
                return ops.convert_to_tensor(True)
            return ops.logical_not(ops.all(finished))

        def body(prompt, cache, index, log_probs, finished, lengths, mask):
            logits, _, cache = next(prompt, cache, index)
            step = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
            vocabulary_size = ops.shape(step)[-1]
            if isinstance(vocabulary_size, int) and vocabulary_size < beams:
                raise ValueError(f"beam_size {beams} exceeds the vocabulary size {vocabulary_size}")
            # A finished hypothesis has one continuation, padding, and a fixed position one, its token;
            # both cost nothing.
            vocabulary = ops.arange(vocabulary_size, dtype=prompt.dtype)
            pad_only = ops.where(vocabulary == self.pad_id, 0.0, _IMPOSSIBLE)
            fixed = mask[:, index]
            fixed_only = ops.where(vocabulary[None, :] == prompt[:, index][:, None], 0.0, _IMPOSSIBLE)
            step = ops.where(fixed[:, None], fixed_only, step)
            step = ops.where(finished[:, None], pad_only[None, :], step)
            candidate_log_probs = log_probs[:, None] + step
            generated = ops.logical_not(ops.logical_or(finished, fixed))
            candidate_lengths = lengths + ops.cast(generated, "int32")
            scores = self.normalise(candidate_log_probs, candidate_lengths[:, None])
            # Best `beams` candidates of each row among its beams * vocabulary continuations.
            _, chosen = ops.top_k(ops.reshape(scores, (-1, beams * vocabulary_size)), k=beams)
            parents = chosen // vocabulary_size
            tokens = ops.cast(flatten(chosen % vocabulary_size), prompt.dtype)
            log_probs = flatten(
                ops.take_along_axis(
                    ops.reshape(candidate_log_probs, (-1, beams * vocabulary_size)), chosen, axis=1
                )
            )

            def follow_parents(x):
                x = unflatten(x)
                indices = ops.reshape(parents, tuple(ops.shape(parents)) + (1,) * (len(x.shape) - 2))
                return flatten(ops.take_along_axis(x, indices, axis=1))

            prompt = follow_parents(prompt)
            cache = keras.tree.map_structure(follow_parents, cache) if has_cache else cache
            generated = follow_parents(generated)
            finished = follow_parents(finished)
            lengths = follow_parents(candidate_lengths)
            prompt = ops.slice_update(prompt, [0, index], tokens[:, None])
            for stop_id in stop_token_ids:
                finished = ops.logical_or(finished, ops.logical_and(generated, ops.equal(tokens, stop_id)))
            return prompt, cache, index + 1, log_probs, finished, lengths, mask

        prompt, _, _, log_probs, _, lengths, _ = ops.while_loop(
            cond,
            body,
            (prompt, cache, index, log_probs, finished, lengths, mask),
            maximum_iterations=max_length - index,
        )
        scores = unflatten(self.normalise(log_probs, lengths))
        sequences = unflatten(prompt)
        order = ops.argsort(-scores, axis=-1)
        scores = ops.take_along_axis(scores, order, axis=1)
        sequences = ops.take_along_axis(sequences, order[:, :, None], axis=1)
        if self.return_all_beams:
            return sequences, scores
        return sequences[:, 0]

    def get_config(self) -> dict[str, Any]:
        return {
            "beam_size": self.beam_size,
            "length_penalty": self.length_penalty,
            "pad_id": self.pad_id,
            "return_all_beams": self.return_all_beams,
        }
