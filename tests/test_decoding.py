"""Tests of zoo.decoding on a hand-made language model: a table of next-token log-probabilities, so the
log-probability of every sequence can be computed exactly and compared with what the decoders choose."""

from __future__ import annotations

import itertools

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

import zoo.export
from zoo.decoding import BeamSearch, Decoder, TFLiteGreedySampler, make_sampler, pad_after_end

PAD, START, END, A, B, C = range(6)
VOCABULARY_SIZE = 6
MAX_LENGTH = 6  # the start token and up to 5 generated tokens


def table_of(rows: dict[int, dict[int, float]]) -> np.ndarray:
    """Log-probability table `[previous, next]` from the probabilities given per previous token; what a
    row leaves is shared by its other tokens, and a row not given is uniform."""
    probabilities = np.full((VOCABULARY_SIZE, VOCABULARY_SIZE), 1 / VOCABULARY_SIZE)
    for previous, row in rows.items():
        rest = (1 - sum(row.values())) / (VOCABULARY_SIZE - len(row))
        assert rest > 0
        probabilities[previous] = [row.get(token, rest) for token in range(VOCABULARY_SIZE)]
    return np.log(probabilities).astype("float32")


def markov_next(table: np.ndarray, seen_shapes: list | None = None):
    """A `next` whose logits are `table[previous token] + cache["encoder"]` (a per-row bias, standing in
    for encoder outputs). It also keeps a key/value-like cache `seen` of the tokens it has read and checks,
    at every step, that it equals the prompt, which holds only if the cache rows follow their beams."""
    table = keras.ops.convert_to_tensor(table)

    def next(prompt, cache, index):
        tf.debugging.assert_equal(tf.shape(cache["encoder"])[0], tf.shape(prompt)[0])
        if seen_shapes is not None:
            seen_shapes.append((int(prompt.shape[0]), int(cache["encoder"].shape[0])))
        seen = keras.ops.slice_update(cache["seen"], [0, index - 1], prompt[:, index - 1 : index])
        tf.debugging.assert_equal(seen[:, :index], prompt[:, :index], message="cache rows lost their beams")
        logits = keras.ops.take(table, seen[:, index - 1], axis=0) + cache["encoder"]
        return logits, None, {"encoder": cache["encoder"], "seen": seen}

    return next


def greedy_search(next, prompt, cache, index, end_id=END, mask=None):
    """The `Decoder` completing a prompt greedily, padded after the end."""
    decoder = Decoder(None, next, end_id=end_id, max_length=MAX_LENGTH - 1, sampler=make_sampler())
    return decoder.complete(prompt, cache, index, mask)


def start_prompt(batch_size: int = 1) -> np.ndarray:
    prompt = np.zeros((batch_size, MAX_LENGTH), "int32")
    prompt[:, 0] = START
    return prompt


def cache_of(bias: np.ndarray | None = None, batch_size: int = 1) -> dict[str, np.ndarray]:
    if bias is None:
        bias = np.zeros((batch_size, VOCABULARY_SIZE), "float32")
    return {"encoder": bias.astype("float32"), "seen": np.zeros((len(bias), MAX_LENGTH), "int32")}


def log_prob(table: np.ndarray, sequence, bias: np.ndarray | None = None) -> float:
    """Exact log-probability of the generated tokens (after the start, up to and including the end)."""
    bias = np.zeros(VOCABULARY_SIZE) if bias is None else bias
    total, previous = 0.0, START
    for token in list(sequence)[1:]:
        logits = table[previous] + bias
        total += logits[token] - np.log(np.exp(logits).sum())
        if token == END:
            break
        previous = token
    return float(total)


def generated_length(sequence) -> int:
    tokens = list(sequence)[1:]
    return tokens.index(END) + 1 if END in tokens else len(tokens)


def gnmt_score(log_probability: float, length: int, alpha: float) -> float:
    return log_probability / ((5 + length) / 6) ** alpha


def best_by_brute_force(table, bias, alpha):
    """The highest-scoring hypothesis among all of them (ended, or running to the maximum length)."""
    best = None
    for length in range(1, MAX_LENGTH):
        for middle in itertools.product((A, B, C), repeat=length - 1):
            for last in (A, B, C, END) if length == MAX_LENGTH - 1 else (END,):
                sequence = [START, *middle, last] + [PAD] * (MAX_LENGTH - 1 - length)
                score = gnmt_score(log_prob(table, sequence, bias), length, alpha)
                if best is None or score > best[0]:
                    best = (score, sequence)
    return best


def keras_hub_greedy(table, prompt, cache):
    return keras.ops.convert_to_numpy(
        keras_hub.samplers.GreedySampler()(
            markov_next(table), prompt, cache=cache, index=1, stop_token_ids=(END,)
        )
    )


# Greedy takes A (0.5) and then ends (0.35): 0.175. B (0.4) and then END (0.9) is 0.36.
GREEDY_TRAP = table_of(
    {START: {A: 0.5, B: 0.4, C: 0.09}, A: {END: 0.35, A: 0.33, C: 0.31}, B: {END: 0.9}, C: {END: 0.9}}
)


def test_beam_search_beats_greedy():
    greedy = keras_hub_greedy(GREEDY_TRAP, start_prompt(), cache_of())[0]
    beam = keras.ops.convert_to_numpy(
        BeamSearch(beam_size=2)(
            markov_next(GREEDY_TRAP), start_prompt(), cache_of(), index=1, stop_token_ids=(END,)
        )
    )[0]
    assert greedy[:3].tolist() == [START, A, END]
    assert beam.tolist() == [START, B, END, PAD, PAD, PAD]
    greedy_log_prob, beam_log_prob = log_prob(GREEDY_TRAP, greedy), log_prob(GREEDY_TRAP, beam)
    assert greedy_log_prob == pytest.approx(GREEDY_TRAP[START, A] + GREEDY_TRAP[A, END])  # about log 0.175
    assert beam_log_prob == pytest.approx(GREEDY_TRAP[START, B] + GREEDY_TRAP[B, END])  # about log 0.36
    assert beam_log_prob > greedy_log_prob + 0.5


def test_the_tflite_greedy_sampler_chooses_as_keras_hubs_and_converts_to_built_in_ops(tmp_path):
    rng = np.random.default_rng(3)
    table = rng.normal(size=(VOCABULARY_SIZE, VOCABULARY_SIZE)).astype("float32")
    bias = rng.normal(size=(8, VOCABULARY_SIZE)).astype("float32")
    bias[:, END] += np.linspace(-2, 2, 8)  # some rows end early, some never
    prompt, cache = start_prompt(8), cache_of(bias)
    reference = keras_hub_greedy(table, prompt, cache)
    sampler = TFLiteGreedySampler()
    eager = sampler(markov_next(table), prompt, cache, index=1, stop_token_ids=(END,))
    graph = tf.function(lambda p, c: sampler(markov_next(table), p, c, index=1, stop_token_ids=(END,)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(eager), reference)
    np.testing.assert_array_equal(graph(prompt, cache).numpy(), reference)

    def decode(row_bias):  # one row: the start token, then greedy steps over the table
        def next(prompt, cache, index):
            return keras.ops.take(table, prompt[:, index - 1], axis=0) + cache, None, cache

        return {"tokens": sampler(next, start_prompt(), row_bias, index=1, stop_token_ids=(END,))}

    spec = [tf.TensorSpec([1, VOCABULARY_SIZE], tf.float32, name="bias")]
    path = zoo.export.export_tflite_function(decode, tmp_path / "greedy.tflite", spec)
    assert "WHILE" in zoo.export.tflite_ops(path)
    assert zoo.export.tflite_tensors(path)["outputs"][0]["name"] == "tokens"
    for row in range(8):
        alone = keras_hub_greedy(table, start_prompt(), cache_of(bias[row : row + 1]))
        np.testing.assert_array_equal(zoo.export.run_tflite(path, bias[row : row + 1]), alone)


def test_beam_size_one_is_greedy():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(VOCABULARY_SIZE, VOCABULARY_SIZE)).astype("float32")
    bias = rng.normal(size=(8, VOCABULARY_SIZE)).astype("float32")
    bias[:, END] += np.linspace(-2, 2, 8)  # some rows end early, some never
    prompt, cache = start_prompt(8), cache_of(bias)

    reference = keras_hub_greedy(table, prompt, cache)
    beam = keras.ops.convert_to_numpy(
        BeamSearch(beam_size=1)(markov_next(table), prompt, cache, index=1, stop_token_ids=(END,))
    )
    greedy = keras.ops.convert_to_numpy(greedy_search(markov_next(table), prompt, cache, 1, end_id=END))
    # GreedySampler writes tokens after a row's end until every row has ended; both of ours pad there.
    padded = keras.ops.convert_to_numpy(pad_after_end(reference, END, index=1))
    np.testing.assert_array_equal(beam, padded)
    np.testing.assert_array_equal(greedy, padded)
    ended = [row for row in range(8) if END in reference[row, 1:]]
    assert 0 < len(ended) < 8
    assert any((reference[row] != padded[row]).any() for row in ended)  # there was something to pad
    for row in range(8):
        length = generated_length(reference[row])
        np.testing.assert_array_equal(beam[row, : length + 1], reference[row, : length + 1])


# The best hypothesis ends at once (0.5); keras-hub's BeamSampler extends it after the end (0.5 for A or B).
END_AT_ONCE = table_of(
    {START: {END: 0.5, A: 0.3, B: 0.19}, A: {END: 0.9}, B: {END: 0.9}, END: {A: 0.5, B: 0.49}}
)


def test_finished_hypotheses_are_frozen():
    sequences, scores = BeamSearch(beam_size=2, length_penalty=0.0, return_all_beams=True)(
        markov_next(END_AT_ONCE), start_prompt(), cache_of(), index=1, stop_token_ids=(END,)
    )
    sequences, scores = keras.ops.convert_to_numpy(sequences)[0], keras.ops.convert_to_numpy(scores)[0]
    assert sequences.tolist() == [[START, END, PAD, PAD, PAD, PAD], [START, A, END, PAD, PAD, PAD]]
    # The scores are the exact log-probabilities: nothing was added after the end tokens.
    np.testing.assert_allclose(scores, [log_prob(END_AT_ONCE, s) for s in sequences], rtol=1e-5)


def test_keras_hub_beam_sampler_extends_finished_beams():
    # Why BeamSearch exists (keras-hub 0.32). If this fails, keras-hub changed; revisit zoo.decoding.
    sequences, scores = keras_hub.samplers.BeamSampler(num_beams=2, return_all_beams=True)(
        markov_next(END_AT_ONCE), start_prompt(), cache_of(), index=1, stop_token_ids=(END,)
    )
    sequences, scores = keras.ops.convert_to_numpy(sequences)[0], keras.ops.convert_to_numpy(scores)[0]
    assert sequences[0].tolist() == [START, A, END, PAD, PAD, PAD]
    assert sequences[1, :3].tolist() == [START, END, A]  # extended after its end token...
    assert scores[1] < log_prob(END_AT_ONCE, sequences[1]) - 0.5  # ...and charged for it, so it lost


def test_cache_is_tiled_for_the_beams_and_follows_them():
    rng = np.random.default_rng(1)
    table = rng.normal(size=(VOCABULARY_SIZE, VOCABULARY_SIZE)).astype("float32")
    bias = rng.normal(size=(3, VOCABULARY_SIZE)).astype("float32")
    seen_shapes = []
    BeamSearch(beam_size=4)(markov_next(table, seen_shapes), start_prompt(3), cache_of(bias), index=1)
    assert seen_shapes and set(seen_shapes) == {(12, 12)}  # batch 3 * beam 4, prompt and cache alike
    assert len(seen_shapes) == MAX_LENGTH - 1  # no stop token: runs to the maximum length


# START -> END directly: log-probability -1.2, length 1. START -> A -> B -> END: -1.5, length 3.
SHORT_OR_LONG = table_of(
    {
        START: {END: np.exp(-1.2), A: 0.6},
        A: {B: 0.75, A: 0.1, C: 0.1},
        B: {END: np.exp(-1.5 + 1.2) * np.exp(-1.2) / (0.6 * 0.75), A: 0.2, B: 0.2},
    }
)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0, 2.0])
def test_length_penalty_follows_the_gnmt_formula(alpha):
    short = [START, END, PAD, PAD, PAD, PAD]
    long = [START, A, B, END, PAD, PAD]
    short_log_prob, long_log_prob = log_prob(SHORT_OR_LONG, short), log_prob(SHORT_OR_LONG, long)
    assert (short_log_prob, long_log_prob) == pytest.approx((-1.2, -1.5))
    short_score, long_score = gnmt_score(short_log_prob, 1, alpha), gnmt_score(long_log_prob, 3, alpha)
    # (8/6)^0.6 = 1.19 keeps the short one ahead (-1.20 > -1.26); (8/6)^1 = 1.33 does not (-1.125).
    assert (short_score > long_score) == (alpha < 0.8)

    sequences, scores = BeamSearch(beam_size=2, length_penalty=alpha, return_all_beams=True)(
        markov_next(SHORT_OR_LONG), start_prompt(), cache_of(), index=1, stop_token_ids=(END,)
    )
    sequences, scores = keras.ops.convert_to_numpy(sequences)[0], keras.ops.convert_to_numpy(scores)[0]
    expected = [(short_score, short), (long_score, long)]
    expected.sort(reverse=True)
    assert sequences.tolist() == [sequence for _, sequence in expected]
    np.testing.assert_allclose(scores, [score for score, _ in expected], rtol=1e-5)


def test_runs_in_tf_function_and_saved_model(tmp_path):
    rng = np.random.default_rng(2)
    table = rng.normal(size=(VOCABULARY_SIZE, VOCABULARY_SIZE)).astype("float32")
    table[:, END] += 1.0
    bias = rng.normal(size=(2, VOCABULARY_SIZE)).astype("float32")
    bias[0, [A, B]] += [2.0, -2.0]  # row 0 likes A, row 1 likes B
    bias[1, [A, B]] += [-2.0, 2.0]
    beam = BeamSearch(beam_size=3)
    next = markov_next(table)

    class Decoder(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec((None, MAX_LENGTH), tf.int32),
                tf.TensorSpec((None, VOCABULARY_SIZE), tf.float32),
            ]
        )
        def __call__(self, prompt, encoder):
            seen = tf.zeros_like(prompt)
            return beam(next, prompt, {"encoder": encoder, "seen": seen}, index=1, stop_token_ids=(END,))

    decoder = Decoder()
    graph_result = decoder(start_prompt(2), bias).numpy()
    tf.saved_model.save(decoder, str(tmp_path / "decoder"))
    reloaded = tf.saved_model.load(str(tmp_path / "decoder"))
    np.testing.assert_array_equal(reloaded(start_prompt(2), bias).numpy(), graph_result)

    assert graph_result[0].tolist() != graph_result[1].tolist()  # the rows' encoder outputs differ
    for row in range(2):
        alone = beam(next, start_prompt(), cache_of(bias[row : row + 1]), index=1, stop_token_ids=(END,))
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(alone)[0], graph_result[row])
        # Scored as BeamSearch scores them, the beam's choice is at least as good as greedy's.
        greedy = keras_hub_greedy(table, start_prompt(), cache_of(bias[row : row + 1]))[0]
        scores = [
            gnmt_score(log_prob(table, sequence, bias[row]), generated_length(sequence), beam.length_penalty)
            for sequence in (graph_result[row], greedy)
        ]
        assert scores[0] >= scores[1]


def test_beam_search_can_miss_the_best_hypothesis():
    # The limitation documented in BeamSearch: ending at once is the best hypothesis of all here, but at
    # the first step three live hypotheses score higher and take the three slots; they all end up worse.
    rng = np.random.default_rng(2)
    table = rng.normal(size=(VOCABULARY_SIZE, VOCABULARY_SIZE)).astype("float32")
    table[:, END] += 1.0
    bias = rng.normal(size=(1, VOCABULARY_SIZE)).astype("float32")
    bias[0, [A, B]] += [2.0, -2.0]
    best_score, best = best_by_brute_force(table, bias[0], alpha=0.6)
    assert best == [START, END, PAD, PAD, PAD, PAD]
    found = BeamSearch(3)(markov_next(table), start_prompt(), cache_of(bias), 1, stop_token_ids=(END,))
    found = keras.ops.convert_to_numpy(found)[0].tolist()
    assert gnmt_score(log_prob(table, found, bias[0]), generated_length(found), 0.6) < best_score - 0.5


def test_pad_after_end_ignores_the_prompt():
    sequences = np.array([[END, 5, END, 7, END], [1, 5, 5, 7, 5]])
    padded = keras.ops.convert_to_numpy(pad_after_end(sequences, END, index=1, pad_id=PAD))
    assert padded.tolist() == [[END, 5, END, PAD, PAD], [1, 5, 5, 7, 5]]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="beam_size"):
        BeamSearch(beam_size=0)
    with pytest.raises(ValueError, match="length_penalty"):
        BeamSearch(length_penalty=-1.0)
    with pytest.raises(ValueError, match="exceeds the vocabulary"):
        BeamSearch(beam_size=VOCABULARY_SIZE + 1)(
            markov_next(GREEDY_TRAP), start_prompt(), cache_of(), index=1, stop_token_ids=(END,)
        )


def test_fixed_prompt_positions_match_greedy_sampler():
    # As keras-hub samplers read `mask`: a fixed token is kept, and a fixed END does not end the row.
    rng = np.random.default_rng(3)
    table = rng.normal(size=(VOCABULARY_SIZE, VOCABULARY_SIZE)).astype("float32")
    prompt = start_prompt(2)
    prompt[:, 2] = [A, END]
    mask = np.zeros_like(prompt, dtype=bool)
    mask[:, [0, 2]] = True
    reference = keras_hub.samplers.GreedySampler()(
        markov_next(table), prompt, cache=cache_of(batch_size=2), index=1, mask=mask, stop_token_ids=(END,)
    )
    reference = keras.ops.convert_to_numpy(pad_after_end(reference, END, index=1, ends=~mask))
    greedy = greedy_search(markov_next(table), prompt, cache_of(batch_size=2), 1, mask=mask)
    beam = BeamSearch(beam_size=1)(markov_next(table), prompt, cache_of(batch_size=2), 1, mask, (END,))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(greedy), reference)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(beam), reference)
    assert reference[1, 2] == END and reference[1, 3] != PAD  # the fixed END did not finish row 1
    sequences, _ = BeamSearch(beam_size=3, return_all_beams=True)(
        markov_next(table), prompt, cache_of(batch_size=2), 1, mask, (END,)
    )
    sequences = keras.ops.convert_to_numpy(sequences)
    assert (sequences[0, :, 2] == A).all() and (sequences[1, :, 2] == END).all()


def test_the_decoder_encodes_once_and_starts_from_the_start_token():
    rng = np.random.default_rng(5)
    table = rng.normal(size=(VOCABULARY_SIZE, VOCABULARY_SIZE)).astype("float32")
    bias = rng.normal(size=(4, VOCABULARY_SIZE)).astype("float32")
    calls = []

    def encode(inputs):
        calls.append(1)
        return cache_of(inputs)

    decoder = Decoder(encode, markov_next(table), start_id=START, end_id=END, max_length=MAX_LENGTH - 1,
                      sampler=make_sampler())  # fmt: skip
    ids = keras.ops.convert_to_numpy(decoder(bias))
    assert ids.shape == (4, MAX_LENGTH - 1) and len(calls) == 1
    reference = greedy_search(markov_next(table), start_prompt(4), cache_of(bias), 1)
    reference = keras.ops.convert_to_numpy(reference)
    np.testing.assert_array_equal(ids, reference[:, 1:])
    beam = keras.ops.convert_to_numpy(decoder(bias, sampler=make_sampler(beam_size=1)))
    np.testing.assert_array_equal(beam, ids)  # `sampler=` overrides for one call


def test_an_ensemble_decodes_by_the_mean_of_its_members_log_softmaxes_and_never_writes_banned_ids():
    rng = np.random.default_rng(6)
    tables = [rng.normal(size=(VOCABULARY_SIZE, VOCABULARY_SIZE)).astype("float32") for _ in range(2)]
    bias = rng.normal(size=(8, VOCABULARY_SIZE)).astype("float32")

    def decode(members, banned=()):
        steps = [markov_next(table) for table in members]
        decoder = Decoder([cache_of] * len(members), steps, start_id=START, end_id=END,
                          max_length=MAX_LENGTH - 1, sampler=make_sampler(), banned_ids=banned)  # fmt: skip
        return keras.ops.convert_to_numpy(decoder(bias))

    def log_softmax(x):
        return x - np.log(np.exp(x).sum(-1, keepdims=True))

    mean = log_softmax((log_softmax(tables[0]) + log_softmax(tables[1])) / 2)
    # Both members see the same bias: the mean of log-softmaxes is the log-softmax of one table + bias.
    np.testing.assert_array_equal(decode(tables), decode([mean]))
    assert (decode(tables) != decode(tables[:1])).any()  # the second member changed some choices
    banned = decode(tables, banned=(A, B))
    assert not np.isin(banned, [A, B]).any() and np.isin(decode(tables), [A, B]).any()


def test_make_sampler_chooses_the_search():
    assert isinstance(make_sampler(), keras_hub.samplers.GreedySampler)
    beam = make_sampler(beam_size=4, length_penalty=0.2)
    assert isinstance(beam, BeamSearch) and (beam.beam_size, beam.length_penalty) == (4, 0.2)
    assert isinstance(make_sampler(temperature=0.8), keras_hub.samplers.RandomSampler)
    assert isinstance(make_sampler(temperature=0.8, top_k=5), keras_hub.samplers.TopKSampler)
    assert isinstance(make_sampler(temperature=0.8, top_p=0.9), keras_hub.samplers.TopPSampler)
    for bad in ({"beam_size": 0}, {"temperature": -1}, {"top_p": 0.0}, {"beam_size": 2, "temperature": 1.0}):
        with pytest.raises(ValueError):
            make_sampler(**bad)
