"""Character corpora: the 90/10 split, the vocabulary and its unknown id (in NumPy and in the graph), files
that must be refused with their name, the BPTT and window layouts and the spans they read, the streamed
reader (the same batches as the text in memory, one read of the files per epoch), and tinyshakespeare itself
when $ZOO_DATA_DIR has it (counts from /work/shared/data/tinyshakespeare/SOURCE.md)."""

import builtins
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from gensim.test.utils import datapath

from zoo.data import DATASETS, characters
from zoo.errors import DataFormatError

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 20
LEE = pathlib.Path(datapath("lee_background.cor")).read_text(encoding="utf-8")  # 360,082 characters


def test_split_is_first_ninety_percent_then_last_ten(tmp_path):
    path = tmp_path / "input.txt"
    path.write_text(TEXT, encoding="utf-8")
    corpus = characters.load_characters("text", path)
    assert len(corpus.train) == int(len(TEXT) * 0.9) and corpus.train + corpus.validation == TEXT
    assert corpus.source == str(path)
    # A folder is read through its input.txt, and --max-train-samples cuts training only.
    # (Our own input.txt is not the known file: read it without the hash check.)
    short = characters.load_characters(
        "tinyshakespeare", tmp_path, max_train_characters=100, skip_checksum=True
    )
    assert short.train == TEXT[:100] and short.validation == corpus.validation


def test_unseen_characters_are_unknown_in_numpy_and_in_the_graph():
    vocabulary = characters.character_vocabulary("ab\n a")
    assert vocabulary == ["\n", " ", "a", "b"]
    ids = characters.encode("a\nbé", vocabulary)
    np.testing.assert_array_equal(ids, [4, 2, 5, characters.UNK_ID])
    assert characters.decode(ids, vocabulary) == "a\nb\ufffd"
    lookup = characters.character_lookup(vocabulary)
    graph_ids = lookup(tf.constant(["a\nbé", " "])).numpy()
    np.testing.assert_array_equal(graph_ids, [[4, 2, 5, 1], [3, 0, 0, 0]])  # 0: padding


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "no text"),
        (b" \n\n \t", "no text"),
        (b"good line\nbad \xff byte\n", ":2: not UTF-8"),
    ],
)
def test_bad_files_are_named(tmp_path, content, problem):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=problem) as error:
        characters.load_characters("text", path)
    assert str(path) in str(error.value)


def test_missing_and_unreadable_files_are_named(tmp_path):
    with pytest.raises(DataFormatError, match="input.txt: no such file"):
        characters.load_characters("text", tmp_path)  # a folder without input.txt
    with pytest.raises(DataFormatError, match="nowhere.txt: cannot read"):
        characters.read_text(tmp_path / "nowhere.txt")
    with pytest.raises(DataFormatError, match="needs --data-dir"):
        characters.load_characters("text")


def test_bptt_rows_continue_each_other():
    ids = np.arange(1000, dtype=np.int32)
    inputs, targets = characters.bptt_arrays(ids, batch_size=4, bptt=30)
    assert inputs.shape == targets.shape == (8, 4, 30)  # 249 characters per stream, 8 whole chunks
    for row in range(4):
        stream = np.concatenate([inputs[chunk, row] for chunk in range(8)])
        np.testing.assert_array_equal(stream, np.arange(row * 249, row * 249 + 240))
    np.testing.assert_array_equal(targets, inputs + 1)
    with pytest.raises(ValueError, match="cannot fill one batch"):
        characters.bptt_arrays(ids[:100], batch_size=4, bptt=30)


@pytest.mark.parametrize("length", [1000, 997])
def test_spans_name_what_each_row_and_window_reads(length):
    """Each row of `bptt_arrays` (each window of `contiguous_windows`) reads its span: its first input is
    the span's start and its targets are the rest of the span, so the spans' targets are the loss's."""
    ids = np.arange(length, dtype=np.int32)
    inputs, targets = characters.bptt_arrays(ids, batch_size=4, bptt=30)
    spans = characters.bptt_spans(length, batch_size=4, bptt=30)
    assert len(spans) == 4
    for row, (start, stop) in enumerate(spans):
        assert inputs[0, row, 0] == start
        np.testing.assert_array_equal(targets[:, row].ravel(), np.arange(start + 1, stop))
    windows = list(characters.contiguous_windows(ids, context=16, batch_size=8))
    window_inputs = np.concatenate([x.numpy() for x, _ in windows])
    window_targets = np.concatenate([y.numpy() for _, y in windows])
    spans = characters.window_spans(length, context=16)
    assert len(spans) == len(window_inputs)
    for (start, stop), x, y in zip(spans, window_inputs, window_targets):
        assert x[0] == start
        np.testing.assert_array_equal(y, np.arange(start + 1, stop))


def test_windows_are_inside_the_stream_and_seeded():
    ids = np.arange(500, dtype=np.int32)
    dataset = characters.random_windows(ids, context=16, batch_size=8, steps=3, seed=7)
    first = [(x.numpy(), y.numpy()) for x, y in dataset]
    again = [(x.numpy(), y.numpy()) for x, y in characters.random_windows(ids, 16, 8, 3, seed=7)]
    assert len(first) == 3 and all(x.shape == (8, 16) for x, _ in first)
    for x, y in first:
        np.testing.assert_array_equal(y, x + 1)  # contiguous, targets one later
        np.testing.assert_array_equal(np.diff(x, axis=1), 1)
        assert x.max() < 499
    np.testing.assert_array_equal(first[0][0], again[0][0])
    second_epoch = [x.numpy() for x, _ in dataset]
    assert not np.array_equal(first[0][0], second_epoch[0])  # other windows at every epoch
    windows = list(characters.contiguous_windows(ids, context=16, batch_size=8))
    inputs = np.concatenate([x.numpy() for x, _ in windows])
    np.testing.assert_array_equal(inputs.ravel(), np.arange(31 * 16))


# ## Streaming


def write_parts(
    folder: pathlib.Path, text: str, bounds: list[int], bom_in: int | None = None
) -> pathlib.Path:
    """`text[bounds[i]:bounds[i + 1]]` as `folder/part-i.txt` (the file `bom_in` starting with a BOM)."""
    folder.mkdir()
    for index, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        bom = "\ufeff" if index == bom_in else ""
        (folder / f"part-{index}.txt").write_text(bom + text[start:stop], encoding="utf-8")
    return folder


def batches(dataset: tf.data.Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(inputs.numpy(), targets.numpy()) for inputs, targets in dataset]


def assert_same_batches(got: tf.data.Dataset, expected: tf.data.Dataset) -> None:
    got_batches, expected_batches = batches(got), batches(expected)
    assert len(got_batches) == len(expected_batches) == int(got.cardinality()) > 1
    for (inputs, targets), (expected_inputs, expected_targets) in zip(got_batches, expected_batches):
        np.testing.assert_array_equal(inputs, expected_inputs)
        np.testing.assert_array_equal(targets, expected_targets)


def test_streamed_bptt_batches_are_the_in_memory_batches(tmp_path, monkeypatch):
    """Lee's corpus with typographic apostrophes (3 bytes in UTF-8) throughout and a 2-, 3- or 4-byte
    character as every row's first, in three files (split at a row's start and at the validation cut, one
    with a BOM), read in blocks that end inside characters: the batches of the whole text in memory, and
    one epoch reads the files about once (a reader per row, each from its row's start)."""
    batch_size, bptt = 16, 50
    text = list(LEE.replace("'", "\u2019"))
    cut = int(len(text) * 0.9)
    rows, validation_rows = (cut - 1) // batch_size, (len(text) - cut - 1) // batch_size
    for row in range(batch_size):
        text[row * rows] = "é€😀"[row % 3]
        text[cut + row * validation_rows] = "€😀"[row % 2]
    text = "".join(text)
    (tmp_path / "whole.txt").write_text(text, encoding="utf-8")
    folder = write_parts(tmp_path / "parts", text, [0, 5 * rows, cut, len(text)], bom_in=1)
    monkeypatch.setattr(characters, "READ_BYTES", 1021)  # the readers' blocks end inside characters too
    streamed = characters.scan_characters(folder, block_bytes=4099)
    corpus = characters.load_characters("text", tmp_path / "whole.txt")
    vocabulary = characters.character_vocabulary(corpus.train)
    assert streamed.characters == vocabulary and len(streamed.train.checkpoints) > 80
    assert (len(streamed.train), len(streamed.validation)) == (len(corpus.train), len(corpus.validation))

    train = characters.bptt_batches(streamed.train, batch_size, bptt)
    assert_same_batches(train, characters.bptt_batches(characters.encode(corpus.train, vocabulary), 16, 50))
    first_inputs = next(iter(train))[0].numpy()
    assert characters.decode(first_inputs[:, 0], vocabulary) == ("é€😀" * 6)[:batch_size]
    validation = characters.bptt_batches(streamed.validation, batch_size, bptt)
    expected = characters.bptt_batches(characters.encode(corpus.validation, vocabulary), batch_size, bptt)
    assert_same_batches(validation, expected)

    read = []

    def counting_open(*args, **kwargs):
        handle = builtins.open(*args, **kwargs)
        original = handle.read
        handle.read = lambda size=-1: read.append(len(data := original(size))) or data
        return handle

    monkeypatch.setattr(characters, "open", counting_open, raising=False)
    batches(train)
    corpus_bytes = sum(file.stat().st_size for file in folder.iterdir())
    assert 0.85 * corpus_bytes < sum(read) < corpus_bytes  # the training 90%, each byte about once


def test_streamed_validation_is_the_in_memory_split(tmp_path):
    """The split cuts at `split_text`'s character, unseen characters are counted as unknown, and the
    transformer's validation windows are `contiguous_windows` of the text in memory."""
    text = list(LEE)
    cut = int(len(text) * 0.9)
    text[cut + 10] = text[cut + 500] = "ß"  # only in validation: unknown
    text = "".join(text)
    folder = write_parts(tmp_path / "parts", text, [0, 1000, cut - 1, cut + 1, len(text)])
    streamed = characters.scan_characters(folder, block_bytes=997)
    train, validation = characters.split_text(text)
    vocabulary = characters.character_vocabulary(train)
    assert streamed.characters == vocabulary and "ß" not in vocabulary
    assert streamed.validation.text(len(text)) == validation and streamed.train.text(len(text)) == train
    assert streamed.validation.text(5) == validation[:5]
    validation_ids = characters.encode(validation, vocabulary)
    assert streamed.unknown == int(np.sum(validation_ids == characters.UNK_ID)) == 2
    assert streamed.source == f"{folder} (4 files)"
    assert_same_batches(
        characters.contiguous_windows(streamed.validation, context=64, batch_size=32),
        characters.contiguous_windows(validation_ids, context=64, batch_size=32),
    )


def test_validation_files_validate_and_every_training_character_trains(tmp_path):
    """With validation files, the training files are all training (no 90% cut), the vocabulary is theirs,
    and the validation stream is the validation files' text, its unseen characters counted as unknown."""
    train_text, held_text = LEE[:50_000], LEE[50_000:60_000] + "ß ß"
    train_folder = write_parts(tmp_path / "train", train_text, [0, 20_000, 50_000])
    held = write_parts(tmp_path / "held", held_text, [0, 4_000, len(held_text)])
    streamed = characters.scan_characters(train_folder / "part-*.txt", block_bytes=997, validation_path=held)
    assert (len(streamed.train), len(streamed.validation)) == (50_000, len(held_text))
    assert (
        streamed.characters == characters.character_vocabulary(train_text) and "ß" not in streamed.characters
    )
    assert streamed.train.text(len(train_text)) == train_text
    assert streamed.validation.text(len(held_text)) == held_text
    validation_ids = characters.encode(held_text, streamed.characters)
    assert streamed.unknown == int(np.sum(validation_ids == characters.UNK_ID)) >= 2
    assert streamed.source == f"{train_folder / 'part-*.txt'} (2 files), validated on {held} (2 files)"
    assert_same_batches(
        characters.bptt_batches(streamed.validation, batch_size=4, bptt=50),
        characters.bptt_batches(validation_ids, batch_size=4, bptt=50),
    )


@pytest.mark.parametrize(
    "files, problem",
    [
        (
            {"a.txt": b"fine\n" * 50, "b.txt": b"fine\n" * 39 + b"bad \xff byte\n"},
            "b.txt:40: not UTF-8: byte 0xff",
        ),
        ({"a.txt": "caf\u00e9".encode()[:-1]}, "a.txt:1: not UTF-8: byte 0xc3"),  # cut inside a character
        ({"a.txt": b"fine\n", "b.txt": b""}, "b.txt: no text"),
        ({"a.txt": b"fine\n", "b.txt": b" \n\t\n"}, "b.txt: no text"),
    ],
)
def test_streamed_bad_files_are_named(tmp_path, files, problem):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(DataFormatError, match=problem) as error:
        characters.scan_characters(tmp_path, block_bytes=64)
    assert str(tmp_path) in str(error.value)
    with pytest.raises(DataFormatError, match="no such file"):
        characters.scan_characters(tmp_path / "nowhere.txt")


def test_streamed_windows_are_substrings_of_the_training_split_and_seeded(tmp_path):
    cut = int(len(LEE) * 0.9)
    folder = write_parts(tmp_path / "parts", LEE, [0, 200_000, len(LEE)])
    streamed = characters.scan_characters(folder, block_bytes=10_000)
    train = LEE[:cut]
    vocabulary = streamed.characters

    def windows(seed: int, steps: int = 25) -> tf.data.Dataset:
        return characters.random_windows(streamed.train, 24, 8, steps, seed, shuffle_buffer=100)

    dataset = windows(seed=5)
    first = batches(dataset)
    assert len(first) == int(dataset.cardinality()) == 25 and all(x.shape == (8, 24) for x, _ in first)
    for inputs, targets in first:
        np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])  # targets one character later
        for row in range(8):
            window = characters.decode([*inputs[row], targets[row, -1]], vocabulary)
            assert window in train  # a real stretch of the training split (none crosses into validation)
    starts = [train.find(characters.decode(inputs, vocabulary)) for inputs in first[0][0]]
    assert sorted(starts) != starts  # mixed by the shuffle buffer, not in reading order
    again = batches(windows(seed=5))
    for (inputs, _), (same, _) in zip(first, again):
        np.testing.assert_array_equal(inputs, same)
    assert not np.array_equal(batches(dataset)[0][0], first[0][0])  # other windows at the next epoch
    assert not np.array_equal(batches(windows(seed=6))[0][0], first[0][0])
    # More windows than a pass over the split holds (13,500): the stream goes on from another start.
    many = characters.random_windows(streamed.train, 24, 256, 60, seed=5, shuffle_buffer=100)
    assert sum(len(inputs) for inputs, _ in batches(many)) == 15_360


def test_registry_knows_the_public_file():
    (remote,) = DATASETS["tinyshakespeare"].files
    assert remote.url.endswith("karpathy/char-rnn/master/data/tinyshakespeare/input.txt")
    assert remote.file_hash == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def test_embedded_default_is_gensims_lee_corpus():
    corpus = characters.load_characters()
    assert corpus.source.endswith("lee_background.cor")
    assert len(corpus.train) + len(corpus.validation) == 360_082
    assert corpus.train.startswith("Hundreds of people have been forced")


def test_tinyshakespeare(shared_data):
    corpus = characters.load_characters("tinyshakespeare", shared_data("tinyshakespeare"))
    assert len(corpus.train) == 1_003_854 and len(corpus.validation) == 111_540
    assert len(characters.character_vocabulary(corpus.train + corpus.validation)) == 65
    assert corpus.train.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
