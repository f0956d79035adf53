"""Translation with an RNN encoder-decoder and attention: many-to-many, of unequal lengths.

The encoder, a bidirectional GRU (or LSTM), keeps one vector per source subword piece; the decoder writes
the translation one piece at a time, and before each piece it attends: it scores every encoder vector
against its state (Bahdanau's additive or Luong's general score) and reads their weighted average, so
long sentences keep their details and the weights show where each word came from (attention heatmaps).
Training uses teacher forcing (`zoo.seq2seq`); translation decodes greedily or with length-normalised
beam search (`zoo.decoding`) in one graph, which is also the SavedModel: strings in, strings out.

Data: with no flags, English numbers and their Spanish names (num2words), a one-minute demo;
`--dataset spa-eng`, the Tatoeba English-Spanish pairs of the TensorFlow tutorials (split 70/15/15, no
sentence in two splits), either direction; or your own pairs in any two languages, streamed from disk
(`--train-file`: a TSV, or a Moses prefix with `--source de --target fr`). One joint SentencePiece model is
learnt on the training split. Headline (benchmarks/RESULTS.md): English -> Spanish test BLEU 35.0 with beam
search, 33.4 greedy.

    ZOO_DATA_DIR=../shared/data python -m recipes.translation --preset spa-eng
"""

from __future__ import annotations

import dataclasses
import sys
from typing import ClassVar, Literal, NamedTuple

import keras
import numpy as np
import tensorflow as tf

import zoo.cli
import zoo.config
import zoo.data
import zoo.decoding
import zoo.layers
import zoo.losses
import zoo.metrics
import zoo.plots
import zoo.predict
import zoo.seq2seq
import zoo.train
from zoo.cli import flag

# ## Configuration


@dataclasses.dataclass
class Config(zoo.config.TranslationConfig):
    cell: Literal["gru", "lstm"] = flag("gru", "recurrent cell of the encoder and the decoder")
    # Luong's dot score needs query and key of one width; the bidirectional encoder's are twice the
    # decoder's, so the recipe offers the general score q.(W k) (zoo.layers.LuongAttention has both).
    attention: Literal["bahdanau", "luong"] = flag("bahdanau", "attention score: additive or Luong general")
    embedding_dim: int = flag(128, "size of the piece embeddings", at_least=1)
    units: int = flag(128, "recurrent units (per direction in the encoder)", at_least=1)
    dropout: float = flag(0.2, "dropout on embeddings and before the output layer", below=1.0)
    learning_rate: float = flag(2e-3, "Adam's learning rate (the peak, with --cosine-decay)")
    cosine_decay: bool = flag(False, "decay the learning rate to 0 along a cosine over --epochs")
    heatmaps: int = flag(4, "test sentences whose attention heatmaps are drawn")

    PRESETS: ClassVar[dict[str, dict]] = {
        # The benchmark's setting (benchmarks/translation.py): 5 epochs of 128 pairs, 4,000 pieces.
        "spa-eng": {
            "dataset": "spa-eng",
            "epochs": 5,
            "cosine_decay": True,
            "label_smoothing": 0.1,
            "batch_size": 128,
            "vocabulary_size": 4000,
            "units": 256,
            "embedding_dim": 256,
            "max_test_samples": 2000,
        },
    }


# ## Data


def load_data(config: Config) -> zoo.seq2seq.TranslationData:
    """Pairs read, split, turned around for `--source spa`, tokenizers learnt on the training split."""
    return zoo.seq2seq.load_translation_data(config)


# ## Model


class Seq2Seq(NamedTuple):
    trainer: keras.Model  # {"source", "target_in"} -> logits (B, T, vocabulary): teacher forcing
    encoder: keras.Model  # source ids -> (encoder outputs, decoder initial state(s))
    decoder: keras.Model  # one step: (token, state(s), encoder outputs, source mask) -> (logits, state(s))
    attention: keras.Model  # {"source", "target_in"} -> attention weights (B, T, S)


def build_model(
    config: Config, source_vocabulary: int, target_vocabulary: int, train_steps: int = 1
) -> Seq2Seq:
    """Encoder: embedding -> bidirectional RNN -> one vector per source piece, and the decoder's first
    state (a dense layer over both directions' last states). Decoder: embedding -> RNN -> attention over
    the encoder vectors -> [RNN output; context] -> tanh layer -> logits (Luong et al. 2015's "attentional
    hidden state"). Attention is computed from the RNN's output after each step, so teacher forcing runs
    the RNN over the whole target at once and then attends for all steps in parallel.
    """
    rnn = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[config.cell]
    states_per_cell = 2 if config.cell == "lstm" else 1
    # Unit-variance piece vectors (PyTorch's default), not Keras's uniform(-0.05, 0.05): with small vectors
    # every activation downstream starts near 0, and training stays on the unigram plateau.
    initializer = keras.initializers.RandomNormal(stddev=1.0)
    source_embedding = keras.layers.Embedding(
        source_vocabulary, config.embedding_dim, mask_zero=True, embeddings_initializer=initializer
    )
    encoder_rnn = keras.layers.Bidirectional(rnn(config.units, return_sequences=True, return_state=True))
    bridges = [keras.layers.Dense(config.units, activation="tanh") for _ in range(states_per_cell)]
    target_embedding = keras.layers.Embedding(
        target_vocabulary, config.embedding_dim, embeddings_initializer=initializer
    )
    decoder_rnn = rnn(config.units, return_sequences=True, return_state=True)
    if config.attention == "bahdanau":
        attention = zoo.layers.BahdanauAttention(config.units, name="attention")
    else:
        attention = zoo.layers.LuongAttention(score="general", name="attention")
    attentional = keras.layers.Dense(config.units, activation="tanh", name="attentional_state")
    dropout = keras.layers.Dropout(config.dropout)
    to_logits = keras.layers.Dense(target_vocabulary, name="logits")

    def encode(source_ids):
        outputs, *states = encoder_rnn(dropout(source_embedding(source_ids)))
        # Bidirectional returns forward states then backward states: pair them per state kind (h, c).
        forward, backward = states[:states_per_cell], states[states_per_cell:]
        return outputs, [
            bridge(keras.ops.concatenate([f, b], -1)) for bridge, f, b in zip(bridges, forward, backward)
        ]

    def decode(target_ids, states, encoder_outputs, source_mask):
        outputs, *states = decoder_rnn(dropout(target_embedding(target_ids)), initial_state=states)
        context, weights = attention(outputs, encoder_outputs, value_mask=source_mask)
        hidden = attentional(keras.ops.concatenate([outputs, context], -1))
        return to_logits(dropout(hidden)), states, weights

    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    encoder_outputs, states = encode(source)
    logits, _, weights = decode(target_in, states, encoder_outputs, source > 0)
    trainer = keras.Model(
        {"source": source, "target_in": target_in}, logits, name=f"translation_{config.cell}"
    )
    attention_model = keras.Model(
        {"source": source, "target_in": target_in}, weights, name="attention_weights"
    )
    encoder = keras.Model(source, [encoder_outputs, *states], name="encoder")

    token = keras.Input((1,), dtype="int32", name="token")
    state_inputs = [keras.Input((config.units,), name=f"state_{i}") for i in range(states_per_cell)]
    memory = keras.Input((None, 2 * config.units), name="encoder_outputs")
    memory_mask = keras.Input((None,), dtype="bool", name="source_mask")
    step_logits, step_states, _ = decode(token, state_inputs, memory, memory_mask)
    decoder = keras.Model(
        [token, *state_inputs, memory, memory_mask], [step_logits[:, 0], *step_states], name="decoder_step"
    )
    learning_rate = config.learning_rate
    if config.cosine_decay:
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, max(1, train_steps))
    trainer.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
        loss=zoo.losses.SparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing, ignore_class=0
        ),
    )
    return Seq2Seq(trainer, encoder, decoder, attention_model)


# ## Decoding


def translator(model: Seq2Seq, tokenizers, config: Config, beam_size: int = 1) -> zoo.seq2seq.Translator:
    """Greedy (`beam_size=1`, keras-hub's GreedySampler) or beam search over the decoder step model."""

    def encode(source_ids):
        outputs, *states = model.encoder(source_ids, training=False)
        return {"states": states, "memory": outputs, "mask": source_ids > 0}

    def next_token(prompt, cache, index):
        token = keras.ops.slice(prompt, [0, index - 1], [keras.ops.shape(prompt)[0], 1])
        logits, *states = model.decoder(
            [token, *cache["states"], cache["memory"], cache["mask"]], training=False
        )
        return logits, None, {**cache, "states": states}

    sampler = zoo.decoding.make_sampler(beam_size, config.length_penalty)
    return zoo.seq2seq.Translator(tokenizers, encode, next_token, sampler, config.max_length)


def draw_heatmaps(
    model: Seq2Seq, data: zoo.seq2seq.TranslationData, greedy: zoo.seq2seq.Translator, run, count: int
):
    """Attention weights of the greedy translations of the first `count` test sentences, as PNGs titled
    with the sentence and its translation: the decoder is run with teacher forcing on its own output,
    which reproduces the decoding steps exactly."""
    sources = [source for source, _ in data.test_pairs[:count]]
    if not sources:
        return
    target_ids = greedy.ids(tf.constant(sources)).numpy()
    source_ids = greedy.source_ids(tf.constant(sources)).numpy()
    target_in = np.concatenate([np.full((len(sources), 1), zoo.seq2seq.START_ID), target_ids], 1)
    weights = keras.ops.convert_to_numpy(model.attention({"source": source_ids, "target_in": target_in}))
    source_vocab, target_vocab = data.tokenizers.source, data.tokenizers.target
    for index in range(len(sources)):
        rows = zoo.seq2seq.attention_rows(weights[index], target_ids[index], source_ids[index])
        source_tokens = [source_vocab.id_to_token(int(i)) for i in source_ids[index][: rows.shape[1]]]
        written = target_ids[index][: rows.shape[0] - 1]
        target_tokens = [target_vocab.id_to_token(int(i)) for i in written]
        zoo.plots.attention_heatmap(
            rows,
            source_tokens,
            target_tokens + ["</s>"],
            run.output_dir / f"attention_{index}.png",
            source_text=sources[index],
            translation_text=str(target_vocab.detokenize(written.tolist())),
        )


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("translation", zoo.seq2seq.answer, argv, zoo.seq2seq.PredictConfig)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.translation")
    run = zoo.train.Run(config, recipe="translation")
    data = load_data(config)
    with run.strategy.scope():
        model = build_model(
            config,
            data.tokenizers.source.vocabulary_size(),
            data.tokenizers.target.vocabulary_size(),
            train_steps=config.epochs * max(1, data.train_batches),
        )
    greedy, beam, metrics = zoo.seq2seq.train_and_score(model, data, config, run, translator)
    draw_heatmaps(model, data, greedy, run, config.heatmaps)
    if config.export:
        metrics |= zoo.seq2seq.export_translator(greedy, data, run.output_dir, model, beam, config, metrics)
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
