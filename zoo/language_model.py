"""What a character language model needs beyond its layers: stateful training, sampling and scoring.

- `ResetStates`: a stateful RNN carries its state from one batch to the next through an epoch (truncated
  backpropagation through time); this callback zeroes it at every epoch start and around every validation
  pass, so validation reads its own streams from a blank state and training does not start from the end
  of validation.
- `compile_language_model`: nanoGPT's optimiser (AdamW, warm-up, cosine decay, clipping) and loss;
  `validation_loss` and `loss_metrics`: nats, bits and perplexity per validation character.
- `recurrent_step`: one character through a stateless RNN language model and its state, using the
  model's own layers (the RNN layers' cells), so generation needs nothing but the saved `.keras` file.
- `generate`: a `zoo.decoding.Decoder` over either kind of model (its `next(prompt, cache, index)`),
  with a sampler from `zoo.decoding.make_sampler` (greedy, random, top-k, top-p, temperature, seed).
- `log_probabilities` and `score`: how likely the model finds a text, character by character;
  `print_sample` and `print_scores` show a sample and a text's score beside its shuffled characters'.
- `ngram_bits`: the bits per character of unigram, bigram, trigram, ... count models (interpolated
  Kneser-Ney) on the very characters a validation loss covers; `print_ngram_split` sets the model's bits
  beside them, so its saving over each shows what longer context is worth.
- `export_scorer` and `load_scorer`: the model, its vocabulary, a SavedModel that scores strings and a
  TFLite file of the next-character model (`next_character_tflite`; generation's loop stays outside,
  as in `generate_with_tflite`).

Every text is read as if it followed a line break: generation and scoring start from the state (or the
window) after `"\\n"`, the natural start of a line, document or speech in the corpora we train on.
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple

import keras
import keras_hub
import numpy as np
import tensorflow as tf
from keras import ops

import zoo.export
import zoo.io
from zoo.data.characters import CharacterStream, character_lookup, character_vocabulary, decode, encode
from zoo.decoding import Decoder, make_sampler
from zoo.errors import ZooError

START = "\n"  # the context every generated or scored text follows


# ## Training callbacks


def stateful_layers(model: keras.Model) -> list[keras.layers.RNN]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN) and layer.stateful]


def reset_states(model: keras.Model) -> None:
    """Zero the state of every stateful RNN layer of `model` (Keras 3's `layer.reset_state()`)."""
    for layer in stateful_layers(model):
        layer.reset_state()


class ResetStates(keras.callbacks.Callback):
    """Blank RNN states at each epoch start and before and after each validation pass."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        reset_states(self.model)

    def on_test_begin(self, logs: dict | None = None) -> None:
        reset_states(self.model)

    def on_test_end(self, logs: dict | None = None) -> None:
        reset_states(self.model)


def compile_language_model(
    model: keras.Model,
    learning_rate: float,
    total_steps: int,
    warmup_steps: int = 0,
    weight_decay: float = 0.1,
    clip_norm: float = 1.0,
    jit_compile: bool = False,
) -> keras.Model:
    """Compile `model` (ids -> logits) with nanoGPT's optimiser and the cross-entropy of the next id.

    AdamW with beta2 0.99 ("a bit bigger because the number of tokens per iteration is small"), a linear
    warm-up of `warmup_steps` (at most a tenth of `total_steps`) from 0 to `learning_rate`, then cosine
    decay to a tenth of it; decoupled weight decay on every weight but biases and normalisation scales
    and offsets; gradients clipped to a global norm of `clip_norm`.
    """
    warmup = min(warmup_steps, total_steps // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else learning_rate,
        max(1, total_steps - warmup),
        alpha=0.1,
        warmup_target=learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(
        schedule, beta_2=0.99, weight_decay=weight_decay, global_clipnorm=clip_norm
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


def validation_loss(model: keras.Model, validation) -> float:
    """Mean cross-entropy in nats per validation character (a stateful RNN reads from a blank state)."""
    reset_states(model)
    loss = model.evaluate(validation, verbose=0, return_dict=True)["loss"]
    reset_states(model)
    return float(loss)


def loss_metrics(nats: float) -> dict[str, float]:
    """`val_loss` (nats per character), `val_bits_per_char` and `val_perplexity` of a cross-entropy."""
    return {"val_loss": nats, "val_bits_per_char": nats / math.log(2), "val_perplexity": math.exp(nats)}


# ## One step at a time


def context_length(model: keras.Model) -> int | None:
    """The longest input of a transformer (its position embedding's length); None for an RNN."""
    for layer in model.layers:
        if isinstance(layer, keras_hub.layers.PositionEmbedding):
            return int(layer.sequence_length)
    return None


def recurrent_step(model: keras.Model) -> tuple[Callable, Callable]:
    """One character through a stateless RNN language model, reusing its layers.

    The model must be a chain of layers, ids -> `Embedding` -> (RNN layers with `return_sequences=True`,
    `Dropout`, ...) -> `Dense` logits. Each RNN layer's cell is called directly on one time step, which
    is what the layer's own loop does on CPU, so a text fed step by step gets the logits the whole-sequence
    call gives (dropout is off: this is inference).

    Returns:
        step: `(ids (batch,), states) -> (logits (batch, vocabulary), states)`.
        initial_states: `batch_size -> states`, zeros: one list per RNN layer (`[h, c]` for an LSTM,
            `[h]` for a GRU or SimpleRNN).
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    recurrent = [layer for layer in layers if isinstance(layer, keras.layers.RNN)]
    if not recurrent:
        raise ValueError(f"{model.name} has no RNN layer to step through")

    def initial_states(batch_size: int) -> list[list]:
        return [list(layer.cell.get_initial_state(batch_size)) for layer in recurrent]

    def step(ids, states):
        x, updated = ids, []
        for layer in layers:
            if isinstance(layer, keras.layers.RNN):
                x, state = layer.cell(x, states[len(updated)], training=False)
                updated.append(list(state) if isinstance(state, (list, tuple)) else [state])
            elif not isinstance(layer, keras.layers.Dropout):
                x = layer(x, training=False)
        return x, updated

    return tf.function(step, reduce_retracing=True), initial_states


def next_function(model: keras.Model, batch_size: int) -> tuple[Callable, object]:
    """keras-hub's sampler protocol for either kind of model: `next(prompt, cache, index)` returns the
    logits of the character at `index`, and the initial cache.

    An RNN's cache is its state: the step reads the character at `index - 1` and advances the state, so
    the sampler feeds the prompt through the network one character at a time, like its own samples. A
    transformer recomputes its window, the last `context` characters before `index` (no key/value cache:
    a window of a few hundred characters through a small model costs milliseconds, and the window can
    slide past the context length, which a fixed-size cache cannot).
    """
    context = context_length(model)
    if context is None:
        step, initial_states = recurrent_step(model)

        def next_recurrent(prompt, cache, index):
            logits, cache = step(prompt[:, index - 1], cache)
            return logits, None, cache

        return next_recurrent, initial_states(batch_size)

    def next_window(prompt, cache, index):
        start = ops.maximum(index - context, 0)
        window = ops.slice(prompt, [0, start], [ops.shape(prompt)[0], index - start])
        return model(window, training=False)[:, -1], None, cache

    return next_window, None


# ## Sampling


def generate(
    model: keras.Model,
    characters: Sequence[str],
    prompt: str,
    length: int,
    sampler: keras_hub.samplers.Sampler,
) -> str:
    """`length` characters that follow `prompt` (returned without it).

    The sampler's buffer holds `"\\n" + prompt` and `length` empty slots; the prompt's slots are masked,
    so the sampler steps through them keeping the prompt's characters and then writes its own."""
    ids = encode(START + prompt, characters)
    buffer = np.zeros((1, len(ids) + length), np.int32)
    buffer[0, : len(ids)] = ids
    mask = np.zeros(buffer.shape, bool)
    mask[0, : len(ids)] = True
    next_logits, cache = next_function(model, batch_size=1)
    # Never padding (id 0) or "unknown" (id 1); no end token: the text runs to `length`.
    decoder = Decoder(None, next_logits, end_id=None, max_length=length, sampler=sampler, banned_ids=(0, 1))

    @tf.function  # the sampler's while loop as one graph, not one Python iteration per character
    def run(buffer, mask, cache):
        return decoder.complete(buffer, cache, index=1, mask=mask)

    output = run(ops.convert_to_tensor(buffer), ops.convert_to_tensor(mask), cache)
    return decode(ops.convert_to_numpy(output)[0, len(ids) :], characters)


# ## Scoring


def log_probabilities(model: keras.Model, ids):
    """`log p(ids[:, t] | ids[:, :t])` for t >= 1: int `(batch, time)` -> float `(batch, time - 1)`.

    Padding (id 0) at the end of shorter rows does not change earlier positions (both kinds of model are
    causal); the caller masks its positions."""
    logits = model(ids[:, :-1], training=False)
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    return ops.take_along_axis(log_probs, ops.cast(ids[:, 1:, None], "int32"), axis=-1)[..., 0]


def score(model: keras.Model, characters: Sequence[str], text: str) -> dict[str, float]:
    """How likely `model` finds `text` (after a line break): its total log-probability in nats and bits,
    the cross-entropy per character and the perplexity per character.

    Raises:
        ValueError: the text is empty, or longer than a transformer's context.
    """
    if not text:
        raise ValueError("cannot score an empty text")
    context = context_length(model)
    if context is not None and len(text) > context:
        raise ValueError(f"the transformer reads at most {context} characters; this text has {len(text)}")
    ids = encode(START + text, characters)[None, :]
    total = float(ops.sum(log_probabilities(model, ops.convert_to_tensor(ids))))
    nats = -total / len(text)
    return {
        "characters": len(text),
        "log_probability_nats": total,
        "log_probability_bits": total / math.log(2),
        "cross_entropy_nats": nats,
        "bits_per_character": nats / math.log(2),
        "perplexity": math.exp(nats),
    }


def scramble(text: str, seed: int = 0) -> str:
    """The same characters in a random order (the same for a seed): same unigram counts, no structure."""
    characters = list(text)
    np.random.default_rng(seed).shuffle(characters)
    return "".join(characters)


def scores_table(scores: dict[str, dict[str, float]]) -> str:
    """A Markdown table of `score` results, one row per name."""
    lines = [
        "| | log-probability (nats) | (bits) | nats/char | bits/char | perplexity |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in scores.items():
        lines.append(
            f"| {name} | {s['log_probability_nats']:.1f} | {s['log_probability_bits']:.1f} | "
            f"{s['cross_entropy_nats']:.3f} | {s['bits_per_character']:.3f} | {s['perplexity']:.2f} |"
        )
    return "\n".join(lines)


def print_sample(
    model: keras.Model,
    characters: Sequence[str],
    prompt: str,
    length: int = 300,
    temperature: float = 0.8,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int = 0,
) -> str:
    """Print `prompt` and `length` characters sampled after it (`zoo.decoding.make_sampler`, `generate`);
    return those."""
    sampler = make_sampler(
        temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, vocabulary_size=len(characters) + 2
    )
    text = generate(model, characters, prompt, length, sampler)
    print(f"{prompt}{text}")
    return text


def print_scores(
    model: keras.Model, characters: Sequence[str], text: str, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Print and return the `score` of `text` and of its scrambled characters (`scramble`), side by side."""
    scrambled = scramble(text, seed)
    scores = {"text": score(model, characters, text), "scrambled": score(model, characters, scrambled)}
    print(f"text:      {text!r}\nscrambled: {scrambled!r}\n{scores_table(scores)}")
    return scores


# ## Count models: what the network adds over n-grams

NGRAM_NAMES = {1: "unigram", 2: "bigram", 3: "trigram"}


def ngram_name(order: int) -> str:
    """unigram, bigram, trigram, then 4gram, 5gram, ... (as metric names spell them)."""
    return NGRAM_NAMES.get(order, f"{order}gram")


def ngram_bits(
    train: str | np.ndarray | CharacterStream,
    validation: str | np.ndarray | CharacterStream,
    orders: Sequence[int] = (1, 2, 3),
    spans: Sequence[tuple[int, int]] | None = None,
) -> dict[int, float]:
    """Bits per character of `validation` under a count model of `train` of each order (1 unigram, 2
    bigram, 3 trigram, ...), smoothed by interpolated Kneser-Ney.

    Interpolated Kneser-Ney (Chen and Goodman, "An Empirical Study of Smoothing Techniques for Language
    Modeling", 1998): the probability of character w after the history h of k - 1 characters is
    `p_k(w | h) = (max(a(hw) - D, 0) + D * n(h) * p_{k-1}(w | h')) / a(h)`, h' being h without its first
    character. At the model's own order a(hw) counts hw in `train`; below it, a(hw) is hw's continuation
    count, the number of distinct characters seen before hw. a(h) sums a(hw) over w and n(h) counts the w
    with a(hw) > 0; a history never seen gives p_{k-1} alone. Each level's discount is D = n1 / (n1 + 2 n2),
    n1 and n2 its numbers of n-grams with a = 1 and 2 (Ney, Essen and Kneser 1994), or 0.5 where none has
    a = 1 (KenLM's fallback). Level 0 is uniform over the characters of `train` and one more, the unknown
    one (`zoo.data.characters.UNK_ID`, or any id never seen in training), so no character costs infinitely.

    The counting is NumPy over integer codes of the n-grams (`np.unique` and binary searches): a million
    training characters take under a second. A `CharacterStream` is read a block at a time.

    Args:
        train, validation: texts (ids from the training text's vocabulary, characters unseen in it one
            unknown id) or ids (ints >= 0; ids not in `train` should share one id, as `encode` makes
            `UNK_ID`), as arrays or `zoo.data.characters.CharacterStream`s.
        orders: the models' orders, each >= 1.
        spans: `(start, stop)` stretches of `validation` read as a language model reads its rows or
            windows (`zoo.data.characters.bptt_spans`, `window_spans`): each from a blank history, its
            first character given and every later one scored from the ones before it in the stretch. The
            stretches are in order and share at most one character. Default: one stretch, the whole text.

    Returns:
        order -> the mean of `-log2 p` over the scored characters.

    Example:

    >>> from zoo.language_model import ngram_bits
    >>> bits = ngram_bits("abracadabra " * 20, "abracadabra cadabra", orders=(1, 2, 3))
    >>> bits[1] > bits[2] > bits[3]
    True
    >>> round(ngram_bits("aab", "babc", orders=(1,))[1], 4)  # p(a) 17/27, p(b) 8/27, p(c unseen) 2/27
    2.0591
    """
    if isinstance(train, str):
        characters = character_vocabulary(train)
        train, validation = encode(train, characters), encode(validation, characters)
    if not len(train) or not orders or min(orders) < 1:
        raise ValueError(f"need training characters and orders >= 1, got {len(train)} and {orders}")
    spans = np.array(spans if spans is not None else [(0, len(validation))], np.int64).reshape(-1, 2)
    starts, stops = spans[:, 0], spans[:, 1]
    if np.any(starts < 0) or np.any(stops > len(validation)) or np.any(stops - starts < 2):
        raise ValueError(f"every span needs 2 or more of the {len(validation)} validation characters")
    if np.any(starts[1:] < stops[:-1] - 1):
        raise ValueError("spans must be in order and share at most one character")
    highest = max(orders)
    base = max(_id_bound(train), _id_bound(validation))
    if base**highest >= 2**62:
        raise ValueError(f"{base} ids do not fit {highest}-gram codes in 64 bits")
    counts = _ngram_counts(train, highest, base)
    top = [_level(codes, number, base) for codes, number in counts]  # a model's own order: counts
    # Below it, continuation counts: the distinct (k + 1)-grams that end in each k-gram.
    ends = [np.unique(codes % base**k, return_counts=True) for k, (codes, _) in enumerate(counts[1:], 1)]
    lower = [_level(codes, number, base) for codes, number in ends]
    outcomes = len(counts[0][0]) + 1  # the training characters and the unknown one
    bits, scored = dict.fromkeys(orders, 0.0), 0
    carry, offset = np.empty(0, np.int64), 0
    for block in _id_blocks(validation):
        ids = np.concatenate([carry, block])
        local = np.arange(len(carry), len(ids))
        positions = offset - len(carry) + local
        span = np.searchsorted(starts + 1, positions, side="right") - 1  # the span it is a target of
        target = (span >= 0) & (positions < stops[np.maximum(span, 0)])
        history = positions[target] - starts[span[target]]
        for order in orders:
            levels = [*lower[: order - 1], top[order - 1]]
            probabilities = _kneser_ney(levels, ids, local[target], history, base, outcomes)
            bits[order] -= float(np.sum(np.log2(probabilities)))
        scored += int(target.sum())
        offset += len(block)
        carry = ids[max(0, len(ids) - highest + 1) :]
    return {order: total / scored for order, total in bits.items()}


class _Level(NamedTuple):
    """One level of a Kneser-Ney model: its n-grams' codes (sorted) and counts a, and each history's
    code (sorted), a(h) and n(h)."""

    codes: np.ndarray
    counts: np.ndarray
    histories: np.ndarray
    totals: np.ndarray
    types: np.ndarray
    discount: float


def _level(codes: np.ndarray, counts: np.ndarray, base: int) -> _Level:
    histories, inverse = np.unique(codes // base, return_inverse=True)
    ones, twos = int(np.sum(counts == 1)), int(np.sum(counts == 2))
    discount = ones / (ones + 2 * twos) if ones else 0.5
    return _Level(codes, counts, histories, np.bincount(inverse, counts), np.bincount(inverse), discount)


def _kneser_ney(levels, ids, ends, history, base, outcomes) -> np.ndarray:
    """p(ids[t] | the `history[i]` ids before it) for each t = `ends[i]`, interpolating `levels` (1 up)."""
    probabilities = np.full(len(ends), 1.0 / outcomes)
    for k, level in enumerate(levels, start=1):
        codes = np.zeros(len(ends), np.int64)
        for offset in range(k - 1, -1, -1):
            codes = codes * base + ids[np.maximum(ends - offset, 0)]
        count = _lookup(level.codes, level.counts, codes)
        total = _lookup(level.histories, level.totals, codes // base)
        types = _lookup(level.histories, level.types, codes // base)
        with np.errstate(divide="ignore", invalid="ignore"):
            mixed = (np.maximum(count - level.discount, 0) + level.discount * types * probabilities) / total
        probabilities = np.where((history >= k - 1) & (total > 0), mixed, probabilities)
    return probabilities


def _lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """`values` of the `queries` found in the sorted `keys`, 0 for the others."""
    if not len(keys):
        return np.zeros(len(queries), values.dtype)
    where = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return np.where(keys[where] == queries, values[where], 0)


def _ngram_counts(ids, highest: int, base: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The distinct k-grams of `ids` and their counts, for k = 1 to `highest` (item k - 1). A k-gram's
    code is its ids read as the digits of a number in base `base`."""
    parts: list[tuple[list, list]] = [([], []) for _ in range(highest)]
    carry = np.empty(0, np.int64)
    for block in _id_blocks(ids):
        block = np.concatenate([carry, block])
        for k in range(1, highest + 1):
            codes = np.zeros(max(len(block) - k + 1, 0), np.int64)
            for first in range(k):
                codes = codes * base + block[first : first + len(codes)]
            unique, counts = np.unique(codes[max(0, len(carry) - k + 1) :], return_counts=True)
            parts[k - 1][0].append(unique)
            parts[k - 1][1].append(counts)
        carry = block[max(0, len(block) - highest + 1) :]
    merged = []
    for codes, counts in parts:
        unique, inverse = np.unique(np.concatenate(codes), return_inverse=True)
        merged.append((unique, np.bincount(inverse, np.concatenate(counts)).astype(np.int64)))
    return merged


def _id_blocks(ids: np.ndarray | CharacterStream, size: int = 1 << 20) -> Iterator[np.ndarray]:
    if isinstance(ids, CharacterStream):
        yield from (block.astype(np.int64) for block in ids.ids(size))
    else:
        yield from (np.asarray(ids[start : start + size], np.int64) for start in range(0, len(ids), size))


def _id_bound(ids: np.ndarray | CharacterStream) -> int:
    """One more than the largest id `ids` can hold."""
    if isinstance(ids, CharacterStream):
        return len(ids.characters) + 2
    ids = np.asarray(ids)
    if len(ids) and ids.min() < 0:
        raise ValueError("ids must be >= 0")
    return int(ids.max()) + 1 if len(ids) else 1


def print_ngram_split(
    train: np.ndarray | CharacterStream,
    validation: np.ndarray | CharacterStream,
    spans: Sequence[tuple[int, int]] | None,
    model_bits: float,
    orders: Sequence[int] = (1, 2, 3),
) -> dict[str, float]:
    """Print a table of `ngram_bits` beside the language model's bits per character, `model_bits`, on
    the same characters (`spans`: those its validation loss covers), and return them as metrics:
    `val_<unigram|bigram|trigram>_bits_per_char` and the model's saving over each,
    `val_bits_saved_over_<name>` (the n-gram's bits minus the model's)."""
    bits = ngram_bits(train, validation, orders, spans)
    metrics = {f"val_{ngram_name(order)}_bits_per_char": value for order, value in bits.items()}
    metrics |= {
        f"val_bits_saved_over_{ngram_name(order)}": value - model_bits for order, value in bits.items()
    }
    lines = ["\nBits per validation character, against count models of the training text:"]
    lines += ["| model | bits/char | the model saves |", "|---|---|---|"]
    for order, value in bits.items():
        lines.append(f"| {ngram_name(order)} (Kneser-Ney) | {value:.3f} | {value - model_bits:.3f} |")
    print("\n".join([*lines, f"| this model | {model_bits:.3f} | |"]))
    return metrics


# ## Export


def export_scorer(
    model: keras.Model,
    characters: Sequence[str],
    output_dir: str | pathlib.Path,
    samples: Sequence[str],
    edge_samples: Mapping[str, Sequence[str]] | None = None,
    window: int = 100,
) -> dict[str, float]:
    """Write `model.keras` (ids -> logits), `vocabulary.json`, `saved_model/`, `model.tflite` and, once
    all are checked, `deploy.json`.

    `saved_model/1/`'s `serve` signature takes strings and returns the log-probability of each character
    after the ones before it (after a line break; 0 at padding; a transformer reads the first `context`
    characters), so a text's score is its row's sum. The character lookup runs in the graph
    (`zoo.data.characters.character_lookup`). Every batch is answered, an empty one or empty texts
    included: the model runs on one more row and one more step of padding than it is given, cut off
    after, because it cannot run on zero rows or steps.

    `model.tflite` is the next-character model (`next_character_tflite`), built-in ops only: the ids of
    a window of characters in, the log-probabilities of the character after them out. Generation's
    sampling loop stays outside it (deploy.json says how to run it): the sampler's choices (greedy,
    temperature, top-k, top-p: `zoo.decoding.make_sampler`) are the caller's, one invoke per character.

    Each file is reloaded and its outputs on `samples` and on each list of `edge_samples` (name -> texts:
    a batch of one, one character, no texts, the longest text, ...) compared with the model in memory
    (`zoo.export.max_abs_diff`, which raises `ExportMismatchError` beyond its tolerance); the TFLite file on
    the window of each sample, the start of a line alone and a full window.

    Args:
        model: the stateless model, ids (B, T) -> logits (B, T, vocabulary).
        characters: the vocabulary, id 2 onwards.
        output_dir: the run's folder.
        samples: real texts to compare on.
        edge_samples: name -> texts of each edge case.
        window: the characters an RNN's TFLite file reads (a transformer's reads its context).

    Returns:
        `keras_max_abs_diff`, `savedmodel_max_abs_diff` and `tflite_max_abs_diff`.
    """
    output_dir = pathlib.Path(output_dir)
    zoo.io.write_text(output_dir / "vocabulary.json", json.dumps(list(characters), ensure_ascii=False) + "\n")
    lookup = character_lookup(characters)
    context = context_length(model)

    def serve(texts):
        ids = tf.cast(lookup(START + texts), tf.int32)
        ids = ids[:, : context + 1] if context else ids
        # An empty batch has zero-width ids: two padding columns leave the model at least one step.
        padded = tf.pad(ids, [[0, 1], [0, 2]])
        padded = padded[:, : context + 1] if context else padded
        scores = tf.where(padded[:, 1:] > 0, log_probabilities(model, padded), 0.0)
        return scores[:-1, : tf.maximum(tf.shape(ids)[1] - 1, 0)]

    cases = {"samples": samples, **(edge_samples or {})}
    cases = {name: tf.constant(list(texts), tf.string) for name, texts in cases.items()}
    tolerance = zoo.export.DEFAULT_TOLERANCE
    keras_path = zoo.export.export_keras(model, output_dir / "model.keras")
    reloaded = keras.saving.load_model(keras_path)
    ids = tf.cast(lookup(START + cases["samples"]), tf.int32)
    metrics = {
        "keras_max_abs_diff": zoo.export.max_abs_diff(
            ops.convert_to_numpy(model(ids)), ops.convert_to_numpy(reloaded(ids)), str(keras_path), tolerance
        )
    }
    path = zoo.export.export_saved_model(
        serve,
        output_dir / "saved_model",
        [tf.TensorSpec([None], tf.string, name="text")],
        [model, lookup],
        output_name="log_probabilities",
    )
    metrics["savedmodel_max_abs_diff"] = max(
        zoo.export.max_abs_diff(
            serve(texts).numpy(), zoo.export.run_saved_model(path, texts), f"{path} ({name})", tolerance
        )
        for name, texts in cases.items()
    )
    window = context or window
    tflite = _export_next_character_tflite(model, characters, output_dir / "model.tflite", samples, window)
    if isinstance(tflite, float):
        metrics["tflite_max_abs_diff"] = tflite
        tflite = {
            "model.tflite": (
                f"the next character: ids (1, {window}) int32, the ids of the last {window} characters "
                "(vocabulary.json's character i is id i + 2; a text starts after a line break), padded "
                "with 0 on the right -> log_probabilities (1, vocabulary) float32 of the character "
                f"after the last id (0 is padding, 1 unknown: never sample them). {_WINDOW_NOTE}"
            ),
            "generation": (
                "outside the file, one invoke per character: choose an id from the log-probabilities "
                "(argmax, or a sample after dividing by a temperature, within the top k or top p), "
                "append it, keep the last ids that fit the window, invoke again"
            ),
        }
    else:
        tflite = {"not_exported": tflite}
    zoo.export.write_manifest(
        output_dir,
        task="character language model",
        vocabulary="vocabulary.json",
        side_files=["vocabulary.json"],
        special_ids={"padding": 0, "unknown": 1, "first_character": 2},
        start=START,
        serve=(
            "texts -> the log-probability of each character given the ones before it, read after a line "
            "break (0 at padding): a text's log-probability is its row's sum"
        ),
        tflite=tflite,
        verified=metrics,
    )
    return metrics


_WINDOW_NOTE = "An RNN reads the window from a zero state, so it forgets what came before it."


def next_character_tflite(model: keras.Model) -> Callable:
    """The next-character model for a TFLite file: `ids` (1, window) int32, a window of character ids
    padded with 0 on the right -> `{"log_probabilities": (1, vocabulary)}` of the character after the
    last nonzero id (ids start at 1: 0 is never a character). Both kinds of model are causal, so the
    padding after the window's characters changes nothing before it."""

    def next_character(ids):
        last = tf.maximum(tf.reduce_sum(tf.cast(ids > 0, tf.int32)) - 1, 0)
        logits = tf.cast(model(ids, training=False), tf.float32)
        return {"log_probabilities": tf.nn.log_softmax(tf.gather(logits[0], last)[None], axis=-1)}

    return next_character


def generate_with_tflite(output_dir: str | pathlib.Path, prompt: str, length: int) -> str:
    """`length` characters after `prompt`, written greedily by a run's `model.tflite`: the loop a device
    runs around the next-character model, in Python. Each step reads the window of the last ids (after
    a line break), takes the likeliest character (never padding or unknown), appends it."""
    folder = pathlib.Path(output_dir)
    characters = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    interpreter = zoo.export.tflite_interpreter(folder / "model.tflite")
    (input_detail,), (output_detail,) = interpreter.get_input_details(), interpreter.get_output_details()
    window = int(input_detail["shape"][1])
    ids = list(encode(START + prompt, characters))
    for _ in range(length):
        inputs = np.zeros((1, window), np.int32)
        inputs[0, : len(ids[-window:])] = ids[-window:]
        interpreter.set_tensor(input_detail["index"], inputs)
        interpreter.invoke()
        log_probs = interpreter.get_tensor(output_detail["index"])[0]
        ids.append(int(np.argmax(log_probs[2:])) + 2)
    return decode(ids[len(prompt) + 1 :], characters)


def _export_next_character_tflite(model, characters, path, samples, window) -> float | str:
    """model.tflite, checked against `model` on the unpadded ids of each case: the largest absolute
    difference of the log-probabilities, or the reason no file was written."""
    dtype = zoo.export.half_precision([model])
    if dtype is not None:
        pathlib.Path(path).unlink(missing_ok=True)  # an earlier run's file would describe another model
        return zoo.export.HALF_PRECISION_TFLITE.format(dtype=dtype)
    spec = tf.TensorSpec([1, window], tf.int32, name="ids")
    zoo.export.export_tflite_function(next_character_tflite(model), path, [spec])
    texts = {f"sample {index}": text for index, text in enumerate(samples)}
    texts |= {"line start alone": "", "full window": "".join(samples) * window}
    windows = {name: encode(START + text, characters)[-window:] for name, text in texts.items()}
    expected = {
        name: ops.convert_to_numpy(ops.log_softmax(model(ids[None], training=False)[:, -1], axis=-1))
        for name, ids in windows.items()
    }
    padded = {name: np.pad(ids, [0, window - len(ids)])[None] for name, ids in windows.items()}
    return zoo.export.verify_cases(path, expected, lambda name: zoo.export.run_tflite(path, padded[name]))


def load_scorer(output_dir: str | pathlib.Path) -> tuple[keras.Model, list[str]]:
    """The `model.keras` and vocabulary `export_scorer` wrote."""
    folder = pathlib.Path(output_dir)
    if not (folder / "model.keras").exists() or not (folder / "vocabulary.json").exists():
        raise ZooError(f"no trained model in {folder} (model.keras and vocabulary.json): train one first")
    characters = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    return keras.saving.load_model(folder / "model.keras"), characters
