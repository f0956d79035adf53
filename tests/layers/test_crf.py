import doctest
import itertools
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
import zoo.export
import zoo.layers
from zoo.layers import CRF
from zoo.layers.crf import CRFLoss

NUM_TAGS = 3
LENGTHS = [4, 1, 0, 3, 2]  # rows of one padded batch; 0 is a row of padding only
TIME = max(LENGTHS)


def random_crf(seed: int, num_tags: int = NUM_TAGS) -> CRF:
    rng = np.random.default_rng(seed)
    crf = CRF(num_tags)
    crf.build((None, None, num_tags))
    for weight in crf.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return crf


def padded_batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    emissions = np.random.default_rng(seed + 100).normal(size=(len(LENGTHS), TIME, NUM_TAGS)) * 2
    mask = np.arange(TIME)[None, :] < np.array(LENGTHS)[:, None]
    return emissions.astype("float32"), mask


def brute_force_scores(crf: CRF, emissions: np.ndarray, length: int) -> dict[tuple, float]:
    """score(y) for every tag path of `length` steps, straight from the definition, in float64."""
    transitions, start, end = (keras.ops.convert_to_numpy(w).astype(np.float64) for w in crf.weights)
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        if not path:
            scores[path] = 0.0
            continue
        score = start[path[0]] + end[path[-1]] + sum(emissions[t, tag] for t, tag in enumerate(path))
        score += sum(transitions[a, b] for a, b in zip(path[:-1], path[1:]))
        scores[path] = float(score)
    return scores


def logsumexp(values) -> float:
    values = np.asarray(list(values), dtype=np.float64)
    return float(values.max() + np.log(np.exp(values - values.max()).sum()))


def as_padded_tags(path: tuple) -> np.ndarray:
    return np.array(list(path) + [-1] * (TIME - len(path)), dtype="int32")


# ---------------------------------------------------------------------------------------------------
# Numbers against brute-force enumeration of every tag path
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_likelihood_equals_brute_force_over_all_paths(seed):
    crf = random_crf(seed)
    emissions, mask = padded_batch(seed)
    for row, length in enumerate(LENGTHS):
        scores = brute_force_scores(crf, emissions[row], length)
        log_partition = logsumexp(scores.values())
        paths = list(scores)
        tags = np.stack([as_padded_tags(path) for path in paths])
        # Every path of this row, scored against the same emissions padded with the batch's other rows.
        batch_emissions = np.repeat(emissions[row : row + 1], len(paths), axis=0)
        batch_mask = np.repeat(mask[row : row + 1], len(paths), axis=0)
        log_likelihood = keras.ops.convert_to_numpy(crf.log_likelihood(batch_emissions, tags, batch_mask))
        expected = np.array([scores[path] - log_partition for path in paths])
        np.testing.assert_allclose(log_likelihood, expected, atol=1e-4, err_msg=f"row {row}")
        assert np.exp(log_likelihood.astype(np.float64)).sum() == pytest.approx(1.0, abs=1e-5)


def test_log_likelihood_of_the_whole_padded_batch_at_once():
    # The same numbers with every row in one batch: rows must not leak into each other.
    crf = random_crf(3)
    emissions, mask = padded_batch(3)
    rng = np.random.default_rng(3)
    paths = [tuple(rng.integers(0, NUM_TAGS, length).tolist()) for length in LENGTHS]
    tags = np.stack([as_padded_tags(path) for path in paths])
    expected = []
    for row, (length, path) in enumerate(zip(LENGTHS, paths)):
        scores = brute_force_scores(crf, emissions[row], length)
        expected.append(scores[path] - logsumexp(scores.values()))
    log_likelihood = keras.ops.convert_to_numpy(crf.log_likelihood(emissions, tags, mask))
    np.testing.assert_allclose(log_likelihood, expected, atol=1e-4)
    assert log_likelihood[LENGTHS.index(0)] == 0.0  # the empty path is certain


def test_gradient_is_observed_minus_expected_tag_counts():
    # d log p(y) / d E[t, j] = [y_t = j] - p(y_t = j): checks the gradient through the scan loop.
    crf = random_crf(4)
    emissions, mask = padded_batch(4)
    rng = np.random.default_rng(4)
    tags = np.stack([as_padded_tags(tuple(rng.integers(0, NUM_TAGS, n).tolist())) for n in LENGTHS])
    variable = tf.Variable(emissions)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(crf.log_likelihood(variable, tags, mask))
    gradient = tape.gradient(total, variable).numpy()
    for row, length in enumerate(LENGTHS):
        scores = brute_force_scores(crf, emissions[row], length)
        log_partition = logsumexp(scores.values())
        marginals = np.zeros((TIME, NUM_TAGS))
        for path, score in scores.items():
            for t, tag in enumerate(path):
                marginals[t, tag] += np.exp(score - log_partition)
        observed = np.zeros((TIME, NUM_TAGS))
        observed[np.arange(length), tags[row, :length]] = 1.0
        np.testing.assert_allclose(gradient[row], observed - marginals, atol=1e-4, err_msg=f"row {row}")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_viterbi_equals_brute_force_argmax(seed):
    crf = random_crf(seed + 10)
    emissions, mask = padded_batch(seed + 10)
    tags, best_score = (keras.ops.convert_to_numpy(x) for x in crf.decode(emissions, mask))
    assert tags.dtype == np.int32 and tags.shape == (len(LENGTHS), TIME)
    for row, length in enumerate(LENGTHS):
        scores = brute_force_scores(crf, emissions[row], length)
        best_path = max(scores, key=scores.get)
        assert tags[row].tolist() == list(best_path) + [0] * (TIME - length), f"row {row}"
        assert best_score[row] == pytest.approx(scores[best_path], abs=1e-4)


def test_call_with_decode_uses_the_mask_keras_propagates():
    crf = random_crf(20, num_tags=4)
    ids = keras.Input((None,), dtype="int32")
    emissions = keras.layers.Dense(4)(keras.layers.Embedding(10, 5, mask_zero=True)(ids))
    scorer = keras.Model(ids, crf(emissions))
    tagger = keras.Model(ids, crf(emissions, decode=True))
    x = np.array([[3, 1, 4, 1, 5, 0, 0], [9, 2, 6, 0, 0, 0, 0]])
    expected, _ = crf.decode(scorer(x), x > 0)
    tags = keras.ops.convert_to_numpy(tagger(x))
    np.testing.assert_array_equal(tags, keras.ops.convert_to_numpy(expected))
    assert tags.dtype == np.int32 and tagger.output.shape == (None, None)
    assert (tags[x == 0] == 0).all()
    # Extra padding changes nothing on the real steps.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(tagger(x[:, :5])), tags[:, :5])


def test_decode_with_a_time_dimension_unknown_when_traced():
    crf = random_crf(21)
    emissions, mask = padded_batch(21)
    spec = [tf.TensorSpec([None, None, NUM_TAGS], tf.float32), tf.TensorSpec([None, None], tf.bool)]
    traced = tf.function(lambda e, m: crf.decode(e, m), input_signature=spec)
    eager = crf.decode(emissions, mask)
    for expected, actual in zip(eager, traced(emissions, mask)):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(actual), keras.ops.convert_to_numpy(expected))


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (1, 0), (0, 3), (0, 0)])
def test_one_step_and_empty_batches_decode_and_score_when_traced_with_unknown_shapes(shape):
    # A scan over the steps after the first has no step to run for a one-token sentence; traced with an
    # unknown batch size, stacking its empty outputs failed ("empty list with non-fully-defined shape").
    crf = random_crf(22)
    emissions = np.random.default_rng(22).normal(size=(*shape, NUM_TAGS)).astype("float32")
    mask = np.ones(shape, bool)
    spec = [tf.TensorSpec([None, None, NUM_TAGS], tf.float32), tf.TensorSpec([None, None], tf.bool)]
    decode = tf.function(lambda e, m: crf.decode(e, m), input_signature=spec)
    log_likelihood = tf.function(
        lambda e, m: crf.log_likelihood(e, tf.zeros(tf.shape(m), tf.int32), m), input_signature=spec
    )
    tags, best = (t.numpy() for t in decode(emissions, mask))
    assert tags.shape == shape and best.shape == shape[:1]
    assert log_likelihood(emissions, mask).numpy().shape == shape[:1]
    if shape[1] == 1:  # one step: the best tag is the argmax of start + emission + end
        transitions, start, end = (keras.ops.convert_to_numpy(w) for w in crf.weights)
        np.testing.assert_array_equal(tags[:, 0], np.argmax(start + emissions[:, 0] + end, axis=-1))


def test_without_mask_every_step_is_real_and_decode_false_returns_emissions():
    crf = random_crf(22)
    emissions, _ = padded_batch(22)
    full = np.ones(emissions.shape[:2], dtype=bool)
    for no_mask, all_true in zip(crf.decode(emissions), crf.decode(emissions, full)):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(no_mask), keras.ops.convert_to_numpy(all_true)
        )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(crf(emissions)), emissions)
    assert crf.compute_mask(emissions, full) is None


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_tags >= 1"):
        CRF(num_tags=0)
    with pytest.raises(ValueError, match="4 scores per step"):
        CRF(num_tags=3)(np.zeros((1, 2, 4), "float32"))
    with pytest.raises(ValueError, match="no CRF layer"):
        CRFLoss()(np.zeros((1, 2)), np.zeros((1, 2, 3), "float32"))


# ---------------------------------------------------------------------------------------------------
# Training with `loss=crf.loss`
# ---------------------------------------------------------------------------------------------------

OTHER_WORDS, ENTITY_WORDS = range(1, 10), range(10, 20)
O, B, I = 0, 1, 2  # noqa: E741


def bio_sentences(count: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random words; an entity word is B after a non-entity word and I after an entity word.

    The emissions see one word each (Embedding -> Dense, no RNN), so they cannot tell B from I: only
    the transitions, i.e. the CRF, can. Lengths 0..10, so batches differ in length and hold empty rows.
    """
    rng = np.random.default_rng(seed)
    words, tags = [], []
    for _ in range(count):
        sentence = rng.integers(1, 20, rng.integers(0, 11)).astype("int32")
        entity = sentence >= ENTITY_WORDS[0]
        after_entity = np.concatenate([[False], entity[:-1]])
        words.append(sentence)
        tags.append(np.where(entity, np.where(after_entity, I, B), O).astype("int32"))
    return words, tags


def padded_dataset(words, tags, batch_size=32) -> tf.data.Dataset:
    signature = (tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32))
    dataset = tf.data.Dataset.from_generator(lambda: zip(words, tags), output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(words)))
    return dataset.padded_batch(batch_size, padding_values=(0, -1))  # tags padded with -1


def bio_models(num_tags: int = 3) -> tuple[keras.Model, keras.Model, CRF]:
    ids = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(20, 8, mask_zero=True)(ids)
    emissions = keras.layers.Dense(num_tags)(hidden)
    crf = CRF(num_tags, name="crf")
    return keras.Model(ids, crf(emissions)), keras.Model(ids, crf(emissions, decode=True)), crf


def test_learns_a_tag_rule_that_needs_the_previous_tag():
    keras.utils.set_random_seed(0)
    model, tagger, crf = bio_models()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=crf.loss)
    train = padded_dataset(*bio_sentences(320, seed=0))
    batch_lengths = {int(batch[0].shape[1]) for batch in train}
    assert len(batch_lengths) > 1, "the test must see batches of different lengths"
    history = model.fit(
        train, validation_data=padded_dataset(*bio_sentences(64, seed=2)), epochs=8, verbose=0
    )
    losses = history.history["loss"]
    assert all(np.isfinite(losses + history.history["val_loss"])), history.history
    assert losses[-1] < 0.1 * losses[0], losses

    words, tags = bio_sentences(200, seed=1)
    x = keras.utils.pad_sequences(words, padding="post")
    y = keras.utils.pad_sequences(tags, padding="post", value=-1)
    predicted = tagger.predict(x, verbose=0)
    real = y >= 0
    assert (predicted[real] == y[real]).mean() > 0.98
    inside = y == I  # right only if the transitions learned B/I -> I and O -> not I
    assert (predicted[inside] == I).mean() > 0.95
    assert (predicted[~real] == 0).all()
    transitions = keras.ops.convert_to_numpy(crf.transitions)
    assert transitions[O, I] < transitions[O, B] and transitions[B, I] > transitions[B, B]


def test_a_row_of_padding_only_gives_finite_loss_and_gradients():
    keras.utils.set_random_seed(1)
    model, _, crf = bio_models()
    x = np.array([[11, 12, 3, 0], [0, 0, 0, 0], [5, 0, 0, 0]], dtype="int32")
    y = np.array([[B, I, O, -1], [-1, -1, -1, -1], [O, -1, -1, -1]], dtype="int32")
    per_row = CRFLoss(crf, reduction=None)
    with tf.GradientTape() as tape:
        losses = per_row(y, model(x))
        total = tf.reduce_sum(losses)
    gradients = tape.gradient(total, model.trainable_variables)
    assert losses.shape == (3,) and losses.numpy()[1] == 0.0 and np.all(losses.numpy() > -1e-6)
    assert all(np.all(np.isfinite(tf.convert_to_tensor(g))) for g in gradients)
    model.compile(optimizer="adam", loss=crf.loss)
    assert np.isfinite(model.train_on_batch(x, y))
    assert np.isfinite(model.train_on_batch(x[1:2], y[1:2]))  # a batch of nothing but padding


# ---------------------------------------------------------------------------------------------------
# Saving and export
# ---------------------------------------------------------------------------------------------------

LOAD_IN_FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    import keras, numpy as np
    import zoo.layers  # registers CRF and CRFLoss

    training = keras.saving.load_model(sys.argv[1])
    tagger = keras.saving.load_model(sys.argv[2])
    x = np.array(json.loads(sys.argv[3]), dtype="int32")
    print(json.dumps({
        "tags": keras.ops.convert_to_numpy(tagger(x)).tolist(),
        "emissions": keras.ops.convert_to_numpy(training(x)).tolist(),
        "loss": type(training.loss).__name__,
    }))
    """
)


def test_keras_round_trip_in_a_fresh_process(tmp_path):
    keras.utils.set_random_seed(2)
    model, tagger, crf = bio_models(num_tags=4)
    for weight in crf.weights:  # untrained transitions are zeros; make the path depend on them
        weight.assign(np.random.default_rng(2).normal(size=weight.shape) * 2)
    model.compile(optimizer="adam", loss=crf.loss)
    x = np.array([[11, 12, 3, 14, 0, 0], [5, 16, 17, 18, 19, 2], [0, 0, 0, 0, 0, 0]], dtype="int32")
    model.save(tmp_path / "training.keras")
    tagger.save(tmp_path / "tagger.keras")

    completed = subprocess.run(
        [sys.executable, "-c", LOAD_IN_FRESH_PROCESS, str(tmp_path / "training.keras")]
        + [str(tmp_path / "tagger.keras"), json.dumps(x.tolist())],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    restored = json.loads(completed.stdout.strip().splitlines()[-1])
    expected_tags = keras.ops.convert_to_numpy(tagger(x))
    assert len(set(expected_tags[:2].ravel().tolist())) > 1, "a constant path would prove little"
    np.testing.assert_array_equal(np.array(restored["tags"]), expected_tags)
    np.testing.assert_allclose(
        np.array(restored["emissions"]), keras.ops.convert_to_numpy(model(x)), atol=1e-6
    )
    assert restored["loss"] == "CRFLoss"


def test_a_loaded_training_model_trains_once_compiled_again(tmp_path):
    # A config cannot hold the layer, so the restored CRFLoss refuses to run until recompiled (as documented).
    model, _, crf = bio_models()
    model.compile(optimizer="adam", loss=crf.loss)
    x, y = np.array([[11, 12, 3, 0]], dtype="int32"), np.array([[B, I, O, -1]], dtype="int32")
    model.train_on_batch(x, y)
    model.save(tmp_path / "training.keras")
    restored = keras.saving.load_model(tmp_path / "training.keras")
    with pytest.raises(ValueError, match="compile again with loss=crf_layer.loss"):
        restored.train_on_batch(x, y)
    restored.compile(optimizer="adam", loss=restored.get_layer("crf").loss)
    assert np.isfinite(restored.train_on_batch(x, y))


def test_decode_exports_to_tflite_with_builtin_ops_only(tmp_path):
    from tensorflow.lite.tools import flatbuffer_utils

    keras.utils.set_random_seed(3)
    ids = keras.Input((12,), batch_size=1, dtype="int32")
    # Emissions and transitions of similar size, so the best path depends on both.
    initializer = keras.initializers.RandomNormal(stddev=1.0)
    hidden = keras.layers.Embedding(30, 8, mask_zero=True, embeddings_initializer=initializer)(ids)
    emissions = keras.layers.Dense(5)(hidden)
    crf = CRF(5)
    tagger = keras.Model(ids, crf(emissions, decode=True))
    for weight in crf.weights:
        weight.assign(np.random.default_rng(3).normal(size=weight.shape) * 0.5)

    path = zoo.export.export_tflite(tagger, tmp_path / "crf.tflite", [tf.TensorSpec([1, 12], tf.int32)])

    # Every operator code of every subgraph (the WHILE loop's body and condition included).
    model = flatbuffer_utils.read_model(str(path))
    custom_codes = [code.customCode for code in model.operatorCodes if code.customCode]
    assert not custom_codes, custom_codes
    ops = zoo.export.tflite_ops(path)
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops

    rng = np.random.default_rng(4)
    x = rng.integers(1, 30, (8, 12)).astype("int32")
    for row, length in enumerate([12, 7, 1, 0, 5, 12, 3, 9]):
        x[row, length:] = 0
    expected = keras.ops.convert_to_numpy(tagger(x))
    assert len(set(expected.ravel().tolist())) == 5 and (expected[x == 0] == 0).all()
    np.testing.assert_array_equal(zoo.export.run_tflite(path, x), expected)


def test_docstring_example_runs():
    globs = {"keras": keras, "zoo": zoo}
    (test,) = [test for test in doctest.DocTestFinder().find(CRF, "CRF", globs=globs) if test.name == "CRF"]
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert result.failed == 0
