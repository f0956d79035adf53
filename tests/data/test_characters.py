"""Character corpora: the 90/10 split, the vocabulary and its unknown id (in NumPy and in the graph), files
that must be refused with their name, the BPTT and window layouts, and tinyshakespeare itself when
$ZOO_DATA_DIR has it (counts from /work/shared/data/tinyshakespeare/SOURCE.md)."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.data import DATASETS, characters
from zoo.errors import DataFormatError

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 20


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
