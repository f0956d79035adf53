import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
import zoo.export
import zoo.layers
from zoo.layers import BahdanauAttention, LuongAttention

BATCH, TQ, TV, DQ, DV = 3, 4, 5, 6, 6
LENGTHS = [5, 2, 3]  # real value steps per row
LAYERS = {
    "bahdanau": lambda: BahdanauAttention(units=7),
    "luong_dot": lambda: LuongAttention(score="dot"),
    "luong_general": lambda: LuongAttention(score="general"),
}


def query_and_value(seed: int, value_width: int = DV) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(BATCH, TQ, DQ)).astype("float32")
    value = rng.normal(size=(BATCH, TV, value_width)).astype("float32")
    value_mask = np.arange(TV)[None, :] < np.array(LENGTHS)[:, None]
    return query, value, value_mask


def built_layer(name: str, seed: int = 0) -> keras.layers.Layer:
    """The layer with random weights (the scale `v` starts random anyway; Dense kernels too)."""
    layer = LAYERS[name]()
    layer.build((None, None, DQ), (None, None, DV))
    rng = np.random.default_rng(seed + 50)
    for weight in layer.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    return layer


def numpy_of(*tensors):
    return [keras.ops.convert_to_numpy(tensor) for tensor in tensors]


def reference(layer, query, value, value_mask) -> tuple[np.ndarray, np.ndarray]:
    """The papers' formulas in float64 NumPy, from the layer's own weights, softmax over real steps only."""
    weights = {
        w.path.split("/", 1)[1]: keras.ops.convert_to_numpy(w).astype(np.float64) for w in layer.weights
    }
    query, value = query.astype(np.float64), value.astype(np.float64)
    if isinstance(layer, BahdanauAttention):
        hidden = np.tanh(
            (query @ weights["query_projection/kernel"])[:, :, None, :]
            + (value @ weights["key_projection/kernel"])[:, None, :, :]
        )
        scores = hidden @ weights["additive_attention/scale"]
    elif layer.score == "dot":
        scores = np.einsum("bqd,bvd->bqv", query, value)
    else:
        scores = np.einsum("bqd,bvd->bqv", query, value @ weights["key_projection/kernel"])
    scores = np.where(value_mask[:, None, :], scores, -np.inf)
    probabilities = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    return probabilities @ value, probabilities


# ---------------------------------------------------------------------------------------------------
# Shapes, masks and numbers
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_output_shapes_eager_and_symbolic(name):
    value_width = DQ if name == "luong_dot" else 3  # dot needs equal widths; the others map any width
    query, value, _ = query_and_value(0, value_width)
    context, weights = LAYERS[name]()(query, value)
    assert tuple(context.shape) == (BATCH, TQ, value_width)
    assert tuple(weights.shape) == (BATCH, TQ, TV)

    query_in, value_in = keras.Input((None, DQ)), keras.Input((None, value_width))
    context, weights = LAYERS[name]()(query_in, value_in)
    assert tuple(context.shape) == (None, None, value_width)
    assert tuple(weights.shape) == (None, None, None)
    layer = LAYERS[name]()
    assert layer.compute_output_shape((2, 7, DQ), (2, 9, value_width)) == ((2, 7, value_width), (2, 7, 9))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_numbers_equal_a_numpy_reference_from_the_layers_weights(name):
    layer = built_layer(name, seed=1)
    query, value, value_mask = query_and_value(1)
    expected_context, expected_weights = reference(layer, query, value, value_mask)
    context, weights = numpy_of(*layer(query, value, value_mask=value_mask))
    np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(context, expected_context, atol=1e-5)
    # Without a mask every value step counts: the same reference with an all-True mask.
    everything = np.ones_like(value_mask)
    _, expected_unmasked = reference(layer, query, value, everything)
    np.testing.assert_allclose(numpy_of(layer(query, value)[1])[0], expected_unmasked, atol=1e-5)


def test_general_score_differs_from_dot_and_bahdanau_is_not_a_dot_product():
    # The reference must tell the scores apart, or the test above could pass on the wrong formula.
    query, value, value_mask = query_and_value(2)
    weights = {name: numpy_of(built_layer(name, 2)(query, value)[1])[0] for name in LAYERS}
    assert np.abs(weights["luong_general"] - weights["luong_dot"]).max() > 0.05
    assert np.abs(weights["bahdanau"] - weights["luong_dot"]).max() > 0.05


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_explicit_value_mask_weights_sum_to_one_and_are_zero_on_padding(name):
    layer = built_layer(name, seed=3)
    query, value, value_mask = query_and_value(3)
    context, weights = numpy_of(*layer(query, value, value_mask=value_mask))
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    padded = np.broadcast_to(~value_mask[:, None, :], weights.shape)
    assert (weights[padded] == 0.0).all()
    assert (weights[~padded] > 0.0).all()
    # Changing the padded values changes nothing.
    garbage = np.where(value_mask[..., None], value, 100.0).astype("float32")
    for kept, actual in zip((context, weights), numpy_of(*layer(query, garbage, value_mask=value_mask))):
        np.testing.assert_allclose(actual, kept, atol=1e-6)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_row_of_padding_only_gets_no_weight_and_a_zero_context(name):
    # Keras alone would spread the weights evenly over the padding of such a row.
    layer = built_layer(name, seed=4)
    query, value, value_mask = query_and_value(4)
    value_mask[1] = False
    context, weights = numpy_of(*layer(query, value, value_mask=value_mask))
    assert (weights[1] == 0.0).all() and (context[1] == 0.0).all()
    np.testing.assert_allclose(weights[[0, 2]].sum(axis=-1), 1.0, atol=1e-5)


def test_query_mask_zeroes_the_context_at_padded_query_steps():
    layer = built_layer("bahdanau", seed=5)
    query, value, value_mask = query_and_value(5)
    query_mask = np.array([[True, True, False, False]] * BATCH)
    context, weights = numpy_of(*layer(query, value, query_mask=query_mask, value_mask=value_mask))
    unmasked_context, unmasked_weights = numpy_of(*layer(query, value, value_mask=value_mask))
    assert (context[:, 2:] == 0.0).all()
    np.testing.assert_allclose(context[:, :2], unmasked_context[:, :2], atol=1e-6)
    np.testing.assert_allclose(weights, unmasked_weights, atol=1e-6)


def seq2seq_model(layer) -> keras.Model:
    """Source and target ids -> (encoder outputs, decoder outputs, context, weights), masks left implicit."""
    keras.utils.set_random_seed(6)
    source, target = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    encoded = keras.layers.Embedding(20, 4, mask_zero=True)(source)
    encoded, state = keras.layers.GRU(DV, return_sequences=True, return_state=True)(encoded)
    decoded = keras.layers.Embedding(20, 4, mask_zero=True)(target)
    decoded = keras.layers.GRU(DQ, return_sequences=True)(decoded, initial_state=state)
    context, weights = layer(decoded, encoded)
    # Keras 3 keeps a tensor's mask in `_keras_mask` (no public getter).
    assert getattr(context, "_keras_mask", None) is not None, "the context must carry the target's mask"
    return keras.Model([source, target], [encoded, decoded, context, weights])


SOURCE = np.array([[3, 4, 5, 6, 7], [8, 9, 0, 0, 0], [1, 2, 3, 0, 0]], dtype="int32")
TARGET = np.array([[1, 2, 3, 4], [5, 6, 7, 0], [8, 0, 0, 0]], dtype="int32")


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_implicit_mask_from_an_embedding_upstream_in_a_functional_model(name):
    layer = built_layer(name, seed=7)
    model = seq2seq_model(layer)
    encoded, decoded, context, weights = numpy_of(*model([SOURCE, TARGET]))
    padded = np.broadcast_to((SOURCE == 0)[:, None, :], weights.shape)
    assert (weights[padded] == 0.0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    # The same as passing both masks by hand; and the masks matter (without them the weights differ).
    explicit = numpy_of(*layer(decoded, encoded, query_mask=TARGET > 0, value_mask=SOURCE > 0))
    np.testing.assert_allclose(context, explicit[0], atol=1e-5)
    np.testing.assert_allclose(weights, explicit[1], atol=1e-5)
    assert (context[TARGET == 0] == 0.0).all()
    assert np.abs(numpy_of(layer(decoded, encoded)[1])[0] - weights).max() > 1e-3
    # Also inside a traced function whose time dimensions are unknown.
    spec = [tf.TensorSpec([None, None], tf.int32)] * 2
    traced = tf.function(lambda s, t: model([s, t]), input_signature=spec)
    np.testing.assert_allclose(numpy_of(traced(SOURCE, TARGET)[3])[0], weights, atol=1e-6)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_one_query_step_equals_that_row_of_the_teacher_forced_call(name):
    layer = built_layer(name, seed=8)
    query, value, value_mask = query_and_value(8)
    full_context, full_weights = numpy_of(*layer(query, value, value_mask=value_mask))
    for step in range(TQ):
        context, weights = numpy_of(*layer(query[:, step : step + 1], value, value_mask=value_mask))
        assert context.shape == (BATCH, 1, DV) and weights.shape == (BATCH, 1, TV)
        np.testing.assert_allclose(context[:, 0], full_context[:, step], atol=1e-6)
        np.testing.assert_allclose(weights[:, 0], full_weights[:, step], atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# Saving and export
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_keras_round_trip_gives_equal_outputs(name, tmp_path):
    layer = built_layer(name, seed=9)
    model = seq2seq_model(layer)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    restored_layer = restored.get_layer(layer.name)
    assert type(restored_layer) is type(layer) and restored_layer.get_config() == layer.get_config()
    for actual, expected in zip(numpy_of(*restored([SOURCE, TARGET])), numpy_of(*model([SOURCE, TARGET]))):
        np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_saved_model_export_with_unknown_lengths(tmp_path):
    layer = built_layer("luong_general", seed=10)
    model = seq2seq_model(layer)
    spec = [tf.TensorSpec([None, None], tf.int32, name="source"), tf.TensorSpec([None, None], tf.int32)]
    path = zoo.export.export_saved_model(
        lambda source, target: model([source, target])[3], tmp_path / "saved_model", spec, track=[model]
    )
    loaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(
        loaded.serve(SOURCE, TARGET).numpy(), numpy_of(model([SOURCE, TARGET])[3])[0], atol=1e-6
    )
    # A different length than any seen so far: the one-step decoding shape at inference.
    np.testing.assert_allclose(
        loaded.serve(SOURCE[:, :3], TARGET[:, :1]).numpy(),
        numpy_of(model([SOURCE[:, :3], TARGET[:, :1]])[3])[0],
        atol=1e-6,
    )


# ---------------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------------


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="score must be one of"):
        LuongAttention(score="concat")
    with pytest.raises(ValueError, match="units >= 1"):
        BahdanauAttention(units=0)
    with pytest.raises(ValueError, match="same width"):
        LuongAttention()(np.zeros((1, 2, 3), "float32"), np.zeros((1, 4, 5), "float32"))
    with pytest.raises(ValueError, match=r"query \(batch, Tq, dq\)"):
        BahdanauAttention(4)(np.zeros((1, 3), "float32"), np.zeros((1, 4, 5), "float32"))


@pytest.mark.parametrize("layer_cls", [BahdanauAttention, LuongAttention])
def test_docstring_example_runs(layer_cls):
    globs = {"keras": keras, "zoo": zoo, "np": np}
    name = layer_cls.__name__
    (test,) = [
        test for test in doctest.DocTestFinder().find(layer_cls, name, globs=globs) if test.name == name
    ]
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert result.failed == 0
