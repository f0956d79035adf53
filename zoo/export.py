"""Export a trained model three ways and prove each export computes what the Keras model computes.

- `model.keras`: the Keras model with its preprocessing layers, for `keras.saving.load_model`.
- `saved_model/1/`: a TensorFlow SavedModel whose `serving_default` signature takes the raw input (strings,
  waveforms), written from a `tf.Module` tracking the models so lookup tables and vocabularies travel
  with it (`export_saved_model`).
- `model.tflite`: a LiteRT flatbuffer that runs in `ai_edge_litert.interpreter.Interpreter` with the
  **built-in op set only**. Keras's default LiteRT export of an RNN falls back to Flex ops
  (`FlexTensorListReserve` and friends) because the tensor lists of its `while` loop have a dynamic
  element shape. With a fully static input signature (batch 1, fixed length) the converter lowers the loop
  to the built-in `WHILE` op, so `export_tflite` requires one. Strings cannot enter a built-in-only model:
  text models export their token-id model and write the vocabulary beside it. A decoder's whole greedy
  loop (encoder, `tf.while_loop` over a one-step decoder, argmax) goes into one file the same way, ids
  in and ids out (`export_tflite_function`); a model computing in bfloat16 gets none (`half_precision`).

**Whole or absent.** Each export is written under a temporary name beside its final one and renamed over
it only once complete (`zoo.io.replacing`): a run killed or failing while it writes leaves the previous
export (or none) under the final name, never a half-written one.

**What is verified.** `export_and_verify` reloads every export and runs it on real inputs and on the
recipe's edge cases (`edge_inputs`, named raw-input tuples: a batch of one, a one-token input, an empty
batch, the longest input the model accepts, ...); the reloaded Keras model and the SavedModel must give
the Keras model's outputs with the same shape, empty ones included. TFLite has a static input shape, so it
is run on its real inputs and on `tflite_edge_inputs` (at least one row and the longest allowed row).
The largest absolute difference of each format over all of them is returned (for `metrics.json`), and a
difference above `tolerance`, a different shape or an export that fails on an edge case raises
`ExportMismatchError` naming the case (`verify_cases`). String-in, string-out exports (translation,
captioning) are checked the same way in a fresh Python process, on their real inputs and edge cases at
once (`verify_in_fresh_process`).
"""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

import zoo.io
from zoo.errors import ExportMismatchError, ZooError

DEFAULT_TOLERANCE = 1e-4


def max_abs_diff(
    expected: np.ndarray, actual: np.ndarray, name: str, tolerance: float, allow_differing: bool = False
) -> float:
    """Largest |expected - actual|; raises `ExportMismatchError` above `tolerance` or on shape mismatch.

    Outputs that are not floating point (tag strings, token ids) must be equal: the difference is 0.0,
    or the error names how many elements differ. With `allow_differing` (a quantised model, whose
    answers may change a little), the share of differing elements is returned instead of raising."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        raise ExportMismatchError(f"{name}: output shape {actual.shape} != Keras {expected.shape}")
    if expected.dtype.kind not in "fc":
        differing = int(np.sum(expected != actual))
        if allow_differing:
            return differing / max(expected.size, 1)
        if differing:
            raise ExportMismatchError(f"{name}: {differing} of {expected.size} outputs differ from Keras")
        return 0.0
    if not expected.size:  # an empty batch: equal shapes are all there is to compare
        return 0.0
    difference = float(np.max(np.abs(expected.astype(np.float64) - actual.astype(np.float64))))
    if not difference <= tolerance:  # also catches NaN
        raise ExportMismatchError(
            f"{name}: outputs differ from the Keras model by {difference:.3g} (tolerance {tolerance:g})"
        )
    return difference


def export_keras(model: keras.Model, path: str | pathlib.Path) -> pathlib.Path:
    """`model.save(path)` (a `.keras` file), whole or not at all."""
    path = pathlib.Path(path)
    with zoo.io.replacing(path) as staging:
        model.save(staging)
    return path


SERVING_VERSION = 1  # TF Serving loads the highest numbered folder under a model's base path


class Endpoint(NamedTuple):
    """One endpoint of a SavedModel: `function(*inputs)` over `input_signature`, its output named
    `output_name` in the signature (a function returning a dict names its own outputs)."""

    function: Callable
    input_signature: Sequence[tf.TensorSpec] | None = None
    output_name: str = "output"


def export_saved_model(
    function: Callable,
    path: str | pathlib.Path,
    input_signature: Sequence[tf.TensorSpec] | None = None,
    track: Sequence = (),
    *,
    output_name: str = "output",
    endpoints: Mapping[str, Endpoint] | None = None,
) -> pathlib.Path:
    """A SavedModel in TF Serving's layout (`path/1/`) whose `serve` endpoint computes `function(*inputs)`.

    `serve` is also the `serving_default` signature; each of `endpoints` (name -> `Endpoint`) is one more
    endpoint and signature, e.g. a beam-search translation beside the greedy one. In Python, a loaded
    model's endpoints are attributes returning what the function returns (`loaded.serve(texts)`); for TF
    Serving, signatures name their inputs by the `TensorSpec` names and their outputs by `output_name`
    (`{"probability": ...}`), never TensorFlow's `output_0`.

    The model is saved with `tf.saved_model.save` from a `tf.Module` that tracks the Keras models, so each
    variable is stored once (`keras.export.ExportArchive` stores every weight twice, once per Python
    wrapper, which doubles the file and a server's memory).

    Args:
        function: maps the raw inputs to the outputs, e.g. `lambda texts: model(texts)`, or a
            `tf.function` with an input signature.
        path: the model's folder; the SavedModel is written to `path/1/`, the folder replaced whole.
        input_signature: e.g. `[tf.TensorSpec([None], tf.string, name="text")]` (None: `function`'s own).
        track: the Keras models/layers whose variables and lookup tables the endpoints use.
        output_name: the name of `serve`'s output in its signature.
        endpoints: name -> `Endpoint` of the other endpoints.

    Returns:
        The version folder, `path/1`, which `tf.saved_model.load` reads.
    """
    root = tf.Module()
    root.tracked = list(track)  # variables, lookup tables and tokenizer resources, each once
    # TensorFlow's tracking does not reach the state of a Keras layer's seed generators (random
    # augmentation, dropout), which a traced call still captures: saving would fail with "captures tensor
    # ... not reachable from root". Those variables (and only those: a weight listed twice is stored
    # twice) are listed here.
    root.seed_states = [state for model in root.tracked for state in _seed_states(model)]
    signatures = {}
    all_endpoints = {"serve": Endpoint(function, input_signature, output_name), **(endpoints or {})}
    for name, endpoint in all_endpoints.items():
        traced = _traced(endpoint.function, endpoint.input_signature)
        setattr(root, name, traced)
        signatures[name] = _named_outputs(traced, endpoint.output_name).get_concrete_function()
    signatures["serving_default"] = signatures["serve"]
    with zoo.io.replacing(path) as staging:
        staging.mkdir()
        tf.saved_model.save(root, str(staging / str(SERVING_VERSION)), signatures=signatures)
    return pathlib.Path(path) / str(SERVING_VERSION)


def _seed_states(model) -> list[tf.Variable]:
    """The variables of a Keras model or layer that are not weights (seed generator states)."""
    weights = {id(weight) for weight in getattr(model, "weights", ())}
    return [variable.value for variable in getattr(model, "variables", ()) if id(variable) not in weights]


def _traced(function: Callable, input_signature: Sequence[tf.TensorSpec] | None):
    if input_signature is None:
        if getattr(function, "input_signature", None) is None:
            raise ValueError("export_saved_model needs an input_signature or a tf.function that has one")
        return function
    specs = [  # inputs keep their TensorSpec names in the signature; unnamed ones are input_0, input_1...
        spec if spec.name else tf.TensorSpec(spec.shape, spec.dtype, name=f"input_{index}")
        for index, spec in enumerate(input_signature)
    ]
    return tf.function(function, input_signature=specs)


def _named_outputs(traced, output_name: str):
    def named(*inputs):
        outputs = traced(*inputs)
        return outputs if isinstance(outputs, dict) else {output_name: outputs}

    return tf.function(named, input_signature=traced.input_signature)


def saved_model_path(path: str | pathlib.Path) -> pathlib.Path:
    """The SavedModel to load from `path`: `path` itself if it holds `saved_model.pb`, else its highest
    numbered version folder (`saved_model/1`)."""
    path = pathlib.Path(path)
    if (path / "saved_model.pb").exists():
        return path
    versions = [child for child in path.glob("*") if child.name.isdigit() and child.is_dir()]
    if not versions:
        raise FileNotFoundError(f"{path}: no saved_model.pb and no version folder (1/, 2/, ...)")
    return max(versions, key=lambda child: int(child.name))


def with_embedding_rows(model: keras.Model, input_dim: int, rows: np.ndarray) -> keras.Model:
    """A copy of `model` in which every `keras.layers.Embedding` of `input_dim` rows, nested models
    included, keeps only `rows` (in that order), and every other weight is the same: a model for a
    smaller vocabulary (`zoo.layers.TokenFeatures.keeping` gives the rows), e.g. to shrink a device
    export whose word table holds a large file's words."""

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Embedding) and layer.input_dim == input_dim:
            config["input_dim"] = len(rows)
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    for old, new in zip(model.weights, copy.weights, strict=True):
        value = keras.ops.convert_to_numpy(old)
        new.assign(value[rows] if tuple(new.shape) != value.shape else value)
    return copy


QUANTIZATIONS = ("none", "dynamic", "float16", "int8")


def export_tflite(
    model: keras.Model,
    path: str | pathlib.Path,
    input_signature: Sequence[tf.TensorSpec],
    quantize: str = "none",
    representative: np.ndarray | Sequence[np.ndarray] | Mapping[str, np.ndarray] | None = None,
) -> pathlib.Path:
    """Keras's LiteRT export restricted to TFLite built-in ops, whole or not at all; `input_signature` must
    be fully static. A model of several inputs takes one spec per input, in the model's input order; their
    names become the names of the TFLite signature's inputs (`run_tflite` with a mapping).

    `quantize` (the TFLite converter's post-training quantisation): `none` keeps float32 weights;
    `dynamic` stores weights as int8 and computes in float (about a quarter of the size); `float16` stores
    weights as float16 (half); `int8` also runs activations in int8 where an op allows it, calibrated on
    `representative`: real training inputs batched along the first axis (one array per input, or a
    mapping from input name to array), of which
    each row is fed as a batch of one. Inputs and outputs keep their dtypes in every case.

    `int8` is refused for a model with a recurrent layer: calibrating the converter's `WHILE` loop crashes
    the whole process (a segmentation fault in TensorFlow's converter, tensorflow/tensorflow#41305), so
    the error says so before anything is converted; `dynamic` quantises the same weights.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    # Keras's own walk over every nested layer (wrappers and models included).
    recurrent = [layer.name for layer in model._flatten_layers() if isinstance(layer, keras.layers.RNN)]
    if quantize == "int8" and recurrent:
        raise ZooError(
            f"--quantize int8 cannot convert recurrent layers ({', '.join(recurrent[:3])}): TensorFlow's "
            "converter crashes calibrating their loops (tensorflow/tensorflow#41305); use --quantize dynamic"
        )
    for spec in input_signature:
        if not spec.shape.is_fully_defined():
            raise ValueError(
                f"export_tflite needs a static input shape for built-in ops only, got {spec.shape}"
            )
    settings: dict = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    if quantize != "none":
        settings["optimizations"] = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        settings["target_spec"]["supported_types"] = [tf.float16]
    if quantize == "int8":
        if representative is None:
            raise ValueError("quantize='int8' needs representative inputs to calibrate the activations")
        if isinstance(representative, Mapping):  # by input name, as `run_tflite` takes them
            arrays = [representative[spec.name] for spec in input_signature]
        elif isinstance(representative, np.ndarray):
            arrays = [representative]
        else:
            arrays = list(representative)

        def rows():
            for index in range(len(arrays[0])):
                yield [array[index : index + 1].astype(spec.dtype.as_numpy_dtype)
                       for array, spec in zip(arrays, input_signature)]  # fmt: skip

        settings["representative_dataset"] = rows
    # Keras calls the model with one positional argument per spec: several inputs travel as one list.
    signature = list(input_signature) if len(input_signature) == 1 else [list(input_signature)]
    with zoo.io.replacing(path) as staging:
        model.export(str(staging), format="litert", input_signature=signature, verbose=False, **settings)
    return pathlib.Path(path)


def export_tflite_function(
    function: Callable, path: str | pathlib.Path, input_signature: Sequence[tf.TensorSpec]
) -> pathlib.Path:
    """A TFLite file computing `function(*inputs)` with built-in ops only, whole or not at all.

    For a graph that is not one Keras model's call, such as a whole greedy decoding loop (the encoder,
    then a `tf.while_loop` over a one-step decoder, which becomes TFLite's built-in `WHILE`).
    `input_signature` must be fully static (batch 1, fixed lengths); its `TensorSpec` names name the
    file's inputs. A function returning a dict names its outputs by its keys.

    The variables are frozen into constants first (the converter's concrete-function path without a
    trackable object). Converted through a SavedModel instead, as Keras's LiteRT export does, the
    variables a `while` body reads stay resource variables that nothing in the file initialises: it
    converts, then fails at its first invoke (`READ_VARIABLE ... variable != nullptr`).
    """
    for spec in input_signature:
        if not spec.shape.is_fully_defined():
            raise ValueError(
                f"export_tflite_function needs a static input shape for built-in ops only, got {spec.shape}"
            )
    concrete = tf.function(function, input_signature=list(input_signature)).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    flatbuffer = converter.convert()
    if isinstance(concrete.structured_outputs, dict):
        # The frozen graph names its outputs Identity, Identity_1, ... in the order of the sorted keys.
        flatbuffer = _rename_outputs(flatbuffer, sorted(concrete.structured_outputs))
    with zoo.io.replacing(path) as staging:
        staging.write_bytes(flatbuffer)
    return pathlib.Path(path)


def _rename_outputs(flatbuffer: bytes, names: Sequence[str]) -> bytes:
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    graph = model.subgraphs[0]
    for index, name in zip(graph.outputs, names):
        graph.tensors[index].name = name.encode()
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


HALF_PRECISION_TFLITE = (
    "not exported: the model computes in {dtype}, which TFLite's built-in kernels do not take (the "
    "converter stops at \"'tf.BatchMatMulV2' op is neither a custom op nor a flex op\", and likewise at "
    "Transpose, AddV2, BiasAdd, Softmax... on {dtype} tensors); a float32 run exports one"
)


def half_precision(models: Sequence) -> str | None:
    """The compute dtype of the first layer of `models` that computes in bfloat16 or float16 (mixed
    precision), for which no TFLite file with built-in ops can be made (`HALF_PRECISION_TFLITE`); None
    when every layer computes in float32."""
    for model in models:
        if getattr(model, "compute_dtype", None) in ("bfloat16", "float16"):
            return model.compute_dtype
        found = half_precision(getattr(model, "layers", ()))  # the layers of a Keras model, and theirs
        if found is not None:
            return found
    return None


def tflite_interpreter(path: str | pathlib.Path):
    """An allocated `ai_edge_litert` interpreter (which refuses Flex ops at allocation)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    return interpreter


def tflite_ops(path: str | pathlib.Path) -> set[str]:
    """Names of the operators in a TFLite file, e.g. {"WHILE", "FULLY_CONNECTED", ...}."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    return {op["op_name"] for op in interpreter._get_ops_details()}


def run_tflite(
    path: str | pathlib.Path, inputs: np.ndarray | Mapping[str, np.ndarray]
) -> np.ndarray | dict[str, np.ndarray]:
    """Run a TFLite model on each row of `inputs` (its batch dimension is the model's fixed one, usually 1)
    and stack the outputs.

    `inputs` is an array for a single-input, single-output model, and the stacked output comes back. For a
    model of several inputs or outputs it is a mapping from the names of its signature's inputs (the
    `TensorSpec` names given to `export_tflite`) to arrays of as many rows each, and a mapping from the
    output names to the stacked outputs comes back, e.g.
    `run_tflite(path, {"waveform": waves, "length": lengths})["log_probs"]`."""
    interpreter = tflite_interpreter(path)
    if isinstance(inputs, Mapping):
        runner = interpreter.get_signature_runner()
        details = runner.get_input_details()
        if set(inputs) != set(details):
            raise ValueError(f"{path} takes inputs {sorted(details)}, got {sorted(inputs)}")
        rows = {len(values) for values in inputs.values()}
        if len(rows) != 1:
            raise ValueError(f"{path}: every input needs as many rows, got {sorted(rows)}")
        batch = int(next(iter(details.values()))["shape"][0])
        outputs = []
        for start in range(0, rows.pop(), batch):
            row = {
                name: np.asarray(values[start : start + batch]).astype(details[name]["dtype"])
                for name, values in inputs.items()
            }
            outputs.append(runner(**row))
        return {name: np.concatenate([output[name] for output in outputs]) for name in outputs[0]}
    (input_detail,) = interpreter.get_input_details()
    (output_detail,) = interpreter.get_output_details()
    batch = int(input_detail["shape"][0])
    outputs = []
    for start in range(0, len(inputs), batch):
        interpreter.set_tensor(
            input_detail["index"], inputs[start : start + batch].astype(input_detail["dtype"])
        )
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_detail["index"]).copy())
    return np.concatenate(outputs)


def run_saved_model(path: str | pathlib.Path, *inputs) -> np.ndarray | dict[str, np.ndarray]:
    """Load a SavedModel written by `export_saved_model` and call its `serve` endpoint with `inputs` in
    signature order: its one output, or a dict of several by name. (`serving_default` takes keyword
    arguments only, by input name.)"""
    return _serve(tf.saved_model.load(str(saved_model_path(path))), inputs)


def export_and_verify(
    output_dir: str | pathlib.Path,
    *,
    serving_model: keras.Model,
    serving_signature: Sequence[tf.TensorSpec],
    raw_inputs: Sequence,
    edge_inputs: Mapping[str, Sequence] | None = None,
    tflite_model: keras.Model | None = None,
    tflite_signature: Sequence[tf.TensorSpec] = (),
    tflite_inputs: np.ndarray | Mapping[str, np.ndarray] | None = None,
    tflite_edge_inputs: Mapping[str, np.ndarray | Mapping[str, np.ndarray]] | None = None,
    quantize: str | Sequence[str] = "none",
    tflite_representative: np.ndarray | Sequence[np.ndarray] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    output_name: str = "output",
    manifest: Mapping | None = None,
    verify_exports: Callable[[pathlib.Path], Mapping[str, float]] | None = None,
) -> dict[str, float]:
    """Write model.keras, saved_model/1/ and (if `tflite_model`) model.tflite; reload each and compare;
    then write deploy.json (`write_manifest`), the mark of a verified export.

    Args:
        output_dir: folder receiving the exports.
        serving_model: the end-to-end Keras model (raw input -> output, or a dict of named outputs, each
            compared and each an output of the SavedModel's signature).
        serving_signature: the SavedModel's input signature (raw input).
        raw_inputs: real raw inputs, one tensor-like per signature entry.
        edge_inputs: name -> raw inputs (one per signature entry, like `raw_inputs`) of each edge case the
            exports must answer as the Keras model does, e.g. `{"batch_of_one": [texts[:1]],
            "empty_batch": [np.zeros([0], object)]}`. Each is converted to its signature entry's dtype.
        tflite_model: the model whose graph goes into TFLite (e.g. ids -> output), or None to skip.
        tflite_signature: its static input signature (one named spec per input of `tflite_model`).
        tflite_inputs: real inputs for it, batched along the first axis: an array, or for a model of
            several inputs a mapping from their names to arrays (as `run_tflite` takes them). A model
            of several outputs returns a dict, and each output is compared.
        tflite_edge_inputs: name -> inputs for it (batched along the first axis, like `tflite_inputs`).
        quantize: the TFLite's quantisation (`export_tflite`), or several: the first is written to
            model.tflite, each further one to model.<quantize>.tflite (its metrics prefixed
            `tflite_<quantize>_`). A quantised TFLite must answer every case with the right shapes and
            finite values; its difference is measured, not bounded: the largest absolute one
            (`tflite_max_abs_diff`) or, for ids and tags, the share that differ (`..._differing_share`).
            What it costs in the test metric is the inference benchmark's to measure.
        tflite_representative: training inputs calibrating `quantize="int8"`.
        tolerance: largest accepted absolute difference.
        output_name: the name of the SavedModel's output (`probability`, `tags`, ...).
        manifest: facts for deploy.json beside the exports' own inputs and outputs (labels, side files,
            the metric the export reproduces, ...).
        verify_exports: the recipe's own check of the written exports, given `output_dir` once every
            comparison above has passed and before deploy.json is written (e.g. a TFLite model that takes
            one padded clip, run on real clips against the SavedModel). It raises
            `ExportMismatchError` on a mismatch and returns figures that join the returned metrics.

    Returns:
        `{"keras_max_abs_diff": ..., "savedmodel_max_abs_diff": ..., "tflite_max_abs_diff": ...}`, each
        the largest over the real inputs and the edge cases, and the figures of `verify_exports`.
    """
    output_dir = pathlib.Path(output_dir)
    cases = {"real inputs": raw_inputs, **(edge_inputs or {})}
    cases = {
        name: [tf.constant(value, dtype=spec.dtype) for value, spec in zip(inputs, serving_signature)]
        for name, inputs in cases.items()
    }

    def call(model, tensors):  # a Keras model takes several inputs as one list
        return model(tensors[0] if len(tensors) == 1 else list(tensors))

    def compiled(model):  # one graph for every case: an eager RNN steps through time op by op
        return tf.function(lambda *tensors: call(model, tensors), input_signature=list(serving_signature))

    def numpy(outputs):  # one output, or a dict of several (e.g. probabilities and a label)
        return tf.nest.map_structure(keras.ops.convert_to_numpy, outputs)

    in_memory = compiled(serving_model)
    expected = {name: numpy(in_memory(*t)) for name, t in cases.items()}

    keras_path = export_keras(serving_model, output_dir / "model.keras")
    reloaded = compiled(keras.saving.load_model(keras_path))
    saved_model = export_saved_model(
        lambda *inputs: call(serving_model, inputs),
        output_dir / "saved_model",
        serving_signature,
        track=[serving_model],
        output_name=output_name,
    )
    loaded = tf.saved_model.load(str(saved_model))
    runners = {
        "keras": (keras_path, lambda name: numpy(reloaded(*cases[name]))),
        "savedmodel": (saved_model, lambda name: _serve(loaded, cases[name])),
    }
    metrics = {
        f"{kind}_max_abs_diff": verify_cases(path, expected, run, tolerance)
        for kind, (path, run) in runners.items()
    }

    variants = {}
    if tflite_model is not None:
        tflite_cases = {"real inputs": tflite_inputs, **(tflite_edge_inputs or {})}
        tflite_in_memory = tf.function(tflite_model, reduce_retracing=True)
        tflite_expected = {
            name: tf.nest.map_structure(
                keras.ops.convert_to_numpy, tflite_in_memory(tf.nest.map_structure(tf.constant, inputs))
            )
            for name, inputs in tflite_cases.items()
        }
        for index, variant in enumerate([quantize] if isinstance(quantize, str) else quantize):
            name = "model.tflite" if index == 0 else f"model.{variant}.tflite"
            metrics |= _verified_tflite(
                export_tflite(
                    tflite_model, output_dir / name, tflite_signature, variant, tflite_representative
                ),
                variant,
                tflite_cases,
                tflite_expected,
                tolerance,
                prefix="tflite" if index == 0 else f"tflite_{variant}",
            )
            variants[name] = variant
    if verify_exports is not None:
        metrics |= verify_exports(output_dir)
    write_manifest(output_dir, **(manifest or {}), quantization=variants, verified=metrics)
    return metrics


def _verified_tflite(path, quantize, cases, expected, tolerance, prefix) -> dict[str, float]:
    """The TFLite at `path` run on every case against `expected`: within `tolerance` unquantised; a
    quantised one must answer with the right shapes and finite values, and its difference is measured:
    the largest absolute one or, for ids and tags, the share that differ."""
    quantized = quantize != "none"
    key = f"{prefix}_max_abs_diff"
    real = expected["real inputs"]  # one output, or a dict of them
    kinds = {
        np.asarray(output).dtype.kind for output in (real.values() if isinstance(real, dict) else [real])
    }
    if quantized and not kinds & set("fc"):
        key = f"{prefix}_differing_share"
    difference = verify_cases(
        path,
        expected,
        lambda name: run_tflite(path, cases[name]),
        math.inf if quantized else tolerance,
        allow_differing=quantized,
    )
    return {key: difference}


def write_manifest(output_dir: str | pathlib.Path, **facts) -> pathlib.Path:
    """Write `deploy.json`: what each export in `output_dir` takes and returns, read from the files
    themselves (the SavedModel's signatures, each TFLite file's tensors: names, dtypes, shapes, -1 for
    any length), and `facts`, the recipe's own (labels, sample rate, special ids, side files, the decoder,
    the metric the export reproduces and how close each export came to the Keras model)."""
    output_dir = pathlib.Path(output_dir)
    exports: dict = {}
    if (output_dir / "model.keras").exists():
        exports["keras"] = {"path": "model.keras", "load": "zoo.load_model(path)"}
    if (output_dir / "saved_model").exists():
        path = saved_model_path(output_dir / "saved_model")
        exports["saved_model"] = {
            "path": path.relative_to(output_dir).as_posix(),
            "signatures": saved_model_signatures(path),
        }
    for path in sorted(output_dir.glob("*.tflite")):
        exports.setdefault("tflite", {})[path.name] = {"bytes": path.stat().st_size, **tflite_tensors(path)}
    manifest = {"exports": exports, **facts}
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    return zoo.io.write_text(output_dir / "deploy.json", text)


def saved_model_signatures(path: str | pathlib.Path) -> dict[str, dict]:
    """Each signature of the SavedModel at `path`: its inputs and outputs with dtype and shape, read from
    `saved_model.pb` without loading the model (what `saved_model_cli show --all` prints)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel.FromString((pathlib.Path(path) / "saved_model.pb").read_bytes())

    def tensors(infos) -> dict:
        return {
            name: {
                "dtype": tf.dtypes.as_dtype(info.dtype).name,
                "shape": [dim.size for dim in info.tensor_shape.dim],
            }
            for name, info in sorted(infos.items())
        }

    (graph,) = proto.meta_graphs
    return {
        name: {"inputs": tensors(signature.inputs), "outputs": tensors(signature.outputs)}
        for name, signature in sorted(graph.signature_def.items())
        if not name.startswith("__")
    }


def tflite_tensors(path: str | pathlib.Path) -> dict[str, list[dict]]:
    """The inputs and outputs of a TFLite file: name, dtype, shape, the name its signature gives it (the
    `TensorSpec` name of an input, the key of a dict output; what `run_tflite` and a signature runner
    take and return) and, for a quantised tensor, its scale and zero point."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    signature_names = {}
    if interpreter.get_signature_list():
        runner = interpreter.get_signature_runner()
        for details in (runner.get_input_details(), runner.get_output_details()):
            signature_names |= {detail["index"]: name for name, detail in details.items()}

    def describe(details) -> list[dict]:
        described = []
        for detail in details:
            entry = {
                "name": detail["name"],
                "dtype": np.dtype(detail["dtype"]).name,
                "shape": [int(size) for size in detail["shape_signature"]],
            }
            if detail["index"] in signature_names:
                entry["signature_name"] = signature_names[detail["index"]]
            scale, zero_point = detail.get("quantization", (0.0, 0))
            if scale:
                entry["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
            described.append(entry)
        return described

    return {
        "inputs": describe(interpreter.get_input_details()),
        "outputs": describe(interpreter.get_output_details()),
    }


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pathlib.Path):
        return value.as_posix()
    raise TypeError(f"deploy.json cannot hold {type(value).__name__}: {value!r}")


def verify_cases(
    path: str | pathlib.Path,
    expected: Mapping[str, np.ndarray],
    run: Callable[[str], np.ndarray],
    tolerance: float = DEFAULT_TOLERANCE,
    allow_differing: bool = False,
) -> float:
    """The largest `max_abs_diff` between `expected[name]` (the model in memory's outputs on each named
    case: real inputs, a batch of one, an empty batch, ...) and `run(name)` (the export's outputs on the
    same inputs). A model of several outputs gives a dict (output name -> array) for each case, and every
    output is compared. A difference beyond `tolerance`, a different shape, unequal strings or ids, missing
    outputs, or an export that fails on a case raises `ExportMismatchError` naming `path` and the case."""
    largest = 0.0
    for name, outputs in expected.items():
        where = f"{path} ({name})"
        try:
            actual = run(name)
        except (tf.errors.OpError, ValueError, RuntimeError) as error:
            raise ExportMismatchError(
                f"{where}: failed where the model in memory answers: {error}"
            ) from error
        if not isinstance(outputs, Mapping):
            largest = max(largest, max_abs_diff(outputs, actual, where, tolerance, allow_differing))
            continue
        if not isinstance(actual, Mapping) or set(actual) != set(outputs):
            found = sorted(actual) if isinstance(actual, Mapping) else "one unnamed output"
            raise ExportMismatchError(f"{where}: outputs {found} != the model's {sorted(outputs)}")
        for output, values in outputs.items():
            named = f"{path} ({name}, {output})"
            largest = max(largest, max_abs_diff(values, actual[output], named, tolerance, allow_differing))
    return largest


def _serve(loaded, tensors) -> np.ndarray | dict[str, np.ndarray]:
    output = loaded.serve(*tensors)
    if isinstance(output, dict) and len(output) > 1:  # several outputs, compared one by one
        return {name: tensor.numpy() for name, tensor in output.items()}
    if isinstance(output, dict):
        (output,) = output.values()
    return output.numpy()


_RUN_CASES = """
import json, pathlib, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401 (registers SentencepieceOp and the other text ops)
model = tf.saved_model.load(sys.argv[1])
folder = pathlib.Path(sys.argv[2])
for index, (endpoint, dtype) in enumerate(json.loads((folder / "cases.json").read_text())):
    inputs = np.load(folder / f"{index}.in.npy", allow_pickle=True)
    try:
        outputs = getattr(model, endpoint)(tf.constant(inputs, tf.as_dtype(dtype)))
    except Exception as error:  # the case's failure is reported; the other cases still run
        (folder / f"{index}.error.txt").write_text(f"{type(error).__name__}: {error}"[-2000:])
    else:
        np.save(folder / f"{index}.out.npy", outputs.numpy(), allow_pickle=True)
"""


def run_saved_model_in_subprocess(
    path: str | pathlib.Path,
    cases: Mapping[str, Sequence | np.ndarray],
    endpoints: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray | RuntimeError]:
    """Loads a SavedModel in a fresh Python process and runs it on each named case: the check that the
    export needs nothing from the process that wrote it (no Keras objects, no custom layers registered,
    no Python tokenizer). The one import it does need, as any user's process does, is `tensorflow_text`:
    it registers the text ops (SentencePiece, WordPiece) the graph calls.

    Args:
        path: the SavedModel folder.
        cases: name -> the endpoint's single input (strings, or a numeric array), e.g.
            `{"batch_of_one": ["Hello."], "empty_batch": []}`. Lists and arrays of `str`/`bytes` (empty
            ones included) go in as `tf.string`, numeric arrays with their own dtype.
        endpoints: name -> the endpoint a case calls; `serve` for the cases not named.

    Returns:
        name -> the outputs as a numpy array (strings as `bytes`), or a `RuntimeError` holding the error
        of a case the model failed on (for `verify_cases` to name). A model that cannot be loaded raises
        `ExportMismatchError`.
    """
    manifest = []
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        for index, (name, inputs) in enumerate(cases.items()):
            inputs = _as_array(inputs)
            dtype = "string" if inputs.dtype == object else inputs.dtype.name
            np.save(folder / f"{index}.in.npy", inputs, allow_pickle=True)
            manifest.append(((endpoints or {}).get(name, "serve"), dtype))
        (folder / "cases.json").write_text(json.dumps(manifest))
        command = [sys.executable, "-c", _RUN_CASES, str(path), str(folder)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode:
            raise ExportMismatchError(
                f"{path}: reloading in a fresh process failed:\n{result.stderr[-2000:]}"
            )
        outcomes = {}
        for index, name in enumerate(cases):
            error = folder / f"{index}.error.txt"
            if error.exists():
                outcomes[name] = RuntimeError(f"in a fresh process: {error.read_text()}")
            else:
                outcomes[name] = np.load(folder / f"{index}.out.npy", allow_pickle=True)
    return outcomes


def verify_in_fresh_process(
    path: str | pathlib.Path,
    cases: Mapping[str, Sequence | np.ndarray],
    expected: Mapping[str, np.ndarray],
    endpoints: Mapping[str, str] | None = None,
) -> float:
    """Runs the SavedModel at `path` on each named case in a fresh process (`run_saved_model_in_subprocess`)
    and compares its outputs with `expected`, the model in memory's, by `verify_cases`: a case the export
    fails on or answers differently raises `ExportMismatchError` naming `path` and the case."""
    outcomes = run_saved_model_in_subprocess(path, cases, endpoints)

    def run(name: str) -> np.ndarray:
        if isinstance(outcomes[name], Exception):
            raise outcomes[name]
        return outcomes[name]

    return verify_cases(path, expected, run)


def export_text_model(
    path: str | pathlib.Path,
    endpoints: Mapping[str, Endpoint],
    cases: Mapping[str, Sequence | np.ndarray],
    track: Sequence,
    routes: Mapping[str, str] | None = None,
    beam_cases: int = 0,
) -> pathlib.Path:
    """A text-producing model (a translator, a captioner) as a SavedModel, checked in a fresh process.

    Each endpoint (the first is `serve`, also `serving_default`) is written as `export_saved_model`
    writes it; then every named case is answered in memory by the function of the endpoint it routes to
    (`routes`, `serve` by default) and by the SavedModel reloaded in a fresh Python process
    (`verify_in_fresh_process`), and the answers must be equal, or `ExportMismatchError` names the case.

    With `beam_cases > 0`, each case is also checked on the first `beam_cases` inputs against the endpoint
    whose name has `beam` for `serve` (`serve_images` -> `beam_images`), as `beam: <case>`: beam search
    is slower, so fewer inputs, the same edge cases.

    Returns:
        The version folder, `path/1`.
    """
    (first, serve), *others = endpoints.items()
    if first != "serve":
        raise ValueError(f"the first endpoint is serve, got {first!r}")
    routes = {name: (routes or {}).get(name, "serve") for name in cases}
    cases = dict(cases)
    if beam_cases:
        for name, inputs in list(cases.items()):
            cases[f"beam: {name}"] = inputs[:beam_cases]
            routes[f"beam: {name}"] = routes[name].replace("serve", "beam")
    expected = {name: endpoints[routes[name]].function(inputs).numpy() for name, inputs in cases.items()}
    path = export_saved_model(
        serve.function,
        path,
        serve.input_signature,
        track,
        output_name=serve.output_name,
        endpoints=dict(others),
    )
    verify_in_fresh_process(path, cases, expected, routes)
    return path


def export_decoder_tflite(
    function: Callable,
    path: str | pathlib.Path,
    input_signature: Sequence[tf.TensorSpec],
    models: Sequence,
    inputs: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
) -> dict[str, int] | str:
    """A whole decoding loop as a TFLite file (`export_tflite_function`), run by LiteRT on each named case
    of `inputs` and compared with `expected` (the ids the model in memory gives): any difference raises
    `ExportMismatchError`. Returns the cases checked (name -> batch size), or, for `models` computing in
    bfloat16 or float16, the reason no file was written (an earlier run's file is removed)."""
    dtype = half_precision(models)
    if dtype is not None:
        pathlib.Path(path).unlink(missing_ok=True)  # an earlier run's file would describe another model
        return HALF_PRECISION_TFLITE.format(dtype=dtype)
    export_tflite_function(function, path, input_signature)
    verify_cases(path, expected, lambda name: run_tflite(path, inputs[name]))
    return {name: len(batch) for name, batch in inputs.items()}


def _as_array(inputs) -> np.ndarray:
    """Strings and bytes as a 1-D object array (numpy's fixed-width bytes would drop trailing NUL bytes
    of a file), anything else as numpy makes it. An empty list is an empty batch of strings."""
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind not in "SU":
        return inputs
    items = list(inputs)
    if all(isinstance(item, (str, bytes, np.str_, np.bytes_)) for item in items):
        array = np.empty(len(items), object)
        array[:] = items
        return array
    return np.asarray(items)
