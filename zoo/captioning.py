"""The library half of `recipes.captioning`: data, the image encoder, decoding and the exports.

- Data: `normalize_caption` (what a model writes and is scored against), `image_dataset`,
  `encode_captions` and `caption_data`, the run's teacher-forcing batches, references and vocabulary.
- Model: `grid_encoder` (images -> a grid of feature vectors: a small CNN or a keras.applications
  backbone) and `draw_attention` (where the model looked for each word).
- `Captioner`: float images or encoded image files -> caption strings, in one TensorFlow graph (a
  `zoo.decoding.Decoder`: the images encoded once, the words written greedily or with beam search, one
  or several encoder-decoder pairs as an ensemble). The same graph gives the validation scores, the test
  scores and the SavedModel.
- `export_captioner`: that graph as a SavedModel (greedy and beam-search endpoints, each taking image files
  or pixels), checked in a fresh Python process (`zoo.export.export_text_model`); `export_captioner_tflite`:
  the greedy graph as a TFLite file, one float image in, word ids out; `export_captioning`: both, the
  Keras models, the vocabulary and deploy.json.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

import zoo.export
import zoo.io
import zoo.layers
import zoo.plots
from zoo.data.captioning import (
    CaptionedImages,
    CaptionSplits,
    captions_summary,
    check_image_files,
    decode_image,
)
from zoo.decoding import Decoder
from zoo.errors import DataFormatError
from zoo.progress import progress
from zoo.text import Vocabulary
from zoo.text.subword import END_ID, PAD_ID, START_ID, UNK_ID

# ## Data


class CaptionData(NamedTuple):
    train: tf.data.Dataset  # ({"images": (B, H, W, 3), "tokens": (B, K, T)}, next tokens (B, K, T))
    validation: tf.data.Dataset
    images: dict[str, tf.data.Dataset]  # batches of the images alone, in split order
    references: dict[str, list[list[str]]]  # normalised captions of each image
    vocabulary: Vocabulary  # id 0 padding, 1 [UNK], 2 <s>, 3 </s>, then words
    image_shape: tuple[int, int]
    splits: CaptionSplits

    @property
    def photos(self) -> bool:
        """Whether the images are files (photos, a user's images), not arrays (the digit strips)."""
        return not isinstance(self.splits.test.images, np.ndarray)


def normalize_caption(text: str) -> str:
    """The caption a model learns to write and is scored against: lowercased, punctuation dropped (a
    hyphen or apostrophe inside a word stays), single spaces.

    >>> from zoo.captioning import normalize_caption
    >>> normalize_caption('A dog shakes its head near the shore , a red ball next to it .')
    'a dog shakes its head near the shore a red ball next to it'
    >>> normalize_caption("A boy 's \\"ADHD\\" t-shirt")
    "a boy 's adhd t-shirt"
    """
    words = re.sub(r"[^\w\s'-]|_", " ", text.lower()).split()
    return " ".join(word for word in words if re.search(r"\w", word))


def image_dataset(data: CaptionedImages, image_shape: tuple[int, int]) -> tf.data.Dataset:
    """One float32 (H, W, 3) image in [0, 1] per element: the digit strips as they are, photos read and
    decoded by `decode_image` in parallel (after `check_image_files`, so a file that is not
    an image is named)."""
    if isinstance(data.images, np.ndarray):
        return tf.data.Dataset.from_tensor_slices(data.images)
    check_image_files(data.images)
    return tf.data.Dataset.from_tensor_slices(data.images).map(
        lambda path: decode_image(tf.io.read_file(path), image_shape),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def encode_captions(references, vocabulary, per_image: int, length: int) -> np.ndarray:
    """(images, per_image, length) ids: `<s> words </s>` padded with 0, captions of more than `length - 2`
    words left out, rows of 0 where an image has fewer captions (the loss ignores id 0)."""
    ids = np.zeros((len(references), per_image, length), np.int32)
    for image, captions in enumerate(references):
        kept = [caption.split() for caption in captions if len(caption.split()) <= length - 2]
        for row, words in enumerate(kept[:per_image]):
            ids[image, row, : len(words) + 2] = [START_ID, *vocabulary.encode(words), END_ID]
    return ids


def caption_data(
    splits: CaptionSplits,
    min_word_count: int,
    max_length: int,
    captions_per_image: int,
    batch_size: int,
    image_size: int,
    seed: int,
    max_train_images: int | None = None,
) -> CaptionData:
    """A captioning run's datasets: normalised references, the vocabulary of the training captions (words
    seen `min_word_count` times or more), teacher-forcing batches of `batch_size` images with up to
    `captions_per_image` captions of at most `max_length` words each (longer ones left out, said once),
    the training batches shuffled by `seed`; photos resized to `image_size` squares (the strips kept).
    `max_train_images` keeps only the first training images (quick runs). The splits' summary is printed."""
    if max_train_images:
        n, train = max_train_images, splits.train
        train = train._replace(ids=train.ids[:n], images=train.images[:n], captions=train.captions[:n])
        splits = splits._replace(train=train)
    print(splits.source + "\n" + captions_summary(splits))
    references = {
        name: [[normalize_caption(text) for text in captions] for captions in getattr(splits, name).captions]
        for name in ("train", "validation", "test")
    }
    words = [caption.split() for captions in references["train"] for caption in captions]
    counted = Vocabulary.build(words, min_count=min_word_count)
    vocabulary = Vocabulary(["<s>", "</s>", *counted.tokens[2:]])  # START_ID 2, END_ID 3
    length = min(max_length, max(map(len, words))) + 2
    per_image = min(captions_per_image, max(map(len, references["train"])))
    if longer := sum(len(caption) > length - 2 for caption in words):
        print(f"{longer:,} of {len(words):,} training captions are longer than {length - 2} words: left out")
    if isinstance(splits.train.images, np.ndarray):
        image_shape = tuple(splits.train.images.shape[1:3])
    else:
        image_shape = (image_size, image_size)

    def batches(name, seed=None):
        ids = encode_captions(references[name], vocabulary, per_image, length)
        dataset = tf.data.Dataset.zip(
            image_dataset(getattr(splits, name), image_shape), tf.data.Dataset.from_tensor_slices(ids)
        ).cache()  # decoded once
        if seed is not None:
            dataset = dataset.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size).map(
            lambda images, ids: ({"images": images, "tokens": ids[..., :-1]}, ids[..., 1:])
        )
        return dataset.prefetch(tf.data.AUTOTUNE)

    images = {
        name: image_dataset(getattr(splits, name), image_shape).batch(64).cache().prefetch(tf.data.AUTOTUNE)
        for name in ("train", "validation", "test")
    }
    return CaptionData(
        batches("train", seed),
        batches("validation"),
        images,
        references,
        vocabulary,
        image_shape,
        splits,
    )


# ## Model


def grid_encoder(
    image_shape: tuple[int, int],
    conv_filters: Sequence[int] = (32, 64, 128),
    convs_per_block: int = 1,
    augment: bool = True,
    seed: int = 0,
    *,
    backbone: str | None = None,
    backbone_weights: str | None = None,
    fine_tune: bool = False,
) -> keras.Model:
    """Images in [0, 1] -> a grid of feature vectors, for an attention decoder to read.

    A small CNN (per block, `convs_per_block` 3x3 convolutions with batch norm and ReLU, then a 2x2 max
    pool, so each block halves the grid), with small random shifts and zooms in training when `augment`;
    or the keras.applications model `backbone` without its top, with the input scaling it was trained with
    (`zoo.layers.BackbonePreprocessing`), the weights of the file `backbone_weights` (else random), frozen
    unless `fine_tune`.
    """
    images = keras.Input((*image_shape, 3), name="images")
    if backbone is not None:
        model = getattr(keras.applications, backbone)(
            include_top=False, weights=backbone_weights, input_shape=(*image_shape, 3)
        )
        model.trainable = fine_tune
        # training=False keeps batch norm on its ImageNet statistics, frozen or fine-tuned (Keras's advice).
        grid = model(zoo.layers.BackbonePreprocessing(backbone)(images), training=False)
        return keras.Model(images, grid, name=backbone.lower())
    grid = images
    if augment:  # training only; the same pixels at inference
        grid = keras.layers.RandomTranslation(0.1, 0.02, fill_mode="constant", seed=seed)(grid)
        grid = keras.layers.RandomZoom(0.1, fill_mode="constant", seed=seed)(grid)
    for filters in conv_filters:
        for _ in range(convs_per_block):
            grid = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(grid)
            # momentum 0.9, not 0.99: the moving statistics the model is evaluated with must catch up
            # within the first epoch of a short run.
            grid = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9)(grid))
        grid = keras.layers.MaxPooling2D(2)(grid)
    return keras.Model(images, grid, name="small_cnn")


def draw_attention(
    attention: keras.Model,
    grid: tuple[int, int],
    captioner: Captioner,
    images: np.ndarray,
    references: Sequence[Sequence[str]],
    folder: str | pathlib.Path,
) -> None:
    """`attention_<i>.png`: where a model looked for each word of `captioner`'s captions of `images`.

    `attention` maps `{"images", "tokens" (B, T)}` to the weights over the `grid`'s cells at each step
    (B, T, cells); run with teacher forcing on the captioner's own output, it repeats the decoding steps
    exactly (for a greedy captioner of that one model)."""
    ids = captioner.ids(images).numpy()
    tokens = np.concatenate([np.full((len(images), 1), START_ID), ids[:, :-1]], axis=1)
    weights = keras.ops.convert_to_numpy(attention({"images": images, "tokens": tokens}, training=False))
    words = [word.decode("utf-8") for word in captioner.words.numpy()]
    for index, image in enumerate(images):
        steps = int(np.sum(ids[index] != PAD_ID))  # the words and </s>
        written = [words[i] for i in ids[index][:steps]]
        grids = weights[index, :steps].reshape(steps, *grid)
        title = f"{' '.join(written[:-1])}\n(reference: {references[index][0]})"
        zoo.plots.image_attention(
            image, grids, written, pathlib.Path(folder) / f"attention_{index}.png", title
        )


# ## Decoding


def _encode(encoder: keras.Model):
    """A member's cache: what its decoder attends to and its initial recurrent state(s)."""

    def encode(images):
        memory, *states = encoder(images, training=False)
        return {"memory": memory, "states": states}

    return encode


def _step(decoder: keras.Model):
    """keras-hub's sampler callback over a one-step decoder `[token, memory, *states] -> [logits, *states,
    ...]`: the previous word in, its logits out, the states carried in the cache."""

    def step(prompt, cache, index):
        token = keras.ops.slice(prompt, [0, index - 1], [keras.ops.shape(prompt)[0], 1])
        logits, *rest = decoder([token, cache["memory"], *cache["states"]], training=False)
        return logits, None, {**cache, "states": rest[: len(cache["states"])]}

    return step


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
        sampler: `zoo.decoding.make_sampler(beam_size, length_penalty)`.

    With lists, member i is `encoder[i]` with `decoder[i]` (each member encodes the images itself), and
    the members decode as one ensemble (`zoo.decoding.Decoder`: the mean of their log-softmaxes).

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
        self.image_shape, self.max_length = tuple(image_shape), max_length
        # Never write padding, `<s>` or `[UNK]`: a model trained with rare words as `[UNK]` learns to
        # write it often (a Flickr8k model wrote "a man in a [UNK] [UNK] [UNK] on a [UNK]"), and a caption
        # is better served by its next best word.
        self.decoder = Decoder(
            [_encode(encoder) for encoder in encoders],
            [_step(decoder) for decoder in decoders],  # a list, even of one: scores are log-softmaxes
            start_id=START_ID,
            end_id=END_ID,
            max_length=max_length,
            sampler=sampler,
            banned_ids=(PAD_ID, UNK_ID, START_ID),
        )
        images = tf.TensorSpec([None, *self.image_shape, 3], tf.float32, name="images")
        self.ids = tf.function(self._ids, input_signature=[images])
        self.caption_images = tf.function(self._caption_images, input_signature=[images])
        contents = tf.TensorSpec([None], tf.string, name="image_bytes")
        self.caption_bytes = tf.function(self._caption_bytes, input_signature=[contents])

    @property
    def models(self) -> list[keras.Model]:
        """Every encoder and decoder, for an export to track."""
        return [model for member in self.members for model in member]

    def _ids(self, images):
        # An empty batch never reaches the encoders: in a graph, TensorFlow's CPU convolution gives an
        # empty batch a wrong shape, and the layer after it fails.
        return tf.cond(
            tf.shape(images)[0] > 0,
            lambda: self.decode(images),
            lambda: tf.zeros([0, self.max_length], tf.int32),
        )

    def decode(self, images, sampler=None):
        """Word ids (B, max_length), `</s>` kept and 0 after it, of float images (B, H, W, 3) (B > 0);
        decoded with `sampler`, the captioner's own by default."""
        return self.decoder(images, sampler)

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


def export_captioning(
    trainers: Sequence[keras.Model],
    decoders: Mapping[str, Captioner],
    output_dir: str | pathlib.Path,
    *,
    images: np.ndarray,
    files: Sequence[bytes],
    keras_inputs,
    metrics: Mapping[str, float] | None = None,
    scored_files: bool = True,
) -> dict[str, float]:
    """Everything a captioning run deploys, each export checked before `deploy.json` marks it done:

    - `model.keras` (each ensemble member's in `member_<i>/model.keras`): the teacher-forcing model(s),
      reloaded and run on `keras_inputs`.
    - `vocabulary.txt`: line n is word id n.
    - `saved_model/1/` (`export_captioner`): `serve` and `serve_images` caption greedily, and `beam` and
      `beam_images` with the beam search the test scores used, when `decoders` has one.
    - `model.tflite` (`export_captioner_tflite`): the whole greedy decoder, one float image in, word ids
      out.
    - `deploy.json`: the exports' inputs and outputs, the vocabulary, special ids, image size, each
      endpoint's decoder and the test scores it reproduces (`metrics`; by the endpoints taking what the
      test split was scored from: image files when `scored_files`, else float images).

    Args:
        trainers: the teacher-forcing model of each member.
        decoders: `{"greedy": Captioner, "beam": Captioner}`, the beam one optional.
        output_dir: the run's folder.
        images: real float images (B, H, W, 3) in [0, 1] to check the exports on.
        files: real image files (bytes) to check the SavedModel on.
        keras_inputs: a batch of the trainers' inputs, to compare each reloaded `model.keras` on.
        metrics: the run's test scores, for deploy.json.
        scored_files: whether the test scores came from image files (photos) or float images (strips).

    Returns:
        `keras_max_abs_diff`, `savedmodel_differing_captions` (0) and `tflite_differing_captions` (0; any
        difference raises `ExportMismatchError`).
    """
    output_dir = pathlib.Path(output_dir)
    greedy, beam = decoders["greedy"], decoders.get("beam")
    words = [word.decode("utf-8") for word in greedy.words.numpy()]
    zoo.io.write_text(output_dir / "vocabulary.txt", "\n".join(words) + "\n")
    keras_diff = 0.0
    for index, trainer in enumerate(trainers):
        path = output_dir / ("model.keras" if len(trainers) == 1 else f"member_{index}/model.keras")
        zoo.export.export_keras(trainer, path)
        keras_diff = max(keras_diff, zoo.export.max_abs_diff(
            trainer(keras_inputs, training=False),
            keras.saving.load_model(path)(keras_inputs, training=False),
            str(path),
            zoo.export.DEFAULT_TOLERANCE,
        ))  # fmt: skip
    verified = {"keras_max_abs_diff": keras_diff}
    verified |= export_captioner(greedy, output_dir / "saved_model", images, files, beam=beam)
    tflite = export_captioner_tflite(greedy, output_dir / "model.tflite", images[:32])
    if isinstance(tflite, dict):
        verified["tflite_differing_captions"] = 0
    decoder_names = {"serve": "greedy", "serve_images": "greedy"}
    scores = {"serve": _scores(metrics, "test_greedy_")}
    if beam is not None:
        alpha = beam.sampler.length_penalty
        decoder_names |= dict.fromkeys(
            ("beam", "beam_images"),
            f"beam search, {beam.sampler.beam_size} beams, length penalty {alpha:g} (GNMT: the "
            f"log-probability divided by ((5 + length) / 6) ** {alpha:g})",
        )
        scores["beam"] = _scores(metrics, "test_")
    suffix = "" if scored_files else "_images"
    height, width = greedy.image_shape
    facts = {
        "task": "captioning",
        "vocabulary": "vocabulary.txt",
        "side_files": ["vocabulary.txt"],
        "special_ids": {"padding": PAD_ID, "unknown": UNK_ID, "start": START_ID, "end": END_ID},
        "image": {
            "height": height,
            "width": width,
            "serve_images": "float32 (B, height, width, 3), RGB in [0, 1]",
            "serve": "JPEG, PNG, GIF or BMP files, decoded and resized (bilinear) to height x width",
        },
        "max_length": greedy.max_length,
        "ensemble_members": len(greedy.members),
        "decoders": decoder_names,
        "reproduces": {f"{name}{suffix}": figures for name, figures in scores.items() if figures},
    }
    if isinstance(tflite, dict):
        facts["tflite"] = {
            "model.tflite": (
                f"greedy decoding, the whole loop inside: image = one float32 RGB image (1, {height}, "
                f"{width}, 3) in [0, 1] -> word_ids (1, {greedy.max_length}): the words of "
                f"vocabulary.txt up to </s> (id {END_ID}), 0 after it"
            ),
            "checked_on": tflite,
        }
    else:
        facts["tflite"] = {"not_exported": tflite}
    zoo.export.write_manifest(output_dir, **facts, verified=verified)
    return verified


def _scores(metrics: Mapping[str, float] | None, prefix: str) -> dict[str, float]:
    keys = ("bleu1", "bleu2", "bleu3", "bleu4", "exact")
    return {
        f"{prefix}{key}": metrics[f"{prefix}{key}"] for key in keys if f"{prefix}{key}" in (metrics or {})
    }


def export_captioner(
    captioner: Captioner,
    path: str | pathlib.Path,
    images: np.ndarray,
    files: Sequence[bytes],
    track=(),
    beam: Captioner | None = None,
) -> dict[str, int]:
    """Write `captioner` as a SavedModel (`path/1/`) and check it in a fresh Python process.

    `serve` (also `serving_default`) takes encoded image files (a 1-D string tensor) and `serve_images`
    float32 images `(B, H, W, 3)` in [0, 1]; both return captions (named `caption` in the signatures).
    With `beam` (a captioner over the same models, decoding with beam search), `beam` and `beam_images`
    take the same inputs and caption with it. The reloaded model must caption exactly as the captioners
    do `files` and `images` and the edge cases of `edge_images` (a batch of one, a one-pixel image, an
    image larger than the model's input, an empty string, an empty batch), or `ExportMismatchError` is
    raised naming the case (`zoo.export.verify_in_fresh_process`).

    Args:
        captioner: the (greedy) captioner to export.
        path: the SavedModel folder.
        images: real float images to compare on.
        files: real image files (bytes) to compare on.
        track: the Keras models whose variables the captioner uses (`captioner.models` by default).
        beam: the beam-search captioner, or None.

    Returns:
        `{"savedmodel_differing_captions": 0}` (any difference raises).
    """
    images = np.asarray(images, np.float32)
    cases = {"files": list(files), "images": images, **edge_images(images, files)}
    # Lists of files go to `serve` (`beam`), arrays of pixels to `serve_images` (`beam_images`).
    routes = {name: "serve_images" if isinstance(x, np.ndarray) else "serve" for name, x in cases.items()}
    endpoints = {
        "serve": zoo.export.Endpoint(captioner.caption_bytes, output_name="caption"),
        "serve_images": zoo.export.Endpoint(captioner.caption_images, output_name="caption"),
    }
    if beam is not None:
        endpoints |= {
            "beam": zoo.export.Endpoint(beam.caption_bytes, output_name="caption"),
            "beam_images": zoo.export.Endpoint(beam.caption_images, output_name="caption"),
        }
    track = track or captioner.models
    zoo.export.export_text_model(path, endpoints, cases, track, routes, beam_cases=8 if beam else 0)
    return {"savedmodel_differing_captions": 0}


def captioner_tflite(captioner: Captioner):
    """`captioner`'s greedy decoding as one function for a TFLite file: `image` (1, H, W, 3) float32 in
    [0, 1] -> `{"word_ids": (1, max_length) int32}`, `</s>` kept and 0 after it (what `captioner.ids`
    gives). The encoder(s), the `while` loop over the decoder step(s) (TFLite's built-in `WHILE`) and the
    argmax are all inside (`zoo.decoding.TFLiteGreedySampler`)."""
    from zoo.decoding import TFLiteGreedySampler

    sampler = TFLiteGreedySampler()
    return lambda image: {"word_ids": captioner.decode(image, sampler)}


def caption_with_tflite(output_dir: str | pathlib.Path, images: np.ndarray) -> list[str]:
    """Captions of float images (B, H, W, 3) in [0, 1] by a run's `model.tflite`, done as a device does
    it: one image per invoke, the words of `vocabulary.txt` (line n = id n) before `</s>`."""
    folder = pathlib.Path(output_dir)
    words = (folder / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
    captions = []
    for ids in zoo.export.run_tflite(folder / "model.tflite", np.asarray(images, np.float32)):
        ids = ids.tolist()
        captions.append(" ".join(words[i] for i in ids[: ids.index(END_ID) if END_ID in ids else None]))
    return captions


def export_captioner_tflite(captioner: Captioner, path: str | pathlib.Path, images: np.ndarray) -> dict | str:
    """Write `captioner_tflite(captioner)` to `path` with built-in ops only and run it with LiteRT on
    `images`, a black and a white image: it must give the word ids `captioner.ids` gives (the captions
    `serve_images` writes), or `ExportMismatchError` names the case. Returns the cases checked (name ->
    images), or, for a model computing in bfloat16 or float16, the reason no file was written."""
    images = np.asarray(images, np.float32)
    spec = tf.TensorSpec([1, *captioner.image_shape, 3], tf.float32, name="image")
    cases = {"test images": images, "black": np.zeros_like(images[:1]), "white": np.ones_like(images[:1])}
    expected = {name: captioner.ids(inputs).numpy() for name, inputs in cases.items()}
    return zoo.export.export_decoder_tflite(
        captioner_tflite(captioner), path, [spec], captioner.models, cases, expected
    )


def print_examples(captions: Sequence[str], references: Sequence[Sequence[str]], decoder: str) -> None:
    """The first five captions beside their image's first reference, under a title naming the decoder."""
    print(f"\nTest captions ({decoder} | first reference):")
    for caption, image_references in list(zip(captions, references))[:5]:
        print(f"  {caption} | {image_references[0]}")


def test_samples(data: CaptionData, count: int = 32) -> tuple[np.ndarray, list[bytes]]:
    """The first `count` test images as the model takes them (float32, in [0, 1]) and as files (bytes) of
    the kind a user sends: the photos' own files, the digit strips encoded as PNG."""
    images = next(iter(data.images["test"].unbatch().batch(count))).numpy()
    if not data.photos:
        return images, [tf.io.encode_png(np.round(image * 255).astype(np.uint8)).numpy() for image in images]
    return images, [pathlib.Path(path).read_bytes() for path in data.splits.test.images[: len(images)]]


def answer(export, paths: list[str], options) -> list[dict]:
    """`predict`: each image file's greedy caption by the run's SavedModel (`serve`): a JPEG, PNG, GIF or
    BMP file of any size. A file that is not an image, or whose image cannot be decoded, is refused by
    name (`zoo.data.check_image_files` reads the first bytes; a corrupt file is found by captioning the
    files one at a time)."""
    check_image_files(paths)
    contents = [pathlib.Path(path).read_bytes() for path in paths]
    try:
        captions = export.call("serve", contents)
    except tf.errors.OpError:
        for path, content in zip(paths, contents):
            try:
                export.call("serve", [content])
            except tf.errors.OpError as error:
                raise DataFormatError(
                    path, None, f"cannot be decoded as an image ({error.message})"
                ) from None
        raise
    return [{"path": path, "caption": caption.decode("utf-8")} for path, caption in zip(paths, captions)]


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
