"""Character-level language model: a stateful LSTM/GRU trained with truncated BPTT, or a small GPT.

Many-to-many: a text goes in one character at a time, and at every step the model predicts the next one.
`--model rnn` is Karpathy's char-rnn (embedding -> `--layers` stateful LSTM/GRU/SimpleRNN -> logits) reading
`--batch-size` parallel streams `--bptt` characters at a time, each row's state carried to the next batch,
so it sees far more context than `--bptt`. `--model transformer` is nanoGPT from keras-hub blocks (pre-norm
causal decoders, tied embeddings) on windows of `--context` characters. More in docs/recipes.md.

Data: with no flags, gensim's Lee news corpus (360k characters): a one-minute demo. `--preset shakespeare`
reads tinyshakespeare (`--data-dir` or `$ZOO_DATA_DIR/tinyshakespeare`); `--train-file GLOB` your own plain
text (a file, folder or glob of any size), read from disk at every epoch. The first 90% of the characters
train, the last 10% validate (or `--validation-file`). `generate --prompt "ROMEO:"` writes text with a
trained model, `score --text "..."` scores one (each subcommand has its own `--help`).

Expected `val_loss` (nats per validation character): the default run 2.18 in about a minute of training;
`--preset shakespeare` 1.487 (2.15 bits, 0.81 fewer than a trigram count model) after 10 epochs in 623 s
on a 2-core CPU, where nanoGPT's CPU setting rebuilt in Keras reaches 1.848 (benchmarks/char_lm.py):

    ZOO_DATA_DIR=../shared/data python -m recipes.char_lm --preset shakespeare
"""

from __future__ import annotations

import dataclasses
import sys
from typing import ClassVar, Literal, NamedTuple

import keras
import keras_hub
import numpy as np
import tensorflow as tf

import zoo.cli
import zoo.config
import zoo.data.characters as characters_data
import zoo.inspection
import zoo.language_model as lm
import zoo.train
from zoo.cli import flag

SENTENCE = "The government said it would not change the law."  # scored against its shuffled characters


@dataclasses.dataclass
class Config(zoo.config.FileDataConfig, zoo.config.TimeBudgetConfig):
    dataset: Literal["lee", "head500", "tinyshakespeare", "text", "file"] | None = flag(
        None,
        "lee, head500, tinyshakespeare, text (the file at --data-dir), or file: your plain text "
        "(--train-file FILE, folder or glob), streamed as --stream does, its last --validation-fraction of "
        "characters validating unless --validation-file is given; default: gensim's Lee corpus",
    )
    model: Literal["rnn", "transformer"] = flag("rnn", "stateful RNN (char-rnn) or transformer (nanoGPT)")
    cell: Literal["lstm", "gru", "rnn"] = flag("lstm", "recurrent layer of --model rnn")
    layers: int = flag(1, "RNN layers or transformer blocks", at_least=1)
    units: int = flag(256, "units per RNN layer", at_least=1)
    embedding_dim: int = flag(
        64, "character vector size; the transformer's width (nanoGPT's n_embd)", at_least=1
    )
    num_heads: int = flag(4, "attention heads of --model transformer", at_least=1)
    context: int = flag(64, "characters a transformer reads (nanoGPT's block_size)", at_least=2)
    bptt: int = flag(
        100, "steps of truncated backpropagation through time (the RNN's training chunk)", at_least=1
    )
    dropout: float = flag(0.0, "dropout after the embedding and every RNN layer or block", below=1.0)
    batch_size: int = flag(32, "parallel streams (RNN) or windows (transformer) per batch")
    epochs: int = flag(2, "maximum number of epochs (early stopping may end sooner)")
    steps_per_epoch: int | None = flag(
        None, "transformer batches per epoch (default: one training split)", at_least=1
    )
    learning_rate: float = flag(5e-3, "AdamW peak rate, then cosine decay to a tenth of it")
    warmup_steps: int = flag(100, "transformer: steps of linear warm-up, at most a tenth of all")
    weight_decay: float = flag(0.1, "AdamW decoupled weight decay, biases and norms excluded (nanoGPT's)")
    clip_norm: float = flag(1.0, "largest global gradient norm (nanoGPT's grad_clip)")
    xla: bool = flag(True, "compile the transformer with XLA (an RNN is never compiled)")
    sample_prompt: str = flag("The ", "prompt of the sample printed after training")
    inspect_characters: int = flag(2000, "validation characters the cell report reads (0: no report)")
    stream: bool = flag(False, "read the plain text at --data-dir anew each epoch (as --dataset file does)")
    shuffle_windows: int = flag(
        10_000, "with --stream, transformer windows in the shuffle buffer", at_least=1
    )

    QUANTIZABLE: ClassVar[bool] = False  # its TFLite is written in float32 only
    UNUSED_SPLITS: ClassVar[dict[str, str]] = {"test": "the char LM is scored on validation text only"}
    # fmt: off
    PRESETS: ClassVar[dict[str, dict]] = {
        # char-rnn on tinyshakespeare: 2 x 256 LSTM units, 10 epochs within a 20-minute budget.
        "shakespeare": dict(
            dataset="tinyshakespeare", layers=2, units=256, batch_size=64, epochs=10, max_train_minutes=20.0,
            sample_prompt="ROMEO:", inspect_characters=3000,
        ),
        # Our transformer for the same budget: nanoGPT's CPU model with twice its context, batches of 32.
        "shakespeare-transformer": dict(
            dataset="tinyshakespeare", model="transformer", layers=4, num_heads=4, embedding_dim=128,
            context=128, batch_size=32, epochs=4, steps_per_epoch=450, learning_rate=2e-3,
            max_train_minutes=20.0,
            sample_prompt="ROMEO:",
        ),
        # nanoGPT's config/train_shakespeare_char.py with its README's CPU overrides (2,000 iterations).
        "nanogpt-cpu": dict(
            dataset="tinyshakespeare", model="transformer", layers=4, num_heads=4, embedding_dim=128,
            context=64, batch_size=12, epochs=2, steps_per_epoch=1000, dropout=0.0, learning_rate=1e-3,
            patience=2, sample_prompt="ROMEO:",
        ),
    }
    # fmt: on

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model == "transformer" and self.embedding_dim % self.num_heads:
            raise ValueError("--embedding-dim must be a multiple of --num-heads")
        if self.model == "rnn" and self.strategy != "default":
            raise ValueError(
                "a stateful RNN carries its batch rows' states on one device: --strategy default"
            )
        if self.stream and (
            self.dataset not in (None, "text", "file") or not (self.train_file or self.data_dir)
        ):
            raise ValueError("--stream reads plain text: give --data-dir (and no --dataset but text)")
        if (self.stream or self.dataset == "file") and self.max_train_samples:
            raise ValueError("--stream and --dataset file read the whole corpus: no --max-train-samples")
        if self.dataset == "file" and not (self.validation_file or self.validation_fraction):
            raise ValueError("--dataset file needs a --validation-file or a --validation-fraction above 0")


# ## Data


class CharacterData(NamedTuple):
    characters: list[str]  # id i + 2 is characters[i]; 0 is padding, 1 unknown
    train: tf.data.Dataset  # (inputs, targets) int32 (batch, bptt or context)
    validation: tf.data.Dataset
    train_steps: int  # batches per epoch
    train_ids: np.ndarray | characters_data.CharacterStream  # for the n-gram models
    validation_ids: np.ndarray | characters_data.CharacterStream
    validation_spans: list[tuple[int, int]]  # the stretches val_loss reads, each from a blank state
    validation_text: str  # the first --inspect-characters of validation, for the cell report


def load_data(config: Config) -> CharacterData:
    if config.stream or config.dataset == "file":  # the files stay on disk, read again at every epoch
        corpus = characters_data.scan_characters(
            config.train_file or config.data_dir,
            config.validation_fraction,
            validation_path=config.validation_file,
        )
        characters, train_ids, validation_ids = corpus.characters, corpus.train, corpus.validation
        unknown, validation_text = corpus.unknown, corpus.validation.text(config.inspect_characters)
    else:
        corpus = characters_data.load_characters(
            config.dataset, config.data_dir, config.max_train_samples, skip_checksum=config.skip_checksum
        )
        characters = characters_data.character_vocabulary(corpus.train)
        train_ids = characters_data.encode(corpus.train, characters)
        validation_ids = characters_data.encode(corpus.validation, characters)
        unknown = int(np.sum(validation_ids == characters_data.UNK_ID))
        validation_text = corpus.validation[: config.inspect_characters]
    if config.model == "rnn":
        train = characters_data.bptt_batches(train_ids, config.batch_size, config.bptt)
        validation = characters_data.bptt_batches(validation_ids, config.batch_size, config.bptt)
        spans = characters_data.bptt_spans(len(validation_ids), config.batch_size, config.bptt)
        steps = int(train.cardinality())
    else:
        steps = config.steps_per_epoch or max(1, len(train_ids) // (config.batch_size * config.context))
        train = characters_data.random_windows(
            train_ids, config.context, config.batch_size, steps, config.seed, config.shuffle_windows
        )
        validation = characters_data.contiguous_windows(validation_ids, config.context, config.batch_size)
        spans = characters_data.window_spans(len(validation_ids), config.context)
    print(
        f"{corpus.source}: {len(train_ids):,} training and {len(validation_ids):,} validation "
        f"characters, {len(characters)} distinct (+ padding and unknown; {unknown} unknown in validation); "
        f"{steps} batches per epoch"
    )
    return CharacterData(
        characters, train, validation, steps, train_ids, validation_ids, spans, validation_text
    )


# ## Model


def build_rnn(config: Config, vocabulary_size: int, stateful: bool) -> keras.Model:
    """ids -> Embedding -> `layers` x (RNN, Dropout) -> Dense logits. Stateful for training (the batch
    size is then part of the model: each row's state belongs to one stream), stateless for export,
    generation and the cell report (the same weights, any batch size)."""
    recurrent = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}[
        config.cell
    ]
    ids = keras.Input((None,), batch_size=config.batch_size if stateful else None, dtype="int32", name="ids")
    x = keras.layers.Embedding(vocabulary_size, config.embedding_dim, name="embedding")(ids)
    x = keras.layers.Dropout(config.dropout, name="embedding_dropout")(x)
    for index in range(config.layers):
        x = recurrent(config.units, return_sequences=True, stateful=stateful, name=f"{config.cell}_{index}")(
            x
        )
        x = keras.layers.Dropout(config.dropout, name=f"dropout_{index}")(x)
    logits = keras.layers.Dense(vocabulary_size, name="logits")(x)
    return keras.Model(ids, logits, name=f"char_{config.cell}")


def build_transformer(config: Config, vocabulary_size: int) -> keras.Model:
    """nanoGPT from keras-hub blocks. The token and position embeddings are the two layers keras-hub's
    `TokenAndPositionEmbedding` combines, kept apart so the token embedding can be called a second time,
    `reverse=True`, as the output layer (a sublayer called on its own would be saved as a second copy)."""
    ids = keras.Input((None,), dtype="int32", name="ids")
    token_embedding = keras_hub.layers.ReversibleEmbedding(
        vocabulary_size, config.embedding_dim, name="token_embedding"
    )
    x = token_embedding(ids)
    x = x + keras_hub.layers.PositionEmbedding(config.context, name="position_embedding")(x)
    x = keras.layers.Dropout(config.dropout, name="embedding_dropout")(x)
    for index in range(config.layers):
        x = keras_hub.layers.TransformerDecoder(
            4 * config.embedding_dim,
            config.num_heads,
            dropout=config.dropout,
            activation="gelu",
            layer_norm_epsilon=1e-5,
            normalize_first=True,  # pre-norm, as GPT-2 and nanoGPT
            name=f"block_{index}",
        )(x, use_causal_mask=True)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    return keras.Model(ids, token_embedding(x, reverse=True), name="char_transformer")


def stateless_copy(model: keras.Model, config: Config, vocabulary_size: int) -> keras.Model:
    """The trained weights in a stateless model (a transformer is one already)."""
    if config.model == "transformer":
        return model
    copy = build_rnn(config, vocabulary_size, stateful=False)
    for target, source in zip(copy.trainable_weights, model.trainable_weights):
        target.assign(source)
    return copy


# ## Export and subcommands


def export(model: keras.Model, characters: list[str], run: zoo.train.Run) -> dict[str, float]:
    samples = [SENTENCE, "ROMEO:\nWhat light?", "zq\u00e9 x", lm.scramble(SENTENCE)]
    # A transformer reads its first `context` characters; 600 is beyond the default context and longer
    # than the training stream's chunks for an LSTM.
    edges = {
        "batch_of_one": samples[:1],
        "one_character": ["a"],
        "empty_text": [""],
        "empty_batch": [],
        "longest": [(SENTENCE * 20)[:600]],
    }
    return lm.export_scorer(model, characters, run.output_dir, samples, edges, window=run.config.bptt)


@dataclasses.dataclass
class GenerateConfig:
    output_dir: str = flag("saved_models/char_lm", "folder of a trained model (model.keras, vocabulary.json)")
    prompt: str = flag("", "text to continue")
    length: int = flag(300, "characters to generate")
    temperature: float = flag(0.8, "divides the logits: < 1 safer, > 1 wilder, 0 greedy")
    top_k: int = flag(0, "sample among the k likeliest characters only (0: all)")
    top_p: float = flag(1.0, "sample within the smallest set holding this probability (1: all)")
    seed: int = flag(0, "sampling seed: the same seed and prompt give the same text")

    def __post_init__(self) -> None:
        if self.length < 1 or self.temperature < 0 or self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ValueError("need --length >= 1, --temperature >= 0, --top-k >= 0 and 0 < --top-p <= 1")


@dataclasses.dataclass
class ScoreConfig:
    output_dir: str = flag("saved_models/char_lm", "folder of a trained model (model.keras, vocabulary.json)")
    text: str = flag(SENTENCE, "text to score (read after a line break)")
    seed: int = flag(0, "seed of the shuffle that makes the scrambled text")


# ## The run


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["generate"]:
        options = zoo.cli.parse(GenerateConfig, argv[1:], prog="python -m recipes.char_lm generate")
        model, characters = lm.load_scorer(options.output_dir)
        text = lm.print_sample(model, characters, options.prompt, options.length, options.temperature,
                            options.top_k, options.top_p, options.seed)  # fmt: skip
        return {"text": text}
    if argv[:1] == ["score"]:
        options = zoo.cli.parse(ScoreConfig, argv[1:], prog="python -m recipes.char_lm score")
        return lm.print_scores(*lm.load_scorer(options.output_dir), options.text, options.seed)

    config = zoo.cli.parse(Config, argv, prog="python -m recipes.char_lm")
    run = zoo.train.Run(config, recipe="char_lm")
    data = load_data(config)
    vocabulary_size = len(data.characters) + 2
    with run.strategy.scope():
        if config.model == "rnn":
            model = build_rnn(config, vocabulary_size, stateful=True)
        else:
            model = build_transformer(config, vocabulary_size)
        transformer = config.model == "transformer"  # XLA made its step faster on CPU, an LSTM's slower
        lm.compile_language_model(
            model,
            config.learning_rate,
            total_steps=config.epochs * data.train_steps,
            warmup_steps=config.warmup_steps if transformer else 0,  # an LSTM trains stably from step 1
            weight_decay=config.weight_decay,
            clip_norm=config.clip_norm,
            jit_compile=config.xla and transformer,
        )
    run.fit(model, data.train, data.validation, extra_callbacks=[lm.ResetStates()])  # and --max-train-minutes
    metrics = lm.loss_metrics(lm.validation_loss(model, data.validation))
    model = stateless_copy(model, config, vocabulary_size)
    metrics |= {"train_characters": len(data.train_ids), "vocabulary_size": vocabulary_size}
    metrics["parameters"] = model.count_params()
    print(f"\nSample (temperature 0.8, seed {config.seed}):")
    lm.print_sample(model, data.characters, config.sample_prompt, seed=config.seed)
    print()
    scores = lm.print_scores(model, data.characters, SENTENCE[: lm.context_length(model)], config.seed)
    metrics["sentence_bits_per_char"] = scores["text"]["bits_per_character"]
    metrics["scrambled_bits_per_char"] = scores["scrambled"]["bits_per_character"]
    if config.model == "rnn" and config.inspect_characters:
        matches = zoo.inspection.inspect_text(model, data.characters, data.validation_text, run.output_dir)
        print("\nWhat the cells learn (cells.html colours the text by each unit):")
        print(zoo.inspection.markdown_table(matches))
    metrics |= lm.print_ngram_split(
        data.train_ids, data.validation_ids, data.validation_spans, metrics["val_bits_per_char"]
    )
    if config.export:
        metrics |= export(model, data.characters, run)
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
