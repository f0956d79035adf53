"""Speech with transcripts for CTC speech recognition: the Free Spoken Digit Dataset (FSDD), connected digit
strings the zoo builds from it, LJ Speech 1.1, Kaldi's yes/no corpus (OpenSLR SLR1), and a user's own WAV
files listed in a CSV or TSV manifest; and the normalisations a transcript can be given.

Every reader returns waveforms as float32 mono arrays in [-1, 1] at one sample rate (resampled with a
polyphase filter when the file's rate differs) and transcripts as written: FSDD's digit words ("seven"),
LJ Speech's normalized transcription (case and punctuation kept: cleaning belongs to the model), yes/no's
"yes"/"no" words. Utterances are sorted by id, and every split rule depends only on the ids (and a seed),
so the same recording is in the same split on every machine.
"""

from __future__ import annotations

import hashlib
import math
import os
import pathlib
import re
import wave
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.signal
import sklearn.model_selection

from zoo.data.common import DIGIT_WORDS, decode_utf8, read_table, user_splits
from zoo.data.integrity import check_counts
from zoo.data.registry import DATASETS, find_dataset
from zoo.errors import DataFormatError
from zoo.progress import progress


class Utterances(NamedTuple):
    # File stem ("7_jackson_32", "LJ001-0001"); a digit string joins its clips with "+"; a user's clip is
    # the manifest's row ("clips/train.csv:12").
    ids: list[str]
    waveforms: list[np.ndarray]  # float32, mono, in [-1, 1], one 1-D array per utterance
    transcripts: list[str]  # words separated by single spaces
    # FSDD's speaker names; "LJ" for LJ Speech, "yesno" for the yes/no corpus; a manifest's speaker column,
    # "" without one.
    speakers: list[str]
    sample_rate: int  # of every waveform, Hz


class SpeechSplits(NamedTuple):
    train: Utterances
    validation: Utterances
    test: Utterances
    source: str  # where the audio comes from and how it was split, one line for logs and metrics.json
    # Utterances of a speaker kept out of train, validation and test (FSDD's `held_out_speaker`), so a
    # recipe can report the error rate on an unseen voice beside the seen-speaker test split.
    unseen_speaker_test: Utterances | None = None


def _empty(sample_rate: int) -> Utterances:
    return Utterances([], [], [], [], sample_rate)


def _take(utterances: Utterances, indices: Sequence[int]) -> Utterances:
    ids, waveforms, transcripts, speakers, sample_rate = utterances
    return Utterances(
        [ids[i] for i in indices],
        [waveforms[i] for i in indices],
        [transcripts[i] for i in indices],
        [speakers[i] for i in indices],
        sample_rate,
    )


# ## Reading WAV files

# Integer PCM sample widths (bytes) that `read_wav` decodes, and the value that maps to -1.0.
_FULL_SCALE = {1: 2.0**7, 2: 2.0**15, 3: 2.0**23, 4: 2.0**31}


def _check_sample_rate(sample_rate: int | None) -> None:
    if sample_rate is not None and (not isinstance(sample_rate, int) or sample_rate < 1):
        raise ValueError(f"sample_rate must be a positive integer (Hz) or None, got {sample_rate!r}")


def resample(waveform: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """`waveform` at `to_rate` Hz: `scipy.signal.resample_poly` with the exact ratio `to_rate / from_rate`
    in lowest terms (22,050 -> 16,000 Hz is up 320, down 441), whose low-pass filter removes what the new
    rate cannot hold. The result has `ceil(len(waveform) * to_rate / from_rate)` samples and is clipped to
    [-1, 1] (the filter can overshoot by a little at clipped peaks).

    Example:

    >>> import numpy as np
    >>> from zoo.data import resample
    >>> resample(np.zeros(8000, np.float32), 8000, 16000).shape
    (16000,)
    """
    if from_rate == to_rate:
        return waveform
    divisor = math.gcd(from_rate, to_rate)
    resampled = scipy.signal.resample_poly(waveform, to_rate // divisor, from_rate // divisor)
    return np.clip(resampled, -1.0, 1.0).astype(np.float32)


def _decode_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """The samples of a PCM WAV file as float32 mono in [-1, 1], and its sample rate (see `read_wav`)."""
    try:
        with wave.open(os.fspath(path), "rb") as reader:
            channels, width, rate, frames = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
                reader.getnframes(),
            )
            data = reader.readframes(frames)
    except EOFError:
        raise DataFormatError(path, None, "not a WAV file: it ends inside the RIFF header") from None
    except wave.Error as error:
        # "file does not start with RIFF id", "unknown format: 3" (float), "bad sample width", ...
        raise DataFormatError(path, None, f"not an integer PCM WAV file ({error})") from None
    except OSError as error:
        raise DataFormatError(path, None, f"cannot be read ({error.strerror or error})") from None
    if width not in _FULL_SCALE:  # `wave` itself refuses other widths; kept for clarity
        raise DataFormatError(path, None, f"{8 * width}-bit samples; 8, 16, 24 or 32-bit PCM is read")
    if rate < 1:
        raise DataFormatError(path, None, f"sample rate {rate} Hz in the header")
    if frames == 0:
        raise DataFormatError(path, None, "empty clip: the data chunk holds no samples")
    frame_size = channels * width
    if len(data) < frames * frame_size:
        problem = f"truncated: the header promises {frames:,} frames, the data chunk holds "
        raise DataFormatError(path, None, problem + f"{len(data) // frame_size:,}")
    if width == 1:  # 8-bit WAV is unsigned, silence at 128
        values = np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128
    elif width == 3:  # little-endian 24-bit: put each sample in the top 3 bytes of an int32, shift back
        padded = np.zeros((frames * channels, 4), dtype=np.uint8)
        padded[:, 1:] = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        values = (padded.view("<i4")[:, 0] >> 8).astype(np.float32)
    else:
        values = np.frombuffer(data, dtype=f"<i{width}").astype(np.float32)
    waveform = (values / np.float32(_FULL_SCALE[width])).reshape(frames, channels).mean(axis=1)
    return waveform.astype(np.float32), rate


def read_wav(path: str | os.PathLike, sample_rate: int | None = None) -> np.ndarray:
    """Read a PCM WAV file as float32 mono samples in [-1, 1].

    Integer PCM of 8 bits (unsigned), 16, 24 and 32 bits (signed) is read with the standard-library `wave`
    module and divided by full scale (16-bit: by 32,768). Several channels are downmixed to mono by
    averaging them. Floating-point and WAVE_FORMAT_EXTENSIBLE files are refused (convert them first:
    `sox in.wav -b 16 -e signed out.wav` or `ffmpeg -i in.wav -c:a pcm_s16le out.wav`).

    Args:
        path: the `.wav` file.
        sample_rate: the rate to return, in Hz; the file's own rate when None. A file at another rate is
            resampled by `resample` (polyphase filter, exact integer ratio).

    Returns:
        A 1-D float32 array; at `sample_rate`, `ceil(frames * sample_rate / file_rate)` samples long.

    Raises:
        DataFormatError: a file that is not RIFF/WAVE, is not integer PCM, has a header or data chunk cut
            short, or holds no samples. The message starts with the file's path.
        ValueError: a `sample_rate` that is not a positive integer.

    Example:

    >>> from zoo.data import read_wav
    >>> waveform = read_wav("recordings/7_jackson_32.wav", sample_rate=16000)  # doctest: +SKIP
    >>> waveform.dtype, waveform.ndim  # doctest: +SKIP
    (dtype('float32'), 1)
    """
    _check_sample_rate(sample_rate)
    waveform, rate = _decode_wav(path)
    return waveform if sample_rate is None else resample(waveform, rate, sample_rate)


def _read_clips(files: Sequence[pathlib.Path], sample_rate: int | None) -> tuple[list[np.ndarray], int]:
    """Every file's waveform at `sample_rate`, and that rate; with None, the files' own rate, which must
    then be the same for all (the first file that differs is named)."""
    waveforms, rates = [], {}
    for file in progress(files, "reading audio clips", unit="clip"):
        waveform, rate = _decode_wav(file)
        rates.setdefault(rate, file)
        if sample_rate is None and len(rates) > 1:
            first_rate, first_file = next(iter(rates.items()))
            problem = f"{rate:,} Hz where {first_file.name} is {first_rate:,} Hz; pass a sample_rate"
            raise DataFormatError(file, None, problem)
        waveforms.append(waveform if sample_rate is None else resample(waveform, rate, sample_rate))
    return waveforms, sample_rate or next(iter(rates))


# ## Free Spoken Digit Dataset

_FSDD_NAME = re.compile(r"([0-9])_([A-Za-z]+)_([0-9]+)\.wav")
_FSDD_TEST_INDICES = range(5)  # the README's split: recordings 0-4 of every digit and speaker are test


def _recordings_folder(path: pathlib.Path) -> pathlib.Path:
    """The `recordings/` folder: `path` itself, its child, or the first one under it (a GitHub archive
    extracts to `free-spoken-digit-dataset-<commit>/recordings/`)."""
    if path.name == "recordings" and path.is_dir():
        return path
    if (path / "recordings").is_dir():
        return path / "recordings"
    found = sorted(folder for folder in path.rglob("recordings") if folder.is_dir())
    if not found:
        raise DataFormatError(path, None, "no FSDD recordings/ folder under this folder")
    return found[0]


def _split_off(utterances: Utterances, fraction: float, seed: int, stratify: bool) -> tuple[list, list]:
    """Indices kept and held out: about `fraction` of the utterances, drawn by `seed`; with `stratify`,
    every speaker-transcript pair keeps its share (scikit-learn's `train_test_split`)."""
    indices = np.arange(len(utterances.ids))
    if fraction == 0:
        return indices.tolist(), []
    labels = [f"{s}/{t}" for s, t in zip(utterances.speakers, utterances.transcripts)] if stratify else None
    kept, held = sklearn.model_selection.train_test_split(
        indices, test_size=fraction, random_state=seed, stratify=labels
    )
    return np.sort(kept).tolist(), np.sort(held).tolist()


def _check_fraction(validation_fraction: float) -> None:
    if not 0 <= validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")


def read_fsdd(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    *,
    validation_fraction: float = 0.1,
    seed: int = 0,
    held_out_speaker: str | None = None,
) -> SpeechSplits:
    """Read the Free Spoken Digit Dataset: `recordings/<digit>_<speaker>_<index>.wav`, one spoken digit
    per file (6 speakers x 10 digits x 50 recordings in the 2024 repository, 8,000 Hz 16-bit mono).

    The transcript is the digit's English word (`7_jackson_32.wav` -> "seven"), so a character CTC model
    spells it. The test split is the README's: indices 0-4 (300 recordings), the rest (2,700) is train.
    Validation is `validation_fraction` of the train recordings, drawn by `seed` and stratified by speaker
    and digit (270 with the default), so train keeps 2,430.

    Args:
        path: the `recordings/` folder, the repository that holds it, or any parent of one.
        sample_rate: resample to this rate (Hz); None keeps 8,000 Hz (or whatever the files hold).
        validation_fraction: share of the train recordings held out for validation; 0 for none.
        seed: which recordings are held out for validation.
        held_out_speaker: a speaker (such as "theo") whose recordings, train and test indices alike, are
            taken out of every split and returned as `unseen_speaker_test`.

    Returns:
        `SpeechSplits`; each split sorted by id (digit, speaker, index), `speakers` holding the speakers.

    Raises:
        DataFormatError: a `.wav` in `recordings/` whose name is not `<digit>_<speaker>_<index>.wav`, a
            malformed WAV (see `read_wav`), files at different sample rates with `sample_rate=None`, or no
            recording at all.
        ValueError: an unknown `held_out_speaker`, a fraction outside [0, 1), or one too small to hold out a
            recording of every speaker and digit (scikit-learn's stratified split says so).

    Example:

    >>> from zoo.data import read_fsdd
    >>> splits = read_fsdd("free-spoken-digit-dataset/recordings", 16000)  # doctest: +SKIP
    >>> len(splits.train.ids), len(splits.validation.ids), len(splits.test.ids)  # doctest: +SKIP
    (2430, 270, 300)
    >>> splits.test.ids[0], splits.test.transcripts[0]  # doctest: +SKIP
    ('0_george_0', 'zero')
    """
    _check_sample_rate(sample_rate)
    _check_fraction(validation_fraction)
    folder = _recordings_folder(pathlib.Path(path))
    rows = []
    for file in folder.glob("*.wav"):
        match = _FSDD_NAME.fullmatch(file.name)
        if not match:
            raise DataFormatError(file, None, "FSDD file names are <digit>_<speaker>_<index>.wav")
        digit, speaker, index = int(match[1]), match[2], int(match[3])
        rows.append(((digit, speaker, index), file))
    if not rows:
        raise DataFormatError(folder, None, "no <digit>_<speaker>_<index>.wav recordings in this folder")
    rows.sort()
    speakers = sorted({speaker for (_, speaker, _), _ in rows})
    if held_out_speaker is not None and held_out_speaker not in speakers:
        raise ValueError(f"held_out_speaker {held_out_speaker!r} is not in FSDD; speakers: {speakers}")
    waveforms, rate = _read_clips([file for _, file in rows], sample_rate)
    everything = Utterances(
        [file.stem for _, file in rows],
        waveforms,
        [DIGIT_WORDS[digit] for (digit, _, _), _ in rows],
        [speaker for (_, speaker, _), _ in rows],
        rate,
    )
    split = {"train": [], "test": [], "unseen": []}
    for position, ((_, speaker, index), _) in enumerate(rows):
        name = "unseen" if speaker == held_out_speaker else "test" if index in _FSDD_TEST_INDICES else "train"
        split[name].append(position)
    train = _take(everything, split["train"])
    kept, held = _split_off(train, validation_fraction, seed, stratify=True)
    source = f"fsdd: {len(rows):,} recordings of {len(speakers)} speakers from {folder} "
    source += f"({DATASETS['fsdd'].license}), official test split (indices 0-4), "
    source += f"validation {validation_fraction:.0%} of train by seed {seed}"
    if held_out_speaker is not None:
        source += f", speaker {held_out_speaker} held out ({len(split['unseen']):,} recordings)"
    return SpeechSplits(
        _take(train, kept),
        _take(train, held),
        _take(everything, split["test"]),
        source + f", {everything.sample_rate:,} Hz",
        _take(everything, split["unseen"]) if held_out_speaker is not None else None,
    )


# ## Connected digit strings built from FSDD


def connected_digits(
    utterances: Utterances,
    count: int,
    seed: int,
    *,
    min_digits: int = 2,
    max_digits: int = 7,
    silence: tuple[float, float] = (0.05, 0.3),
) -> Utterances:
    """Connected digit strings, like phone numbers read aloud: several single-digit clips of one speaker
    joined by short silences, with the words as transcript ("three one four").

    Each string picks a speaker (uniformly among the speakers of `utterances`), a length (uniformly from
    `min_digits` to `max_digits`), then that many different clips of the speaker (repeats only when the
    speaker has fewer clips than the length). Silences of zeros, each uniformly `silence[0]` to
    `silence[1]` seconds long, go before, between and after the clips. FSDD clips are trimmed to the
    word, so the gaps are all the model gets to separate the words (and the edge silences are what a
    recording starts and ends with). The strings only reuse the clips they are given: build test strings
    from test clips, and a test string never contains a clip seen in training.

    Args:
        utterances: single-word clips with their speakers (an FSDD split from `read_fsdd`).
        count: how many strings.
        seed: the same seed and clips give the same strings.
        min_digits: fewest clips in a string.
        max_digits: most clips in a string.
        silence: shortest and longest gap, in seconds.

    Returns:
        `Utterances` at the clips' sample rate; each id joins the clip ids with "+"
        ("3_theo_12+1_theo_40"), each speaker is the one speaker of the string.

    Raises:
        ValueError: a count below 0, digit limits not 1 <= min_digits <= max_digits, a silence range not
            0 <= shortest <= longest, multi-word transcripts, or no clips while `count` > 0.

    Example:

    >>> from zoo.data import connected_digits, read_fsdd
    >>> clips = read_fsdd("fsdd/recordings").test  # doctest: +SKIP
    >>> strings = connected_digits(clips, 300, seed=0)  # doctest: +SKIP
    >>> strings.transcripts[0], strings.ids[0]  # doctest: +SKIP
    ('zero two two zero four', '0_yweweler_2+2_yweweler_2+2_yweweler_4+0_yweweler_3+4_yweweler_3')
    """
    if count < 0:
        raise ValueError(f"count must be at least 0, got {count}")
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits} and {max_digits}")
    if not 0 <= silence[0] <= silence[1]:
        raise ValueError(
            f"silence must be (shortest, longest) seconds with 0 <= shortest <= longest: {silence}"
        )
    if any(len(transcript.split()) != 1 for transcript in utterances.transcripts):
        raise ValueError("connected_digits joins single-word clips; some transcripts have several words")
    if count and not utterances.ids:
        raise ValueError("connected_digits needs clips to join, got none")
    by_speaker: dict[str, list[int]] = {}
    for index, speaker in enumerate(utterances.speakers):
        by_speaker.setdefault(speaker, []).append(index)
    speakers = sorted(by_speaker)
    rate = utterances.sample_rate
    shortest, longest = (round(seconds * rate) for seconds in silence)
    rng = np.random.default_rng(seed)
    strings = _empty(rate)
    for _ in range(count):
        speaker = speakers[rng.integers(len(speakers))]
        pool = by_speaker[speaker]
        length = int(rng.integers(min_digits, max_digits + 1))
        chosen = [pool[i] for i in rng.choice(len(pool), size=length, replace=len(pool) < length)]
        gaps = rng.integers(shortest, longest + 1, size=length + 1)
        pieces = [np.zeros(gaps[0], np.float32)]
        for clip, gap in zip(chosen, gaps[1:]):
            pieces += [utterances.waveforms[clip], np.zeros(gap, np.float32)]
        strings.ids.append("+".join(utterances.ids[clip] for clip in chosen))
        strings.waveforms.append(np.concatenate(pieces))
        strings.transcripts.append(" ".join(utterances.transcripts[clip] for clip in chosen))
        strings.speakers.append(speaker)
    return strings


# ## LJ Speech 1.1

_CLIP_ID = re.compile(r"[A-Za-z0-9][\w.-]*")  # LJ001-0001; no path separators, no leading dot
_LJ_TEST_SHARE = 0.1  # of the hash buckets; fixed, so the test clips never change


def read_ljspeech_metadata(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read LJ Speech's `metadata.csv`: `id|transcription|normalized transcription`, UTF-8, no header.

    The file has no quoting: a `"` is part of the text (523 rows of 1.1 hold one), so lines are split at
    `|` and nothing else (as `csv.reader(..., delimiter="|", quoting=csv.QUOTE_NONE)` would). Blank lines
    are skipped.

    Args:
        path: the `metadata.csv` file.

    Returns:
        `(id, normalized transcription)` in file order; the normalized text spells out numbers, ordinals
        and money ("in sixteen sixty-five", not "in 1665") and is returned as written.

    Raises:
        DataFormatError: bytes that are not UTF-8, a line without exactly 3 `|`-separated fields, an id
            that is not a plain file stem, an id seen before, an empty normalized transcription, or no row.
            The message starts with `path:line:`.

    Example:

    >>> from zoo.data import read_ljspeech_metadata
    >>> read_ljspeech_metadata("LJSpeech-1.1/metadata.csv")[1]  # doctest: +SKIP
    ('LJ001-0002', 'in being comparatively modern.')
    """
    text = decode_utf8(pathlib.Path(path).read_bytes(), os.fspath(path))
    rows, seen = [], {}
    # "\n" only: str.splitlines would also split at characters such as U+2028 inside a transcript.
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 3:
            problem = "expected 3 |-separated fields (id|transcription|normalized transcription), got "
            raise DataFormatError(path, number, problem + str(len(fields)))
        clip_id, _, normalized = (field.strip() for field in fields)
        if not _CLIP_ID.fullmatch(clip_id):
            raise DataFormatError(path, number, f"clip id {clip_id!r} is not a file stem like LJ001-0001")
        if clip_id in seen:
            raise DataFormatError(path, number, f"clip id {clip_id} is already on line {seen[clip_id]}")
        if not normalized:
            raise DataFormatError(path, number, f"empty normalized transcription for {clip_id}")
        seen[clip_id] = number
        rows.append((clip_id, normalized))
    if not rows:
        raise DataFormatError(path, None, "no rows")
    return rows


def ljspeech_split(clip_id: str, validation_fraction: float = 0.1) -> str:
    """The split of an LJ Speech clip, from its id alone: "train", "validation" or "test".

    The first 8 bytes of the id's SHA-256, modulo 1,000, place the clip in a bucket; buckets below 100 are
    test (10%), the next `validation_fraction` x 1,000 are validation, the rest train. A clip is therefore
    in the same split in the full release, in any subset of it, and on any machine, and the test clips do
    not change with `validation_fraction`. Clips are split one by one, not by chapter: neighbouring
    sentences of a chapter (same speaker, same book) can be in different splits.

    On the full 13,100 clips: train 10,486, validation 1,287, test 1,327. On the shared 385-clip subset
    (LJ001, LJ002-0001 to 0200): train 310, validation 28, test 47.

    Example:

    >>> from zoo.data import ljspeech_split
    >>> [ljspeech_split(f"LJ001-{number:04d}") for number in (1, 2, 3)]
    ['validation', 'test', 'train']
    """
    _check_fraction(validation_fraction)
    bucket = int.from_bytes(hashlib.sha256(clip_id.encode("utf-8")).digest()[:8], "big") % 1000
    if bucket < _LJ_TEST_SHARE * 1000:
        return "test"
    return "validation" if bucket < (_LJ_TEST_SHARE + validation_fraction) * 1000 else "train"


def _ljspeech_folder(path: pathlib.Path) -> pathlib.Path:
    """The folder holding `metadata.csv` and `wavs/`: `path`, `path`'s parent if it is the metadata file,
    or the first folder under `path` with a `metadata.csv`."""
    if path.is_file():
        return path.parent
    if (path / "metadata.csv").is_file():
        return path
    found = sorted(path.rglob("metadata.csv"))
    if not found:
        raise DataFormatError(path, None, "no LJ Speech metadata.csv under this folder")
    return found[0].parent


def read_ljspeech(
    path: str | os.PathLike, sample_rate: int | None = None, *, validation_fraction: float = 0.1
) -> SpeechSplits:
    """Read LJ Speech 1.1 (`metadata.csv` and `wavs/<id>.wav`, one speaker, 22,050 Hz 16-bit mono), or any
    subset of it: only the metadata rows whose wav is present are read, and `source` says how many rows
    were skipped for a missing wav (the shared copy holds 385 of the 13,100 clips: 12,715 skipped).

    Transcripts are the normalized transcription (third field) as written. The split is
    `ljspeech_split`'s, by clip id.

    Args:
        path: the `LJSpeech-1.1/` folder, its `metadata.csv`, or any parent of the folder.
        sample_rate: resample to this rate (Hz); None keeps 22,050 Hz.
        validation_fraction: share of the clips (by id hash) held out for validation; test is 10%.

    Returns:
        `SpeechSplits`, each split sorted by clip id, every speaker "LJ".

    Raises:
        DataFormatError: a malformed `metadata.csv` (see `read_ljspeech_metadata`) or WAV (see
            `read_wav`), no row with its wav present, or wavs at different rates with `sample_rate=None`.
        ValueError: a fraction outside [0, 1), or leaving nothing for training.
    """
    _check_sample_rate(sample_rate)
    if not 0 <= validation_fraction < 1 - _LJ_TEST_SHARE:
        raise ValueError(
            f"validation_fraction must be in [0, {1 - _LJ_TEST_SHARE}), got {validation_fraction}"
        )
    folder = _ljspeech_folder(pathlib.Path(path))
    metadata = folder / "metadata.csv"
    rows = read_ljspeech_metadata(metadata)
    present = sorted(
        (clip_id, text) for clip_id, text in rows if (folder / "wavs" / f"{clip_id}.wav").is_file()
    )
    if not present:
        raise DataFormatError(
            metadata, None, f"none of its {len(rows):,} rows has its wav in {folder / 'wavs'}"
        )
    listed = {clip_id for clip_id, _ in rows}
    unlisted = sum(file.stem not in listed for file in (folder / "wavs").glob("*.wav"))
    waveforms, rate = _read_clips([folder / "wavs" / f"{clip_id}.wav" for clip_id, _ in present], sample_rate)
    everything = Utterances(
        [clip_id for clip_id, _ in present],
        waveforms,
        [text for _, text in present],
        ["LJ"] * len(present),
        rate,
    )
    names = [ljspeech_split(clip_id, validation_fraction) for clip_id, _ in present]
    splits = {
        name: _take(everything, [i for i, other in enumerate(names) if other == name])
        for name in ("train", "validation", "test")
    }
    source = f"ljspeech: {len(present):,} clips from {folder} ({DATASETS['ljspeech'].license}); "
    source += f"{len(rows) - len(present):,} of {len(rows):,} metadata rows skipped (no wavs/<id>.wav)"
    if unlisted:
        source += f", {unlisted:,} wavs not in metadata.csv ignored"
    source += f"; split by id hash (test 10%, validation {validation_fraction:.0%}), {rate:,} Hz"
    return SpeechSplits(splits["train"], splits["validation"], splits["test"], source)


# ## yes/no (Kaldi, OpenSLR SLR1)

_YESNO_NAME = re.compile(r"[01](?:_[01]){7}\.wav")


def read_yesno(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    *,
    validation_fraction: float = 0.1,
    seed: int = 0,
) -> SpeechSplits:
    """Read Kaldi's yes/no corpus: 60 files `waves_yesno/<w1>_..._<w8>.wav` in which one speaker says 8
    words, `1` = "yes" and `0` = "no" (`0_1_1_0_0_1_1_0.wav` -> "no yes yes no no yes yes no"), 8,000 Hz.

    The split is Kaldi's (`egs/yesno/s5`, as ESPnet runs it): the file names sorted, the first half is
    train and the second half test (30 and 30). Validation is `validation_fraction` of the train files,
    drawn by `seed` (3 with the default). A smoke test for CTC, not a benchmark: two words, one voice.

    Args:
        path: the `waves_yesno/` folder, or any parent of it.
        sample_rate: resample to this rate (Hz); None keeps 8,000 Hz.
        validation_fraction: share of the train files held out for validation; 0 for none.
        seed: which train files are held out.

    Returns:
        `SpeechSplits`, each split sorted by file name, every speaker "yesno".

    Raises:
        DataFormatError: a `.wav` whose name is not 8 `0`/`1` words joined by `_`, a malformed WAV (see
            `read_wav`), or no wav at all. The README beside the wavs is ignored.
        ValueError: a fraction outside [0, 1).
    """
    _check_sample_rate(sample_rate)
    _check_fraction(validation_fraction)
    path = pathlib.Path(path)
    folder = path
    if not any(path.glob("*.wav")):
        found = sorted(child for child in path.rglob("waves_yesno") if child.is_dir())
        if not found:
            raise DataFormatError(path, None, "no yes/no .wav files or waves_yesno/ folder under this folder")
        folder = found[0]
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise DataFormatError(folder, None, "no .wav files in this folder")
    for file in files:
        if not _YESNO_NAME.fullmatch(file.name):
            problem = "yes/no file names are 8 words, 0 (no) or 1 (yes), joined by _: 0_1_0_0_1_0_1_1.wav"
            raise DataFormatError(file, None, problem)
    waveforms, rate = _read_clips(files, sample_rate)
    words = {"0": "no", "1": "yes"}
    utterances = Utterances(
        [file.stem for file in files],
        waveforms,
        [" ".join(words[word] for word in file.stem.split("_")) for file in files],
        ["yesno"] * len(files),
        rate,
    )
    half = len(files) // 2
    train = _take(utterances, range(half))
    kept, held = _split_off(train, validation_fraction, seed, stratify=False)
    source = f"yesno: {len(files)} files from {folder} ({DATASETS['yesno'].license}); Kaldi's split "
    source += f"(sorted, first half train), validation {validation_fraction:.0%} of train by seed {seed}"
    return SpeechSplits(
        _take(train, kept),
        _take(train, held),
        _take(utterances, range(half, len(files))),
        source + f", {utterances.sample_rate:,} Hz",
    )


# ## A user's own WAV files, listed in a manifest


def read_speech_manifest(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    *,
    audio_column: str = "path",
    transcript_column: str = "transcript",
) -> Utterances:
    """Read a user's own recordings: a CSV or TSV manifest (`zoo.data.common.read_table`) whose header
    names `audio_column` and `transcript_column`, one row per utterance, and the WAV files it lists.

    Audio paths are relative to the manifest's folder (or absolute); each file is read by `read_wav` and
    resampled to `sample_rate`, so the files may have any rate. Transcripts are kept as written (see
    `normalize_transcript`). Each utterance's id is `<manifest>:<line>`, so whatever is said about it
    later (a character outside the training alphabet, a clip too long) points at its row; its speaker is
    the `speaker` column's value where the header has one, else "".

    Raises:
        DataFormatError: a malformed manifest (see `read_table`), an empty audio path or transcript, an
            audio file that is missing or not a readable PCM WAV (see `read_wav`), or files at different
            rates with `sample_rate=None`. The message starts with `manifest:line:` and names the file.

    Example:

    >>> from zoo.data import read_speech_manifest
    >>> clips = read_speech_manifest("my_clips/train.csv", 16000)  # path,transcript  # doctest: +SKIP
    >>> clips.ids[0], clips.transcripts[0]  # doctest: +SKIP
    ('my_clips/train.csv:2', 'turn the lights on')
    """
    _check_sample_rate(sample_rate)
    rows = _manifest_rows(path, sample_rate, audio_column, transcript_column)
    rates = {rate for *_, rate in rows}
    if len(rates) > 1:
        problem = f"clips at {' and '.join(f'{rate:,}' for rate in sorted(rates))} Hz; pass a sample_rate"
        raise DataFormatError(path, None, problem)
    return _utterances_of(rows, rates.pop())


def _manifest_rows(
    path: str | os.PathLike, sample_rate: int | None, audio_column: str, transcript_column: str
) -> list[tuple[str, np.ndarray, str, str, int]]:
    """`(id, waveform, transcript, speaker, rate)` of every row of a manifest."""
    folder = pathlib.Path(path).parent
    table = read_table(path, [audio_column, transcript_column], optional=["speaker"])
    rows = []
    for line, (audio, transcript, speaker) in progress(table, f"reading the clips of {path}", unit="clip"):
        if not audio:
            raise DataFormatError(path, line, f"empty {audio_column!r}: no audio file named")
        if not transcript:
            raise DataFormatError(path, line, f"empty {transcript_column!r} for {audio}")
        file = folder / audio
        if not file.is_file():
            raise DataFormatError(path, line, f"{audio}: no such audio file (looked for {file})")
        try:
            waveform, rate = _decode_wav(file)
        except DataFormatError as error:
            raise DataFormatError(path, line, f"{audio}: {error.problem}") from None
        if sample_rate is not None:
            waveform, rate = resample(waveform, rate, sample_rate), sample_rate
        rows.append((f"{os.fspath(path)}:{line}", waveform, transcript, speaker, rate))
    return rows


def _utterances_of(rows: Sequence[tuple[str, np.ndarray, str, str, int]], sample_rate: int) -> Utterances:
    return Utterances(*([row[field] for row in rows] for field in range(4)), sample_rate)


def load_speech_files(
    train_file: str | os.PathLike,
    validation_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    *,
    sample_rate: int = 16000,
    audio_column: str = "path",
    transcript_column: str = "transcript",
) -> SpeechSplits:
    """A user's own train, validation and test manifests (`read_speech_manifest`), every clip resampled to
    `sample_rate`; a split without a manifest is carved from the training rows (`zoo.data.user_splits`:
    `validation_fraction` and `test_fraction` of them, drawn by `seed`, file order kept in each split).

    Example:

    >>> from zoo.data import load_speech_files
    >>> splits = load_speech_files("my_clips/train.tsv", test_file="my_clips/test.tsv")  # doctest: +SKIP
    """
    if not isinstance(sample_rate, int) or sample_rate < 1:
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")

    def read(path):
        return _manifest_rows(path, sample_rate, audio_column, transcript_column)

    files = {"validation": validation_file, "test": test_file}
    splits = user_splits(
        read, train_file, validation_file, test_file, validation_fraction, test_fraction, seed
    )
    how = ", ".join(
        f"{name} {files[name]}" if files[name] else f"{name} {fraction:.0%} of it by seed {seed}"
        for name, fraction in (("validation", validation_fraction), ("test", test_fraction))
    )
    return SpeechSplits(
        *(_utterances_of(splits[name], sample_rate) for name in ("train", "validation", "test")),
        f"file: clips listed in {train_file}; {how}; {sample_rate:,} Hz",
    )


def characters_outside(ids: Sequence[str], texts: Sequence[str], alphabet: Sequence[str]) -> list[str]:
    """One line per character of `texts` that `alphabet` lacks: the character, how often it occurs, and
    the id of the first utterance holding it (`<manifest>:<line>` for `read_speech_manifest`'s).

    Example:

    >>> from zoo.data import characters_outside
    >>> characters_outside(["a.csv:2", "a.csv:3"], ["ab", "cb c"], ["a", "b", " "])
    ["'c' (2 times, first at a.csv:3)"]
    """
    known, found = set(alphabet), {}
    for utterance, text in zip(ids, texts):
        for character in text:
            if character not in known:
                first, count = found.get(character, (utterance, 0))
                found[character] = first, count + 1
    return [
        f"{char!r} ({count} time{'s' * (count != 1)}, first at {first})"
        for char, (first, count) in found.items()
    ]


# ## Transcripts as a model learns to write them

# --normalize: what a transcript keeps. Letters of any script and digits stay in every one.
TRANSCRIPT_NORMALIZATIONS = {
    "letters": "lowercased; only letters, digits, apostrophes and single spaces (punctuation is not heard)",
    "cased": "as letters, with upper case kept",
    "lower": "lowercased, punctuation kept",
    "none": "as written, runs of spaces made one",
}


def normalize_transcript(text: str, normalization: str = "letters") -> str:
    """The transcript a model learns to write, as `normalization` (`TRANSCRIPT_NORMALIZATIONS`) makes it:
    "letters" (the default) lowercases and keeps only letters, digits, apostrophes and single spaces
    (LJ Speech's commas and quotes are not heard), "cased" keeps upper case too, "lower" lowercases and
    keeps punctuation, "none" only makes runs of spaces one.

    Example:

    >>> from zoo.data import normalize_transcript
    >>> normalize_transcript('Printing, in the only sense "with which" we are at present concerned,')
    'printing in the only sense with which we are at present concerned'
    >>> normalize_transcript("Don't  STOP!", "cased"), normalize_transcript("Don't  STOP!", "lower")
    ("Don't STOP", "don't stop!")
    """
    if normalization not in TRANSCRIPT_NORMALIZATIONS:
        choices = ", ".join(TRANSCRIPT_NORMALIZATIONS)
        raise ValueError(f"unknown transcript normalization {normalization!r}; choose one of {choices}")
    if normalization in ("letters", "lower"):
        text = text.lower()
    if normalization in ("letters", "cased"):
        text = re.sub(r"[^\w' ]|_", " ", text)
    return " ".join(text.split())


# ## One entry point for recipes

SPEECH_DATASETS = ("fsdd", "fsdd-digits", "ljspeech", "yesno")


def _seed(seed: int, stream: int) -> int:
    """Independent seeds for the strings of each split (a SeedSequence per split, not seed + 1)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


# ## The embedded sample: touch-tone digit strings the zoo synthesises

# DTMF (ITU-T Q.23): each key is the sum of one low and one high sine; digits 0-9 only.
_DTMF = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
    "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "0": (941, 1336),
}  # fmt: skip
TONE_SAMPLE_RATE = 8000


def tone_digits(count: int, seed: int, *, min_digits: int = 2, max_digits: int = 5) -> Utterances:
    """Touch-tone (DTMF) digit strings, synthesised: the embedded sample of the speech recipe.

    Each string is `min_digits` to `max_digits` random digits; each digit is its two DTMF sines
    (ITU-T Q.23) for 80-200 ms at a random level, with gaps of 40-150 ms, white noise at about -40 dBFS
    over the whole clip, at 8,000 Hz. The transcript is the digits' words ("three one four"), the same
    character task as FSDD's connected digits, so a model trained here has the recipe's whole shape:
    waveform -> log-mel -> CTC over letters and spaces. It needs no data and learns in a minute.

    Args:
        count: how many strings.
        seed: the same seed gives the same strings.
        min_digits: fewest digits in a string.
        max_digits: most digits in a string.

    Returns:
        `Utterances` with ids `tone-<seed>-<n>`, speaker "tones", at 8,000 Hz.

    Example:

    >>> from zoo.data import tone_digits
    >>> strings = tone_digits(2, seed=0)
    >>> strings.sample_rate, len(strings.transcripts)
    (8000, 2)
    """
    if count < 0 or not 1 <= min_digits <= max_digits:
        raise ValueError(
            f"need count >= 0 and 1 <= min_digits <= max_digits, got {count}, {min_digits}, {max_digits}"
        )
    rng = np.random.default_rng(seed)
    rate = TONE_SAMPLE_RATE
    strings = _empty(rate)
    for number in range(count):
        digits = rng.integers(0, 10, size=rng.integers(min_digits, max_digits + 1))
        pieces = [np.zeros(int(rng.integers(0.04 * rate, 0.15 * rate)), np.float32)]
        for digit in digits:
            time = np.arange(int(rng.integers(0.08 * rate, 0.2 * rate))) / rate
            low, high = _DTMF[str(digit)]
            tone = np.sin(2 * np.pi * low * time) + np.sin(2 * np.pi * high * time)
            pieces += [(rng.uniform(0.1, 0.4) * tone).astype(np.float32)]
            pieces += [np.zeros(int(rng.integers(0.04 * rate, 0.15 * rate)), np.float32)]
        waveform = np.concatenate(pieces) + rng.normal(0, 0.01, sum(map(len, pieces))).astype(np.float32)
        strings.ids.append(f"tone-{seed}-{number}")
        strings.waveforms.append(np.clip(waveform, -1, 1).astype(np.float32))
        strings.transcripts.append(" ".join(DIGIT_WORDS[digit] for digit in digits))
        strings.speakers.append("tones")
    return strings


def tone_sample(counts: tuple[int, int, int] = (400, 100, 100), seed: int = 0) -> SpeechSplits:
    """Train, validation and test `tone_digits` strings, each split from its own seed."""
    train, validation, test = (tone_digits(n, seed * 3 + i) for i, n in enumerate(counts))
    source = f"embedded sample: synthesised touch-tone digit strings ({'/'.join(map(str, counts))}), 8,000 Hz"
    return SpeechSplits(train, validation, test, source)


def load_speech(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    *,
    sample_rate: int | None = 16000,
    seed: int = 0,
    validation_fraction: float = 0.1,
    held_out_speaker: str | None = None,
    digit_strings: tuple[int, int, int] = (2000, 300, 300),
    min_digits: int = 2,
    max_digits: int = 7,
    skip_checksum: bool = False,
) -> SpeechSplits:
    """Train, validation and test utterances of a speech dataset, found by `zoo.data.locate`
    (`data_dir`, `$ZOO_DATA_DIR/<name>`, the Keras cache, or a download).

    - "fsdd": single spoken digits (`read_fsdd`): the official test split (300), validation
      `validation_fraction` of train by `seed`. Each transcript is one word, so WER is word accuracy.
    - "fsdd-digits": connected digit strings (`connected_digits`) of `min_digits` to `max_digits` digits
      built from the "fsdd" splits: `digit_strings` strings for train, validation and test, each from
      its own split's clips.
    - "ljspeech": LJ Speech 1.1 sentences (`read_ljspeech`), the present subset of it, split by clip id.
    - "yesno": Kaldi's 8-word yes/no sequences (`read_yesno`), Kaldi's half/half split.

    With `held_out_speaker` (fsdd, fsdd-digits), that speaker is in no split; `unseen_speaker_test` holds
    all of their recordings ("fsdd") or as many strings as the test split made from them ("fsdd-digits"),
    so a recipe reports seen-speaker and unseen-speaker error rates side by side.

    Args:
        dataset: one of "fsdd", "fsdd-digits", "ljspeech", "yesno".
        data_dir: a copy on disk (see each reader for the layouts), instead of `$ZOO_DATA_DIR/<name>`
            ("fsdd-digits" reads `fsdd`), the Keras cache or a download.
        sample_rate: the one rate of every waveform, Hz. 16,000 by default, what most speech models
            expect, so an exported model's raw-audio signature is the same whichever dataset trained it;
            8,000 keeps FSDD and yes/no at their recorded rate (half the samples to featurize); None keeps
            each dataset's own rate (FSDD and yes/no 8,000 Hz, LJ Speech 22,050 Hz).
        seed: the validation hold-out (fsdd, yesno) and the digit strings.
        validation_fraction: share held out for validation (of train for fsdd and yesno, of all clips by id
            hash for ljspeech).
        held_out_speaker: an FSDD speaker to keep out of training ("theo", "george", ...).
        digit_strings: how many strings "fsdd-digits" builds for train, validation and test (and for
            `unseen_speaker_test`, as many as test).
        min_digits: fewest digits in a string ("fsdd-digits").
        max_digits: most digits in a string ("fsdd-digits").
        skip_checksum: read the copy without checking its hashes (your own edited copy); else what is read
            is also compared with the identified copy's size (a known subset says how much it holds).

    Raises:
        DatasetNotFoundError: no copy on disk and no download possible.
        DataFormatError: a malformed file (see the readers); the message names the file (and line).
        ValueError: an unknown dataset, a `held_out_speaker` for a dataset without speakers or not in it,
            or bad fractions, counts or digit limits.

    Example:

    >>> from zoo.data import load_speech
    >>> splits = load_speech("fsdd-digits", held_out_speaker="theo")  # doctest: +SKIP
    >>> splits.train.ids[0], splits.train.transcripts[0]  # doctest: +SKIP
    ('9_nicolas_46+0_nicolas_10', 'nine zero')
    >>> splits.unseen_speaker_test.speakers[0]  # doctest: +SKIP
    'theo'
    """
    if dataset not in SPEECH_DATASETS:
        raise ValueError(f"unknown speech dataset {dataset!r}; choose one of {', '.join(SPEECH_DATASETS)}")
    if held_out_speaker is not None and not dataset.startswith("fsdd"):
        raise ValueError(f"held_out_speaker needs a dataset with several speakers (fsdd), not {dataset!r}")
    if dataset == "ljspeech":
        copy = find_dataset("ljspeech", data_dir, skip_checksum=skip_checksum)
        splits = read_ljspeech(copy.folder, sample_rate, validation_fraction=validation_fraction)
        check_counts(copy, {"clips": _utterances(splits)}, "")
        return splits
    if dataset == "yesno":
        copy = find_dataset("yesno", data_dir, skip_checksum=skip_checksum)
        splits = read_yesno(copy.folder, sample_rate, validation_fraction=validation_fraction, seed=seed)
        check_counts(copy, {"recordings": _utterances(splits)}, "")
        return splits
    if len(digit_strings) != 3 or min(digit_strings) < 0:
        raise ValueError(
            f"digit_strings must be 3 counts (train, validation, test) >= 0, got {digit_strings}"
        )
    copy = find_dataset("fsdd", data_dir, skip_checksum=skip_checksum)
    clips = read_fsdd(
        copy.folder,
        sample_rate,
        validation_fraction=validation_fraction,
        seed=seed,
        held_out_speaker=held_out_speaker,
    )
    check_counts(copy, {"recordings": _utterances(clips)}, "")
    if dataset == "fsdd":
        return clips
    counts = dict(
        zip(("train", "validation", "test", "unseen_speaker_test"), (*digit_strings, digit_strings[2]))
    )
    strings = {}
    for stream, (name, count) in enumerate(counts.items()):
        utterances = getattr(clips, name)
        if utterances is not None:
            strings[name] = connected_digits(
                utterances, count, _seed(seed, stream), min_digits=min_digits, max_digits=max_digits
            )
    source = (
        f"fsdd-digits: strings of {min_digits}-{max_digits} digits (seed {seed}) joined from {clips.source}"
    )
    return SpeechSplits(
        strings["train"], strings["validation"], strings["test"], source, strings.get("unseen_speaker_test")
    )


def _utterances(splits: SpeechSplits) -> int:
    """How many utterances the splits hold in all, a held-out speaker's included."""
    return sum(len(data.ids) for data in splits[:3]) + len((splits.unseen_speaker_test or ([],))[0])


def speech_summary(splits: SpeechSplits) -> str:
    """One line per split: utterances, hours of audio, words and speakers."""
    lines = []
    for name in ("train", "validation", "test", "unseen_speaker_test"):
        data = getattr(splits, name)
        if data is None:
            continue
        hours = sum(len(waveform) for waveform in data.waveforms) / data.sample_rate / 3600
        words = sum(len(transcript.split()) for transcript in data.transcripts)
        speakers = len(set(data.speakers) - {""})
        named = speakers or not data.speakers
        lines.append(
            f"{name:>19}: {len(data.ids):6,d} utterances, {hours:6.3f} h, {words:7,d} words, "
            + (f"{speakers} speaker{'s' if speakers != 1 else ''}" if named else "speakers not named")
        )
    return "\n".join(lines)
