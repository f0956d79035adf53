"""Speech data: WAV decoding (every supported width, downmixing, malformed files that must name the file),
resampling (length and pitch kept, no aliasing), FSDD names and its official split, connected digit strings,
LJ Speech's metadata.csv (no quoting, file:line errors, the subset of present clips, the split by id), the
yes/no names, a user's own manifests (clips of any rate, file:line errors, carved splits), and the real
copies in $ZOO_DATA_DIR (counts from their SOURCE.md files)."""

import math
import re
import struct
import wave

import numpy as np
import pytest

from zoo.data import (
    DATASETS,
    DIGIT_WORDS,
    Utterances,
    characters_outside,
    connected_digits,
    ljspeech_split,
    load_speech,
    load_speech_files,
    locate,
    read_fsdd,
    read_ljspeech,
    read_ljspeech_metadata,
    read_speech_manifest,
    read_wav,
    read_yesno,
    resample,
    speech_summary,
)
from zoo.errors import DataFormatError


def write_wav(path, samples, rate=8000, width=2, channels=1):
    """Integer PCM through the standard library: `samples` are the stored integers (unsigned for 8-bit),
    shape (frames,) or (frames, channels)."""
    samples = np.asarray(samples, dtype=np.int64).reshape(-1)
    if width == 3:
        data = b"".join(int(value).to_bytes(3, "little", signed=True) for value in samples)
    else:
        data = samples.astype({1: "u1", 2: "<i2", 4: "<i4"}[width]).tobytes()
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(data)
    return path


def riff(format_tag, bits, data, rate=8000, channels=1, declared=None):
    """A hand-made RIFF/WAVE file; `declared` is the data chunk size the header claims."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", format_tag, channels, rate, rate * block, block, bits)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tone(frequency, rate, seconds=1.0, amplitude=0.5):
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(round(rate * seconds)) / rate)).astype(
        np.float32
    )


def peak_frequency(waveform, rate):
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    return np.fft.rfftfreq(len(waveform), 1 / rate)[np.argmax(spectrum)]


# ## Reading WAV files


@pytest.mark.parametrize(
    "width, stored, expected",
    [
        (1, [0, 64, 128, 192, 255], [-1, -0.5, 0, 0.5, 127 / 128]),  # 8-bit is unsigned, silence at 128
        (2, [-32768, -16384, 0, 16384, 32767], [-1, -0.5, 0, 0.5, 32767 / 32768]),
        (3, [-(2**23), -(2**22), 0, 2**22 + 1, 2**23 - 1], [-1, -0.5, 0, 0.5 + 2**-23, 1 - 2**-23]),
        (4, [-(2**31), -(2**30), 0, 2**30, 2**31 - 1], [-1, -0.5, 0, 0.5, 1 - 2**-31]),
    ],
)
def test_integer_pcm_widths_are_scaled_to_full_scale(tmp_path, width, stored, expected):
    waveform = read_wav(write_wav(tmp_path / "x.wav", stored, width=width))
    assert waveform.dtype == np.float32 and waveform.shape == (5,)
    np.testing.assert_allclose(waveform, np.array(expected, np.float32), rtol=0, atol=1e-7)


def test_channels_are_averaged_to_mono(tmp_path):
    left, right = [16384, -16384, 32767, 0], [0, -16384, -32768, 8192]
    path = write_wav(tmp_path / "stereo.wav", np.stack([left, right], axis=1), channels=2)
    expected = (np.array(left) + np.array(right)) / 2 / 32768
    np.testing.assert_allclose(read_wav(path), expected, atol=1e-7)


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"garbage that is not a wav file" * 4,
            r"not an integer PCM WAV file \(file does not start with RIFF id\)",
        ),
        (b"", "not a WAV file: it ends inside the RIFF header"),
        (riff(1, 16, b"\x01\x00" * 100)[:30], "not a WAV file: it ends inside the RIFF header"),
        (
            riff(1, 16, b"\x01\x00" * 100, declared=2000),
            "truncated: the header promises 1,000 frames, the data chunk holds 100$",
        ),
        (riff(3, 32, np.zeros(10, "<f4").tobytes()), r"not an integer PCM WAV file \(unknown format: 3\)"),
        (riff(1, 16, b""), "empty clip: the data chunk holds no samples"),
    ],
    ids=["garbage", "zero-bytes", "cut-header", "cut-data", "float32", "empty-clip"],
)
def test_malformed_wav_names_the_file(tmp_path, content, message):
    path = tmp_path / "clip.wav"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=message) as error:
        read_wav(path)
    assert error.value.path == str(path) and error.value.line is None
    assert str(error.value).startswith(f"{path}: ")


def test_missing_file_and_bad_rate(tmp_path):
    with pytest.raises(DataFormatError, match="cannot be read") as error:
        read_wav(tmp_path / "absent.wav")
    assert error.value.path == str(tmp_path / "absent.wav")
    path = write_wav(tmp_path / "x.wav", [0, 1, 2])
    for rate in (0, -8000, 16000.0):
        with pytest.raises(ValueError, match="sample_rate must be a positive integer"):
            read_wav(path, rate)


# ## Resampling


@pytest.mark.parametrize(
    "from_rate, to_rate, frames, expected",
    [
        (8000, 16000, 8000, 16000),
        (22050, 16000, 22050, 16000),
        (22050, 16000, 1001, 727),
        (16000, 8000, 99, 50),
    ],
)
def test_resampled_length(tmp_path, from_rate, to_rate, frames, expected):
    stored = np.round(tone(440, from_rate, frames / from_rate) * 32767)
    path = write_wav(tmp_path / "x.wav", stored, rate=from_rate)
    waveform = read_wav(path, to_rate)
    assert waveform.dtype == np.float32 and len(waveform) == expected == math.ceil(
        frames * to_rate / from_rate
    )
    assert len(read_wav(path, from_rate)) == frames  # the same rate is not resampled


@pytest.mark.parametrize(
    "frequency, from_rate, to_rate", [(440, 8000, 16000), (1000, 22050, 16000), (3000, 22050, 8000)]
)
def test_resampled_sine_keeps_its_frequency_and_level(tmp_path, frequency, from_rate, to_rate):
    path = write_wav(tmp_path / "x.wav", np.round(tone(frequency, from_rate) * 32767), rate=from_rate)
    original, resampled = read_wav(path), read_wav(path, to_rate)
    assert abs(peak_frequency(resampled, to_rate) - frequency) <= 1  # 1 s: 1 Hz bins
    middle = slice(to_rate // 10, -to_rate // 10)  # away from the filter's edge effects
    rms = np.sqrt(np.mean(resampled[middle] ** 2))
    assert rms == pytest.approx(np.sqrt(np.mean(original**2)), rel=0.01)


def test_downsampling_filters_what_the_new_rate_cannot_hold():
    # 6 kHz does not fit under 8 kHz's Nyquist (4 kHz): dropping samples would alias it to 2 kHz.
    waveform = resample(tone(6000, 22050), 22050, 8000)
    assert len(waveform) == 8000 and np.sqrt(np.mean(waveform**2)) < 0.01 * 0.5 / np.sqrt(2)


# ## FSDD files and split


def fsdd_folder(root, speakers=("ana", "bob"), digits=(0, 3, 7), indices=range(7), rate=8000):
    folder = root / "recordings"
    folder.mkdir(parents=True)
    for digit in digits:
        for speaker in speakers:
            for index in indices:
                value = 100 * digit + 10 * len(speaker) + index  # a different level per clip
                write_wav(folder / f"{digit}_{speaker}_{index}.wav", [value] * (40 + index), rate=rate)
    return folder


def test_fsdd_names_give_words_and_the_official_split(tmp_path):
    fsdd_folder(tmp_path / "free-spoken-digit-dataset-26eb9aa")
    for path in (
        tmp_path,
        tmp_path / "free-spoken-digit-dataset-26eb9aa",
        next(tmp_path.rglob("recordings")),
    ):
        splits = read_fsdd(path, validation_fraction=0)
        assert len(splits.train.ids) == 2 * 3 * 2 and len(splits.test.ids) == 2 * 3 * 5
        assert splits.validation.ids == [] and splits.unseen_speaker_test is None
    assert all(int(name.split("_")[2]) < 5 for name in splits.test.ids)
    assert all(int(name.split("_")[2]) >= 5 for name in splits.train.ids)
    assert splits.test.ids[:3] == ["0_ana_0", "0_ana_1", "0_ana_2"]  # digit, speaker, then index as numbers
    for data in splits[:3]:
        assert data.transcripts == [DIGIT_WORDS[int(name[0])] for name in data.ids]
        assert data.speakers == [name.split("_")[1] for name in data.ids]
        assert data.sample_rate == 8000
    assert {"zero", "three", "seven"} == set(splits.test.transcripts)
    clip = splits.train.ids.index("7_bob_6")
    np.testing.assert_array_equal(
        splits.train.waveforms[clip], np.full(46, (700 + 30 + 6) / 32768, np.float32)
    )


def test_fsdd_validation_is_stratified_and_seeded(tmp_path):
    folder = fsdd_folder(tmp_path, indices=range(11))  # 6 train recordings per speaker and digit
    splits = read_fsdd(folder, validation_fraction=0.5, seed=3)
    assert len(splits.train.ids) == len(splits.validation.ids) == 18
    pairs = list(zip(splits.validation.speakers, splits.validation.transcripts))
    assert all(pairs.count(pair) == 3 for pair in set(pairs)) and len(set(pairs)) == 6
    assert not set(splits.train.ids) & set(splits.validation.ids)
    assert read_fsdd(folder, validation_fraction=0.5, seed=3).validation.ids == splits.validation.ids
    assert read_fsdd(folder, validation_fraction=0.5, seed=4).validation.ids != splits.validation.ids
    held = read_fsdd(folder, validation_fraction=0.5, seed=3, held_out_speaker="bob")
    assert set(held.unseen_speaker_test.speakers) == {"bob"} and len(held.unseen_speaker_test.ids) == 33
    assert all(set(data.speakers) == {"ana"} for data in held[:3])
    with pytest.raises(
        ValueError, match=r"held_out_speaker 'theo' is not in FSDD; speakers: \['ana', 'bob'\]"
    ):
        read_fsdd(folder, held_out_speaker="theo")


@pytest.mark.parametrize(
    "name", ["seven_jackson_1.wav", "7_jackson.wav", "7_jackson_1_2.wav", "10_jackson_1.wav"]
)
def test_fsdd_bad_file_name_is_named(tmp_path, name):
    folder = fsdd_folder(tmp_path)
    write_wav(folder / name, [1, 2, 3])
    with pytest.raises(DataFormatError, match="FSDD file names are <digit>_<speaker>_<index>.wav") as error:
        read_fsdd(tmp_path)
    assert error.value.path == str(folder / name)


def test_fsdd_rates_must_agree_unless_resampled(tmp_path):
    folder = fsdd_folder(tmp_path, digits=(1,))
    write_wav(folder / "9_ana_0.wav", [5] * 80, rate=16000)
    with pytest.raises(
        DataFormatError, match="16,000 Hz where 1_ana_0.wav is 8,000 Hz; pass a sample_rate"
    ) as error:
        read_fsdd(folder)
    assert error.value.path == str(folder / "9_ana_0.wav")
    splits = read_fsdd(folder, 16000, validation_fraction=0)
    assert splits.test.sample_rate == 16000
    assert len(splits.test.waveforms[splits.test.ids.index("1_ana_0")]) == 80  # 40 samples at 8 kHz
    assert len(splits.test.waveforms[splits.test.ids.index("9_ana_0")]) == 80
    (tmp_path / "empty" / "recordings").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="no <digit>_<speaker>_<index>.wav recordings"):
        read_fsdd(tmp_path / "empty")


# ## Connected digit strings


def clips(rate=1000):
    """Single-digit clips whose samples are all one level, so each clip is found again inside a string."""
    ids, waveforms, transcripts, speakers = [], [], [], []
    for speaker in ("ana", "bob", "cy"):
        for digit in range(10):
            for index in range(3):
                ids.append(f"{digit}_{speaker}_{index}")
                waveforms.append(np.full(20 + 7 * digit + index, 0.01 * (len(ids)), np.float32))
                transcripts.append(DIGIT_WORDS[digit])
                speakers.append(speaker)
    return Utterances(ids, waveforms, transcripts, speakers, rate)


def runs(waveform):
    """(level, start, end) of the non-zero runs of a waveform."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0.0], waveform, [0.0]])))
    return [(float(waveform[start]), start, end) for start, end in zip(edges[::2], edges[1::2])]


def test_connected_digits_join_one_speakers_clips_with_silences():
    source = clips()
    strings = connected_digits(source, 200, seed=5, min_digits=2, max_digits=7, silence=(0.05, 0.3))
    assert len(strings.ids) == 200 and strings.sample_rate == 1000
    level = {float(w[0]): i for i, w in enumerate(source.waveforms)}
    lengths = []
    for name, waveform, transcript, speaker in zip(*strings[:4]):
        parts = name.split("+")
        lengths.append(len(parts))
        assert 2 <= len(parts) <= 7 and len(set(parts)) == len(parts)  # different clips of the speaker
        assert {part.split("_")[1] for part in parts} == {speaker}
        assert transcript == " ".join(DIGIT_WORDS[int(part[0])] for part in parts)
        found = runs(waveform)
        assert [source.ids[level[value]] for value, _, _ in found] == parts  # the clips, in order
        assert all(end - start == len(source.waveforms[level[value]]) for value, start, end in found)
        gaps = (
            [found[0][1]] + [b[1] - a[2] for a, b in zip(found, found[1:])] + [len(waveform) - found[-1][2]]
        )
        assert all(50 <= gap <= 300 for gap in gaps)  # before, between and after, 0.05-0.3 s at 1 kHz
    assert set(lengths) == set(range(2, 8))
    assert len(set(strings.speakers)) == 3


def test_connected_digits_are_deterministic_by_seed():
    first, again, other = (connected_digits(clips(), 50, seed) for seed in (1, 1, 2))
    assert first.ids == again.ids and first.transcripts == again.transcripts
    assert all(np.array_equal(a, b) for a, b in zip(first.waveforms, again.waveforms))
    assert first.ids != other.ids


def test_connected_digits_arguments_are_checked():
    source = clips()
    for kwargs, message in [
        ({"min_digits": 0}, "need 1 <= min_digits <= max_digits"),
        ({"min_digits": 5, "max_digits": 4}, "need 1 <= min_digits <= max_digits"),
        ({"silence": (0.3, 0.1)}, "silence must be"),
    ]:
        with pytest.raises(ValueError, match=message):
            connected_digits(source, 5, 0, **kwargs)
    with pytest.raises(ValueError, match="count must be at least 0"):
        connected_digits(source, -1, 0)
    strings = connected_digits(source, 3, 0)
    with pytest.raises(ValueError, match="joins single-word clips"):
        connected_digits(strings, 3, 0)
    with pytest.raises(ValueError, match="needs clips to join"):
        connected_digits(source._replace(ids=[], waveforms=[], transcripts=[], speakers=[]), 3, 0)
    # A speaker with fewer clips than the string is long repeats clips rather than failing.
    one = source._replace(
        **{name: getattr(source, name)[:2] for name in ("ids", "waveforms", "transcripts", "speakers")}
    )
    assert all(
        len(name.split("+")) == 4 for name in connected_digits(one, 5, 0, min_digits=4, max_digits=4).ids
    )


# ## LJ Speech metadata and subsets

METADATA = (
    "LJ001-0001|Printing, in the only sense|Printing, in the only sense\n"
    'LJ001-0002|"Quoted," he said|"Quoted," he said\n'  # csv's default quoting would merge two fields
    "LJ001-0003|in 1455,|in fourteen fifty-five,\r\n"
    "LJ001-0004|absent clip|absent clip\n"
    "\n"
)


def ljspeech_folder(root, metadata=METADATA, clips=("LJ001-0001", "LJ001-0002", "LJ001-0003")):
    folder = root / "LJSpeech-1.1"
    (folder / "wavs").mkdir(parents=True)
    (folder / "metadata.csv").write_text(metadata, encoding="utf-8")
    for number, clip in enumerate(clips, start=1):
        write_wav(folder / "wavs" / f"{clip}.wav", [1000 * number] * 2205, rate=22050)
    return folder


def test_ljspeech_metadata_has_no_quoting(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_bytes(METADATA.encode("utf-8"))
    assert read_ljspeech_metadata(path) == [
        ("LJ001-0001", "Printing, in the only sense"),
        ("LJ001-0002", '"Quoted," he said'),
        ("LJ001-0003", "in fourteen fifty-five,"),
        ("LJ001-0004", "absent clip"),
    ]


@pytest.mark.parametrize(
    "metadata, line, message",
    [
        (
            METADATA.replace("he said|", "he|said|", 1),
            2,
            r"expected 3 \|-separated fields \(id\|transcription\|normalized transcription\), got 4$",
        ),
        ("LJ001-0001|a|a\nLJ001-0002|only two\n", 2, "got 2$"),
        ("\nLJ001-0001\n", 2, "got 1$"),
        ("LJ001-0001|a|a\nLJ001-0001|b|b\n", 2, "clip id LJ001-0001 is already on line 1"),
        ("LJ001-0001|a|  \n", 1, "empty normalized transcription for LJ001-0001"),
        ("../etc/passwd|a|a\n", 1, "clip id '../etc/passwd' is not a file stem"),
        (b"LJ001-0001|a|a\nLJ001-0002|caf\xe9|caf\xe9\n", 2, "not UTF-8: byte 0xe9"),
        ("\n \n", None, "no rows$"),
    ],
)
def test_malformed_metadata_names_the_file_and_the_line(tmp_path, metadata, line, message):
    path = tmp_path / "metadata.csv"
    path.write_bytes(metadata if isinstance(metadata, bytes) else metadata.encode("utf-8"))
    with pytest.raises(DataFormatError, match=message) as error:
        read_ljspeech_metadata(path)
    assert error.value.path == str(path) and error.value.line == line
    assert str(error.value).startswith(f"{path}:{line}: " if line else f"{path}: ")


def test_ljspeech_reads_present_clips_and_reports_the_skipped_rows(tmp_path):
    folder = ljspeech_folder(tmp_path)
    write_wav(folder / "wavs" / "LJ009-0009.wav", [1] * 100, rate=22050)  # a wav without a row
    splits = read_ljspeech(tmp_path, validation_fraction=0)
    assert "3 clips" in splits.source and "1 of 4 metadata rows skipped (no wavs/<id>.wav)" in splits.source
    assert "1 wavs not in metadata.csv ignored" in splits.source
    everything = {name: text for data in splits[:3] for name, text in zip(data.ids, data.transcripts)}
    assert everything == {
        "LJ001-0001": "Printing, in the only sense",
        "LJ001-0002": '"Quoted," he said',
        "LJ001-0003": "in fourteen fifty-five,",
    }
    for name, data in zip(("train", "validation", "test"), splits[:3]):
        assert all(ljspeech_split(clip, 0) == name for clip in data.ids)
        assert data.sample_rate == 22050 and set(data.speakers) <= {"LJ"}
    resampled = read_ljspeech(folder / "metadata.csv", 16000)
    assert all(len(w) == 1600 for data in resampled[:3] for w in data.waveforms)  # 0.1 s at 16 kHz
    with pytest.raises(ValueError, match="validation_fraction must be in"):
        read_ljspeech(folder, validation_fraction=0.9)


def test_ljspeech_without_any_clip_fails(tmp_path):
    folder = ljspeech_folder(tmp_path, clips=())
    with pytest.raises(DataFormatError, match="none of its 4 rows has its wav in") as error:
        read_ljspeech(folder)
    assert error.value.path == str(folder / "metadata.csv")
    with pytest.raises(DataFormatError, match="no LJ Speech metadata.csv under this folder"):
        read_ljspeech(tmp_path / "LJSpeech-1.1" / "wavs")


def test_ljspeech_split_depends_on_the_id_only():
    ids = [f"LJ{chapter:03d}-{number:04d}" for chapter in range(1, 4) for number in range(1, 401)]
    splits = [ljspeech_split(clip) for clip in ids]
    assert [ljspeech_split(clip) for clip in reversed(ids)] == splits[::-1]
    shares = {name: splits.count(name) / len(ids) for name in ("train", "validation", "test")}
    assert shares["train"] == pytest.approx(0.8, abs=0.04) and shares["test"] == pytest.approx(0.1, abs=0.03)
    wider = [ljspeech_split(clip, 0.3) for clip in ids]
    assert [a == "test" for a in splits] == [b == "test" for b in wider]  # test never moves
    assert all(b == "validation" for a, b in zip(splits, wider) if a == "validation")


# ## yes/no names


def test_yesno_names_are_the_transcripts_and_bad_names_fail(tmp_path):
    folder = tmp_path / "waves_yesno"
    folder.mkdir()
    names = ["0_0_0_0_1_1_1_1", "0_1_1_0_0_1_1_0", "1_0_1_0_1_0_1_0", "1_1_1_1_1_1_1_1"]
    for name in names:
        write_wav(folder / f"{name}.wav", [7] * 80)
    (folder / "README").write_text("not a wav")
    splits = read_yesno(tmp_path, validation_fraction=0)
    assert splits.train.ids == names[:2] and splits.test.ids == names[2:]
    assert splits.train.transcripts[1] == "no yes yes no no yes yes no"
    assert splits.test.transcripts[1] == " ".join(["yes"] * 8)
    write_wav(folder / "0_1_0_1.wav", [7] * 80)
    with pytest.raises(DataFormatError, match="yes/no file names are 8 words") as error:
        read_yesno(folder)
    assert error.value.path == str(folder / "0_1_0_1.wav")


def test_load_speech_refuses_unknown_names_and_options(tmp_path):
    with pytest.raises(ValueError, match="unknown speech dataset 'timit'; choose one of fsdd, fsdd-digits"):
        load_speech("timit", tmp_path)
    with pytest.raises(ValueError, match="held_out_speaker needs a dataset with several speakers"):
        load_speech("ljspeech", tmp_path, held_out_speaker="LJ")
    with pytest.raises(ValueError, match="digit_strings must be 3 counts"):
        load_speech("fsdd-digits", tmp_path, digit_strings=(10, 10))


# ## The real datasets ($ZOO_DATA_DIR/{fsdd,ljspeech,yesno})


def fsdd_index(clip_id):
    digit, speaker, index = clip_id.split("_")
    return int(digit), speaker, int(index)


def test_fsdd_official_split(shared_data):
    splits = read_fsdd(shared_data("fsdd"), validation_fraction=0)
    assert (len(splits.train.ids), len(splits.test.ids)) == (2700, 300)
    assert splits.train.sample_rate == 8000
    for data, indices in ((splits.train, range(5, 50)), (splits.test, range(5))):
        assert all(fsdd_index(clip)[2] in indices for clip in data.ids)
        assert data.transcripts == [DIGIT_WORDS[fsdd_index(clip)[0]] for clip in data.ids]
    assert set(splits.test.speakers) == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}
    assert splits.test.transcripts[splits.test.ids.index("7_jackson_3")] == "seven"
    seconds = [len(w) / 8000 for w in splits.train.waveforms + splits.test.waveforms]
    assert sum(seconds) / 3600 == pytest.approx(0.36, abs=0.01)  # SOURCE.md: 0.36 h in total
    assert all(np.abs(w).max() <= 1 and w.dtype == np.float32 for w in splits.test.waveforms)
    held = read_fsdd(shared_data("fsdd"), seed=0)
    assert (len(held.train.ids), len(held.validation.ids), len(held.test.ids)) == (2430, 270, 300)
    assert sorted(held.train.ids + held.validation.ids) == sorted(splits.train.ids)
    summary = speech_summary(held).splitlines()
    assert len(summary) == 3 and re.fullmatch(
        r" +train:  2,430 utterances,  0\.\d{3} h,   2,430 words, 6 speakers", summary[0]
    )


def test_fsdd_digit_strings_with_a_held_out_speaker(shared_data):
    official = read_fsdd(shared_data("fsdd"), validation_fraction=0)
    test_clips, train_clips = set(official.test.ids), set(official.train.ids)
    clips = load_speech("fsdd", held_out_speaker="theo", sample_rate=8000)  # found through $ZOO_DATA_DIR
    strings = load_speech(
        "fsdd-digits", held_out_speaker="theo", sample_rate=8000, digit_strings=(300, 60, 60)
    )
    assert str(locate("fsdd")) in strings.source and "speaker theo held out" in strings.source
    assert [len(data.ids) for data in strings[:3]] + [len(strings.unseen_speaker_test.ids)] == [
        300,
        60,
        60,
        60,
    ]
    used = {}
    for name in ("train", "validation", "test", "unseen_speaker_test"):
        data = getattr(strings, name)
        used[name] = {part for string in data.ids for part in string.split("+")}
        for string, speaker, transcript in zip(data.ids, data.speakers, data.transcripts):
            parts = string.split("+")
            assert {fsdd_index(part)[1] for part in parts} == {speaker}  # one speaker per string
            assert transcript == " ".join(DIGIT_WORDS[fsdd_index(part)[0]] for part in parts)
    assert used["test"] <= test_clips and used["train"] | used["validation"] <= train_clips
    assert used["train"] <= set(clips.train.ids) and used["validation"] <= set(clips.validation.ids)
    assert all("theo" not in clip for name in ("train", "validation", "test") for clip in used[name])
    assert {fsdd_index(clip)[1] for clip in used["unseen_speaker_test"]} == {"theo"}
    assert set(clips.unseen_speaker_test.speakers) == {"theo"} and len(clips.unseen_speaker_test.ids) == 500
    again = load_speech("fsdd-digits", held_out_speaker="theo", sample_rate=8000, digit_strings=(300, 60, 60))
    assert again.train.ids == strings.train.ids and again.test.ids == strings.test.ids
    assert all(np.array_equal(a, b) for a, b in zip(again.test.waveforms, strings.test.waveforms))
    other = load_speech("fsdd-digits", seed=1, sample_rate=8000, digit_strings=(300, 60, 60))
    assert other.test.ids != strings.test.ids and other.unseen_speaker_test is None


def test_ljspeech_subset_is_filtered_and_split_by_id(shared_data):
    folder = shared_data("ljspeech") / "LJSpeech-1.1"
    rows = read_ljspeech_metadata(folder / "metadata.csv")
    assert len(rows) == 13_100
    full = [ljspeech_split(clip) for clip, _ in rows]
    assert [full.count(name) for name in ("train", "validation", "test")] == [10_486, 1_287, 1_327]
    splits = read_ljspeech(shared_data("ljspeech"))
    assert "385 clips" in splits.source and "12,715 of 13,100 metadata rows skipped" in splits.source
    assert [len(data.ids) for data in splits[:3]] == [310, 28, 47]
    present = {clip for data in splits[:3] for clip in data.ids}
    assert len(present) == 385 and "LJ002-0115" not in present and {"LJ001-0186", "LJ002-0200"} <= present
    for name, data in zip(("train", "validation", "test"), splits[:3]):
        assert data.ids == sorted(data.ids) and all(ljspeech_split(clip) == name for clip in data.ids)
    text = dict(rows)
    assert all(data.transcripts == [text[clip] for clip in data.ids] for data in splits[:3])
    assert text["LJ001-0007"].endswith('"forty-two line Bible" of about fourteen fifty-five,')
    seconds = [len(w) / 22050 for data in splits[:3] for w in data.waveforms]
    assert splits.test.sample_rate == 22050 and 1.5 < min(seconds) and max(seconds) < 10.1  # SOURCE.md
    assert sum(seconds) / 3600 == pytest.approx(0.694, abs=0.001)
    assert load_speech("ljspeech", sample_rate=None).source == splits.source  # found through $ZOO_DATA_DIR
    for clip, waveform in list(zip(splits.test.ids, splits.test.waveforms))[:10]:
        resampled = read_wav(folder / "wavs" / f"{clip}.wav", 16000)
        assert len(resampled) == math.ceil(len(waveform) * 16000 / 22050)
        # Speech keeps its level, less what lies above 8 kHz (the new Nyquist): a few percent of it.
        ratio = np.sqrt(np.mean(resampled**2) / np.mean(waveform**2))
        assert 0.9 < ratio < 1.01


def test_yesno_labels_and_split(shared_data):
    splits = read_yesno(shared_data("yesno"), sample_rate=None)
    assert [len(data.ids) for data in splits[:3]] == [27, 3, 30]
    names = sorted(path.stem for path in (shared_data("yesno") / "waves_yesno").glob("*.wav"))
    assert len(names) == 60 and splits.test.ids == names[30:]
    assert sorted(splits.train.ids + splits.validation.ids) == names[:30]
    for data in splits[:3]:
        assert data.sample_rate == 8000
        assert all(re.fullmatch(r"(yes|no)( (yes|no)){7}", transcript) for transcript in data.transcripts)
        assert data.transcripts == [
            " ".join(("no", "yes")[int(bit)] for bit in clip.split("_")) for clip in data.ids
        ]
    every = dict(zip(splits.test.ids + splits.train.ids, splits.test.transcripts + splits.train.transcripts))
    every.update(zip(splits.validation.ids, splits.validation.transcripts))
    assert every["0_1_1_0_0_1_1_0"] == "no yes yes no no yes yes no"  # the README's example
    seconds = sum(len(w) for data in splits[:3] for w in data.waveforms) / 8000
    assert seconds == pytest.approx(367.7, abs=0.1)  # SOURCE.md: 367.7 s in total


def test_registry_entries(shared_data):
    source = (shared_data("fsdd") / "SOURCE.md").read_text()
    (fsdd,) = DATASETS["fsdd"].files
    commit = re.search(r"commit\s+`([0-9a-f]{40})`", source)[1]
    assert fsdd.url.endswith(f"/free-spoken-digit-dataset/archive/{commit}.tar.gz") and fsdd.extract
    assert fsdd.file_hash == ""  # GitHub's archive has no published checksum: downloaded unchecked
    assert "CC BY-SA 4.0" in DATASETS["fsdd"].license and "CC BY-SA 4.0" in source
    assert "public domain" in DATASETS["ljspeech"].license
    for name, url in [
        ("ljspeech", "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2"),
        ("yesno", "https://www.openslr.org/resources/1/waves_yesno.tar.gz"),
    ]:
        (remote,) = DATASETS[name].files
        assert remote.url == url and re.fullmatch("[0-9a-f]{64}", remote.file_hash) and remote.extract
        assert locate(name) == shared_data(name)


# ## A user's own WAV files, listed in a manifest


def write_manifest_clips(folder):
    """Four clips in `folder/clips/`: two 0.5 s tones at 8,000 Hz and two at 22,050 Hz."""
    (folder / "clips").mkdir(exist_ok=True)
    for name, frequency, rate in [("a", 440, 8000), ("b", 880, 8000), ("c", 440, 22050), ("d", 660, 22050)]:
        write_wav(folder / "clips" / f"{name}.wav", np.round(tone(frequency, rate, 0.5) * 32767), rate)


def test_manifest_reads_clips_of_any_rate_relative_to_its_folder(tmp_path):
    write_manifest_clips(tmp_path)
    manifest = tmp_path / "train.tsv"
    manifest.write_text(
        "transcript\tspeaker\tpath\n"
        "Turn it ON\tann\tclips/a.wav\n"
        "\n"  # blank lines are skipped, line numbers still count them
        '"Off,  please"\tbob\tclips/c.wav\n'
    )
    clips = read_speech_manifest(manifest, 16000)
    assert clips.ids == [f"{manifest}:2", f"{manifest}:4"] and clips.speakers == ["ann", "bob"]
    assert clips.transcripts == ["Turn it ON", '"Off,  please"']  # a TSV quotes nothing
    assert [len(w) for w in clips.waveforms] == [8000, 8000] and clips.sample_rate == 16000
    assert peak_frequency(clips.waveforms[1], 16000) == pytest.approx(440, abs=3)  # 22,050 -> 16,000
    csv_manifest = tmp_path / "list.csv"
    csv_manifest.write_text('wav,text\nclips/b.wav,"off, please"\nclips/d.wav,on\n')
    clips = read_speech_manifest(csv_manifest, 8000, audio_column="wav", transcript_column="text")
    assert clips.transcripts == ["off, please", "on"] and clips.speakers == ["", ""]
    assert [len(w) for w in clips.waveforms] == [4000, 4000]
    with pytest.raises(DataFormatError, match=r"list\.csv: clips at 8,000 and 22,050 Hz"):
        read_speech_manifest(csv_manifest, audio_column="wav", transcript_column="text")


@pytest.mark.parametrize(
    "rows, line, problem",
    [
        ("clips/a.wav,one\nclips/gone.wav,two\n", 3, r"clips/gone\.wav: no such audio file"),
        ("clips/a.wav,one\nclips/notes.wav,two\n", 3, r"clips/notes\.wav: not an integer PCM WAV file"),
        ("clips/cut.wav,one\n", 2, r"clips/cut\.wav: truncated: the header promises"),
        ("clips/a.wav,one\nclips/b.wav,  \n", 3, r"empty 'transcript' for clips/b\.wav"),
        ("clips/a.wav,one\n,two\n", 3, r"empty 'path': no audio file named"),
        ("clips/a.wav,one,two\n", 2, r"3 fields where the header has 2; a value holding a comma must"),
        ('clips/a.wav,"one\nclips/b.wav",two\n', 2, r"a value spans lines 2-3: a double quote left open"),
        ('clips/a.wav,"one\nclips/b.wav,two\n', 2, "a quote opened in this row is never closed"),
    ],
)
def test_a_malformed_manifest_names_its_file_and_line(tmp_path, rows, line, problem):
    write_manifest_clips(tmp_path)
    (tmp_path / "clips" / "notes.wav").write_text("not audio")
    (tmp_path / "clips" / "cut.wav").write_bytes((tmp_path / "clips" / "a.wav").read_bytes()[:1000])
    manifest = tmp_path / "train.csv"
    manifest.write_text("path,transcript\n" + rows)
    with pytest.raises(DataFormatError, match=rf"^{re.escape(str(manifest))}:{line}: {problem}"):
        read_speech_manifest(manifest, 8000)


def test_a_manifest_without_the_columns_lists_those_it_has(tmp_path):
    manifest = tmp_path / "train.csv"
    manifest.write_text("file,sentence\nclips/a.wav,one\n")
    with pytest.raises(
        DataFormatError, match=r"csv:1: .*has no 'path' or 'transcript' column; its columns: file, sentence"
    ):
        read_speech_manifest(manifest, 8000)
    manifest.write_text("path,transcript\n\n")
    with pytest.raises(DataFormatError, match=r"train\.csv: no rows"):
        read_speech_manifest(manifest, 8000)


def test_speech_files_carve_the_missing_splits_and_read_the_given_ones(tmp_path):
    write_manifest_clips(tmp_path)
    names = "abcd" * 5
    (tmp_path / "train.csv").write_text(
        "path,transcript\n" + "".join(f"clips/{name}.wav,clip {i}\n" for i, name in enumerate(names))
    )
    (tmp_path / "test.csv").write_text("path,transcript\nclips/d.wav,held out\n")
    splits = load_speech_files(
        tmp_path / "train.csv", test_file=tmp_path / "test.csv", validation_fraction=0.2, sample_rate=8000
    )
    assert splits.test.transcripts == ["held out"] and len(splits.validation.ids) == 4
    assert sorted(splits.train.transcripts + splits.validation.transcripts) == sorted(
        f"clip {i}" for i in range(20)
    )
    assert all(w.dtype == np.float32 and len(w) == 4000 for w in splits.train.waveforms)
    assert "validation 20% of it by seed 0" in splits.source and str(tmp_path / "test.csv") in splits.source
    again = load_speech_files(tmp_path / "train.csv", validation_fraction=0.2, seed=1, sample_rate=8000)
    assert again.validation.ids != splits.validation.ids  # another seed, another draw


def test_characters_outside_the_alphabet_are_named_with_their_first_row():
    ids = ["test.csv:2", "test.csv:3", "test.csv:4"]
    found = characters_outside(ids, ["café", "cafe", "été ü"], list("acef "))
    assert found == ["'é' (3 times, first at test.csv:2)", "'t' (1 time, first at test.csv:4)",
                     "'ü' (1 time, first at test.csv:4)"]  # fmt: skip
    assert characters_outside(ids, ["a", "", "ce"], list("acef ")) == []
