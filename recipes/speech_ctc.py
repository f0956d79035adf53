"""Speech recognition with CTC: a waveform in, its transcript out, letter by letter (many-to-many).

Connectionist temporal classification (Graves et al. 2006) needs no alignment of audio and letters: the
model scores every character (and a blank) at every frame, and the loss sums all frame paths that
collapse to the transcript; decoding takes the best path (greedy) or searches several (beam). All of it
is in the graph, so the SavedModel takes a float waveform: `zoo.layers.LogMelSpectrogram` ->
`SpecAugment` (training only) -> `ConvSubsampling` (4x fewer frames) -> bidirectional GRU (or LSTM)
layers -> `CTCLogits`, whose padded frames are certain blanks so the batch loss is each utterance's.
Transcripts are normalised (`--normalize`); `metrics.json` holds corpus `test_cer`, `test_wer`.

Data: with no flags, touch-tone digit strings the zoo synthesises, a one-minute demo; `--dataset
fsdd-digits` (connected strings of Free Spoken Digit recordings; `--held-out-speaker theo` adds an
unseen voice), `fsdd`, `yesno`, `ljspeech`; your own WAV files with `--train-file clips.csv` (a manifest
of `path,transcript` rows). Headline (benchmarks/RESULTS.md): connected-digit test WER 2.8% greedy on
the seen speakers, 14.6% on the unseen one (`--preset fsdd-digits --held-out-speaker theo`). Details:
docs/recipes.md.

    ZOO_DATA_DIR=../shared/data python -m recipes.speech_ctc --preset fsdd-digits
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
import zoo.errors
import zoo.export
import zoo.io
import zoo.layers
import zoo.metrics
import zoo.predict
import zoo.speech
import zoo.train
from zoo.cli import flag


@dataclasses.dataclass
class Config(zoo.config.FileDataConfig):
    dataset: Literal["fsdd-digits", "fsdd", "yesno", "ljspeech", "file"] | None = flag(
        None,
        "fsdd-digits, fsdd, yesno, ljspeech, or file: your CSV or TSV manifests (--train-file ...) with a "
        "header naming --audio-column and --transcript-column, WAV paths relative to the manifest, any "
        "sample rate; without it, synthesised touch-tone digit strings",
    )
    audio_column: str = flag("path", "--dataset file: the manifest column holding each WAV file's path")
    transcript_column: str = flag("transcript", "--dataset file: the manifest column holding transcripts")
    sample_rate: int = flag(
        8000,
        "Hz every waveform is resampled to (FSDD and yes/no are recorded at 8,000; speech of your own is "
        "usually better heard at 16,000)",
        at_least=1,
    )
    held_out_speaker: str | None = flag(None, "an FSDD speaker kept out of training, tested on its own")
    digit_strings: int = flag(2000, "fsdd-digits: training strings (validation and test get 300 each)")
    normalize: Literal["letters", "cased", "lower", "none"] = flag(
        "letters",
        "what transcripts keep (zoo.data.normalize_transcript): letters: lowercase letters, digits, ' and "
        "single spaces; cased: the same in both cases; lower: lowercased, punctuation kept; none: as written",
    )
    num_mel_bins: int = flag(40, "log-mel features per frame", at_least=1)
    spec_augment: bool = flag(True, "frequency and time masking while training (SpecAugment)")
    conv_filters: int = flag(64, "channels of the two strided convolutions")
    units: int = flag(96, "recurrent units per direction", at_least=1)
    rnn_layers: int = flag(2, "bidirectional recurrent layers", at_least=1)
    cell: Literal["gru", "lstm"] = flag("gru", "recurrent cell")
    dropout: float = flag(0.2, "dropout between recurrent layers", below=1.0)
    learning_rate: float = flag(2e-3, "Adam's learning rate")
    beam_width: int = flag(16, "beam search width for the test scores (greedy is scored too)", at_least=1)
    examples: int = flag(3, "validation transcripts printed after each epoch")
    epochs: int = flag(8, "maximum number of epochs (early stopping on validation CER)")
    patience: int = flag(3, "epochs without a lower validation CER before stopping")
    batch_size: int = flag(16, "utterances per batch")
    max_seconds: float = flag(10.5, "longest clip model.tflite takes (LJ Speech's last up to 10.1 s)")

    FILE_ONLY: ClassVar[tuple[str, ...]] = ("audio_column", "transcript_column")
    PRESETS: ClassVar[dict[str, dict]] = {
        "fsdd-digits": {
            "dataset": "fsdd-digits",
            "conv_filters": 128,
            "units": 128,
            # 12 epochs of about 70 s on 2 CPU cores: a 15-minute training budget.
            "epochs": 12,
            "patience": 4,
        },
        "ljspeech": {
            "dataset": "ljspeech",
            "sample_rate": 16000,
            "num_mel_bins": 80,
            "epochs": 40,
            "patience": 8,
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.max_seconds > 0:
            raise ValueError("--max-seconds must be positive")
        if self.held_out_speaker is not None and self.dataset == "file":
            raise ValueError("--held-out-speaker is for FSDD's speakers; hold a speaker out with --test-file")

    @property
    def max_samples(self) -> int:  # the TFLite model's input length
        return round(self.max_seconds * self.sample_rate)


# ## Data


class SpeechData(NamedTuple):
    train: tf.data.Dataset  # ((waveforms, lengths), label ids padded with 0) batches
    validation: tf.data.Dataset
    test: tf.data.Dataset
    alphabet: list[str]  # label id - 1 -> character; id 0 is the CTC blank
    references: dict[str, list[str]]  # normalised transcripts per split, in dataset order
    splits: zoo.data.SpeechSplits


def load_splits(config: Config) -> zoo.data.SpeechSplits:
    if config.dataset is None and config.data_dir is None:
        return zoo.data.tone_sample(seed=config.seed)
    if config.dataset == "file":
        return zoo.data.load_speech_files(
            **config.data_files(), sample_rate=config.sample_rate, audio_column=config.audio_column,
            transcript_column=config.transcript_column,
        )  # fmt: skip
    return zoo.data.load_speech(
        config.dataset or "fsdd-digits",
        config.data_dir,
        sample_rate=config.sample_rate,
        seed=config.seed,
        held_out_speaker=config.held_out_speaker,
        digit_strings=(config.digit_strings, 300, 300),
        skip_checksum=config.skip_checksum,
    )


def make_dataset(utterances, references, alphabet, batch_size: int, seed: int, training: bool):
    """Ragged waveforms and label ids -> padded batches `((waveforms, lengths), labels)`, labels padded
    with 0 (the blank, which `keras.losses.CTC` reads as padding). Characters outside the alphabet are
    left out of the targets (the references keep them, so the scores count them as errors)."""
    ids = {char: i + 1 for i, char in enumerate(alphabet)}
    labels = [[ids[char] for char in text if char in ids] for text in references]
    lengths = [len(waveform) for waveform in utterances.waveforms]
    waveforms = tf.RaggedTensor.from_row_lengths(np.concatenate(utterances.waveforms), lengths)
    dataset = tf.data.Dataset.from_tensor_slices((waveforms, tf.ragged.constant(labels, dtype=tf.int32)))
    if training:
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.ragged_batch(batch_size).map(
        lambda waves, labels: (
            (waves.to_tensor(), tf.cast(waves.row_lengths(), tf.int32)),
            labels.to_tensor(0),
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def load_data(config: Config) -> SpeechData:
    splits = load_splits(config)
    if config.max_train_samples:
        train = splits.train
        splits = splits._replace(train=train._replace(**{
            field: getattr(train, field)[: config.max_train_samples]
            for field in ("ids", "waveforms", "transcripts", "speakers")
        }))  # fmt: skip
    print(splits.source + "\n" + zoo.data.speech_summary(splits))
    lengths = [len(waveform) for waveform in splits.test.waveforms]
    if config.export and max(lengths, default=0) > config.max_samples:
        longest = int(np.argmax(lengths))
        raise zoo.errors.ZooError(
            f"the longest test clip lasts {lengths[longest] / config.sample_rate:.2f} s "
            f"({splits.test.ids[longest]}), longer than model.tflite would take (--max-seconds "
            f"{config.max_seconds:g}): raise --max-seconds or pass --no-export"
        )
    references = {
        name: [zoo.data.normalize_transcript(text, config.normalize) for text in utterances.transcripts]
        for name, utterances in splits._asdict().items()
        if isinstance(utterances, zoo.data.Utterances)
    }
    alphabet = sorted({char for text in references["train"] for char in text})
    for name in ("validation", "test"):  # left out of the targets, and errors in the scores
        for unseen in zoo.data.characters_outside(getattr(splits, name).ids, references[name], alphabet):
            print(f"warning: {name} holds a character the training transcripts lack: {unseen}")
    datasets = {
        name: make_dataset(
            getattr(splits, name), references[name], alphabet, config.batch_size, config.seed, name == "train"
        )
        for name in ("train", "validation", "test")
    }
    return SpeechData(**datasets, alphabet=alphabet, references=references, splits=splits)


# ## Model


def build_model(config: Config, alphabet: list[str]) -> keras.Model:
    """(waveforms, lengths) -> per-frame logits over the blank and the alphabet, compiled with CTC."""
    waveforms = keras.Input((None,), dtype="float32", name="waveforms")
    lengths = keras.Input((), dtype="int32", name="lengths")
    x = zoo.layers.LogMelSpectrogram(config.sample_rate, num_mel_bins=config.num_mel_bins, name="log_mel")(
        [waveforms, lengths]
    )
    if config.spec_augment:
        width = max(1, config.num_mel_bins // 8)
        x = zoo.layers.SpecAugment(2, width, 2, 10, time_mask_fraction=0.1, seed=config.seed)(x)
    x = zoo.layers.ConvSubsampling(config.conv_filters, kernel_size=5, strides=2, num_layers=2)(x)
    cell = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[config.cell]
    for _ in range(config.rnn_layers):
        x = keras.layers.Bidirectional(cell(config.units, return_sequences=True))(x)
        x = keras.layers.Dropout(config.dropout)(x)
    logits = zoo.layers.CTCLogits(len(alphabet) + 1, name="ctc_logits")(x)
    model = keras.Model([waveforms, lengths], logits, name=f"speech_ctc_{config.cell}")
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0), loss=keras.losses.CTC()
    )
    return model


# ## Export


def export(model, data: SpeechData, config: Config, run: zoo.train.Run, reproduces) -> dict[str, float]:
    """saved_model/1/ takes `waveform` (batch, samples) and `length` (batch,), returns each `transcript`;
    model.tflite takes one clip padded to `--max-seconds` and its `length`, returns per-frame `log_probs`
    (blank first, then alphabet.txt) and the real `frames`, and must transcribe every test clip, one sample
    and the maximum length as the SavedModel does (`zoo.speech.verify_tflite`)."""
    zoo.io.write_text(run.output_dir / "alphabet.txt", "\n".join(data.alphabet) + "\n")
    (waves, lengths), _ = next(iter(data.test))
    waves, lengths = waves.numpy(), lengths.numpy()
    test, samples = data.splits.test, config.max_samples
    audio = np.concatenate(test.waveforms)
    edges = {"one sample": audio[:1], "no samples": audio[:0], "maximum length": np.resize(audio, samples)}
    clips = {f"test {name}": waveform for name, waveform in zip(test.ids, test.waveforms)} | edges
    waveform = tf.TensorSpec([None, None], tf.float32, name="waveform")
    return zoo.export.export_and_verify(
        run.output_dir,
        serving_model=zoo.speech.transcriber(model, data.alphabet),
        serving_signature=[waveform, tf.TensorSpec([None], tf.int32, name="length")],
        raw_inputs=[waves, lengths],
        edge_inputs={
            "batch_of_one": [waves[:1], lengths[:1]],
            "one_sample": [waves[:1, :1], [1]],
            "no_samples": [waves[:2], [0, 0]],
            "empty_batch": [np.zeros((0, 8), "float32"), np.zeros(0, "int32")],
            "maximum_length": [edges["maximum length"][None], [samples]],
        },
        tflite_model=zoo.speech.device_model(model, samples),
        tflite_signature=[
            tf.TensorSpec([1, samples], tf.float32, name="waveform"),
            tf.TensorSpec([1], tf.int32, name="length"),
        ],
        tflite_inputs=zoo.speech.tflite_batch([w[:n] for w, n in zip(waves[:4], lengths)], samples),
        tflite_edge_inputs={name: zoo.speech.tflite_batch([edges[name]], samples) for name in edges},
        quantize=config.quantize,
        tflite_representative=zoo.speech.tflite_batch(data.splits.train.waveforms[:32], samples),
        tolerance=zoo.speech.LOG_PROB_TOLERANCE,  # the TFLite's log-probabilities; transcripts are exact
        output_name="transcript",
        manifest={
            "sample_rate": config.sample_rate,
            "alphabet": "alphabet.txt",
            "blank_id": 0,
            "max_samples": samples,
            "decoder": "greedy",
            "reproduces": reproduces,
        },
        verify_exports=lambda folder: zoo.speech.verify_tflite(
            folder / "model.tflite", folder / "saved_model", model, clips, data.alphabet
        ),
    )


def answer(export: zoo.predict.Export, paths: list[str], options) -> list[dict]:
    """`predict`: each WAV file's greedy transcript from the SavedModel, of any length, read at the model's
    sample rate (`zoo.data.read_wav` resamples); a file that is not a readable WAV is refused by name."""
    clips = [zoo.data.read_wav(path, export.manifest["sample_rate"]) for path in paths]
    texts = export.call("serve", *zoo.speech.padded_batch(clips))
    return [{"path": path, "transcript": text.decode("utf-8")} for path, text in zip(paths, texts)]


def main(argv: list[str] | None = None) -> dict[str, float] | list[dict]:
    if zoo.predict.asked(argv):
        return zoo.predict.main("speech_ctc", answer, argv)
    config = zoo.cli.parse(Config, argv, prog="python -m recipes.speech_ctc")
    run = zoo.train.Run(config, recipe="speech_ctc")
    data = load_data(config)
    with run.strategy.scope():
        model = build_model(config, data.alphabet)
    greedy = zoo.speech.transcriber(model, data.alphabet)
    scores = zoo.metrics.TranscriptionCallback(
        data.validation.map(lambda inputs, labels: inputs),
        zoo.speech.compiled(greedy),
        data.references["validation"],
        examples=config.examples,
    )
    run.fit(model, data.train, data.validation, monitor="val_cer", mode="min", extra_callbacks=[scores])
    metrics, hypotheses = {}, {}
    beam = zoo.speech.transcriber(model, data.alphabet, config.beam_width)
    for name, decoder in (("", greedy), ("beam_", beam)):
        hypotheses[name] = zoo.speech.transcribe_all(decoder, data.test)
        rates = zoo.metrics.error_rates(data.references["test"], hypotheses[name])
        metrics |= {f"test_{name}{key}": value for key, value in rates.items()}
    print("\nTest transcripts (greedy):")
    for reference, hypothesis in list(zip(data.references["test"], hypotheses[""]))[:5]:
        print(f"  {reference!r} -> {hypothesis!r}")
    if data.splits.unseen_speaker_test is not None:
        unseen = make_dataset(
            data.splits.unseen_speaker_test, data.references["unseen_speaker_test"], data.alphabet,
            config.batch_size, config.seed, False,
        )  # fmt: skip
        rates = zoo.metrics.error_rates(
            data.references["unseen_speaker_test"], zoo.speech.transcribe_all(greedy, unseen)
        )
        metrics |= {f"unseen_speaker_test_{key}": value for key, value in rates.items()}
    if config.export:
        metrics |= export(model, data, config, run, {key: metrics[key] for key in ("test_cer", "test_wer")})
    return run.finish(metrics)


if __name__ == "__main__":
    sys.exit(zoo.cli.run_main(main))
