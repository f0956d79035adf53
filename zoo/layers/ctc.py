"""Layers for CTC models over masked sequences: subsampling that keeps the mask, and the blank at padding.

CTC (Graves et al. 2006) scores a label sequence against per-frame class scores with one extra class, the
blank (index 0 here, as `keras.losses.CTC` and `keras.ops.ctc_decode` expect). A padded batch has frames
that belong to no utterance; `CTCLogits` makes them a certain blank, so the loss of the whole padded length
equals the loss of each utterance's own length, and `keras.losses.CTC` (which takes every frame as real)
needs no lengths.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

# Logit of the blank at padded frames, and of every other class there: log-softmax gives the blank
# log-probability -exp(-2 * 1e4) = 0.0 in float32, so a padded frame adds exactly nothing to the loss.
_PADDING_LOGIT = 1e4


@keras.saving.register_keras_serializable(package="zoo")
class ConvSubsampling(keras.layers.Layer):
    """Strided 1-D convolutions over time that carry the frame mask along: a speech model's front end.

    Each of `num_layers` blocks is a strided `Conv1D(filters, kernel_size, strides)` -> batch
    normalisation (over valid frames only) -> ReLU, so `strides ** num_layers` frames become one and the
    recurrent layers above run that many times fewer steps. Output frame `i` reads input frames
    `i * strides - (kernel_size - 1) // 2` onwards: the zeros added at the start are always the same
    number (Keras's `padding="same"` adds one more on the left when the padded length is odd, so an
    utterance's features would depend on the length of the longest one in its batch). Padded frames are
    zeroed before every convolution, and the output mask keeps frame `i` when input frame `i * strides`
    was valid: `ceil(valid_frames / strides)` frames per block, the same frames the utterance gives alone.

    Args:
        filters: output channels of every convolution.
        kernel_size: frames each convolution reads. Default 5.
        strides: subsampling of each block. Default 2.
        num_layers: blocks. Default 2.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: float `(batch, frames, features)`.
        mask: optional bool `(batch, frames)`, True at valid frames (Keras passes it along).
        training: batch normalisation's mode.

    Output shape: `(batch, ceil(frames / strides ** num_layers), filters)`, with the subsampled mask.

    Example:

    >>> import numpy as np
    >>> import zoo.layers
    >>> layer = zoo.layers.ConvSubsampling(8, strides=2, num_layers=2)
    >>> tuple(layer(np.zeros((1, 10, 3), "float32")).shape)  # ceil(10 / 2 ** 2) frames
    (1, 3, 8)
    """

    def __init__(self, filters: int, kernel_size: int = 5, strides: int = 2, num_layers: int = 2, **kwargs):
        super().__init__(**kwargs)
        if min(filters, kernel_size, strides, num_layers) < 1:
            raise ValueError("filters, kernel_size, strides and num_layers must all be at least 1")
        self.filters, self.kernel_size, self.strides, self.num_layers = (
            filters,
            kernel_size,
            strides,
            num_layers,
        )
        self.convolutions = [
            keras.layers.Conv1D(filters, kernel_size, strides=strides, padding="valid", name=f"conv_{i}")
            for i in range(num_layers)
        ]
        self.norms = [keras.layers.BatchNormalization(name=f"norm_{i}") for i in range(num_layers)]
        self.supports_masking = True

    def build(self, input_shape):
        shape = tuple(input_shape)
        for convolution, norm in zip(self.convolutions, self.norms):
            convolution.build(shape)
            shape = (shape[0], None, self.filters)
            norm.build(shape)

    def _pad(self, x):
        """kernel_size - 1 zeros in all, (kernel_size - 1) // 2 of them first: a 'valid' convolution then
        gives ceil(frames / strides) frames, each at a fixed offset from the start."""
        left = (self.kernel_size - 1) // 2
        return ops.pad(x, [[0, 0], [left, self.kernel_size - 1 - left], [0, 0]])

    def _masks(self, mask):
        masks = [mask]
        for _ in range(self.num_layers):
            masks.append(None if masks[-1] is None else masks[-1][:, :: self.strides])
        return masks

    def call(self, inputs, mask=None, training=None):
        x = inputs
        for (convolution, norm), block_mask in zip(zip(self.convolutions, self.norms), self._masks(mask)):
            if block_mask is not None:
                x = ops.where(block_mask[..., None], x, ops.zeros_like(x))
            x = convolution(self._pad(x))
            out_mask = None if block_mask is None else block_mask[:, :: self.strides]
            x = ops.relu(norm(x, training=training, mask=out_mask))
        return x

    def compute_mask(self, inputs, mask=None):
        return self._masks(mask)[-1]

    def num_frames(self, frames):
        """The valid output frames of an utterance of `frames` valid input frames (int, array or tensor):
        `ceil(frames / strides)` per block, what the output mask keeps."""
        for _ in range(self.num_layers):
            frames = (frames + self.strides - 1) // self.strides
        return frames

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        for _ in range(self.num_layers):
            frames = None if frames is None else -(-frames // self.strides)
        return (input_shape[0], frames, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "num_layers": self.num_layers,
        }


@keras.saving.register_keras_serializable(package="zoo")
class CTCLogits(keras.layers.Layer):
    """Per-frame class logits for CTC, with every padded frame made a certain blank (class 0).

    A dense layer gives `num_classes` logits per frame (class 0 the blank, classes 1.. the labels). Where
    the mask is False (a frame past the utterance's end) the logits become `[1e4, -1e4, ...]`, whose
    log-softmax is 0 for the blank: a path through the padding must emit blanks there with probability 1.
    So the CTC loss over the padded length equals the loss over each utterance's own length, and greedy
    or beam decoding over the padded length finds what it would find over the true length (blanks
    collapse away). The output carries no mask, so Keras does not try to weight the per-utterance CTC loss
    by frames.

    Args:
        num_classes: labels + 1 (the blank).
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        inputs: float `(batch, frames, units)`.
        mask: optional bool `(batch, frames)`, True at valid frames.

    Output shape: `(batch, frames, num_classes)` logits (not normalised).

    Example:

    >>> import numpy as np
    >>> import zoo.layers
    >>> layer = zoo.layers.CTCLogits(4)
    >>> logits = layer(np.ones((1, 3, 2), "float32"), mask=np.array([[True, True, False]]))
    >>> int(np.argmax(logits[0, 2]))  # the padded frame is a blank
    0
    """

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 2:
            raise ValueError(f"num_classes counts the blank and at least one label, got {num_classes}")
        self.num_classes = num_classes
        self.dense = keras.layers.Dense(num_classes, name="logits")

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs, mask=None):
        logits = self.dense(inputs)
        if mask is None:
            return logits
        blank = ops.one_hot(
            ops.zeros_like(logits[..., 0], dtype="int32"), self.num_classes, dtype=logits.dtype
        )
        padding = (2.0 * blank - 1.0) * _PADDING_LOGIT
        return ops.where(ops.cast(mask, "bool")[..., None], logits, padding)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="zoo")
class CTCTranscriber(keras.layers.Layer):
    """Per-frame CTC logits -> transcript strings: best-path (greedy) or beam search decoding.

    Decodes with `keras.ops.ctc_decode` (blank 0, repeats merged), maps label ids to characters
    (`alphabet[id - 1]`) and joins them. Every frame is decoded, which is right for `CTCLogits` output:
    its padded frames are certain blanks and vanish. TensorFlow only (string ops).

    Args:
        alphabet: the character of each label id 1, 2, ... (id 0 is the blank).
        beam_width: 0 for greedy decoding, else the beam search width. Default 0.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        logits: float `(batch, frames, len(alphabet) + 1)`.

    Output shape: `(batch,)` strings.

    Example:

    >>> import numpy as np
    >>> import zoo.layers
    >>> logits = np.log(np.eye(3, dtype="float32")[[1, 1, 0, 2, 0]] + 1e-3)[None]  # a a - b -
    >>> zoo.layers.CTCTranscriber(["a", "b"])(logits).numpy().tolist()
    [b'ab']
    """

    def __init__(self, alphabet, beam_width: int = 0, **kwargs):
        super().__init__(**kwargs)
        if beam_width < 0:
            raise ValueError(f"beam_width must be 0 (greedy) or positive, got {beam_width}")
        self.alphabet = list(alphabet)
        self.beam_width = beam_width
        self.lookup = keras.layers.StringLookup(
            vocabulary=self.alphabet, mask_token="", num_oov_indices=0, invert=True
        )

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != len(self.alphabet) + 1:
            raise ValueError(
                f"logits have {input_shape[-1]} classes; an alphabet of {len(self.alphabet)} needs "
                f"{len(self.alphabet) + 1} (the blank first)"
            )
        self.lookup.build(None)

    def call(self, logits):
        log_probs = ops.log_softmax(logits, axis=-1)
        frames = ops.full((ops.shape(log_probs)[0],), ops.shape(log_probs)[1], dtype="int32")
        if self.beam_width:
            decoded, _ = ops.ctc_decode(log_probs, frames, "beam_search", beam_width=self.beam_width)
        else:
            decoded, _ = ops.ctc_decode(log_probs, frames, "greedy")
        ids = ops.maximum(decoded[0], 0)  # -1 pads the decoded paths; id 0 looks up ""
        return tf.strings.reduce_join(self.lookup(ids), axis=-1)

    def compute_output_spec(self, logits):
        return keras.KerasTensor((logits.shape[0],), dtype="string")

    def get_config(self):
        return {**super().get_config(), "alphabet": self.alphabet, "beam_width": self.beam_width}
