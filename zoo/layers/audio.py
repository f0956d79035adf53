"""Waveform -> log-mel features in the graph (tf.signal), so a speech model's exports take raw audio.

- `LogMelSpectrogram`: a padded batch of waveforms and their lengths -> per-utterance normalised log-mel
  features `(batch, frames, num_mel_bins)` with a Keras mask over the valid frames, and
  `num_frames(lengths)` for the CTC input lengths.
- `SpecAugment`: frequency and time masks on those features while training (Park et al. 2019).
- `WaveformCheck`: refuses raw audio a served model cannot answer truthfully (lengths that do not fit the
  waveforms, NaN or inf samples) with an error naming the problem.

Both exports keep the feature extraction: the SavedModel takes float waveforms, and the TFLite file
converts with the built-in op set only (`tf.signal.stft` lowers to the builtins `GATHER` for the framing
and `RFFT2D` for the FFT), so no NumPy front end has to be rewritten on the device.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

# Added to the variance of each mel bin before dividing by its square root: a bin that is constant over an
# utterance (digital silence, a filter above the audio's bandwidth) then normalises to 0, never to NaN.
VARIANCE_EPSILON = 1e-6


@keras.saving.register_keras_serializable(package="zoo")
class LogMelSpectrogram(keras.layers.Layer):
    """A padded batch of waveforms -> log-mel features, normalised per utterance over its valid frames.

    The usual front end of a speech recogniser, computed in the graph:

    1. **frames** of `frame_length_ms` every `frame_step_ms` (rounded to whole samples: 25 ms / 10 ms are
       200 / 80 samples at 8 kHz, 551 / 221 at 22.05 kHz). Only whole frames: frame `t` covers samples
       `[t * step, t * step + length)` and there are `num_frames(n) = max(0, 1 + (n - length) // step)`
       of them (Kaldi's `snip_edges=True`; `tf.signal.stft(pad_end=False)`). So a valid frame never
       reads a sample past the utterance's length, whatever the padding holds.
    2. the periodic **Hann window** `0.5 - 0.5 cos(2 pi n / frame_length)` (for odd lengths too, unlike
       `tf.signal.hann_window`), zero-padding to `fft_length` and the **power spectrum** `|STFT|^2`
       (`tf.signal.stft`: `fft_length // 2 + 1` bins from 0 Hz to the Nyquist frequency).
    3. a **mel filterbank**: `tf.signal.linear_to_mel_weight_matrix`, i.e. `num_mel_bins` triangles of
       height 1 evenly spaced on the HTK mel scale `mel(f) = 1127 ln(1 + f / 700)` between
       `lower_edge_hertz` and `upper_edge_hertz`, applied to the power spectrum (a matmul).
    4. **log with a floor**: `log(max(mel_energy, log_floor))`. Clamping rather than `log(x + floor)`
       leaves every energy above the floor exactly its logarithm; only digital silence (the exact zeros
       some recordings start with) is clamped, to `log(log_floor)` instead of `-inf`. With waveforms in
       [-1, 1] the default 1e-6 is the mel energy of white noise at about -80 dBFS (in the narrowest
       filter; -87 to -96 dBFS in the widest), so only background quieter than that is clamped.
    5. **per-utterance normalisation** (`normalize=True`): every mel bin gets zero mean and unit variance
       over the utterance's valid frames, `(x - mean) / sqrt(variance + 1e-6)`, which removes the
       recording's level and channel (microphone, room) before the model sees it.

    Padded frames come out as zeros and the output carries a Keras mask (True at valid frames), so masked
    layers above (RNNs, `zoo.layers.MaskedGlobalAveragePooling1D`, `SpecAugment`) skip them. An utterance
    gives the same valid frames alone or padded in a batch with longer ones.

    **Backend.** The STFT and the mel matrix are TensorFlow (`tf.signal`), so the layer runs under the
    TensorFlow backend only; the rest is `keras.ops`. `keras.layers.MelSpectrogram` is not used because
    it has no lengths or mask, centres its frames (padding leaks into the first and last frames) and
    frames by `fft_length`, which would tie the CTC frame counts to the FFT size.

    **TFLite.** With a static input shape (batch 1, a fixed number of samples, with or without lengths)
    the layer converts with `tf.lite.OpsSet.TFLITE_BUILTINS` only: the framing becomes `GATHER`, the FFT
    `RFFT2D` (then `REAL`, `IMAG`), the filterbank `FULLY_CONNECTED`, the rest elementwise ops, `LOG`,
    `MEAN`/`SUM` and `RSQRT`; it runs in `ai_edge_litert` within ~1e-5 of the Keras layer. So no DFT-as-matmul
    rewrite is needed. TFLite's `RFFT2D` wants a power-of-two `fft_length`, which the default is.

    Args:
        sample_rate: samples per second of the waveforms, e.g. 8000 (FSDD) or 22050 (LJ Speech).
        frame_length_ms: length of a frame in milliseconds. Default 25.
        frame_step_ms: hop between frames in milliseconds. Default 10.
        fft_length: FFT size, at least the frame length in samples. Default None: the smallest power of
            two that holds a frame (256 at 8 kHz, 1024 at 22.05 kHz with 25 ms frames).
        num_mel_bins: number of mel filters, the output's last axis. Default 80.
        lower_edge_hertz: lower edge of the lowest mel filter. Default 20.
        upper_edge_hertz: upper edge of the highest mel filter. Default None: `sample_rate / 2`.
        log_floor: the smallest mel energy the log sees (see step 4). Default 1e-6.
        normalize: per-utterance mean and variance normalisation of each mel bin. Default True.
        **kwargs: standard `keras.layers.Layer` arguments (`name`, ...).

    Call arguments:
        inputs: float waveforms `(batch, samples)`, in [-1, 1], padded at the end; or a list
            `[waveforms, lengths]` with int `lengths` `(batch,)`, the number of real samples of each row.
            Without lengths every sample is real.

    Output shape: float32 `(batch, num_frames(samples), num_mel_bins)`, zeros at padded frames. The mask
    (boolean `(batch, frames)`, True at frames `t < num_frames(lengths)`) is attached when lengths are
    given.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> waveforms = keras.Input((None,))
    >>> lengths = keras.Input((), dtype="int32")
    >>> log_mel = zoo.layers.LogMelSpectrogram(sample_rate=8000, num_mel_bins=40)
    >>> features = log_mel([waveforms, lengths])  # (None, None, 40), masked
    >>> encoded = keras.layers.GRU(16, return_sequences=True)(features)  # skips the masked frames
    >>> model = keras.Model([waveforms, lengths], keras.layers.Dense(11)(encoded))
    >>> batch = np.random.default_rng(0).uniform(-0.1, 0.1, (2, 8000)).astype("float32")
    >>> model([batch, np.array([8000, 4000])]).shape  # 1 + (8000 - 200) // 80 = 98 frames
    TensorShape([2, 98, 11])
    >>> log_mel.num_frames(np.array([8000, 4000]))  # the CTC input lengths
    array([98, 48])

    References:
        Davis, Mermelstein. Comparison of parametric representations for monosyllabic word recognition in
        continuously spoken sentences. IEEE Trans. ASSP 1980.
        Povey et al. The Kaldi Speech Recognition Toolkit. ASRU 2011 (`compute-fbank-feats`).
    """

    def __init__(
        self,
        sample_rate: int,
        frame_length_ms: float = 25.0,
        frame_step_ms: float = 10.0,
        fft_length: int | None = None,
        num_mel_bins: int = 80,
        lower_edge_hertz: float = 20.0,
        upper_edge_hertz: float | None = None,
        log_floor: float = 1e-6,
        normalize: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.sample_rate = sample_rate
        self.frame_length_ms = frame_length_ms
        self.frame_step_ms = frame_step_ms
        self.fft_length = fft_length
        self.num_mel_bins = num_mel_bins
        self.lower_edge_hertz = lower_edge_hertz
        self.upper_edge_hertz = upper_edge_hertz
        self.log_floor = log_floor
        self.normalize = normalize

        # Frame length and step in samples, rounded half up (22.05 kHz * 10 ms = 220.5 -> 221).
        self.frame_length = math.floor(sample_rate * frame_length_ms / 1000 + 0.5)
        self.frame_step = math.floor(sample_rate * frame_step_ms / 1000 + 0.5)
        if self.frame_length < 1 or self.frame_step < 1:
            raise ValueError(
                f"frames of {frame_length_ms} ms every {frame_step_ms} ms at {sample_rate} Hz are "
                f"{self.frame_length} / {self.frame_step} samples; both must be at least 1"
            )
        self.fft_size = fft_length or 1 << (self.frame_length - 1).bit_length()
        if self.fft_size < self.frame_length:
            raise ValueError(f"fft_length={fft_length} is shorter than a frame ({self.frame_length} samples)")
        upper = sample_rate / 2 if upper_edge_hertz is None else upper_edge_hertz
        if not 0 <= lower_edge_hertz < upper <= sample_rate / 2:
            raise ValueError(
                f"need 0 <= lower_edge_hertz < upper_edge_hertz <= sample_rate / 2 = {sample_rate / 2}, "
                f"got {lower_edge_hertz} and {upper}"
            )
        if num_mel_bins < 1:
            raise ValueError(f"num_mel_bins must be at least 1, got {num_mel_bins}")
        if log_floor <= 0:
            raise ValueError(f"log_floor must be positive, got {log_floor}")
        # The periodic Hann window 0.5 - 0.5 cos(2 pi n / length) of scipy, librosa and torch, for every
        # length. tf.signal.hann_window(periodic=True) is periodic only for even lengths: at 22.05 kHz a
        # 25 ms frame has 551 samples, and it would give the symmetric window (n / 550) instead.
        self.window = (
            0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.frame_length) / self.frame_length)
        ).astype("float32")
        # Constants of the graph rather than weights: the config rebuilds them, so a `.keras` file holds
        # no copy. The mel matrix is (fft_size // 2 + 1, num_mel_bins), computed in float64: in float32
        # the mel values (up to ~3000) lose 1e-5 of each filter weight, which is 1e-4 in the log of a quiet
        # filter whose edge touches a loud harmonic.
        self.mel_matrix = (
            tf.signal.linear_to_mel_weight_matrix(
                num_mel_bins, self.fft_size // 2 + 1, sample_rate, lower_edge_hertz, upper, dtype=tf.float64
            )
            .numpy()
            .astype("float32")
        )
        empty = np.flatnonzero(self.mel_matrix.max(axis=0) == 0)
        if len(empty):
            raise ValueError(
                f"{len(empty)} of the {num_mel_bins} mel filters fall between two FFT bins and would "
                f"always be 0 (filters {empty.tolist()}): use fewer mel bins, a larger fft_length "
                f"(now {self.fft_size}) or a higher lower_edge_hertz"
            )

    @staticmethod
    def frame_count(num_samples, frame_length: int, frame_step: int):
        """Whole frames in `num_samples` samples: `max(0, 1 + (num_samples - frame_length) // frame_step)`.

        `num_samples` may be a Python int (gives an int), a NumPy array or a tensor (e.g. lengths in a
        `tf.data` map). Lengths in samples are the layer's `frame_length` and `frame_step` attributes."""
        if isinstance(num_samples, int | np.integer):
            return max(0, 1 + (int(num_samples) - frame_length) // frame_step)
        if isinstance(num_samples, np.ndarray):
            return np.maximum(0, 1 + (num_samples - frame_length) // frame_step)
        return ops.maximum(1 + ops.floor_divide(num_samples - frame_length, frame_step), 0)

    def num_frames(self, num_samples):
        """The valid frames of utterances of `num_samples` samples (int, array or tensor): the CTC input
        lengths of a model without further downsampling in time."""
        return self.frame_count(num_samples, self.frame_length, self.frame_step)

    def _split(self, inputs):
        if isinstance(inputs, list | tuple):
            if len(inputs) != 2:
                raise ValueError(
                    f"LogMelSpectrogram takes waveforms or [waveforms, lengths], got {len(inputs)} inputs"
                )
            return inputs[0], inputs[1]
        return inputs, None

    def _frame_mask(self, waveforms, lengths):
        # The frame index from a tensor with one entry per frame (each frame's last sample), not from
        # `arange(frames)`: this works on symbolic inputs whose length is unknown, where compute_mask runs.
        last_samples = waveforms[:, self.frame_length - 1 :: self.frame_step]
        frame_index = ops.cumsum(ops.ones_like(last_samples, dtype="int32"), axis=1) - 1
        valid = self.num_frames(ops.cast(ops.reshape(lengths, (-1,)), "int32"))
        return frame_index < ops.expand_dims(valid, axis=1)

    def power_spectrogram_tf(self, waveforms):
        """TensorFlow only: `|STFT|^2`, `(batch, frames, fft_length // 2 + 1)`, of whole frames."""
        waveforms = tf.cast(waveforms, tf.float32)
        samples = waveforms.shape[1]
        short = samples is None or samples < self.frame_length
        if short:
            # tf.signal.stft fails on input shorter than one frame (zero frames reach RFFT with a wrong
            # shape): pad it to one frame, and keep below the whole frames of the real length, maybe none.
            samples = tf.shape(waveforms)[1]
            waveforms = tf.pad(waveforms, [[0, 0], [0, tf.maximum(self.frame_length - samples, 0)]])
        stft = tf.signal.stft(
            waveforms,
            frame_length=self.frame_length,
            frame_step=self.frame_step,
            fft_length=self.fft_size,
            window_fn=lambda length, dtype: tf.constant(self.window, dtype=dtype),
            pad_end=False,
        )
        # real^2 + imag^2 rather than tf.abs: both are TFLite builtins (REAL, IMAG) and no sqrt is undone.
        power = tf.math.square(tf.math.real(stft)) + tf.math.square(tf.math.imag(stft))
        # Sliced as floats: TFLite's builtin STRIDED_SLICE does not take complex tensors.
        return power[:, : self.num_frames(samples)] if short else power

    def call(self, inputs):
        waveforms, lengths = self._split(inputs)
        power = self.power_spectrogram_tf(waveforms)
        mel = ops.matmul(power, ops.convert_to_tensor(self.mel_matrix))
        features = ops.log(ops.maximum(mel, self.log_floor))
        if lengths is None:
            if self.normalize:
                mean = ops.mean(features, axis=1, keepdims=True)
                variance = ops.mean(ops.square(features - mean), axis=1, keepdims=True)
                features = (features - mean) * ops.rsqrt(variance + VARIANCE_EPSILON)
            return ops.cast(features, self.compute_dtype)
        weights = ops.expand_dims(ops.cast(self._frame_mask(waveforms, lengths), "float32"), axis=-1)
        if self.normalize:
            count = ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1.0)
            mean = ops.sum(features * weights, axis=1, keepdims=True) / count
            variance = ops.sum(ops.square(features - mean) * weights, axis=1, keepdims=True) / count
            features = (features - mean) * ops.rsqrt(variance + VARIANCE_EPSILON)
        return ops.cast(features * weights, self.compute_dtype)

    def compute_mask(self, inputs, previous_mask=None):
        waveforms, lengths = self._split(inputs)
        return None if lengths is None else self._frame_mask(waveforms, lengths)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list | tuple) and isinstance(input_shape[0], list | tuple):
            input_shape = input_shape[0]  # [waveforms shape, lengths shape]
        batch, samples = input_shape
        frames = None if samples is None else self.num_frames(int(samples))
        return (batch, frames, self.num_mel_bins)

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "frame_length_ms": self.frame_length_ms,
            "frame_step_ms": self.frame_step_ms,
            "fft_length": self.fft_length,
            "num_mel_bins": self.num_mel_bins,
            "lower_edge_hertz": self.lower_edge_hertz,
            "upper_edge_hertz": self.upper_edge_hertz,
            "log_floor": self.log_floor,
            "normalize": self.normalize,
        }


@keras.saving.register_keras_serializable(package="zoo")
class SpecAugment(keras.layers.Layer):
    """Frequency and time masks on spectrogram features while training; the identity at inference.

    SpecAugment (Park et al. 2019) regularises a speech recogniser by hiding parts of each training
    utterance's features, so the model cannot rely on any one band or moment:

    - `frequency_masks` masks, each of `f ~ U{0, ..., frequency_mask_width}` consecutive mel bins starting
      at `f0 ~ U{0, ..., bins - f}`, over all the utterance's frames;
    - `time_masks` masks, each of `t ~ U{0, ..., w}` consecutive frames starting at
      `t0 ~ U{0, ..., length - t}`, over all bins, where `length` is the utterance's number of valid
      frames and `w = min(time_mask_width, floor(time_mask_fraction * length))` (the paper's `T` and `p`:
      short utterances lose at most that fraction of their frames to each mask).

    Masked values become `mask_value`; after `LogMelSpectrogram`'s per-utterance normalisation the
    default 0 is the utterance's mean, which is what the paper masks with. Masks are drawn anew for every
    utterance and call, and may overlap. Time warping, the paper's third and least helpful part, is left
    out. Padded frames (mask False) are never touched and masks stay inside the valid frames.

    Masks apply only when `training=True` (as in `fit`); otherwise the layer returns its input. The random
    draws come from a `keras.random.SeedGenerator(seed)`, so a seeded layer repeats its masks and the
    layer is saved with its config like any other. Written with `keras.ops` only.

    Args:
        frequency_masks: number of frequency masks per utterance (the paper's `m_F`). Default 2.
        frequency_mask_width: largest frequency mask, in bins (`F`). Default 10.
        time_masks: number of time masks per utterance (`m_T`). Default 2.
        time_mask_width: largest time mask, in frames (`T`). Default 20.
        time_mask_fraction: largest time mask as a fraction of the utterance's valid frames (`p`), in
            (0, 1]. Default 1.0 (no cap beyond `time_mask_width`).
        mask_value: value written into masked cells. Default 0.0.
        seed: seed of the random masks; None draws a random seed. Default None.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        features: float `(batch, frames, bins)`; `bins` must be known.
        mask: optional boolean `(batch, frames)`, True at valid frames, which come first (left-aligned,
            as `LogMelSpectrogram` attaches it). Without a mask every frame is valid.
        training: masks are drawn only when True.

    Output shape: the input's, with the input's mask propagated.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> augment = zoo.layers.SpecAugment(frequency_mask_width=4, time_mask_width=5, seed=1)
    >>> features = np.ones((2, 30, 16), "float32")
    >>> bool(keras.ops.all(augment(features) == features))  # inference: unchanged
    True
    >>> bool(keras.ops.any(augment(features, training=True) == 0))
    True

    References:
        Park, Chan, Zhang, Chiu, Zoph, Cubuk, Le. SpecAugment: A Simple Data Augmentation Method for
        Automatic Speech Recognition. Interspeech 2019.
    """

    def __init__(
        self,
        frequency_masks: int = 2,
        frequency_mask_width: int = 10,
        time_masks: int = 2,
        time_mask_width: int = 20,
        time_mask_fraction: float = 1.0,
        mask_value: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in [
            ("frequency_masks", frequency_masks),
            ("frequency_mask_width", frequency_mask_width),
            ("time_masks", time_masks),
            ("time_mask_width", time_mask_width),
        ]:
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if not 0 < time_mask_fraction <= 1:
            raise ValueError(f"time_mask_fraction must be in (0, 1], got {time_mask_fraction}")
        self.frequency_masks = frequency_masks
        self.frequency_mask_width = frequency_mask_width
        self.time_masks = time_masks
        self.time_mask_width = time_mask_width
        self.time_mask_fraction = time_mask_fraction
        self.mask_value = mask_value
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def _covered(self, extent, max_width, count: int, positions):
        """Whether each of `positions` `(size,)` lies in one of `count` random spans per row: widths
        `U{0..max_width}`, starts `U{0..extent - width}` (`extent`, `max_width`: int32 `(batch,)`)."""
        draws = keras.random.uniform((ops.shape(extent)[0], count, 2), seed=self.seed_generator)
        max_width = ops.expand_dims(max_width, axis=1)
        # floor(u * n) for u in [0, 1) is uniform on {0..n-1}; the minimum guards float32 rounding u * n -> n.
        width = ops.minimum(
            ops.cast(ops.floor(draws[..., 0] * ops.cast(max_width + 1, "float32")), "int32"), max_width
        )
        room = ops.expand_dims(extent, axis=1) - width
        start = ops.minimum(ops.cast(ops.floor(draws[..., 1] * ops.cast(room + 1, "float32")), "int32"), room)
        positions = ops.reshape(positions, (1, 1, -1))
        inside = (positions >= start[..., None]) & (positions < (start + width)[..., None])
        return ops.any(inside, axis=1)  # (batch, size)

    def call(self, features, mask=None, training=None):
        if not training or (self.frequency_masks == 0 and self.time_masks == 0):
            return features
        batch, frames, bins = ops.shape(features)[0], ops.shape(features)[1], features.shape[-1]
        if bins is None:
            raise ValueError(f"SpecAugment needs the number of bins (last axis) known, got {features.shape}")
        if mask is None:
            lengths = ops.full((batch,), frames, dtype="int32")
        else:
            lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        drop = ops.zeros((batch, frames, bins), dtype="bool")
        if self.frequency_masks:
            width = ops.full((batch,), min(self.frequency_mask_width, bins), dtype="int32")
            extent = ops.full((batch,), bins, dtype="int32")
            covered = self._covered(extent, width, self.frequency_masks, ops.arange(bins, dtype="int32"))
            drop = drop | ops.expand_dims(covered, axis=1)
        if self.time_masks:
            cap = ops.cast(ops.floor(self.time_mask_fraction * ops.cast(lengths, "float32")), "int32")
            width = ops.minimum(cap, self.time_mask_width)
            covered = self._covered(lengths, width, self.time_masks, ops.arange(frames, dtype="int32"))
            drop = drop | ops.expand_dims(covered, axis=2)
        if mask is not None:
            drop = drop & ops.expand_dims(ops.cast(mask, "bool"), axis=2)
        return ops.where(drop, ops.cast(self.mask_value, features.dtype), features)

    def compute_mask(self, features, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "frequency_masks": self.frequency_masks,
            "frequency_mask_width": self.frequency_mask_width,
            "time_masks": self.time_masks,
            "time_mask_width": self.time_mask_width,
            "time_mask_fraction": self.time_mask_fraction,
            "mask_value": self.mask_value,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="zoo")
class WaveformCheck(keras.layers.Layer):
    """`[waveforms, lengths]` -> the same two tensors, once they are checked to be valid raw audio.

    A model given lengths that do not match its waveforms would answer anyway, wrongly: a length beyond
    the samples reads padding, a negative one reads nothing, two lengths for one waveform decode an extra
    empty transcript, and a NaN sample turns every feature of its utterance into NaN. This layer, first in
    a served model, makes each of these an `InvalidArgumentError` whose message names the problem:

    - "lengths must have one entry per waveform"
    - "lengths must not be negative"
    - "a length exceeds the samples of its waveform"
    - "waveforms hold NaN or inf"

    The checks are `tf.debugging` assertions (TensorFlow only): called eagerly they raise at once; traced
    into a SavedModel they run inside its graph before the outputs are computed. An empty batch passes.

    Call arguments:
        inputs: `[waveforms, lengths]`, float `(batch, samples)` and int `(batch,)`.

    Output: `[waveforms, lengths]` unchanged.

    Example:

    >>> import keras
    >>> import zoo.layers
    >>> waveforms, lengths = keras.Input((None,)), keras.Input((), dtype="int32")
    >>> checked = zoo.layers.WaveformCheck()([waveforms, lengths])
    >>> features = zoo.layers.LogMelSpectrogram(8000, num_mel_bins=40)(checked)
    """

    def call(self, inputs):
        waveforms, lengths = inputs
        waveforms = tf.convert_to_tensor(waveforms)
        lengths = tf.convert_to_tensor(lengths)
        checks = [
            tf.debugging.assert_equal(
                tf.size(lengths), tf.shape(waveforms)[0], message="lengths must have one entry per waveform"
            ),
            tf.debugging.assert_non_negative(lengths, message="lengths must not be negative"),
            tf.debugging.assert_less_equal(
                tf.cast(lengths, tf.int64),
                tf.shape(waveforms, out_type=tf.int64)[1],
                message="a length exceeds the samples of its waveform",
            ),
            tf.debugging.assert_all_finite(waveforms, message="waveforms hold NaN or inf"),
        ]
        with tf.control_dependencies(checks):
            return [tf.identity(waveforms), tf.identity(lengths)]

    def compute_output_spec(self, inputs):
        return [keras.KerasTensor(tensor.shape, dtype=tensor.dtype) for tensor in inputs]
