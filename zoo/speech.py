"""The exports of a CTC speech model: the transcriber a SavedModel serves, and the model a TFLite file
holds, with the input it takes, greedy decoding of its output in NumPy, and the check that it transcribes
real clips exactly as the SavedModel does.

`transcriber` wraps a CTC model (`[waveforms, lengths]` -> per-frame logits, as the speech recipe builds
it) with its decoder: a padded batch of waveforms of any length and each one's length in, transcripts out.
A TFLite file with the built-in op set only needs static shapes (`zoo.export.export_tflite`), so
`device_model` takes one waveform padded to a fixed `max_samples` and the number of its samples that are
real:

    inputs   waveform   float32 (1, max_samples)         the clip, then zeros (`tflite_input` makes both)
             length     int32   (1,)                     the clip's samples, at most max_samples
    outputs  log_probs  float32 (1, frames, classes)     per-frame log-probabilities: the blank (id 0),
                                                         then the alphabet; padded frames are certain
                                                         blanks (log-probability 0 for the blank)
             frames     int32   (1,)                     how many frames are real (`output_frames`)

The padding is masked as in the SavedModel (the log-mel features are normalised over the real frames
only, the recurrent layers skip the padded ones and `zoo.layers.CTCLogits` makes them blanks), so a clip
gives the same real frames padded as alone, and greedy decoding (`greedy_decode`) of every frame, or of
the first `frames`, gives the SavedModel's greedy transcript. `verify_tflite` proves both on real clips.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

import zoo.export
from zoo.errors import ExportMismatchError
from zoo.layers.audio import LogMelSpectrogram, WaveformCheck
from zoo.layers.ctc import ConvSubsampling, CTCTranscriber

# How far a TFLite model's log-probabilities may be from the Keras model's. TFLite's float32 kernels
# (RFFT2D, FULLY_CONNECTED, the WHILE loop; with or without XNNPACK) sum in another order than
# TensorFlow's, about 1e-6 relative per op, and two convolutions and two bidirectional recurrent layers
# over hundreds of frames amplify that: 1.3e-4 on a 10.5 s clip for the fsdd-digits preset's model after
# three epochs, above `zoo.export.DEFAULT_TOLERANCE`. A log-probability off by 1e-3 is a probability off
# by 0.1% of itself, which changes no decision but an exact tie; the greedy transcripts are compared
# exactly besides.
LOG_PROB_TOLERANCE = 1e-3

# ## The SavedModel: batches of any length


def transcriber(model: keras.Model, alphabet: Sequence[str], beam_width: int = 0) -> keras.Model:
    """(waveforms, lengths) -> transcript strings: the CTC model and its greedy (`beam_width` 0) or beam
    search decoder (`zoo.layers.CTCTranscriber`), as one model (the SavedModel's).

    Invalid input (lengths that do not fit the waveforms, NaN samples) raises an error naming the problem
    (`zoo.layers.WaveformCheck`). Every valid input is answered: the model runs on one more waveform of
    length 0 and one more frame of silence than it is given, and drops that waveform's transcript, because
    its convolutions and recurrent layers cannot run on an empty batch or on zero frames (a waveform
    shorter than a frame). Padding past a waveform's length is masked, so no transcript changes."""
    waveforms = keras.Input((None,), dtype="float32", name="waveforms")
    lengths = keras.Input((), dtype="int32", name="lengths")
    checked_waveforms, checked_lengths = WaveformCheck(name="waveform_check")([waveforms, lengths])
    (frame_length,) = {layer.frame_length for layer in model.layers if isinstance(layer, LogMelSpectrogram)}
    padded = [
        keras.ops.pad(checked_waveforms, [[0, 1], [0, frame_length]]),
        keras.ops.pad(checked_lengths, [[0, 1]]),
    ]
    text = CTCTranscriber(alphabet, beam_width, name="ctc_transcriber")(model(padded))
    # A tuple key: Keras slices a symbolic tensor only by a tuple.
    return keras.Model([waveforms, lengths], text[:-1,], name="transcriber")


def compiled(transcribe: keras.Model):
    """The transcriber as a traced graph for batches of any size and length: called eagerly, the
    recurrent layers would step through the frames in Python, many times slower."""
    specs = [tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32)]
    function = tf.function(
        lambda waves, lengths: transcribe([waves, lengths], training=False), input_signature=specs
    )
    return lambda inputs: function(*inputs).numpy()


def padded_batch(waveforms: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Waveforms of any lengths as the SavedModel's input: one float32 batch `(clips, longest)` padded with
    zeros (at least one sample wide) and the int32 lengths `(clips,)`."""
    lengths = np.array([len(waveform) for waveform in waveforms], np.int32)
    batch = np.zeros((len(waveforms), max(lengths.max(initial=0), 1)), np.float32)
    for row, waveform in enumerate(waveforms):
        batch[row, : lengths[row]] = waveform
    return batch, lengths


def transcribe_all(transcribe: keras.Model, dataset: tf.data.Dataset) -> list[str]:
    """The transcript of every utterance of the `((waveforms, lengths), labels)` batches, in order."""
    decode = compiled(transcribe)
    return [text.decode("utf-8") for (inputs, _) in dataset for text in decode(inputs)]


# ## The TFLite model: one clip of a fixed maximum length


def output_frames(model: keras.Model, lengths):
    """The real output frames of a CTC model for waveforms of `lengths` samples (int, array or tensor):
    the frames of its `zoo.layers.LogMelSpectrogram`, then of each `zoo.layers.ConvSubsampling` after it
    (the layers that change the time axis of the zoo's speech models)."""
    frames = None
    for layer in model.layers:
        if isinstance(layer, LogMelSpectrogram):
            frames = layer.num_frames(lengths)
        elif isinstance(layer, ConvSubsampling) and frames is not None:
            frames = layer.num_frames(frames)
    if frames is None:
        raise ValueError(f"{model.name} has no zoo.layers.LogMelSpectrogram to count its frames from")
    return frames


def device_model(model: keras.Model, max_samples: int) -> keras.Model:
    """`[waveform (1, max_samples), length (1,)] -> {"log_probs", "frames"}`: the CTC `model` (which takes
    `[waveforms, lengths]` and returns per-frame logits) for one clip of at most `max_samples` samples, the
    graph of the TFLite file (see the module docstring)."""
    waveform = keras.Input((max_samples,), batch_size=1, dtype="float32", name="waveform")
    length = keras.Input((), batch_size=1, dtype="int32", name="length")
    log_probs = keras.ops.log_softmax(model([waveform, length]), axis=-1)
    outputs = {"log_probs": log_probs, "frames": output_frames(model, length)}
    return keras.Model([waveform, length], outputs, name="device")


def tflite_input(waveform: np.ndarray, max_samples: int) -> dict[str, np.ndarray]:
    """One clip as the TFLite model's input: `{"waveform": (1, max_samples) float32, the clip then zeros,
    "length": (1,) int32}`.

    Raises:
        ValueError: the clip is longer than `max_samples`; it is never cut (the model would transcribe
            a clip that ends early).
    """
    waveform = np.asarray(waveform, np.float32).reshape(-1)
    if len(waveform) > max_samples:
        raise ValueError(
            f"a clip of {len(waveform):,} samples is longer than the {max_samples:,} samples the TFLite "
            "model takes; transcribe it with the SavedModel, or export with a larger --max-seconds"
        )
    padded = np.zeros((1, max_samples), np.float32)
    padded[0, : len(waveform)] = waveform
    return {"waveform": padded, "length": np.array([len(waveform)], np.int32)}


def tflite_batch(clips: Sequence[np.ndarray], max_samples: int) -> dict[str, np.ndarray]:
    """Several clips as rows of TFLite input (`tflite_input` each, stacked), for `zoo.export.run_tflite`."""
    rows = [tflite_input(clip, max_samples) for clip in clips]
    return {key: np.concatenate([row[key] for row in rows]) for key in ("waveform", "length")}


def greedy_decode(log_probs: np.ndarray, alphabet: Sequence[str]) -> str:
    """Best-path CTC decoding of one clip's per-frame scores `(frames, len(alphabet) + 1)`, blank (id 0)
    first: the best class of each frame, repeats merged, blanks dropped, id `i` written `alphabet[i - 1]`.
    What `zoo.layers.CTCTranscriber` computes in the graph, in NumPy for a device's output.

    Example:

    >>> import numpy as np
    >>> from zoo.speech import greedy_decode
    >>> scores = np.eye(3)[[1, 1, 0, 1, 2, 2, 0]]  # a a - a b b -
    >>> greedy_decode(scores, ["a", "b"])
    'aab'
    """
    best = np.argmax(np.asarray(log_probs), axis=-1)
    previous = np.concatenate([[0], best[:-1]])
    return "".join(alphabet[index - 1] for index in best[(best != 0) & (best != previous)])


def clip_log_probs(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """clip -> the CTC `model`'s per-frame log-probabilities `(frames, classes)` of that clip alone,
    unpadded: what a device's real frames must equal. A clip shorter than one frame has none."""
    function = tf.function(
        lambda waveform, length: keras.ops.log_softmax(model([waveform, length], training=False), axis=-1),
        input_signature=[tf.TensorSpec([1, None], tf.float32), tf.TensorSpec([1], tf.int32)],
    )
    classes = model.output_shape[-1]

    def log_probs(clip: np.ndarray) -> np.ndarray:
        if not output_frames(model, len(clip)):  # the convolutions cannot run on zero frames
            return np.zeros((0, classes), np.float32)
        return function(np.asarray(clip, np.float32)[None], np.array([len(clip)], np.int32))[0].numpy()

    return log_probs


def verify_tflite(
    path: str | pathlib.Path,
    saved_model: str | pathlib.Path,
    model: keras.Model,
    clips: Mapping[str, np.ndarray],
    alphabet: Sequence[str],
    tolerance: float = LOG_PROB_TOLERANCE,
    batch_size: int = 32,
) -> dict[str, float]:
    """Prove that the TFLite model at `path` (a `device_model`) transcribes real clips as the SavedModel
    at `saved_model` does.

    Each of `clips` (name -> unpadded waveform) is padded to the TFLite length with its true length given
    (`tflite_input`), and:

    1. the log-probabilities of its real frames (the first `frames`) must be within `tolerance` of the
       Keras `model` run on the clip alone (`clip_log_probs`), frame count included;
    2. greedy decoding of its frames, every one or the real ones only, must give exactly the SavedModel's
       transcript of the clip (its `serve` endpoint, clips batched with their lengths).

    Returns:
        `{"tflite_clips_checked": ..., "tflite_clips_max_abs_diff": ...}`.

    Raises:
        ExportMismatchError: a clip gives other frames or another transcript; the message names it.
        ValueError: a clip is longer than the TFLite model takes (`tflite_input`).
    """
    runner = zoo.export.tflite_interpreter(path).get_signature_runner()
    max_samples = int(runner.get_input_details()["waveform"]["shape"][1])
    served = tf.saved_model.load(str(zoo.export.saved_model_path(saved_model)))
    reference = clip_log_probs(model)
    names = list(clips)
    largest = 0.0
    for start in range(0, len(names), batch_size):
        batch = names[start : start + batch_size]
        inputs = tflite_batch([clips[name] for name in batch], max_samples)
        lengths = inputs["length"]
        # The SavedModel takes any length: the batch is as long as its longest clip.
        padded = inputs["waveform"][:, : max(lengths.max(), 1)]
        transcripts = served.serve(tf.constant(padded), tf.constant(lengths)).numpy()
        outputs = zoo.export.run_tflite(path, inputs)
        for row, name in enumerate(batch):
            where = f"{path} (clip {name}, {lengths[row]:,} samples)"
            log_probs, frames = outputs["log_probs"][row], int(outputs["frames"][row])
            largest = max(
                largest, zoo.export.max_abs_diff(reference(clips[name]), log_probs[:frames], where, tolerance)
            )
            expected = transcripts[row].decode("utf-8")
            for decoded in (greedy_decode(log_probs, alphabet), greedy_decode(log_probs[:frames], alphabet)):
                if decoded != expected:
                    raise ExportMismatchError(
                        f"{where}: the TFLite model's greedy transcript {decoded!r} != the SavedModel's "
                        f"{expected!r}"
                    )
    return {"tflite_clips_checked": len(names), "tflite_clips_max_abs_diff": largest}
