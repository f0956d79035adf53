"""zoo.export: exports are written whole or not at all, and verified on the recipe's edge cases."""

from __future__ import annotations

import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.export
from zoo.errors import ExportMismatchError, ZooError

SIGNATURE = [tf.TensorSpec([None, 3], tf.float32, name="x")]
REAL = [np.arange(12, dtype="float32").reshape(4, 3) / 10]


@keras.saving.register_keras_serializable(package="tests")
class GraphOnlyFlaw(keras.layers.Layer):
    """Identity when run eagerly; traced into a graph, wrong on a batch of one (`kind="one"`) or failing on
    an empty batch (`kind="empty"`): flaws only an edge case shows."""

    def __init__(self, kind: str = "one", **kwargs):
        super().__init__(**kwargs)
        self.kind = kind

    def call(self, x):
        if tf.executing_eagerly():
            return x
        batch = tf.shape(x)[0]
        if self.kind == "one":
            return tf.where(batch == 1, x + 1.0, x)
        with tf.control_dependencies([tf.debugging.assert_positive(batch, message="no rows")]):
            return tf.identity(x)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}


def small_model(flaw: str | None = None) -> keras.Model:
    inputs = keras.Input((3,), name="x")
    x = GraphOnlyFlaw(flaw)(inputs) if flaw else inputs
    return keras.Model(inputs, keras.layers.Dense(2, kernel_initializer="ones")(x))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    model = small_model()
    ids = keras.Input((3,), batch_size=1)
    device = keras.Model(ids, model(ids))
    metrics = zoo.export.export_and_verify(
        folder,
        serving_model=model,
        serving_signature=SIGNATURE,
        raw_inputs=REAL,
        edge_inputs={"batch_of_one": [REAL[0][:1]], "empty_batch": [np.zeros((0, 3))]},
        tflite_model=device,
        tflite_signature=[tf.TensorSpec([1, 3], tf.float32)],
        tflite_inputs=REAL[0],
        tflite_edge_inputs={"extreme": np.full((1, 3), 1e6, "float32")},
        tolerance=1e-2,
        manifest={"labels": ["a", "b"]},
    )
    return folder, model, metrics


def test_every_export_is_verified_on_the_edge_cases(exported):
    folder, model, metrics = exported
    assert set(metrics) == {"keras_max_abs_diff", "savedmodel_max_abs_diff", "tflite_max_abs_diff"}
    assert zoo.export.run_saved_model(folder / "saved_model", np.zeros((0, 3), "float32")).shape == (0, 2)
    assert not [path for path in folder.iterdir() if path.name.startswith(".partial-")]


@pytest.mark.parametrize("flaw, case", [("one", "batch_of_one"), ("empty", "empty_batch")])
def test_a_flaw_only_an_edge_case_shows_is_a_mismatch_naming_the_case(tmp_path, monkeypatch, flaw, case):
    write = zoo.export.export_saved_model

    def flawed_export(function, path, input_signature, track=(), **kwargs):  # only the SavedModel is flawed
        flaw_layer = GraphOnlyFlaw(flaw)
        return write(lambda x: flaw_layer(function(x)), path, input_signature, track, **kwargs)

    monkeypatch.setattr(zoo.export, "export_saved_model", flawed_export)
    model = small_model()
    arguments = dict(serving_model=model, serving_signature=SIGNATURE, raw_inputs=REAL)
    (tmp_path / "real_only").mkdir()
    (tmp_path / "with_edges").mkdir()
    zoo.export.export_and_verify(tmp_path / "real_only", **arguments)  # real inputs alone pass
    edges = {"batch_of_one": [REAL[0][:1]], "empty_batch": [np.zeros((0, 3))]}
    with pytest.raises(ExportMismatchError, match=f"saved_model/1 \\({case}\\)"):
        zoo.export.export_and_verify(tmp_path / "with_edges", **arguments, edge_inputs=edges)


def test_a_fresh_process_runs_every_case_and_names_the_one_the_export_fails_on(tmp_path):
    model = small_model("empty")
    path = zoo.export.export_saved_model(lambda x: model(x), tmp_path / "saved_model", SIGNATURE, [model])
    cases = {"real inputs": REAL[0], "empty_batch": np.zeros((0, 3), "float32")}
    expected = {name: keras.ops.convert_to_numpy(model(inputs)) for name, inputs in cases.items()}
    with pytest.raises(
        ExportMismatchError, match="(?s)saved_model/1 \\(empty_batch\\): .*fresh process.*no rows"
    ):
        zoo.export.verify_in_fresh_process(path, cases, expected)


def test_the_saved_model_stores_each_weight_once_in_serving_layout_with_named_outputs(tmp_path):
    vectorizer = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=4)
    vectorizer.adapt(["a fine film", "a dull film"])
    inputs = keras.Input((), dtype="string")
    hidden = keras.layers.Embedding(50, 8)(vectorizer(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(hidden)))
    doubled = zoo.export.Endpoint(lambda texts: {"twice": 2 * model(texts)}, None)
    signature = [tf.TensorSpec([None], tf.string, name="text")]
    path = zoo.export.export_saved_model(
        model, tmp_path / "saved_model", signature, [model], output_name="score",
        endpoints={"doubled": doubled._replace(input_signature=signature)},
    )  # fmt: skip
    assert path == tmp_path / "saved_model" / "1"
    stored = tf.train.load_checkpoint(str(path / "variables" / "variables")).get_variable_to_shape_map()
    values = sum(int(np.prod(shape)) for name, shape in stored.items() if "VARIABLE_VALUE" in name)
    assert values == model.count_params()  # ExportArchive stores 2 x count_params()
    signatures = zoo.export.saved_model_signatures(path)
    assert set(signatures) == {"serve", "serving_default", "doubled"}
    assert signatures["serving_default"]["inputs"] == {"text": {"dtype": "string", "shape": [-1]}}
    assert signatures["serving_default"]["outputs"] == {"score": {"dtype": "float32", "shape": [-1, 1]}}
    assert list(signatures["doubled"]["outputs"]) == ["twice"]
    loaded = tf.saved_model.load(str(path))
    texts = tf.constant(["a fine film", "unseen words"])
    np.testing.assert_allclose(loaded.serve(texts), model(texts), atol=1e-6)
    served = loaded.signatures["doubled"](text=texts)["twice"]
    np.testing.assert_allclose(served, 2 * model(texts), atol=1e-6)


def test_a_model_with_random_layers_saves_its_seed_states_and_each_weight_once(tmp_path):
    """Dropout and random augmentation keep a seed generator whose state TensorFlow's tracking misses."""
    inputs = keras.Input((4, 4, 3))
    augmented = keras.layers.RandomFlip(seed=0)(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Dropout(0.5)(keras.layers.Flatten()(augmented)))
    model = keras.Model(inputs, outputs)
    signature = [tf.TensorSpec([None, 4, 4, 3], tf.float32, name="image")]
    path = zoo.export.export_saved_model(
        lambda x: model(x, training=False), tmp_path / "sm", signature, [model]
    )
    stored = tf.train.load_checkpoint(str(path / "variables" / "variables")).get_variable_to_shape_map()
    values = sum(int(np.prod(shape)) for name, shape in stored.items() if "VARIABLE_VALUE" in name)
    assert values == model.count_params() + 2 * 2  # two seed generators of two values each
    images = np.random.default_rng(0).uniform(size=(3, 4, 4, 3)).astype("float32")
    loaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(loaded.serve(images), model(images, training=False), atol=1e-6)


def two_input_device() -> tuple[keras.Model, keras.Model]:
    """A model and a TFLite graph of two named inputs (`x`, `scale`) and two named outputs."""
    model = small_model()
    x = keras.Input((3,), batch_size=1, name="x")
    scale = keras.Input((), batch_size=1, name="scale")
    outputs = {"scores": model(x) * keras.ops.expand_dims(scale, -1), "total": keras.ops.sum(x, axis=-1)}
    return model, keras.Model([x, scale], outputs)


TWO_INPUTS = [tf.TensorSpec([1, 3], tf.float32, name="x"), tf.TensorSpec([1], tf.float32, name="scale")]


def test_a_tflite_model_of_several_named_inputs_and_outputs_is_verified_and_run_by_name(tmp_path):
    model, device = two_input_device()
    checked = []
    metrics = zoo.export.export_and_verify(
        tmp_path,
        serving_model=model,
        serving_signature=SIGNATURE,
        raw_inputs=REAL,
        tflite_model=device,
        tflite_signature=TWO_INPUTS,
        tflite_inputs={"x": REAL[0], "scale": np.arange(4, dtype="float32")},
        tflite_edge_inputs={"zero": {"x": np.zeros((1, 3), "float32"), "scale": np.zeros(1, "float32")}},
        verify_exports=lambda folder: checked.append(folder) or {"own_check": 0.5},
    )
    assert checked == [tmp_path] and metrics["own_check"] == 0.5 and metrics["tflite_max_abs_diff"] < 1e-5
    path = tmp_path / "model.tflite"
    outputs = zoo.export.run_tflite(path, {"scale": np.full(4, 2, "float32"), "x": REAL[0]})
    np.testing.assert_allclose(outputs["scores"], 2 * keras.ops.convert_to_numpy(model(REAL[0])), atol=1e-5)
    np.testing.assert_allclose(outputs["total"], REAL[0].sum(axis=-1), atol=1e-6)
    with pytest.raises(ValueError, match=r"takes inputs \['scale', 'x'\], got \['x'\]"):
        zoo.export.run_tflite(path, {"x": REAL[0]})
    tflite = json.loads((tmp_path / "deploy.json").read_text())["exports"]["tflite"]["model.tflite"]
    assert {entry["signature_name"]: entry["shape"] for entry in tflite["inputs"]} == {
        "x": [1, 3],
        "scale": [1],
    }
    assert {entry["signature_name"] for entry in tflite["outputs"]} == {"scores", "total"}


def test_a_failing_check_of_the_recipe_leaves_no_deploy_json(tmp_path):
    model, device = two_input_device()

    def refuse(folder):
        raise ExportMismatchError(f"{folder / 'model.tflite'} (clip 3): another transcript")

    with pytest.raises(ExportMismatchError, match=r"\(clip 3\)"):
        zoo.export.export_and_verify(
            tmp_path,
            serving_model=model,
            serving_signature=SIGNATURE,
            raw_inputs=REAL,
            tflite_model=device,
            tflite_signature=TWO_INPUTS,
            tflite_inputs={"x": REAL[0], "scale": np.ones(4, "float32")},
            verify_exports=refuse,
        )
    assert (tmp_path / "model.tflite").exists() and not (tmp_path / "deploy.json").exists()


def test_the_manifest_describes_every_export_and_the_recipe_facts(exported):
    folder, _, metrics = exported
    manifest = json.loads((folder / "deploy.json").read_text())
    assert manifest["exports"]["keras"]["path"] == "model.keras"
    assert manifest["exports"]["saved_model"]["path"] == "saved_model/1"
    serving = manifest["exports"]["saved_model"]["signatures"]["serving_default"]
    assert serving == {
        "inputs": {"x": {"dtype": "float32", "shape": [-1, 3]}},
        "outputs": {"output": {"dtype": "float32", "shape": [-1, 2]}},
    }
    tflite = manifest["exports"]["tflite"]["model.tflite"]
    assert tflite["bytes"] == (folder / "model.tflite").stat().st_size
    assert [entry["shape"] for entry in tflite["inputs"]] == [[1, 3]]
    assert manifest["verified"] == metrics
    assert manifest["labels"] == ["a", "b"]


def failing_writer(folder: bool):
    """A writer (method) that leaves part of its output under the path it is given, then fails, like a
    run killed while it writes."""

    def write(self, path, *args, **kwargs):
        path = pathlib.Path(path)
        if folder:
            path.mkdir()
            (path / "saved_model.pb").write_bytes(b"partial")
        else:
            path.write_bytes(b"partial")
        raise OSError(f"disk full while writing {path}")

    return write


@pytest.mark.parametrize("name", ["saved_model", "model.keras", "model.tflite"])
def test_an_export_failing_part_way_leaves_the_previous_one_whole(exported, monkeypatch, name):
    folder, model, _ = exported

    def contents():
        paths = [folder / name, *(folder / name).rglob("*")]
        return {path: path.read_bytes() for path in paths if path.is_file()}

    before = contents()
    if name == "saved_model":
        write = failing_writer(folder=True)
        monkeypatch.setattr(tf.saved_model, "save", lambda root, path, **kwargs: write(root, path))
        call = lambda: zoo.export.export_saved_model(model, folder / name, SIGNATURE, track=[model])  # noqa: E731
    elif name == "model.keras":
        monkeypatch.setattr(keras.Model, "save", failing_writer(folder=False))
        call = lambda: zoo.export.export_keras(model, folder / name)  # noqa: E731
    else:
        ids = keras.Input((3,), batch_size=1)
        device = keras.Model(ids, model(ids))
        monkeypatch.setattr(keras.Model, "export", failing_writer(folder=False))
        call = lambda: zoo.export.export_tflite(device, folder / name, [tf.TensorSpec([1, 3])])  # noqa: E731
    with pytest.raises(OSError, match="disk full"):
        call()
    assert contents() == before
    assert not [path for path in folder.iterdir() if path.name.startswith(".partial-")]
    if name == "saved_model":  # and it still loads and answers
        assert zoo.export.run_saved_model(folder / name, REAL[0]).shape == (4, 2)


def embedding_model(recurrent: bool = False) -> keras.Model:
    ids = keras.Input((8,), batch_size=1, dtype="int32")
    vectors = keras.layers.Embedding(5000, 32, embeddings_initializer="uniform")(ids)
    pooled = keras.layers.GRU(4)(vectors) if recurrent else keras.layers.GlobalAveragePooling1D()(vectors)
    return keras.Model(ids, keras.layers.Dense(2, activation="softmax")(pooled))


@pytest.mark.parametrize("quantize, smaller_than", [("dynamic", 0.3), ("float16", 0.55), ("int8", 0.3)])
def test_quantised_tflite_shrinks_and_answers_close_to_keras(tmp_path, quantize, smaller_than):
    model = embedding_model()
    ids = np.random.default_rng(0).integers(0, 5000, (64, 8)).astype("int32")
    signature = [tf.TensorSpec([1, 8], tf.int32)]
    full = zoo.export.export_tflite(model, tmp_path / "full.tflite", signature)
    small = zoo.export.export_tflite(model, tmp_path / "small.tflite", signature, quantize, ids[:32])
    assert small.stat().st_size < smaller_than * full.stat().st_size
    expected = keras.ops.convert_to_numpy(model(ids[32:]))
    np.testing.assert_allclose(zoo.export.run_tflite(small, ids[32:]), expected, atol=0.02)


def test_int8_refuses_a_recurrent_model_before_converting(tmp_path):
    with pytest.raises(ZooError, match="recurrent layers \\(gru.*--quantize dynamic"):
        zoo.export.export_tflite(
            embedding_model(recurrent=True), tmp_path / "m.tflite", [tf.TensorSpec([1, 8], tf.int32)], "int8",
            np.zeros((4, 8), "int32"),
        )  # fmt: skip
    assert not list(tmp_path.iterdir())


def test_a_quantised_export_reports_its_difference_and_says_so_in_the_manifest(tmp_path):
    model = embedding_model()
    ids = np.random.default_rng(1).integers(0, 5000, (16, 8)).astype("int32")
    metrics = zoo.export.export_and_verify(
        tmp_path,
        serving_model=model,
        serving_signature=[tf.TensorSpec([None, 8], tf.int32, name="ids")],
        raw_inputs=[ids],
        tflite_model=model,
        tflite_signature=[tf.TensorSpec([1, 8], tf.int32)],
        tflite_inputs=ids,
        quantize=("dynamic", "float16"),
    )
    assert 0 < metrics["tflite_max_abs_diff"] < 0.02  # measured, not bounded by the float tolerance
    assert 0 < metrics["tflite_float16_max_abs_diff"] < 0.02
    manifest = json.loads((tmp_path / "deploy.json").read_text())
    assert manifest["quantization"] == {"model.tflite": "dynamic", "model.float16.tflite": "float16"}
    assert set(manifest["exports"]["tflite"]) == {"model.tflite", "model.float16.tflite"}


def test_a_serving_model_of_several_outputs_is_verified_output_by_output(tmp_path, monkeypatch):
    # A classifier's end-to-end model: probabilities and the likeliest class's name, a string.
    inputs = keras.Input((3,), name="x")
    probabilities = keras.layers.Softmax()(keras.layers.Dense(3, kernel_initializer="identity")(inputs))
    names = keras.layers.StringLookup(
        vocabulary=["a", "b", "c"], invert=True, num_oov_indices=0, oov_token=""
    )
    model = keras.Model(
        inputs, {"probabilities": probabilities, "label": names(keras.ops.argmax(probabilities, -1))}
    )
    arguments = dict(
        serving_model=model,
        serving_signature=SIGNATURE,
        raw_inputs=REAL,
        edge_inputs={"batch_of_one": [REAL[0][:1]], "empty_batch": [np.zeros((0, 3))]},
    )
    (tmp_path / "good").mkdir()
    (tmp_path / "flawed").mkdir()
    metrics = zoo.export.export_and_verify(tmp_path / "good", **arguments)
    assert metrics == {"keras_max_abs_diff": 0.0, "savedmodel_max_abs_diff": 0.0}
    served = zoo.export.run_saved_model(tmp_path / "good" / "saved_model", REAL[0])
    assert served["label"].tolist() == [b"c"] * 4 and served["probabilities"].shape == (4, 3)
    signature = zoo.export.saved_model_signatures(tmp_path / "good" / "saved_model" / "1")["serving_default"]
    assert signature["outputs"]["label"] == {"dtype": "string", "shape": [-1]}

    write = zoo.export.export_saved_model

    def wrong_label(function, path, input_signature, track=(), **kwargs):  # only the SavedModel's label
        def flawed(x):
            outputs = function(x)
            return {**outputs, "label": tf.where(tf.shape(x)[0] == 1, tf.constant("b"), outputs["label"])}

        return write(flawed, path, input_signature, track, **kwargs)

    monkeypatch.setattr(zoo.export, "export_saved_model", wrong_label)
    with pytest.raises(ExportMismatchError, match=r"\(batch_of_one, label\): 1 of 1 outputs differ"):
        zoo.export.export_and_verify(tmp_path / "flawed", **arguments)
