"""Image captioning with visual attention: one image in, a sentence out, word by word (one-to-many).

A photo of a dog on a beach has no words to align with, and its caption has as many words as the writer
chose. Show, Attend and Tell (Xu et al. 2015) reads the image once with a CNN and keeps a grid of feature
vectors, one per region ("annotations"); an LSTM then writes the caption one word at a time, and before each
word it *attends*: its state scores every grid cell, and the softmax-weighted sum of the cells, the context,
goes into the step beside the previous word. The weights are a map of where the model looked for each word
(`attention_*.png` for a few test images).

    image (H, W, 3) in [0, 1] -> (training: small random shifts and zooms) -> small CNN (3x3 conv, batch
          norm, ReLU, 2x2 max pool per block) or a keras.applications backbone (--encoder, frozen
          unless --fine-tune-encoder) -> grid (h, w, C) -> Dense + a learned vector per cell (keras-hub's
          PositionEmbedding) -> annotations (h*w, feature_dim); their mean -> initial LSTM state
    <s> w1 .. wn -> embedding -> zoo.layers.AttentionLSTM (attention before every step, the paper's gate)
          -> deep output tanh(W [h; context; word]) -> logits of w1 .. wn </s>

Training uses teacher forcing (the true previous word at every step), and each image is encoded once for
all of its captions (Flickr8k has five). Captions are written greedily or with beam search
(`zoo.decoding`), inside one graph that is also the exported SavedModel: image bytes (JPEG, PNG) or a
float image in, the caption out. Captions are lowercased and stripped of punctuation (`normalize_caption`)
for targets and references alike; `metrics.json` holds `test_bleu1` .. `test_bleu4` (corpus BLEU-n against
all references of each image, `zoo.metrics.bleu_n`, 0-100) and `test_exact`, the share of captions equal to
a reference, with beam search (`test_greedy_*` for greedy).

Data: with no flags, strips of 2-5 of scikit-learn's handwritten digits captioned with the digits' names
("seven two nine"), which train in about a minute: the attention learns to read left to right. Real runs:
`--dataset flickr8k` (the official splits of the images present), `--dataset coco` (COCO captions JSON).

Expected, 2-core CPU: with no flags, 89% of the 300 test strips captioned exactly, BLEU-4 92.3, after
130 s of training shared with another job (5 epochs; 99% of the validation strips: the test digits'
writers are harder to read). benchmarks/captioning.py: 95.2% (the mean of seeds 0, 1 and 2) with
`--strips 8000 --epochs 8 --patience 8 --convs-per-block 2 --ensemble 3 --label-smoothing 0.1`, 94.3% for
its nine members alone (`--ensemble 3` decodes with three captioners at once, trained from three seeds'
weights; without label smoothing 93.7% and 92.5%), 14 minutes of training a seed; on the
102 Flickr8k test images of the shared 800-image subset (`--preset flickr8k`, 9 minutes from scratch)
BLEU-1 48.0, BLEU-4 6.8, beside 35.7 and 4.3 for the caption of the nearest training image. Commands:

    python -m recipes.captioning
    ZOO_DATA_DIR=../shared/data python -m recipes.captioning --preset flickr8k
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import sys
from typing import ClassVar, Literal, NamedTuple

import keras
import keras_hub
import numpy as np
import tensorflow as tf

import zoo.captioning
import zoo.cli
import zoo.config
import zoo.data
import zoo.decoding
import zoo.export
import zoo.io
import zoo.layers
import zoo.losses
import zoo.metrics
import zoo.plots
import zoo.predict
import zoo.text
import zoo.train
from zoo.cli import flag
from zoo.text.subword import END_ID, PAD_ID, START_ID

# ## Configuration


@dataclasses.dataclass
class Config(zoo.config.RunConfig):
    dataset: Literal["flickr8k", "coco"] | None = flag(
        None, "flickr8k or coco; without it, strips of handwritten digits captioned with their names"
    )
    # Many strips for few epochs: each new strip is a new arrangement of the digits (6,000 strips read 97%
    # of the validation strips exactly after 2 epochs; 2,000 strips 94% after 12).
    strips: int = flag(5000, "digit strips for training (validation and test get 300 each)")
    image_size: int = flag(128, "photos are resized to this square side in pixels (the strips are 16x80)")
    encoder: str | None = flag(None, "a keras.applications model (e.g. MobileNetV2) instead of the small CNN")
    encoder_weights: str | None = flag(
        None, "weights file for --encoder without its top (e.g. ImageNet's *_notop.h5); else random"
    )
    fine_tune_encoder: bool = flag(False, "train the --encoder backbone too (else it stays frozen)")
    augment: bool = flag(True, "shift and zoom the training images a little (never at inference)")
    # Each block halves the grid: 3 blocks make a 16x80 strip 2x10 cells, 2x2 cells per digit.
    conv_filters: list[int] = flag([32, 64, 128], "small CNN: filters of each conv block (one 2x2 pool each)")
    # Two read the test strips' unseen writers better (benchmarks/captioning.py) but take twice as long.
    convs_per_block: int = flag(1, "small CNN: 3x3 convolutions in each block before its pool")
    feature_dim: int = flag(128, "width of an annotation vector (one grid cell)")
    embedding_dim: int = flag(64, "word embedding size")
    units: int = flag(128, "LSTM units")
    attention_units: int = flag(64, "hidden size of the attention's scoring network")
    dropout: float = flag(0.3, "dropout before the output layer")
    max_length: int = flag(20, "longest caption in words; longer training captions are left out")
    min_word_count: int = flag(1, "training-caption words seen fewer times become [UNK]")
    captions_per_image: int = flag(5, "training captions used per image (the image is encoded once for all)")
    learning_rate: float = flag(2e-3, "Adam's learning rate")
    label_smoothing: float = flag(0.0, "share of each target word's probability spread over the vocabulary")
    beam_size: int = flag(3, "beam width for the test captions (1: greedy only)")
    length_penalty: float = flag(0.6, "beam search's length normalisation exponent (GNMT's alpha)")
    validation_samples: int = flag(300, "validation images captioned after each epoch (val_bleu4)")
    heatmaps: int = flag(4, "test images whose attention maps are drawn")
    epochs: int = flag(5, "maximum number of epochs (see --patience)")
    patience: int = flag(
        2, "epochs without a better validation score (BLEU-4; the loss for the digit strips) before stopping"
    )
    batch_size: int = flag(32, "images per batch, each with all its captions")
    ensemble: int = flag(
        1,
        "captioners trained (seeds --seed, --seed + 1, ...; same data) and decoded together, each step "
        "taking the mean of their log-probabilities; each trains in member_<i>/ of the output folder",
    )

    QUANTIZABLE: ClassVar[bool] = False  # its TFLite is written in float32 only
    PRESETS: ClassVar[dict[str, dict]] = {
        # 605 training images, from scratch: a fourth conv block makes 96x96 photos a 6x6 grid; words seen
        # fewer than 3 times are too rare to learn; 16 words hold 90% of the captions. About 50 s an epoch
        # on 2 CPU cores: 18 epochs fit a 15-minute training budget.
        "flickr8k": {
            "dataset": "flickr8k",
            "image_size": 96,
            "conv_filters": [32, 64, 128, 256],
            "feature_dim": 256,
            "embedding_dim": 128,
            "units": 256,
            "attention_units": 128,
            "dropout": 0.5,
            "max_length": 16,
            "min_word_count": 3,
            "batch_size": 16,
            "epochs": 18,
            # BLEU-4 of 87 validation images moves by several points between epochs (and is 0 in an epoch
            # without a matching 4-gram): train every epoch, keep the best one.
            "patience": 18,
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("--dropout must be in [0, 1)")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError("--label-smoothing must be in [0, 1)")
        sizes = (self.strips, self.image_size, self.feature_dim, self.embedding_dim, self.units)
        sizes += (self.attention_units, self.max_length, self.captions_per_image, self.beam_size)
        sizes += (self.convs_per_block, self.ensemble)
        if min(sizes) < 1 or min(self.conv_filters) < 1 or self.min_word_count < 1:
            raise ValueError("sizes, lengths, counts, --beam-size and --ensemble must be >= 1")
        if self.encoder is not None:
            zoo.layers.backbone_preprocessing.backbone_module(self.encoder)  # a clear error for a bad name
        elif self.encoder_weights is not None or self.fine_tune_encoder:
            raise ValueError("--encoder-weights and --fine-tune-encoder need --encoder NAME")
        if self.encoder_weights is not None and not pathlib.Path(self.encoder_weights).is_file():
            raise ValueError(f"--encoder-weights {self.encoder_weights}: no such file")


# ## Data


def normalize_caption(text: str) -> str:
    """The caption a model learns to write and is scored against: lowercased, punctuation dropped (a
    hyphen or apostrophe inside a word stays), single spaces.

    >>> from recipes.captioning import normalize_caption
    >>> normalize_caption('A dog shakes its head near the shore , a red ball next to it .')
    'a dog shakes its head near the shore a red ball next to it'
    >>> normalize_caption("A boy 's \\"ADHD\\" t-shirt")
    "a boy 's adhd t-shirt"
    """
    words = re.sub(r"[^\w\s'-]|_", " ", text.lower()).split()
    return " ".join(word for word in words if re.search(r"\w", word))


class CaptionData(NamedTuple):
    train: tf.data.Dataset  # ({"images": (B, H, W, 3), "tokens": (B, K, T)}, next tokens (B, K, T))
    validation: tf.data.Dataset
    images: dict[str, tf.data.Dataset]  # batches of the images alone, in split order
    references: dict[str, list[list[str]]]  # normalised captions of each image
    vocabulary: zoo.text.Vocabulary  # id 0 padding, 1 [UNK], 2 <s>, 3 </s>, then words
    image_shape: tuple[int, int]
    splits: zoo.data.CaptionSplits


def load_splits(config: Config) -> zoo.data.CaptionSplits:
    if config.dataset is None and config.data_dir is None:
        return zoo.data.load_captions(None, seed=config.seed, strips=(config.strips, 300, 300))
    return zoo.data.load_captions(
        config.dataset or "flickr8k", config.data_dir, skip_checksum=config.skip_checksum
    )


def image_dataset(data: zoo.data.CaptionedImages, image_shape: tuple[int, int]) -> tf.data.Dataset:
    """One float32 (H, W, 3) image in [0, 1] per element: the digit strips as they are, photos read and
    decoded by `zoo.data.decode_image` in parallel (after `zoo.data.check_image_files`, so a file that is not
    an image is named)."""
    if isinstance(data.images, np.ndarray):
        return tf.data.Dataset.from_tensor_slices(data.images)
    zoo.data.check_image_files(data.images)
    return tf.data.Dataset.from_tensor_slices(data.images).map(
        lambda path: zoo.data.decode_image(tf.io.read_file(path), image_shape),
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


def load_data(config: Config) -> CaptionData:
    splits = load_splits(config)
    if config.max_train_samples:
        train = splits.train
        splits = splits._replace(train=train._replace(
            ids=train.ids[: config.max_train_samples],
            images=train.images[: config.max_train_samples],
            captions=train.captions[: config.max_train_samples],
        ))  # fmt: skip
    print(splits.source + "\n" + zoo.data.captions_summary(splits))
    references = {
        name: [[normalize_caption(text) for text in captions] for captions in getattr(splits, name).captions]
        for name in ("train", "validation", "test")
    }
    words = [caption.split() for captions in references["train"] for caption in captions]
    counted = zoo.text.Vocabulary.build(words, min_count=config.min_word_count)
    vocabulary = zoo.text.Vocabulary(["<s>", "</s>", *counted.tokens[2:]])  # START_ID 2, END_ID 3
    length = min(config.max_length, max(map(len, words))) + 2
    per_image = min(config.captions_per_image, max(map(len, references["train"])))
    if longer := sum(len(caption) > length - 2 for caption in words):
        print(f"{longer:,} of {len(words):,} training captions are longer than {length - 2} words: left out")
    if isinstance(splits.train.images, np.ndarray):
        image_shape = tuple(splits.train.images.shape[1:3])
    else:
        image_shape = (config.image_size, config.image_size)

    def batches(name, seed=None):
        ids = encode_captions(references[name], vocabulary, per_image, length)
        dataset = tf.data.Dataset.zip(
            image_dataset(getattr(splits, name), image_shape), tf.data.Dataset.from_tensor_slices(ids)
        ).cache()  # decoded once
        if seed is not None:
            dataset = dataset.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(config.batch_size).map(
            lambda images, ids: ({"images": images, "tokens": ids[..., :-1]}, ids[..., 1:])
        )
        return dataset.prefetch(tf.data.AUTOTUNE)

    images = {
        name: image_dataset(getattr(splits, name), image_shape).batch(64).cache().prefetch(tf.data.AUTOTUNE)
        for name in ("train", "validation", "test")
    }
    return CaptionData(
        batches("train", config.seed),
        batches("validation"),
        images,
        references,
        vocabulary,
        image_shape,
        splits,
    )


# ## Model


class CaptionModel(NamedTuple):
    trainer: keras.Model  # {"images", "tokens" (B, K, T)} -> logits (B, K, T, vocabulary): teacher forcing
    encoder: keras.Model  # images -> (annotations (B, L, D), h, c)
    decoder: keras.Model  # one step: (token (B, 1), annotations, h, c) -> (logits, h, c, weights (B, L))
    attention: keras.Model  # {"images", "tokens" (B, T)} -> attention weights (B, T, L)
    grid: tuple[int, int]


def build_cnn(config: Config, image_shape: tuple[int, int]) -> keras.Model:
    """images in [0, 1] -> a grid of features: the small CNN, or a keras.applications backbone with the
    input scaling it was trained with (`zoo.layers.BackbonePreprocessing`) and the weights of a file."""
    images = keras.Input((*image_shape, 3), name="images")
    if config.encoder is not None:
        backbone = getattr(keras.applications, config.encoder)(
            include_top=False, weights=config.encoder_weights, input_shape=(*image_shape, 3)
        )
        backbone.trainable = config.fine_tune_encoder
        # training=False keeps batch norm on its ImageNet statistics, frozen or fine-tuned (Keras's advice).
        grid = backbone(zoo.layers.BackbonePreprocessing(config.encoder)(images), training=False)
        return keras.Model(images, grid, name=config.encoder.lower())
    grid = images
    if config.augment:  # training only; the same pixels at inference
        grid = keras.layers.RandomTranslation(0.1, 0.02, fill_mode="constant", seed=config.seed)(grid)
        grid = keras.layers.RandomZoom(0.1, fill_mode="constant", seed=config.seed)(grid)
    for filters in config.conv_filters:
        for _ in range(config.convs_per_block):
            grid = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(grid)
            # momentum 0.9, not 0.99: the moving statistics the model is evaluated with must catch up
            # within the first epoch of a one-minute run.
            grid = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9)(grid))
        grid = keras.layers.MaxPooling2D(2)(grid)
    return keras.Model(images, grid, name="small_cnn")


def build_model(
    config: Config, vocabulary_size: int, image_shape, captions_per_image: int, steps: int, train_batches: int
) -> CaptionModel:
    """The Show, Attend and Tell model and the parts decoding and the attention maps use; the trainer
    takes `captions_per_image` captions of `steps` tokens per image, `train_batches` batches an epoch."""
    cnn = build_cnn(config, image_shape)
    grid_height, grid_width, channels = cnn.output_shape[1:]
    if not grid_height or not grid_width:
        raise ValueError(
            f"the encoder leaves no grid of {image_shape} images: use larger images or fewer blocks"
        )
    to_annotations = keras.layers.Dense(config.feature_dim, activation="relu", name="annotations")
    # Convolutions say what is in a cell, not where it is; a learned vector per cell lets the attention
    # find "the third digit from the left" (without it the strips' words came out of order).
    cell_positions = keras_hub.layers.PositionEmbedding(grid_height * grid_width, name="cell_positions")
    initial_h = keras.layers.Dense(config.units, activation="tanh", name="initial_h")
    initial_c = keras.layers.Dense(config.units, activation="tanh", name="initial_c")
    embedding = keras.layers.Embedding(vocabulary_size, config.embedding_dim, name="word_embedding")
    lstm = zoo.layers.AttentionLSTM(config.units, config.attention_units, return_state=True, name="decoder")
    deep_output = keras.layers.Dense(config.embedding_dim, activation="tanh", name="deep_output")
    dropout = keras.layers.Dropout(config.dropout)
    to_logits = keras.layers.Dense(vocabulary_size, name="logits")

    def encode(images):
        grid = keras.layers.Reshape((grid_height * grid_width, channels))(cnn(images))
        annotations = to_annotations(grid)
        annotations = annotations + cell_positions(annotations)
        mean = keras.ops.mean(annotations, axis=1)  # the paper's initial state: an MLP of the mean annotation
        return annotations, initial_h(mean), initial_c(mean)

    def decode(tokens, annotations, states):
        embedded = embedding(tokens)
        outputs, weights, h, c = lstm(embedded, annotations, initial_state=states)
        hidden = deep_output(keras.ops.concatenate([outputs, embedded], axis=-1))
        return to_logits(dropout(hidden)), weights, h, c

    images = keras.Input((*image_shape, 3), name="images")
    tokens = keras.Input((captions_per_image, steps), dtype="int32", name="tokens")
    annotations, h, c = encode(images)
    # Each image once through the CNN, then its K captions side by side: (B, K, T) -> (B*K, T).
    repeat = lambda x: keras.ops.repeat(x, captions_per_image, axis=0)  # noqa: E731
    logits, _, _, _ = decode(
        keras.ops.reshape(tokens, (-1, steps)), repeat(annotations), [repeat(h), repeat(c)]
    )
    logits = keras.ops.reshape(logits, (-1, captions_per_image, steps, vocabulary_size))
    trainer = keras.Model({"images": images, "tokens": tokens}, logits, name="show_attend_tell")
    trainer.compile(
        # The learning rate falls to 5% over the epochs (cosine): the last epochs polish the last digits.
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(config.learning_rate, config.epochs * train_batches, 0.05),
            clipnorm=5.0,
        ),
        loss=zoo.losses.SparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing, ignore_class=PAD_ID
        ),
    )
    encoder = keras.Model(images, [annotations, h, c], name="encoder")
    sequence = keras.Input((None,), dtype="int32", name="tokens")
    attention = keras.Model({"images": images, "tokens": sequence}, decode(sequence, annotations, [h, c])[1])
    token = keras.Input((1,), dtype="int32", name="token")
    memory = keras.Input((grid_height * grid_width, config.feature_dim), name="annotations")
    states = [keras.Input((config.units,), name=name) for name in ("h", "c")]
    step_logits, step_weights, step_h, step_c = decode(token, memory, states)
    decoder = keras.Model(
        [token, memory, *states], [step_logits[:, 0], step_h, step_c, step_weights[:, 0]], name="decoder_step"
    )
    return CaptionModel(trainer, encoder, decoder, attention, (grid_height, grid_width))


# ## Decoding


def captioner(models: list[CaptionModel], data: CaptionData, config: Config, beam_size: int = 1):
    """Images in, captions out, one graph (`zoo.captioning.Captioner`): greedy or a length-normalised beam
    search (`zoo.decoding.make_sampler`); with several models, their ensemble."""
    sampler = zoo.decoding.make_sampler(beam_size, config.length_penalty)
    return zoo.captioning.Captioner(
        [model.encoder for model in models],
        [model.decoder for model in models],
        data.vocabulary.tokens,
        data.image_shape,
        config.max_length + 1,
        sampler,
    )


def draw_attention(model: CaptionModel, data: CaptionData, greedy, run, count: int) -> None:
    """Where the model looked for each word of its greedy captions of the first `count` test images: the
    decoder run with teacher forcing on its own output repeats the decoding steps exactly. (For an
    ensemble: where its first member looked for each word of the ensemble's captions.)"""
    images = next(iter(data.images["test"].unbatch().batch(count))).numpy() if count else []
    if not len(images):
        return
    ids = greedy.ids(images).numpy()
    tokens = np.concatenate([np.full((len(images), 1), START_ID), ids[:, :-1]], axis=1)
    weights = keras.ops.convert_to_numpy(
        model.attention({"images": images, "tokens": tokens}, training=False)
    )
    for index, image in enumerate(images):
        steps = int(np.sum(ids[index] != PAD_ID))  # the words and </s>
        words = [data.vocabulary.tokens[i] for i in ids[index][:steps]]
        grids = weights[index, :steps].reshape(steps, *model.grid)
        title = f"{' '.join(words[:-1])}\n(reference: {data.references['test'][index][0]})"
        zoo.plots.image_attention(image, grids, words, run.output_dir / f"attention_{index}.png", title)


# ## Export


def export(models: list[CaptionModel], decoders: dict, data: CaptionData, run, metrics) -> dict[str, float]:
    """model.keras (member_<i>/model.keras for each member of an ensemble), vocabulary.txt, saved_model/1/
    (`serve` takes image files, `serve_images` float images in [0, 1], both greedy; `beam` and
    `beam_images` caption with the beam search the test scores), model.tflite (the whole greedy decoder:
    one float image -> word ids) and deploy.json, each export checked on real test images first
    (`zoo.captioning.export_captioning`)."""
    images = next(iter(data.images["test"].unbatch().batch(32))).numpy()
    strips = isinstance(data.splits.test.images, np.ndarray)
    if strips:  # the strips as PNG files, as a user would send them
        files = [tf.io.encode_png(np.round(image * 255).astype(np.uint8)).numpy() for image in images]
    else:
        files = [pathlib.Path(path).read_bytes() for path in data.splits.test.images[: len(images)]]
    return zoo.captioning.export_captioning(
        [model.trainer for model in models], decoders, run.output_dir, images=images, files=files,
        keras_inputs=next(iter(data.validation))[0], metrics=metrics, scored_files=not strips,
    )  # fmt: skip


# ## Training


def new_model(config: Config, data: CaptionData, run: zoo.train.Run) -> CaptionModel:
    _, per_image, steps = data.train.element_spec[0]["tokens"].shape
    train_batches = -(-len(data.splits.train.ids) // config.batch_size)
    with run.strategy.scope():
        return build_model(config, len(data.vocabulary), data.image_shape, per_image, steps, train_batches)


def train_model(config: Config, data: CaptionData, run: zoo.train.Run) -> CaptionModel:
    """One captioner, trained by `run` (checkpoints, resume, early stopping) with `config.seed`'s weights."""
    model = new_model(config, data, run)
    greedy = captioner([model], data, config)
    sample = data.images["validation"].unbatch().take(config.validation_samples).batch(64).cache()
    validation_scores = zoo.metrics.CaptionScoreCallback(
        lambda: greedy.caption_all(sample), data.references["validation"][: config.validation_samples]
    )
    # The digit strips' validation BLEU-4 reaches 100 within a few epochs and then cannot tell epochs
    # apart (the first 100 would be kept); their validation loss still can.
    strips = isinstance(data.splits.train.images, np.ndarray)
    monitor, mode = ("val_loss", "min") if strips else ("val_bleu4", "max")
    run.fit(
        model.trainer, data.train, data.validation, monitor=monitor, mode=mode,
        extra_callbacks=[validation_scores],
    )  # fmt: skip
    return model


def train_ensemble(config: Config, data: CaptionData, run: zoo.train.Run) -> tuple[list[CaptionModel], dict]:
    """`config.ensemble` captioners, member i with seed `config.seed + i` in `member_<i>/` (its own
    checkpoints, history and metrics.json). A member whose metrics.json exists finished in an earlier
    run (killed later): its best weights are loaded, not trained again. Returns the models and the
    metrics of the whole: training seconds and epochs summed, and each member's own greedy test scores."""
    models, seconds, epochs, metrics = [], 0.0, 0, {}
    for index in range(config.ensemble):
        member = dataclasses.replace(
            config, seed=config.seed + index, output_dir=str(run.output_dir / f"member_{index}")
        )
        try:
            member_run = zoo.train.Run(member, recipe=f"captioning member {index}")
        except zoo.train.RunFinished as finished:
            print(
                f"member {index}: trained in an earlier run ({finished.output_dir}); loading its best weights"
            )
            model = new_model(member, data, run)
            model.trainer.load_weights(str(pathlib.Path(finished.output_dir) / "best.weights.h5"))
            member_metrics = finished.metrics
        else:
            model = train_model(member, data, member_run)
            captions = captioner([model], data, member).caption_all(data.images["test"])
            scores = zoo.metrics.caption_scores(captions, data.references["test"])
            member_metrics = member_run.finish({f"test_greedy_{key}": value for key, value in scores.items()})
        models.append(model)
        seconds += member_metrics["train_seconds"]
        epochs += member_metrics["epochs"]
        for key in ("bleu4", "exact"):
            metrics[f"member_{index}_test_greedy_{key}"] = member_metrics[f"test_greedy_{key}"]
    return models, {"train_seconds": round(seconds, 2), "epochs": epochs, **metrics}


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("captioning", zoo.captioning.answer, argv)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.captioning")
    run = zoo.train.Run(config, recipe="captioning")
    data = load_data(config)
    if config.ensemble == 1:
        models, metrics = [train_model(config, data, run)], {}
    else:
        models, metrics = train_ensemble(config, data, run)
    greedy = captioner(models, data, config)
    metrics["vocabulary_size"] = len(data.vocabulary)
    decoders = {"greedy": greedy}
    if config.beam_size > 1:
        decoders["beam"] = captioner(models, data, config, config.beam_size)
    for name, decoder in decoders.items():
        captions = decoder.caption_all(data.images["test"])
        scores = zoo.metrics.caption_scores(captions, data.references["test"])
        metrics |= {f"test_{name}_{key}": value for key, value in scores.items()}
    metrics |= {f"test_{key}": metrics[f"test_{name}_{key}"] for key in scores}  # the last decoder's
    print(f"\nTest captions ({name} | first reference):")
    for caption, references in list(zip(captions, data.references["test"]))[:5]:
        print(f"  {caption} | {references[0]}")
    draw_attention(models[0], data, greedy, run, config.heatmaps)
    if config.export:
        metrics |= export(models, decoders, data, run, metrics)
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
