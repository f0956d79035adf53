"""zoo.metrics.speech: CER and WER against jiwer on corrupted LJ Speech transcripts and on hand-computed
cases, and TranscriptionCallback's values in the epoch's logs and fit's history."""

import jiwer
import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.data
from zoo.layers import CTCTranscriber
from zoo.metrics import TranscriptionCallback, error_rates

# ---------------------------------------------------------------------------------------------------------
# Parity with jiwer


def corrupt(text: str, rng: np.random.Generator, vocabulary: list[str]) -> str:
    """A recogniser's mistakes: words and letters swapped, dropped and added; extra spaces."""
    words = []
    for word in text.split():
        roll = rng.random()
        if roll < 0.06:  # deleted word
            continue
        if roll < 0.12:  # substituted word
            word = str(rng.choice(vocabulary))
        words.append(word)
        if rng.random() < 0.05:  # inserted word
            words.append(str(rng.choice(vocabulary)))
    chars = []
    letters = "abcdefghijklmnopqrstuvwxyz '"
    for char in " ".join(words):
        roll = rng.random()
        if roll < 0.02:  # deleted character
            continue
        chars.append(str(rng.choice(list(letters))) if roll < 0.04 else char)  # substituted character
        if rng.random() < 0.015:  # inserted character
            chars.append(str(rng.choice(list(letters))))
        if chars[-1] == " " and rng.random() < 0.05:  # a doubled space
            chars.append(" ")
    hypothesis = "".join(chars)
    if rng.random() < 0.1:  # spaces around the transcript
        hypothesis = " " * int(rng.integers(1, 3)) + hypothesis + " " * int(rng.integers(0, 3))
    return hypothesis


@pytest.fixture
def ljspeech_transcripts(shared_data):
    rows = zoo.data.read_ljspeech_metadata(shared_data("ljspeech") / "LJSpeech-1.1" / "metadata.csv")
    assert len(rows) == 13100  # the complete official metadata (SOURCE.md)
    picked = np.random.default_rng(0).choice(len(rows), size=200, replace=False)
    return [rows[index][1] for index in sorted(picked)]


def test_corrupted_ljspeech_transcripts_match_jiwer(ljspeech_transcripts):
    references = ljspeech_transcripts
    rng = np.random.default_rng(1)
    vocabulary = sorted({word.lower() for text in references for word in text.split()})
    hypotheses = [corrupt(text.lower(), rng, vocabulary) for text in references]
    hypotheses[3], hypotheses[50], hypotheses[120] = (
        "",
        "   ",
        references[120],
    )  # empty ones and a perfect one
    rates = error_rates(references, hypotheses)
    assert rates["cer"] == pytest.approx(jiwer.cer(references, hypotheses), abs=1e-9)
    assert rates["wer"] == pytest.approx(jiwer.wer(references, hypotheses), abs=1e-9)
    # A recogniser that is partly right (the hypotheses are also lowercased: "Printing" is a substitution),
    # so the rates are far from 0 and 1 and their parity means something.
    assert 0.05 < rates["cer"] < 0.35 and 0.15 < rates["wer"] < 0.65
    # And utterance by utterance, where a mistake cannot hide in the corpus sums.
    for reference, hypothesis in zip(references[:40], hypotheses[:40]):
        single = error_rates([reference], [hypothesis])
        assert single["cer"] == pytest.approx(jiwer.cer(reference, hypothesis), abs=1e-9), hypothesis
        assert single["wer"] == pytest.approx(jiwer.wer(reference, hypothesis), abs=1e-9), hypothesis


@pytest.mark.parametrize(
    "references, hypotheses, cer, wer",
    [
        (["three one four"], ["three one for"], 1 / 14, 1 / 3),
        (["kitten"], ["sitting"], 3 / 6, 1.0),
        (["a"], ["a b c"], 4.0, 2.0),  # insertions: both above 1
        (["one two"], [""], 1.0, 1.0),
        (["one two"], ["one two"], 0.0, 0.0),
        (["  one  two "], ["one two"], 1 / 8, 0.0),  # stripped, but inner spaces are characters
        # Corpus rates are summed edits over summed reference lengths, not a mean of utterance rates.
        (["a b", "c d e f"], ["a", "c d e f"], 2 / 10, 1 / 6),
        (["", "ab"], ["x", "ab"], 1 / 2, 1 / 1),  # an empty reference counts only its insertions
    ],
)
def test_hand_computed_rates(references, hypotheses, cer, wer):
    assert error_rates(references, hypotheses) == pytest.approx({"cer": cer, "wer": wer}, abs=1e-12)
    assert (jiwer.cer(references, hypotheses), jiwer.wer(references, hypotheses)) == pytest.approx((cer, wer))


def test_words_are_split_at_any_whitespace():
    # As documented ("split at whitespace"); jiwer splits at spaces only and would read "one\ttwo" as a word.
    assert error_rates(["one two"], ["one\ttwo"])["wer"] == 0.0


@pytest.mark.parametrize("references", [[""], ["", "   "], []])
def test_references_without_words_are_refused(references):
    with pytest.raises(ValueError, match="hold no tokens"):
        error_rates(references, ["x"] * len(references))


def test_different_numbers_of_references_and_hypotheses_are_refused():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        error_rates(["one", "two"], ["one"])
    with pytest.raises(ValueError, match="1 references but 2 hypotheses"):
        error_rates(["one"], ["one", ""])


# ---------------------------------------------------------------------------------------------------------
# The callback

REFERENCES = ["the cat sat", "on the mat", "a dog", "café au lait", "three"]
HYPOTHESES = ["the cat sat", "on a mat", "", "cafe au lait", "thre"]


def fake_transcribe(batch):
    """Batches of utterance indices -> the hypotheses, as plain strings."""
    return [HYPOTHESES[index] for index in np.asarray(batch).tolist()]


def utterance_indices(batch_size: int = 2) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(np.arange(len(REFERENCES))).batch(batch_size)


def test_callback_writes_error_rates_into_the_logs(capsys):
    callback = TranscriptionCallback(utterance_indices(), fake_transcribe, REFERENCES, examples=2)
    logs = {"loss": 1.5}
    callback.on_epoch_end(0, logs)
    expected = error_rates(REFERENCES, HYPOTHESES)
    assert logs == {"loss": 1.5, "val_cer": expected["cer"], "val_wer": expected["wer"]}
    assert expected["wer"] == pytest.approx(5 / 12)  # the->a, a dog, café, three: 5 of 12 reference words
    assert capsys.readouterr().out.splitlines() == [
        "    'the cat sat' -> 'the cat sat'",
        "    'on the mat' -> 'on a mat'",
    ]
    # Again, with another prefix and nothing printed: the dataset is read anew each epoch.
    quiet = TranscriptionCallback(
        utterance_indices(3), fake_transcribe, REFERENCES, prefix="dev_", examples=0
    )
    logs = {}
    quiet.on_epoch_end(0, logs)
    quiet.on_epoch_end(1, logs)
    assert logs == {"dev_cer": expected["cer"], "dev_wer": expected["wer"]}
    assert capsys.readouterr().out == ""


def test_callback_decodes_bytes():
    def transcribe_bytes(batch):  # what `string_tensor.numpy()` gives: an object array of UTF-8 bytes
        return np.array([text.encode("utf-8") for text in fake_transcribe(batch)], dtype=object)

    callback = TranscriptionCallback(utterance_indices(), transcribe_bytes, REFERENCES)
    assert callback.transcripts() == HYPOTHESES
    logs = {}
    callback.on_epoch_end(0, logs)
    assert logs["val_cer"] == error_rates(REFERENCES, HYPOTHESES)["cer"]


def test_callback_reads_a_string_tensor_from_a_ctc_transcriber():
    decoder = CTCTranscriber(list("ab"))
    logits = np.log(np.eye(3, dtype="float32")[[[1, 0, 2], [2, 2, 0]]] * 0.9 + 0.05)  # "ab", "b"
    callback = TranscriptionCallback([logits], decoder, ["ab", "b"])
    assert callback.transcripts() == ["ab", "b"]


def test_callback_refuses_a_different_number_of_transcripts():
    with pytest.raises(ValueError, match="transcribed 5 utterances for 4 references"):
        TranscriptionCallback(utterance_indices(), fake_transcribe, REFERENCES[:4]).on_epoch_end(0, {})
    with pytest.raises(ValueError, match="transcribed 4 utterances for 5 references"):
        TranscriptionCallback(utterance_indices().take(2), fake_transcribe, REFERENCES).on_epoch_end(0, {})


def test_callback_values_reach_fit_history_and_early_stopping():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback = TranscriptionCallback(utterance_indices(), fake_transcribe, REFERENCES, examples=0)
    stopping = keras.callbacks.EarlyStopping(monitor="val_cer", mode="min", patience=0)
    history = model.fit(
        np.zeros((4, 1)), np.zeros((4, 1)), epochs=3, verbose=0, callbacks=[callback, stopping]
    )
    expected = error_rates(REFERENCES, HYPOTHESES)
    # The same transcripts every epoch: no improvement after the first, so EarlyStopping (which found
    # val_cer in the logs) stops after the second.
    assert history.history["val_cer"] == [expected["cer"]] * 2
    assert history.history["val_wer"] == [expected["wer"]] * 2
    assert stopping.stopped_epoch == 1
