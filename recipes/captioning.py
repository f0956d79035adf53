"""Image captioning with visual attention: one image in, a sentence out, word by word (one-to-many).

Show, Attend and Tell (Xu et al. 2015): a CNN reads the image once into a grid of feature vectors, and an
LSTM writes the caption one word at a time, attending before each word to the grid cells its state finds
relevant (`zoo.layers.AttentionLSTM`; the weights are drawn in `attention_*.png`). Training uses teacher
forcing, each image encoded once for all its captions; captions are written greedily or with beam search
(`zoo.decoding`) in one graph, which is also the SavedModel: image bytes or a float image in, the
caption out. `metrics.json` holds `test_bleu1` .. `test_bleu4` (corpus BLEU-n against all references)
and `test_exact` (captions equal to a reference), with beam search (`test_greedy_*` for greedy).

Data: with no flags, strips of 2-5 of scikit-learn's handwritten digits captioned with the digits' names
("seven two nine"), about a minute of training; `--dataset flickr8k` (the official splits of the images
present), `--dataset coco` (COCO captions JSON), or your own images with `--train-file captions.csv`
(`image,caption` rows). Headline (benchmarks/RESULTS.md): 95.2% of the test strips captioned exactly
(three seeds' ensembles, `python -m benchmarks.captioning`) against 38.4% for the nearest training
strip's caption; on Flickr8k's 102 shared test images BLEU-4 6.8 against 4.3.

    python -m recipes.captioning
    ZOO_DATA_DIR=../shared/data python -m recipes.captioning --preset flickr8k
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys
from typing import TYPE_CHECKING, ClassVar, Literal, NamedTuple

import keras
import keras_hub

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
from zoo.text.subword import PAD_ID

if TYPE_CHECKING:
    from zoo.captioning import CaptionData

# ## Configuration


@dataclasses.dataclass
class Config(zoo.config.FileDataConfig):
    dataset: Literal["flickr8k", "coco", "file"] | None = flag(
        None,
        "flickr8k, coco, or file: your CSV files (--train-file ...) of --image-column,--caption-column rows, "
        "an image on a row per caption, paths relative to the CSV; without it, strips of handwritten digits",
    )
    image_column: str = flag("image", "--dataset file: the CSV column holding each image file's path")
    caption_column: str = flag("caption", "--dataset file: the CSV column holding a caption")
    strips: int = flag(5000, "digit strips for training (validation and test get 300 each)", at_least=1)
    image_size: int = flag(
        128, "photos are resized to this square side in pixels (the strips are 16x80)", at_least=1
    )
    encoder: str | None = flag(None, "a keras.applications model (e.g. MobileNetV2) instead of the small CNN")
    encoder_weights: str | None = flag(
        None, "weights file for --encoder without its top (e.g. ImageNet's *_notop.h5); else random"
    )
    fine_tune_encoder: bool = flag(False, "train the --encoder backbone too (else it stays frozen)")
    augment: bool = flag(True, "shift and zoom the training images a little (never at inference)")
    # Each block halves the grid: 3 blocks make a 16x80 strip 2x10 cells, 2x2 cells per digit.
    conv_filters: list[int] = flag(
        [32, 64, 128], "small CNN: filters of each conv block (one 2x2 pool each)", at_least=1
    )
    convs_per_block: int = flag(1, "small CNN: 3x3 convolutions in each block before its pool", at_least=1)
    feature_dim: int = flag(128, "width of an annotation vector (one grid cell)", at_least=1)
    embedding_dim: int = flag(64, "word embedding size", at_least=1)
    units: int = flag(128, "LSTM units", at_least=1)
    attention_units: int = flag(64, "hidden size of the attention's scoring network", at_least=1)
    dropout: float = flag(0.3, "dropout before the output layer", below=1.0)
    max_length: int = flag(20, "longest caption in words; longer training captions are left out", at_least=1)
    min_word_count: int = flag(1, "training-caption words seen fewer times become [UNK]", at_least=1)
    captions_per_image: int = flag(
        5, "training captions used per image (the image is encoded once for all)", at_least=1
    )
    learning_rate: float = flag(2e-3, "Adam's learning rate")
    label_smoothing: float = flag(
        0.0, "share of each target word's probability spread over the vocabulary", below=1.0
    )
    beam_size: int = flag(3, "beam width for the test captions (1: greedy only)", at_least=1)
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
        at_least=1,
    )

    QUANTIZABLE: ClassVar[bool] = False  # its TFLite is written in float32 only
    # fmt: off
    FILE_ONLY: ClassVar[tuple[str, ...]] = ("image_column", "caption_column")
    PRESETS: ClassVar[dict[str, dict]] = {
        # Flickr8k's shared subset from scratch: a fourth conv block makes 96x96 photos a 6x6 grid.
        # A small validation set's BLEU-4 is noisy from epoch to epoch: train every epoch, keep the best.
        "flickr8k": dict(
            dataset="flickr8k", image_size=96, conv_filters=[32, 64, 128, 256], feature_dim=256,
            embedding_dim=128, units=256, attention_units=128, dropout=0.5, max_length=16, min_word_count=3,
            batch_size=16, epochs=18, patience=18,
        ),
    }
    # fmt: on

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.encoder is not None:
            zoo.layers.backbone_preprocessing.backbone_module(self.encoder)  # a clear error for a bad name
        elif self.encoder_weights is not None or self.fine_tune_encoder:
            raise ValueError("--encoder-weights and --fine-tune-encoder need --encoder NAME")
        if self.encoder_weights is not None and not pathlib.Path(self.encoder_weights).is_file():
            raise ValueError(f"--encoder-weights {self.encoder_weights}: no such file")


# ## Data


def load_splits(config: Config) -> zoo.data.CaptionSplits:
    if config.dataset == "file":
        columns = dict(image_column=config.image_column, caption_column=config.caption_column)
        return zoo.data.load_caption_files(**config.data_files(), **columns)
    if config.dataset is None and config.data_dir is None:
        return zoo.data.load_captions(None, seed=config.seed, strips=(config.strips, 300, 300))
    return zoo.data.load_captions(
        config.dataset or "flickr8k", config.data_dir, skip_checksum=config.skip_checksum
    )


def load_data(config: Config) -> CaptionData:
    return zoo.captioning.caption_data(
        load_splits(config), config.min_word_count, config.max_length, config.captions_per_image,
        config.batch_size, config.image_size, config.seed, max_train_images=config.max_train_samples,
    )  # fmt: skip


# ## Model


class CaptionModel(NamedTuple):
    trainer: keras.Model  # {"images", "tokens" (B, K, T)} -> logits (B, K, T, vocabulary): teacher forcing
    encoder: keras.Model  # images -> (annotations (B, L, D), h, c)
    decoder: keras.Model  # one step: (token (B, 1), annotations, h, c) -> (logits, h, c, weights (B, L))
    attention: keras.Model  # {"images", "tokens" (B, T)} -> attention weights (B, T, L)
    grid: tuple[int, int]


def build_model(
    config: Config, vocabulary_size: int, image_shape, captions_per_image: int, steps: int, train_batches: int
) -> CaptionModel:
    """The Show, Attend and Tell model and the parts decoding and the attention maps use; the trainer
    takes `captions_per_image` captions of `steps` tokens per image, `train_batches` batches an epoch."""
    cnn = zoo.captioning.grid_encoder(
        image_shape, config.conv_filters, config.convs_per_block, config.augment, config.seed,
        backbone=config.encoder, backbone_weights=config.encoder_weights, fine_tune=config.fine_tune_encoder,
    )  # fmt: skip
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


# ## Export


def export(models: list[CaptionModel], decoders: dict, data: CaptionData, run, metrics) -> dict[str, float]:
    """model.keras (each member's in member_<i>/), vocabulary.txt, saved_model/1/ (`serve` takes image
    files, `serve_images` float images in [0, 1], both greedy; `beam` and `beam_images` the test's beam
    search), model.tflite (the greedy decoder) and deploy.json, each checked on real test images first
    (`zoo.captioning.export_captioning`)."""
    images, files = zoo.captioning.test_samples(data)
    return zoo.captioning.export_captioning(
        [model.trainer for model in models], decoders, run.output_dir, images=images, files=files,
        keras_inputs=next(iter(data.validation))[0], metrics=metrics, scored_files=data.photos,
    )  # fmt: skip


# ## Training


def new_model(
    config: Config, data: CaptionData, run: zoo.train.Run, weights_from: pathlib.Path | None = None
) -> CaptionModel:
    """A new captioner, or one trained before, whose folder `weights_from` holds its best weights."""
    _, per_image, steps = data.train.element_spec[0]["tokens"].shape
    train_batches = -(-len(data.splits.train.ids) // config.batch_size)
    with run.strategy.scope():
        model = build_model(config, len(data.vocabulary), data.image_shape, per_image, steps, train_batches)
    if weights_from is not None:
        model.trainer.load_weights(str(weights_from / "best.weights.h5"))
    return model


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
    monitor, mode = ("val_bleu4", "max") if data.photos else ("val_loss", "min")
    run.fit(
        model.trainer, data.train, data.validation, monitor=monitor, mode=mode,
        extra_callbacks=[validation_scores],
    )  # fmt: skip
    return model


def train_member(config: Config, data: CaptionData, run: zoo.train.Run) -> tuple[CaptionModel, dict]:
    """One member of an ensemble, and its own greedy test scores (its metrics.json)."""
    model = train_model(config, data, run)
    scores = zoo.metrics.caption_scores(
        captioner([model], data, config).caption_all(data.images["test"]), data.references["test"]
    )
    return model, {f"test_greedy_{key}": value for key, value in scores.items()}


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("captioning", zoo.captioning.answer, argv)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.captioning")
    run = zoo.train.Run(config, recipe="captioning")
    data = load_data(config)
    if config.ensemble == 1:
        models, metrics = [train_model(config, data, run)], {}
    else:  # members trained one after another, each its own run in member_<i>/
        models, metrics = zoo.train.train_members(
            config, run, config.ensemble,
            lambda _, member, member_run: train_member(member, data, member_run),
            lambda _, member, folder: new_model(member, data, run, weights_from=folder),
            keep=("test_greedy_bleu4", "test_greedy_exact"),
        )  # fmt: skip
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
    zoo.captioning.print_examples(captions, data.references["test"], name)
    if config.heatmaps:  # where the first member looked for each word of the (ensemble's) greedy captions
        images = next(iter(data.images["test"].unbatch().batch(config.heatmaps))).numpy()
        zoo.captioning.draw_attention(
            models[0].attention, models[0].grid, greedy, images, data.references["test"], run.output_dir
        )
    if config.export:
        metrics |= export(models, decoders, data, run, metrics)
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
