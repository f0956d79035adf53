"""The CTC speech recipe end to end: it learns on synthesised tones and on real yes/no recordings, and its
exports transcribe raw waveforms."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.cli
import zoo.data
import zoo.errors
import zoo.export
import zoo.metrics
import zoo.speech
import zoo.train
from recipes import speech_ctc
from tests.data.test_speech import write_wav


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("speech_ctc")
    return output_dir, speech_ctc.main(["--epochs", "6", "--output-dir", str(output_dir)])


def test_embedded_default_learns(trained):
    _, metrics = trained
    # Chance is a CER near 1 (an empty or random transcript); the tones are easy once learned.
    assert metrics["test_cer"] < 0.25 and metrics["test_beam_cer"] < 0.25
    assert metrics["test_wer"] < 0.6


def test_every_artifact_is_written_and_exports_match(trained):
    output_dir, metrics = trained
    for name in ("model.keras", "saved_model", "model.tflite", "alphabet.txt", "metrics.json", "history.csv"):
        assert (output_dir / name).exists(), name
    assert metrics["savedmodel_max_abs_diff"] == 0.0  # transcripts compared exactly
    assert metrics["tflite_max_abs_diff"] <= 1e-4
    # Every test clip and three edge clips (one sample, none, the maximum length), each alone.
    assert metrics["tflite_clips_checked"] == 103 and metrics["tflite_clips_max_abs_diff"] <= 1e-4
    ops = zoo.export.tflite_ops(output_dir / "model.tflite")
    assert not any("Flex" in op or "CUSTOM" in op for op in ops), ops
    assert "RFFT2D" in ops  # the log-mel features are inside the file


def test_deploy_json_says_what_each_export_takes_and_reproduces(trained):
    output_dir, metrics = trained
    manifest = json.loads((output_dir / "deploy.json").read_text())
    serve = manifest["exports"]["saved_model"]["signatures"]["serving_default"]
    assert serve["inputs"] == {
        "waveform": {"dtype": "float32", "shape": [-1, -1]},
        "length": {"dtype": "int32", "shape": [-1]},
    }
    assert serve["outputs"] == {"transcript": {"dtype": "string", "shape": [-1]}}
    tflite = manifest["exports"]["tflite"]["model.tflite"]
    inputs = {entry["signature_name"]: entry for entry in tflite["inputs"]}
    outputs = {entry["signature_name"]: entry for entry in tflite["outputs"]}
    assert inputs["waveform"]["shape"] == [1, manifest["max_samples"]] == [1, 84000]  # 10.5 s at 8 kHz
    assert inputs["length"]["shape"] == outputs["frames"]["shape"] == [1]
    alphabet = (output_dir / "alphabet.txt").read_text().splitlines()
    assert outputs["log_probs"]["shape"][-1] == len(alphabet) + 1
    assert manifest["alphabet"] == "alphabet.txt" and manifest["blank_id"] == 0
    assert manifest["sample_rate"] == 8000 and manifest["decoder"] == "greedy"
    assert manifest["reproduces"] == {"test_cer": metrics["test_cer"], "test_wer": metrics["test_wer"]}


def test_tflite_transcribes_every_unpadded_test_clip_as_the_saved_model(trained):
    output_dir, _ = trained
    max_samples = json.loads((output_dir / "deploy.json").read_text())["max_samples"]
    alphabet = (output_dir / "alphabet.txt").read_text().splitlines()
    clips = zoo.data.tone_sample(seed=0).test.waveforms  # the fixture's test split
    loaded = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    served = [loaded.serve(clip[None], [len(clip)]).numpy()[0].decode() for clip in clips]
    outputs = zoo.export.run_tflite(output_dir / "model.tflite", zoo.speech.tflite_batch(clips, max_samples))
    device = [zoo.speech.greedy_decode(log_probs, alphabet) for log_probs in outputs["log_probs"]]
    real_frames = [
        zoo.speech.greedy_decode(log_probs[:frames], alphabet)
        for log_probs, frames in zip(outputs["log_probs"], outputs["frames"])
    ]
    longest = int(np.argmax([len(clip) for clip in clips]))
    assert device[longest] == served[longest] and device[longest]
    assert device == served and real_frames == served
    padded_frames = np.arange(outputs["log_probs"].shape[1]) >= outputs["frames"][:, None]
    assert np.all(outputs["log_probs"][padded_frames][:, 0] == 0.0)  # certain blanks


def test_a_clip_longer_than_the_tflite_model_takes_is_refused_naming_its_length(trained):
    output_dir, _ = trained
    max_samples = json.loads((output_dir / "deploy.json").read_text())["max_samples"]
    zoo.speech.tflite_input(np.zeros(max_samples, "float32"), max_samples)  # the longest that fits
    with pytest.raises(ValueError, match=f"a clip of {max_samples + 1:,} samples is longer than"):
        zoo.speech.tflite_input(np.zeros(max_samples + 1, "float32"), max_samples)
    with pytest.raises(zoo.errors.ZooError, match=r"test clip lasts 1\.4\d s.*\(--max-seconds 1\)"):
        speech_ctc.main(["--epochs", "1", "--max-seconds", "1", "--output-dir", str(output_dir / "short")])


def test_saved_model_transcribes_waveforms_in_a_fresh_process(trained, tmp_path):
    output_dir, _ = trained
    strings = zoo.data.tone_digits(4, seed=123)
    lengths = [len(w) for w in strings.waveforms]
    waves = np.zeros((4, max(lengths)), np.float32)
    for row, waveform in enumerate(strings.waveforms):
        waves[row, : len(waveform)] = waveform
    np.save(tmp_path / "waves.npy", waves)
    script = textwrap.dedent(
        f"""
        import json, numpy as np, tensorflow as tf
        model = tf.saved_model.load({str(output_dir / "saved_model" / "1")!r})
        waves = np.load({str(tmp_path / "waves.npy")!r})
        texts = model.serve(tf.constant(waves), tf.constant({lengths!r}, tf.int32)).numpy()
        print(json.dumps([t.decode() for t in texts]))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    texts = json.loads(result.stdout.strip().splitlines()[-1])
    rates = zoo.metrics.error_rates(strings.transcripts, texts)
    assert rates["cer"] < 0.3, (strings.transcripts, texts)


def test_saved_model_refuses_invalid_audio_and_answers_every_valid_shape(trained):
    output_dir, _ = trained
    loaded = tf.saved_model.load(str(output_dir / "saved_model" / "1"))  # kept: its variables die with it
    serve = loaded.serve
    keras_model = keras.saving.load_model(output_dir / "model.keras")
    waves = np.random.default_rng(0).uniform(-0.1, 0.1, (2, 4000)).astype("float32")
    invalid = {
        "lengths must have one entry per waveform": (waves[:1], [4000, 4000]),
        "a length exceeds the samples of its waveform": (waves, [4000, 4001]),
        "lengths must not be negative": (waves, [-1, 4000]),
        "waveforms hold NaN or inf": (
            np.where(np.arange(4000) == 7, np.nan, waves).astype("float32"),
            [10, 10],
        ),
    }
    for message, (waveforms, lengths) in invalid.items():
        inputs = tf.constant(waveforms), tf.constant(lengths, tf.int32)
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            serve(*inputs)
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            keras_model(list(inputs))
    valid = {  # an empty batch, waveforms shorter than a frame, a batch of one
        (0,): (np.zeros((0, 4000), "float32"), np.zeros(0, "int32")),
        (2,): (waves[:, :1], [1, 0]),
        (1,): (waves[:1], [4000]),
    }
    for shape, (waveforms, lengths) in valid.items():
        inputs = tf.constant(waveforms), tf.constant(lengths, tf.int32)
        texts = serve(*inputs).numpy()
        assert texts.shape == shape
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras_model(list(inputs))), texts)
    assert serve(tf.constant(waves[:, :1]), tf.constant([1, 0])).numpy().tolist() == [b"", b""]


def test_predict_transcribes_wav_files_of_any_rate_and_refuses_one_it_cannot_read(trained, tmp_path):
    output_dir, _ = trained
    first, second = zoo.data.tone_sample(seed=0).test.waveforms[:2]
    at_8k = write_wav(tmp_path / "at_8k.wav", np.round(first * 32767))
    at_16k = write_wav(
        tmp_path / "at_16k.wav", np.round(zoo.data.resample(second, 8000, 16000) * 32767), 16000
    )
    answers = speech_ctc.main(["predict", "--output-dir", str(output_dir), str(at_8k), str(at_16k)])
    loaded = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    alone = [zoo.data.read_wav(path, 8000) for path in (at_8k, at_16k)]  # each at the model's rate
    expected = [loaded.serve(clip[None], [len(clip)]).numpy()[0].decode() for clip in alone]
    assert answers == [
        {"path": str(path), "transcript": text} for path, text in zip((at_8k, at_16k), expected)
    ]
    assert all(expected)
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not audio")
    command = [sys.executable, "-m", "recipes.speech_ctc", "predict", "--output-dir", str(output_dir)]
    root = pathlib.Path(speech_ctc.__file__).parents[1]  # this checkout's recipes, not an installed copy
    result = subprocess.run(
        [*command, str(at_8k), str(not_audio)], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{not_audio}: not an integer PCM WAV file" in result.stderr


def test_short_run_on_yes_no_recordings_learns(tmp_path, shared_data):
    shared_data("yesno")
    flags = ["--dataset", "yesno", "--epochs", "10", "--patience", "10", "--batch-size", "8", "--no-export"]
    metrics = speech_ctc.main([*flags, "--output-dir", str(tmp_path)])
    history = zoo.train.read_history(tmp_path / "history.csv")
    assert history[-1]["loss"] < history[0]["loss"] / 3
    assert metrics["test_cer"] < 0.35  # 30 test sequences of 8 words; an empty transcript scores 1.0


def test_transcripts_are_normalised_as_normalize_says():
    text = 'Printing, in the only sense with which we are at "present" concerned, 1st'
    assert zoo.data.normalize_transcript(text) == (
        "printing in the only sense with which we are at present concerned 1st"
    )
    assert zoo.data.normalize_transcript("Don't  STOP!", "cased") == "Don't STOP"
    assert zoo.data.normalize_transcript("A, b.", "lower") == "a, b."
    assert zoo.data.normalize_transcript(" A,\tb. ", "none") == "A, b."
    with pytest.raises(ValueError, match="choose one of letters, cased, lower, none"):
        zoo.data.normalize_transcript("a", "upper")
    assert speech_ctc.Config(normalize="cased").normalize == "cased"
    with pytest.raises(SystemExit):
        speech_ctc.main(["--normalize", "upper"])


def test_unknown_dataset_is_refused():
    with pytest.raises(SystemExit):
        speech_ctc.main(["--dataset", "timit"])


def write_tone_manifests(folder):
    """24 touch-tone strings as WAV files, every other one at 22,050 Hz, listed in `train.csv`, and three
    more in `test.tsv`, whose transcripts hold a character no training transcript has."""
    (folder / "clips").mkdir()
    strings = zoo.data.tone_digits(27, seed=7)
    rows = []
    for index, (waveform, text) in enumerate(zip(strings.waveforms, strings.transcripts)):
        rate = 22050 if index % 2 else 8000
        samples = np.round(zoo.data.resample(waveform, 8000, rate) * 32767)
        write_wav(folder / "clips" / f"{index}.wav", samples, rate)
        rows.append((f"clips/{index}.wav", text.upper() + "!"))
    (folder / "train.csv").write_text("path,transcript\n" + "".join(f"{p},{t}\n" for p, t in rows[:24]))
    test = [(path, text.replace("!", " É!")) for path, text in rows[24:]]
    (folder / "test.tsv").write_text("transcript\tpath\n" + "".join(f"{t}\t{p}\n" for p, t in test))
    return strings


def test_trains_on_a_users_own_wav_files_listed_in_manifests(tmp_path, capsys):
    strings = write_tone_manifests(tmp_path)
    flags = ["--train-file", str(tmp_path / "train.csv"), "--test-file", str(tmp_path / "test.tsv")]
    flags += ["--normalize", "lower", "--validation-fraction", "0.25", "--epochs", "1", "--no-export"]
    flags += ["--units", "16", "--conv-filters", "8", "--rnn-layers", "1", "--beam-width", "2"]
    config = zoo.cli.parse(speech_ctc.Config, flags)
    assert config.dataset == "file"
    data = speech_ctc.load_data(config)
    assert len(data.splits.train.ids) == 18 and len(data.splits.validation.ids) == 6
    assert data.references["test"] == [text + " é!" for text in strings.transcripts[24:]]
    assert "!" in data.alphabet and "é" not in data.alphabet  # the training transcripts' characters
    lengths = [len(waveform) for waveform in strings.waveforms[24:]]  # at 8,000, 22,050, 8,000 Hz
    assert [len(w) for w in data.splits.test.waveforms] == [lengths[0], lengths[1] + 1, lengths[2]]
    warning = capsys.readouterr().out
    first = f"'é' (3 times, first at {tmp_path / 'test.tsv'}:2)"
    assert f"warning: test holds a character the training transcripts lack: {first}" in warning
    metrics = speech_ctc.main([*flags, "--output-dir", str(tmp_path / "run")])
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["test_cer"] == metrics["test_cer"] and 0 < metrics["test_cer"] and metrics["epochs"] == 1
    with pytest.raises(SystemExit):  # FSDD's speakers only
        speech_ctc.main([*flags, "--held-out-speaker", "theo"])
    with pytest.raises(zoo.errors.DataFormatError, match=r"train\.csv:1: .*has no 'wav' column"):
        speech_ctc.main([*flags, "--audio-column", "wav", "--output-dir", str(tmp_path / "other")])
