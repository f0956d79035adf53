"""Character-level language model: a stateful LSTM/GRU trained with truncated BPTT, or a small GPT.
`python -m recipes.char_lm` trains; then `python -m recipes.char_lm generate --prompt "ROMEO:"` writes
text with the saved model and `python -m recipes.char_lm score --text "..."` says how likely it finds a
text (each subcommand has its own `--help`).

A text goes in one character at a time and at every step the model predicts the next one: many-to-many,
with the output sequence being the input shifted by one. `--model rnn` (the default) is Karpathy's char-rnn:
character embedding -> `--layers` stateful `keras.layers.LSTM`/`GRU`/`SimpleRNN` (`--cell`) -> logits.
Training cuts the text into `--batch-size` parallel streams and reads them `--bptt` characters at a time;
row i of each batch continues row i of the batch before, and the state carries over, so the network sees
contexts far longer than `--bptt` while gradients flow back `--bptt` steps (truncated backpropagation
through time). States are zeroed at epoch starts and around validation (`zoo.language_model.ResetStates`).
`--model transformer` is nanoGPT's model from keras-hub blocks: token and position embeddings ->
`--layers` pre-norm `TransformerDecoder`s with GELU and a causal mask -> layer norm -> the token embedding
again, transposed, as output layer (tied weights: keras-hub's `ReversibleEmbedding`); it trains on random
windows of `--context` characters.

Data: with no flags, gensim's Lee news corpus (360k characters): a one-minute demo. Real run:
`--preset shakespeare` (tinyshakespeare, 1.1M characters; `--data-dir` or `$ZOO_DATA_DIR/tinyshakespeare`).
The first 90% of the characters train, the last 10% validate (`zoo.data.characters`); an unseen character
is id 1, unknown.

Metrics (`metrics.json`): `val_loss`, the cross-entropy in nats per validation character (the RNN reads
the validation streams with carried state; the transformer reads consecutive windows, as nanoGPT
evaluates), `val_bits_per_char` and `val_perplexity`, and `train_seconds`. The run also prints a sample,
scores a sentence against the same characters shuffled, writes `saved_model/` (strings -> each
character's log-probability) and, for an RNN, `cells.html`/`cells.md`: which unit tracks the position
in the line, quotes, speaker names... (`zoo.inspection`).

Expected: the default run reaches val loss 2.18 nats/char in 41 s of training (2-core CPU shared with
other jobs); `--preset shakespeare` 1.485 nats/char (2.14 bits) after 10 epochs in 664 s on an idle 2-core
CPU, where nanoGPT's CPU setting rebuilt in Keras reaches 1.848 (nanoGPT's README: 1.88)
(benchmarks/char_lm.py, which also trains our GRU and transformer for up to 20 minutes each). Command:

    ZOO_DATA_DIR=../shared/data python -m recipes.char_lm --preset shakespeare
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import ClassVar, Literal, NamedTuple

import keras
import keras_hub
import numpy as np
import tensorflow as tf

import zoo.cli
import zoo.config
import zoo.data.characters as characters_data
import zoo.decoding
import zoo.inspection
import zoo.language_model as lm
import zoo.train
from zoo.cli import flag

SENTENCE = "The government said it would not change the law."  # scored against its shuffled characters


@dataclasses.dataclass
class Config(zoo.config.RunConfig):
    dataset: Literal["lee", "head500", "tinyshakespeare", "text"] | None = flag(
        None, "lee, head500, tinyshakespeare or text (the file at --data-dir); default: gensim's Lee corpus"
    )
    model: Literal["rnn", "transformer"] = flag("rnn", "stateful RNN (char-rnn) or transformer (nanoGPT)")
    cell: Literal["lstm", "gru", "rnn"] = flag("lstm", "recurrent layer of --model rnn")
    layers: int = flag(1, "RNN layers or transformer blocks")
    units: int = flag(256, "units per RNN layer")
    embedding_dim: int = flag(64, "character vector size; the transformer's width (nanoGPT's n_embd)")
    num_heads: int = flag(4, "attention heads of --model transformer")
    context: int = flag(64, "characters a transformer reads (nanoGPT's block_size)")
    bptt: int = flag(100, "steps of truncated backpropagation through time (the RNN's training chunk)")
    dropout: float = flag(
        0.0, "dropout after the embedding and every RNN layer or block (0: runs this short underfit)"
    )
    batch_size: int = flag(32, "parallel streams (RNN) or windows (transformer) per batch")
    epochs: int = flag(2, "maximum number of epochs (early stopping may end sooner)")
    steps_per_epoch: int | None = flag(
        None, "transformer batches per epoch (default: as many characters as the training split)"
    )
    learning_rate: float = flag(5e-3, "AdamW peak rate, then cosine decay to a tenth of it")
    warmup_steps: int = flag(
        100, "transformer: steps of linear warm-up, at most a tenth of all (nanoGPT's warmup_iters)"
    )
    weight_decay: float = flag(0.1, "AdamW decoupled weight decay, biases and norms excluded (nanoGPT's)")
    clip_norm: float = flag(1.0, "largest global gradient norm (nanoGPT's grad_clip)")
    max_minutes: float | None = flag(None, "stop training after this many minutes (validation included)")
    xla: bool = flag(True, "compile the transformer with XLA (27%% faster on CPU; an LSTM is not compiled)")
    sample_prompt: str = flag("The ", "prompt of the sample printed after training")
    inspect_characters: int = flag(2000, "validation characters the cell report reads (0: no report)")

    QUANTIZABLE: ClassVar[bool] = False  # its TFLite is written in float32 only
    PRESETS: ClassVar[dict[str, dict]] = {
        # Sized for a training budget of 20 minutes on a 2-core CPU shared with other jobs:
        # 2 x 256 LSTM units read 7,500-12,800 characters/s there in batches of 64 x 100 (2 x 384 about
        # 60% of that, 1 x 512 half; smaller batches take as long per batch), 80-110 s per epoch of the
        # 1M training characters with validation, so 10 epochs take 14-18 minutes; --max-minutes stops a
        # slower machine in time. Idle, an epoch took 59-80 s: val loss 1.485 nats/char after 10 (664 s).
        "shakespeare": {
            "dataset": "tinyshakespeare",
            "layers": 2,
            "units": 256,
            "batch_size": 64,
            "epochs": 10,
            "max_minutes": 20.0,
            "sample_prompt": "ROMEO:",
            "inspect_characters": 3000,
        },
        # Our transformer for the same budget: nanoGPT's CPU model with twice its context and batches of
        # 32 windows (6,200 characters/s with XLA), 1,800 steps.
        "shakespeare-transformer": {
            "dataset": "tinyshakespeare",
            "model": "transformer",
            "layers": 4,
            "num_heads": 4,
            "embedding_dim": 128,
            "context": 128,
            "batch_size": 32,
            "epochs": 4,
            "steps_per_epoch": 450,
            "learning_rate": 2e-3,
            "max_minutes": 20.0,
            "sample_prompt": "ROMEO:",
        },
        # nanoGPT's config/train_shakespeare_char.py with its README's CPU overrides: 4 blocks of width
        # 128, 4 heads, context 64, batches of 12, 2,000 iterations (2 epochs of 1,000), no dropout, AdamW
        # 1e-3 (beta2 0.99, decay 0.1), 100 warm-up steps, cosine decay to 1e-4, clipping at 1.0.
        "nanogpt-cpu": {
            "dataset": "tinyshakespeare",
            "model": "transformer",
            "layers": 4,
            "num_heads": 4,
            "embedding_dim": 128,
            "context": 64,
            "batch_size": 12,
            "epochs": 2,
            "steps_per_epoch": 1000,
            "dropout": 0.0,
            "learning_rate": 1e-3,
            "patience": 2,
            "sample_prompt": "ROMEO:",
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.layers, self.units, self.embedding_dim, self.num_heads, self.bptt) < 1:
            raise ValueError("--layers, --units, --embedding-dim, --num-heads and --bptt must be >= 1")
        if self.context < 2 or self.warmup_steps < 0 or self.inspect_characters < 0:
            raise ValueError("--context must be >= 2, --warmup-steps and --inspect-characters >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("--dropout must be in [0, 1)")
        if self.model == "transformer" and self.embedding_dim % self.num_heads:
            raise ValueError("--embedding-dim must be a multiple of --num-heads")
        if self.model == "rnn" and self.strategy != "default":
            raise ValueError(
                "a stateful RNN carries its batch rows' states on one device: --strategy default"
            )
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError("--max-minutes must be positive")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("--steps-per-epoch must be at least 1")


# ## Data


class CharacterData(NamedTuple):
    corpus: characters_data.CharacterCorpus
    characters: list[str]  # id i + 2 is characters[i]; 0 is padding, 1 unknown
    train: tf.data.Dataset  # (inputs, targets) int32 (batch, bptt or context)
    validation: tf.data.Dataset
    train_steps: int  # batches per epoch


def load_data(config: Config) -> CharacterData:
    corpus = characters_data.load_characters(
        config.dataset, config.data_dir, config.max_train_samples, skip_checksum=config.skip_checksum
    )
    characters = characters_data.character_vocabulary(corpus.train)
    train_ids = characters_data.encode(corpus.train, characters)
    validation_ids = characters_data.encode(corpus.validation, characters)
    if config.model == "rnn":
        train = characters_data.bptt_batches(train_ids, config.batch_size, config.bptt)
        validation = characters_data.bptt_batches(validation_ids, config.batch_size, config.bptt)
        steps = int(train.cardinality())
    else:
        steps = config.steps_per_epoch or max(1, len(train_ids) // (config.batch_size * config.context))
        train = characters_data.random_windows(
            train_ids, config.context, config.batch_size, steps, config.seed
        )
        validation = characters_data.contiguous_windows(validation_ids, config.context, config.batch_size)
    unknown = int(np.sum(validation_ids == characters_data.UNK_ID))
    print(
        f"{corpus.source}: {len(corpus.train):,} training and {len(corpus.validation):,} validation "
        f"characters, {len(characters)} distinct (+ padding and unknown; {unknown} unknown in validation); "
        f"{steps} batches per epoch"
    )
    return CharacterData(corpus, characters, train, validation, steps)


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


def compile_model(model: keras.Model, config: Config, total_steps: int) -> keras.Model:
    """nanoGPT's optimiser for both kinds: AdamW with beta2 0.99 ("a bit bigger because the number of
    tokens per iteration is small"), cosine decay to a tenth, global-norm clipping, and for a transformer
    a linear warm-up (an LSTM trains stably from the first step, as in char-rnn). XLA for the transformer
    only: on CPU it made its step 27% faster and the LSTM's four times slower."""
    warmup = min(config.warmup_steps, total_steps // 10) if config.model == "transformer" else 0
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else config.learning_rate,
        max(1, total_steps - warmup),
        alpha=0.1,
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(
        schedule, beta_2=0.99, weight_decay=config.weight_decay, global_clipnorm=config.clip_norm
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=config.xla and config.model == "transformer",
    )
    return model


def stateless_copy(model: keras.Model, config: Config, vocabulary_size: int) -> keras.Model:
    """The trained weights in a stateless model (a transformer is one already)."""
    if config.model == "transformer":
        return model
    copy = build_rnn(config, vocabulary_size, stateful=False)
    for target, source in zip(copy.trainable_weights, model.trainable_weights):
        target.assign(source)
    return copy


# ## Training and evaluation


def validation_loss(model: keras.Model, validation: tf.data.Dataset) -> float:
    """Mean cross-entropy in nats per validation character (RNN streams from a blank state)."""
    lm.reset_states(model)
    loss = model.evaluate(validation, verbose=0, return_dict=True)["loss"]
    lm.reset_states(model)
    return float(loss)


def loss_metrics(nats: float) -> dict[str, float]:
    return {"val_loss": nats, "val_bits_per_char": nats / math.log(2), "val_perplexity": math.exp(nats)}


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


def print_sample(model, characters, prompt, length=300, temperature=0.8, top_k=0, top_p=1.0, seed=0) -> str:
    sampler = zoo.decoding.make_sampler(
        temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, vocabulary_size=len(characters) + 2
    )
    text = lm.generate(model, characters, prompt, length, sampler)
    print(f"{prompt}{text}")
    return text


def print_scores(model, characters, text: str, seed: int = 0) -> dict[str, dict[str, float]]:
    """The text's and its scrambled version's scores, side by side."""
    scrambled = lm.scramble(text, seed)
    scores = {"text": lm.score(model, characters, text), "scrambled": lm.score(model, characters, scrambled)}
    print(f"text:      {text!r}\nscrambled: {scrambled!r}\n{lm.scores_table(scores)}")
    return scores


# ## The run


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["generate"]:
        options = zoo.cli.parse(GenerateConfig, argv[1:], prog="python -m recipes.char_lm generate")
        model, characters = lm.load_scorer(options.output_dir)
        text = print_sample(model, characters, options.prompt, options.length, options.temperature,
                            options.top_k, options.top_p, options.seed)  # fmt: skip
        return {"text": text}
    if argv[:1] == ["score"]:
        options = zoo.cli.parse(ScoreConfig, argv[1:], prog="python -m recipes.char_lm score")
        return print_scores(*lm.load_scorer(options.output_dir), options.text, options.seed)

    config = zoo.cli.parse(Config, argv, prog="python -m recipes.char_lm")
    run = zoo.train.Run(config, recipe="char_lm")
    data = load_data(config)
    vocabulary_size = len(data.characters) + 2
    with run.strategy.scope():
        if config.model == "rnn":
            model = build_rnn(config, vocabulary_size, stateful=True)
        else:
            model = build_transformer(config, vocabulary_size)
        compile_model(model, config, config.epochs * data.train_steps)
    budget = lm.TimeBudget(config.max_minutes)
    run.fit(model, data.train, data.validation, extra_callbacks=[lm.ResetStates(), budget])
    metrics = loss_metrics(validation_loss(model, data.validation))
    if budget.stopped_at:
        epoch, batch = budget.stopped_at
        print(f"--max-minutes {config.max_minutes:g}: stopped in epoch {epoch + 1} at batch {batch + 1}")
    model = stateless_copy(model, config, vocabulary_size)
    metrics |= {
        "train_characters": len(data.corpus.train),
        "vocabulary_size": vocabulary_size,
        "parameters": model.count_params(),
    }
    print(f"\nSample (temperature 0.8, seed {config.seed}):")
    print_sample(model, data.characters, config.sample_prompt, seed=config.seed)
    print()
    scores = print_scores(model, data.characters, SENTENCE[: lm.context_length(model)], config.seed)
    metrics["sentence_bits_per_char"] = scores["text"]["bits_per_character"]
    metrics["scrambled_bits_per_char"] = scores["scrambled"]["bits_per_character"]
    if config.model == "rnn" and config.inspect_characters:
        text = data.corpus.validation[: config.inspect_characters]
        matches = zoo.inspection.inspect_text(model, data.characters, text, run.output_dir)
        print("\nWhat the cells learn (cells.html colours the text by each unit):")
        print(zoo.inspection.markdown_table(matches))
    if config.export:
        metrics |= export(model, data.characters, run)
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
