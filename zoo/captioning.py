"""What an image-captioning recipe needs besides its model: images in, captions out in one graph, and a
SavedModel that takes image files or pixels and is checked in a fresh process.

- `Captioner`: float images or encoded image files -> caption strings, in one TensorFlow graph: encode the
  images once, write the words one at a time with keras-hub's greedy sampler or `zoo.decoding.BeamSearch`
  (the `next(prompt, cache, index)` interface of `zoo.decoding`), look them up in the vocabulary. The same
  graph is used for validation scores, test scores and the SavedModel. Given several encoder-decoder
  pairs, it decodes with an ensemble: every step takes the mean of the members' log-probabilities.
- `export_captioner`: that graph as a SavedModel with two signatures, reloaded in a fresh Python process and
  compared caption for caption with the captioner in memory.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

import zoo.export
from zoo.data.captioning import decode_image
from zoo.decoding import pad_after_end
from zoo.progress import progress
from zoo.text.subword import END_ID, PAD_ID, START_ID, UNK_ID


class Captioner:
    """Images in, captions out, in one graph.

    Args:
        encoder: `images (B, H, W, 3) -> [memory, *states]`: what the decoder attends to (e.g. annotation
            vectors) and its initial recurrent state(s); or a list of encoders, one per ensemble member.
        decoder: one step, `[token (B, 1), memory, *states] -> [logits (B, vocabulary), *states, ...]`
            (outputs after the states, such as attention weights, are ignored); or a list, one per member.
        words: the vocabulary, id -> word, in the zoo's layout: 0 padding, 1 `[UNK]`, 2 `<s>`, 3 `</s>`,
            then words. The decoder never writes padding, `[UNK]` or `<s>`.
        image_shape: `(height, width)` the encoder takes; `caption_bytes` resizes every image to it.
        max_length: most tokens written per caption, `</s>` included.
        sampler: `keras_hub.samplers.GreedySampler()` or `zoo.decoding.BeamSearch(...)`.

    With lists, member i is `encoder[i]` with `decoder[i]` (each member encodes the images itself), and
    each step's scores are the mean of the members' log-softmaxes: a product of experts, so a word wins
    where the members agree, and a word that any member finds very unlikely is held back (the mean of
    the probabilities would let one confident member decide). With one member the captions are its own.

    `caption_images(images)` takes float32 `(B, H, W, 3)` in [0, 1], `caption_bytes(contents)` a 1-D
    string tensor of JPEG/PNG/GIF/BMP files (decoded by `zoo.data.decode_image`; an empty string is
    captioned ""); both return a 1-D string tensor, empty for an empty batch. `ids(images)` returns the
    token ids `(B, max_length)`, 0 after `</s>`. `caption_all(dataset)` captions a dataset of image
    batches into a list of str.
    """

    def __init__(
        self,
        encoder: keras.Model | Sequence[keras.Model],
        decoder: keras.Model | Sequence[keras.Model],
        words: Sequence[str],
        image_shape: tuple[int, int],
        max_length: int,
        sampler,
    ):
        encoders = list(encoder) if isinstance(encoder, Sequence) else [encoder]
        decoders = list(decoder) if isinstance(decoder, Sequence) else [decoder]
        if not encoders or len(encoders) != len(decoders):
            raise ValueError(
                f"one decoder per encoder: got {len(encoders)} encoders, {len(decoders)} decoders"
            )
        self.members = list(zip(encoders, decoders))
        self.sampler = sampler
        self.words = tf.constant(list(words))
        self.banned = tf.constant([i in (PAD_ID, UNK_ID, START_ID) for i in range(len(words))])
        self.image_shape, self.max_length = tuple(image_shape), max_length
        images = tf.TensorSpec([None, *self.image_shape, 3], tf.float32, name="images")
        self.ids = tf.function(self._ids, input_signature=[images])
        self.caption_images = tf.function(self._caption_images, input_signature=[images])
        contents = tf.TensorSpec([None], tf.string, name="image_bytes")
        self.caption_bytes = tf.function(self._caption_bytes, input_signature=[contents])

    @property
    def models(self) -> list[keras.Model]:
        """Every encoder and decoder, for an export to track."""
        return [model for member in self.members for model in member]

    def _next(self, prompt, cache, index):
        token = keras.ops.slice(prompt, [0, index - 1], [keras.ops.shape(prompt)[0], 1])
        log_probs, caches = [], []
        for (_, decoder), member in zip(self.members, cache):
            logits, *rest = decoder([token, member["memory"], *member["states"]], training=False)
            log_probs.append(keras.ops.log_softmax(logits, axis=-1))
            caches.append({**member, "states": rest[: len(member["states"])]})
        scores = log_probs[0] if len(log_probs) == 1 else keras.ops.mean(keras.ops.stack(log_probs), axis=0)
        # Never write padding, `<s>` or `[UNK]`: a model trained with rare words as `[UNK]` learns to
        # write it often (a Flickr8k model wrote "a man in a [UNK] [UNK] [UNK] on a [UNK]"), and a caption
        # is better served by its next best word.
        scores = keras.ops.where(self.banned, -1e9, scores)
        return scores, None, caches

    def _ids(self, images):
        # An empty batch never reaches the encoders: in a graph, TensorFlow's CPU convolution gives an
        # empty batch a wrong shape, and the layer after it fails.
        return tf.cond(
            tf.shape(images)[0] > 0,
            lambda: self._decode(images),
            lambda: tf.zeros([0, self.max_length], tf.int32),
        )

    def _decode(self, images):
        cache = []
        for encoder, _ in self.members:
            memory, *states = encoder(images, training=False)
            cache.append({"memory": memory, "states": states})
        batch = tf.shape(images)[0]
        prompt = tf.concat([tf.fill([batch, 1], START_ID), tf.zeros([batch, self.max_length], tf.int32)], 1)
        output = self.sampler(self._next, prompt, cache=cache, index=1, stop_token_ids=[END_ID])
        return pad_after_end(tf.cast(output[:, 1:], tf.int32), END_ID)

    def _caption_images(self, images):
        ids = self._ids(images)
        words = tf.ragged.boolean_mask(tf.gather(self.words, ids), ids > END_ID)
        return tf.strings.reduce_join(words, axis=1, separator=" ")

    def _caption_bytes(self, contents):
        present = tf.strings.length(contents) > 0

        def decode(content):
            # An empty string holds no image: it stands in as a black one and its caption is "".
            return tf.cond(
                tf.strings.length(content) > 0,
                lambda: decode_image(content, self.image_shape),
                lambda: tf.zeros([*self.image_shape, 3]),
            )

        spec = tf.TensorSpec([*self.image_shape, 3], tf.float32)
        captions = self._caption_images(tf.map_fn(decode, contents, fn_output_signature=spec))
        return tf.where(present, captions, "")

    def caption_all(self, images: tf.data.Dataset) -> list[str]:
        batches = progress(images, f"captioning ({type(self.sampler).__name__})", unit="batch")
        return [text.decode("utf-8") for batch in batches for text in self.caption_images(batch).numpy()]


def export_captioner(
    captioner: Captioner, path: str | pathlib.Path, images: np.ndarray, files: Sequence[bytes], track=()
) -> dict[str, int]:
    """Write `captioner` as a SavedModel (`path/1/`) with two signatures and check it in a fresh Python
    process.

    `serve` (also `serving_default`) takes encoded image files (a 1-D string tensor) and `serve_images`
    float32 images `(B, H, W, 3)` in [0, 1]; both return captions (named `caption` in the signatures).
    The reloaded model must caption exactly as `captioner` does `files` and `images` and the edge cases
    of `edge_images` (a batch of one, a one-pixel image, an image larger than the model's input, an empty
    string, an empty batch), or `ExportMismatchError` is raised naming the case
    (`zoo.export.verify_in_fresh_process`).

    Args:
        captioner: the captioner to export.
        path: the SavedModel folder.
        images: real float images to compare on.
        files: real image files (bytes) to compare on.
        track: the Keras models whose variables the captioner uses (`captioner.models` by default).

    Returns:
        `{"savedmodel_differing_captions": 0}` (any difference raises).
    """
    cases = {"files": list(files), "images": np.asarray(images, np.float32), **edge_images(images, files)}
    # Lists of files go to `serve`, arrays of pixels to `serve_images`.
    endpoints = {name: "serve_images" for name, inputs in cases.items() if isinstance(inputs, np.ndarray)}
    run = {"serve": captioner.caption_bytes, "serve_images": captioner.caption_images}
    expected = {name: run[endpoints.get(name, "serve")](inputs).numpy() for name, inputs in cases.items()}
    path = zoo.export.export_saved_model(
        captioner.caption_bytes,
        path,
        track=track or captioner.models,
        output_name="caption",
        endpoints={"serve_images": zoo.export.Endpoint(captioner.caption_images, output_name="caption")},
    )
    zoo.export.verify_in_fresh_process(path, cases, expected, endpoints)
    return {"savedmodel_differing_captions": 0}


def edge_images(images: np.ndarray, files: Sequence[bytes]) -> dict[str, list[bytes] | np.ndarray]:
    """The inputs a captioning export must answer as the captioner does, besides real ones: image files
    (lists of bytes, for `serve`) and float images (arrays, for `serve_images`), each as a batch of one and
    an empty batch; a one-pixel PNG, a JPEG four times the model's input size (made from the first image)
    and an empty string."""
    images = np.asarray(images, np.float32)
    height, width = images.shape[1:3]
    large = tf.image.resize(images[0], [4 * height, 4 * width])
    return {
        "files_batch_of_one": list(files[:1]),
        "one_pixel": [tf.io.encode_png(tf.zeros([1, 1, 3], tf.uint8)).numpy()],
        "large_image": [tf.io.encode_jpeg(tf.cast(tf.round(large * 255), tf.uint8)).numpy()],
        "empty_file": [b""],
        "files_empty_batch": [],
        "images_batch_of_one": images[:1],
        "images_empty_batch": images[:0],
    }
