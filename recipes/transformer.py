"""Translation with an encoder-decoder transformer: the same many-to-many task as `recipes.translation`,
without recurrence.

The transformer (Vaswani et al. 2017) reads all pieces at once. Order comes from position embeddings
added to the piece embeddings, and every layer lets each position attend to every other: the encoder's
self-attention over the source, the decoder's causal self-attention over the translation so far (position
t sees positions <= t only, so teacher forcing trains every position in one pass without cheating), and
the decoder's cross-attention over the encoder's output. Built from keras-hub's
`TokenAndPositionEmbedding`, `TransformerEncoder` and `TransformerDecoder`; the data (your own pairs too:
`--train-file`, with `--max-train-minutes` to cap a long run), tokenizers, decoding (greedy and beam search),
metrics and exports are `recipes.translation`'s (`zoo.seq2seq`).

Headline (benchmarks/RESULTS.md): English -> Spanish test BLEU 41.3 with beam search, 38.9 greedy, with
`--preset spa-eng` (7 epochs, label smoothing 0.1, bfloat16 where the CPU computes it natively).

    ZOO_DATA_DIR=../shared/data python -m recipes.transformer --preset spa-eng
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import ClassVar, Literal, NamedTuple

import keras
import keras_hub

import zoo.cli
import zoo.config
import zoo.decoding
import zoo.losses
import zoo.metrics
import zoo.predict
import zoo.seq2seq
import zoo.train
from zoo.cli import flag

# ## Configuration


@dataclasses.dataclass
class Config(zoo.config.TranslationConfig, zoo.config.EMAConfig):
    layers: int = flag(2, "transformer blocks in the encoder and in the decoder", at_least=1)
    embedding_dim: int = flag(128, "model width (piece and position embeddings)")
    intermediate_dim: int = flag(256, "width of each block's feed-forward layer", at_least=1)
    num_heads: int = flag(4, "attention heads", at_least=1)
    dropout: float = flag(0.1, "dropout in every block", below=1.0)
    learning_rate: float = flag(1e-3, "peak learning rate, after a linear warm-up, then cosine decay")
    warmup_epochs: float = flag(0.5, "epochs of linear warm-up: attention is unstable at a high rate early")
    precision: Literal["float32", "mixed_bfloat16", "auto"] = flag(
        "float32",
        "mixed_bfloat16: layers compute in bfloat16, weights, softmax and loss stay float32 (faster on a "
        "CPU with AVX512-BF16 or AMX; elsewhere bfloat16 is emulated); auto: mixed_bfloat16 where the CPU "
        "computes it natively, else float32",
    )

    PRESETS: ClassVar[dict[str, dict]] = {
        # The benchmark's setting (benchmarks/translation.py): 2 + 2 blocks of width 256, 7 epochs in
        # bfloat16 where the CPU computes it natively.
        "spa-eng": {
            "dataset": "spa-eng",
            "epochs": 7,
            "precision": "auto",
            "label_smoothing": 0.1,
            "batch_size": 128,
            "vocabulary_size": 4000,
            "layers": 2,
            "embedding_dim": 256,
            "intermediate_dim": 512,
            "num_heads": 8,
            "max_test_samples": 2000,
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.embedding_dim % self.num_heads:
            raise ValueError("--embedding-dim must be a multiple of --num-heads")


# ## Model


class Transformer(NamedTuple):
    trainer: keras.Model  # {"source", "target_in"} -> logits (B, T, vocabulary): teacher forcing
    encoder: keras.Model  # source ids (B, S) -> encoder outputs (B, S, D)
    decoder: keras.Model  # (target ids (B, T), encoder outputs, source mask (B, S)) -> logits (B, T, V)
    # One cached decoding step, the decoder's layers called directly:
    # (piece (B, 1), its position, encoder outputs, source mask, caches) -> (logits (B, V), caches)
    decode_step: Callable
    empty_caches: Callable  # batch size -> the caches before the first step, one per decoder block


def build_model(
    config: Config, source_vocabulary: int, target_vocabulary: int, train_steps: int
) -> Transformer:
    """Source -> embedding + positions -> `layers` encoder blocks; target (shifted right, <s> first) ->
    embedding + positions -> `layers` decoder blocks (causal self-attention, cross-attention) -> logits.

    Padding (id 0) is masked explicitly everywhere: in the encoder's self-attention, in the decoder's
    self-attention and in cross-attention (a padded source position must never be read)."""

    # Under --precision mixed_bfloat16 every layer computes in bfloat16 and keeps float32 weights; the
    # logits are cast back to float32, so the softmax, the loss and beam search's sums of log-probabilities
    # keep float32's precision.
    policy = zoo.train.dtype_policy(config.precision)
    compute_dtype = keras.DTypePolicy(policy).compute_dtype

    def blocks(kind):
        return [
            kind(
                config.intermediate_dim,
                config.num_heads,
                dropout=config.dropout,
                dtype=policy,
                name=f"{kind.__name__}_{i}",
            )
            for i in range(config.layers)
        ]

    source_embedding = keras_hub.layers.TokenAndPositionEmbedding(
        source_vocabulary, config.max_length, config.embedding_dim, dtype=policy, name="source_embedding"
    )
    # The decoder reads <s> plus up to max_length pieces while translating.
    target_embedding = keras_hub.layers.TokenAndPositionEmbedding(
        target_vocabulary, config.max_length + 1, config.embedding_dim, dtype=policy, name="target_embedding"
    )
    encoder_blocks = blocks(keras_hub.layers.TransformerEncoder)
    decoder_blocks = blocks(keras_hub.layers.TransformerDecoder)
    dense_logits = keras.layers.Dense(target_vocabulary, dtype=policy, name="logits")

    def to_logits(x):
        return keras.ops.cast(dense_logits(x), "float32")

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

    # Decoding one piece at a time, each block keeps the keys and values of the pieces so far
    # (keras-hub's self-attention cache, (B, 2, max_length + 1, heads, head size)), so a step computes
    # one position instead of re-reading the whole translation. Cross-attention keys and values are
    # recomputed from the encoder outputs at every step (`update_index=0`): a source has tens of pieces.
    head_size = config.embedding_dim // config.num_heads

    def empty_caches(batch_size):
        shape = (batch_size, 2, config.max_length + 1, config.num_heads, head_size)
        return [keras.ops.zeros(shape, dtype=compute_dtype) for _ in decoder_blocks]

    def decode_step(piece, position, memory, source_mask, caches):
        x = target_embedding(piece, start_index=position)
        cross_cache = keras.ops.zeros(
            (keras.ops.shape(memory)[0], 2, keras.ops.shape(memory)[1], config.num_heads, head_size),
            dtype=compute_dtype,
        )
        updated = []
        for block, cache in zip(decoder_blocks, caches):
            x, cache, _ = block(
                x,
                memory,
                encoder_padding_mask=source_mask,
                self_attention_cache=cache,
                self_attention_cache_update_index=position,
                cross_attention_cache=cross_cache,
                cross_attention_cache_update_index=0,
            )
            updated.append(cache)
        return to_logits(x)[:, 0], updated

    warmup = max(1, int(config.warmup_epochs * train_steps / config.epochs))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, max(1, train_steps - warmup), warmup_target=config.learning_rate, warmup_steps=warmup
    )
    trainer.compile(
        # With --ema the optimizer keeps the average, which zoo.train.Run.fit swaps into the model.
        optimizer=keras.optimizers.AdamW(
            schedule, weight_decay=0.01, clipnorm=1.0, **zoo.train.ema_options(config)
        ),
        loss=zoo.losses.SparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing, ignore_class=0
        ),
    )
    return Transformer(trainer, encoder, decoder, decode_step, empty_caches)


# ## Decoding


def translator(model: Transformer, tokenizers, config: Config, beam_size: int = 1) -> zoo.seq2seq.Translator:
    """The encoder runs once per sentence; each step feeds the decoder the last piece written and its
    position, and the blocks' caches stand in for the pieces before it (the beams carry and reorder
    them like any other cache). Same logits as re-reading the whole prefix with `model.decoder`, in
    O(length) per sentence instead of O(length^2)."""

    def encode(source_ids):
        memory = model.encoder(source_ids, training=False)
        return {
            "memory": memory,
            "mask": source_ids > 0,
            "layers": model.empty_caches(keras.ops.shape(source_ids)[0]),
        }

    def next_token(prompt, cache, index):
        piece = keras.ops.slice(prompt, [0, index - 1], [keras.ops.shape(prompt)[0], 1])
        logits, layers = model.decode_step(piece, index - 1, cache["memory"], cache["mask"], cache["layers"])
        return logits, None, {**cache, "layers": layers}

    sampler = zoo.decoding.make_sampler(beam_size, config.length_penalty)
    return zoo.seq2seq.Translator(tokenizers, encode, next_token, sampler, config.max_length)


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("transformer", zoo.seq2seq.answer, argv, zoo.seq2seq.PredictConfig)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.transformer")
    run = zoo.train.Run(config, recipe="transformer")
    data = zoo.seq2seq.load_translation_data(config)
    train_steps = config.epochs * max(1, data.train_batches)
    with run.strategy.scope():
        model = build_model(
            config,
            data.tokenizers.source.vocabulary_size(),
            data.tokenizers.target.vocabulary_size(),
            train_steps,
        )
    greedy, beam, metrics = zoo.seq2seq.train_and_score(model, data, config, run, translator)
    if config.export:
        metrics |= zoo.seq2seq.export_translator(greedy, data, run.output_dir, model, beam, config, metrics)
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
