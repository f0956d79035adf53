"""Translation with an encoder-decoder transformer: the same many-to-many task as `recipes.translation`,
without recurrence.

The RNN reads a sentence one piece after another; the transformer (Vaswani et al. 2017) reads all pieces at
once. Order comes from position embeddings added to the piece embeddings, and every layer lets each
position attend to every other: the encoder's self-attention over the source, the decoder's *causal*
self-attention over the translation so far (position t sees positions <= t only, which is what lets
teacher forcing train every position in one pass without cheating), and the decoder's cross-attention over
the encoder's output, the same role attention plays in the RNN recipe. Built from keras-hub's
`TokenAndPositionEmbedding`, `TransformerEncoder` and `TransformerDecoder`.

Same data, tokenizers, decoding (greedy and beam search), metrics and export as `recipes.translation`
(all from `zoo.seq2seq`), so the README can show the two side by side.

    ZOO_DATA_DIR=../shared/data python -m recipes.transformer --preset spa-eng
"""

from __future__ import annotations

import dataclasses
import sys
from typing import ClassVar, Literal, NamedTuple

import keras
import keras_hub

import zoo.cli
import zoo.decoding
import zoo.metrics
import zoo.seq2seq
import zoo.train
from zoo.cli import flag

# ## Configuration


@dataclasses.dataclass
class Config(zoo.train.RunConfig):
    source: Literal["eng", "spa"] = flag("eng", "language translated from")
    target: Literal["eng", "spa"] = flag("spa", "language translated into")
    vocabulary_size: int = flag(8000, "most pieces of the joint SentencePiece model (an upper bound)")
    max_length: int = flag(40, "longest sentence in pieces; longer training pairs are dropped")
    layers: int = flag(2, "transformer blocks in the encoder and in the decoder")
    embedding_dim: int = flag(128, "model width (piece and position embeddings)")
    intermediate_dim: int = flag(256, "width of each block's feed-forward layer")
    num_heads: int = flag(4, "attention heads")
    dropout: float = flag(0.1, "dropout in every block")
    learning_rate: float = flag(1e-3, "peak learning rate, after a linear warm-up, then cosine decay")
    warmup_epochs: float = flag(0.5, "epochs of linear warm-up: attention is unstable at a high rate early")
    beam_size: int = flag(4, "beam width for the test translations (1: greedy only)")
    length_penalty: float = flag(0.6, "beam search's length normalisation exponent (GNMT's alpha)")
    bleu_samples: int = flag(300, "validation pairs translated to report val_bleu after each epoch")
    max_test_samples: int | None = flag(None, "score only the first N test pairs (decoding takes time)")
    epochs: int = flag(10, "maximum number of epochs (early stopping may end sooner)")
    batch_size: int = flag(64, "sentence pairs per batch")

    PRESETS: ClassVar[dict[str, dict]] = {
        "spa-eng": {
            "dataset": "spa-eng",
            "epochs": 12,
            "batch_size": 64,
            "layers": 3,
            "embedding_dim": 256,
            "intermediate_dim": 1024,
            "num_heads": 8,
            "max_test_samples": 2000,
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source == self.target:
            raise ValueError("--source and --target must differ")
        if self.embedding_dim % self.num_heads:
            raise ValueError("--embedding-dim must be a multiple of --num-heads")
        if min(self.layers, self.num_heads, self.intermediate_dim, self.beam_size) < 1 or self.max_length < 2:
            raise ValueError("--layers, --num-heads, --intermediate-dim, --beam-size >= 1, --max-length >= 2")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("--dropout must be in [0, 1)")


# ## Model


class Transformer(NamedTuple):
    trainer: keras.Model  # {"source", "target_in"} -> logits (B, T, vocabulary): teacher forcing
    encoder: keras.Model  # source ids (B, S) -> encoder outputs (B, S, D)
    decoder: keras.Model  # (target ids (B, T), encoder outputs, source mask (B, S)) -> logits (B, T, V)


def build_model(
    config: Config, source_vocabulary: int, target_vocabulary: int, train_steps: int
) -> Transformer:
    """Source -> embedding + positions -> `layers` encoder blocks; target (shifted right, <s> first) ->
    embedding + positions -> `layers` decoder blocks (causal self-attention, cross-attention) -> logits.

    Padding (id 0) is masked explicitly everywhere: in the encoder's self-attention, in the decoder's
    self-attention and in cross-attention (a padded source position must never be read)."""

    def blocks(kind):
        return [
            kind(
                config.intermediate_dim, config.num_heads, dropout=config.dropout, name=f"{kind.__name__}_{i}"
            )
            for i in range(config.layers)
        ]

    source_embedding = keras_hub.layers.TokenAndPositionEmbedding(
        source_vocabulary, config.max_length, config.embedding_dim, name="source_embedding"
    )
    # The decoder reads <s> plus up to max_length pieces while translating.
    target_embedding = keras_hub.layers.TokenAndPositionEmbedding(
        target_vocabulary, config.max_length + 1, config.embedding_dim, name="target_embedding"
    )
    encoder_blocks = blocks(keras_hub.layers.TransformerEncoder)
    decoder_blocks = blocks(keras_hub.layers.TransformerDecoder)
    to_logits = keras.layers.Dense(target_vocabulary, name="logits")

    def encode(source_ids):
        x, mask = source_embedding(source_ids), source_ids > 0
        for block in encoder_blocks:
            x = block(x, padding_mask=mask)
        return x

    def decode(target_ids, memory, source_mask):
        x = target_embedding(target_ids)
        for block in decoder_blocks:
            x = block(
                x,
                memory,
                decoder_padding_mask=target_ids > 0,
                encoder_padding_mask=source_mask,
                use_causal_mask=True,
            )
        return to_logits(x)

    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    trainer = keras.Model(
        {"source": source, "target_in": target_in},
        decode(target_in, encode(source), source > 0),
        name="transformer",
    )
    encoder = keras.Model(source, encode(source), name="encoder")
    memory = keras.Input((None, config.embedding_dim), name="encoder_outputs")
    memory_mask = keras.Input((None,), dtype="bool", name="source_mask")
    decoder = keras.Model(
        [target_in, memory, memory_mask], decode(target_in, memory, memory_mask), name="decoder"
    )

    warmup = max(1, int(config.warmup_epochs * train_steps / config.epochs))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, max(1, train_steps - warmup), warmup_target=config.learning_rate, warmup_steps=warmup
    )
    trainer.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    return Transformer(trainer, encoder, decoder)


# ## Decoding


def translator(model: Transformer, tokenizers, config: Config, beam_size: int = 1) -> zoo.seq2seq.Translator:
    """The encoder runs once per sentence; at each step the decoder re-reads the translation so far (the
    causal mask makes the logits at `index - 1` depend on nothing after it) and the sampler picks the next
    piece. Re-reading costs O(length^2) per sentence, small for sentences of tens of pieces."""

    def encode(source_ids):
        return {"memory": model.encoder(source_ids, training=False), "mask": source_ids > 0}

    def next_token(prompt, cache, index):
        logits = model.decoder([prompt, cache["memory"], cache["mask"]], training=False)
        return keras.ops.take(logits, index - 1, axis=1), None, cache

    if beam_size == 1:
        sampler = keras_hub.samplers.GreedySampler()
    else:
        sampler = zoo.decoding.BeamSearch(beam_size, length_penalty=config.length_penalty)
    return zoo.seq2seq.Translator(tokenizers, encode, next_token, sampler, config.max_length)


def main(argv: list[str] | None = None) -> dict[str, float]:
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.transformer")
    run = zoo.train.Run(config, recipe="transformer")
    data = zoo.seq2seq.load_translation_data(config)
    train_steps = config.epochs * max(1, sum(1 for _ in data.train))
    with run.strategy.scope():
        model = build_model(
            config,
            data.tokenizers.source.vocabulary_size(),
            data.tokenizers.target.vocabulary_size(),
            train_steps,
        )
    greedy = translator(model, data.tokenizers, config)
    sample = data.validation_pairs[: config.bleu_samples]
    bleu = zoo.metrics.TranslationScoreCallback(
        greedy.translate_all, [s for s, _ in sample], [t for _, t in sample]
    )
    run.fit(
        model.trainer, data.train, data.validation, monitor="val_bleu", mode="max", extra_callbacks=[bleu]
    )
    beam = translator(model, data.tokenizers, config, beam_size=config.beam_size)
    metrics = zoo.seq2seq.score_test_split(greedy, beam if config.beam_size > 1 else None, data.test_pairs)
    if config.export:
        model.trainer.save(run.output_dir / "model.keras")
        metrics |= zoo.seq2seq.export_translator(
            greedy, data, run.output_dir, track=[model.encoder, model.decoder]
        )
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
