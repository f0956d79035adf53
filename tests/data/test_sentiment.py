"""Sentiment readers on the real files, a user's own files in every format, malformed inputs that must
name the file and the line, and the length-bucketed token-id batches."""

import collections
import io
import os
import pathlib
import re
import tarfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.data import (
    LabelledTexts,
    load_labelled_files,
    load_sentiment,
    read_imdb,
    read_labelled_texts,
    read_pang_lee,
    read_sst2,
    summary,
    token_id_batches,
)
from zoo.errors import ChecksumMismatchError, DataFormatError


@pytest.fixture(scope="module")
def imdb():
    root = os.environ.get("ZOO_DATA_DIR")
    if not root:
        pytest.skip("ZOO_DATA_DIR is not set")
    return read_imdb(pathlib.Path(root) / "imdb")


def test_imdb_archive_as_distributed(imdb):
    assert sorted(imdb) == ["test", "train"]
    for split in imdb.values():
        assert len(split.texts) == 25_000 and int(split.labels.sum()) == 12_500
        assert split.labels.dtype == np.int32
    first_positive = imdb["train"].texts[int(np.argmax(imdb["train"].labels))]
    assert first_positive.startswith("Bromwell High is a cartoon comedy")  # train/pos/0_9.txt
    assert imdb["test"].texts[0].startswith("Once again Mr. Costner")  # test/neg/0_2.txt
    assert "<br />" in " ".join(imdb["train"].texts[:200])  # raw: the model cleans
    # Each review knows its movie (urls_{pos,neg}.txt): 3,456 movies in the training split.
    assert len(set(imdb["train"].groups)) == 3456
    assert imdb["train"].groups[0].startswith("http://www.imdb.com/title/tt")


def test_sst2_files(shared_data):
    splits = read_sst2(shared_data("sst2"))
    counts = {name: (len(s.texts), int((s.labels == 0).sum())) for name, s in splits.items()}
    assert counts == {"train": (67_349, 29_780), "validation": (872, 428), "test": (1_821, 917)}
    for split in splits.values():
        assert not any(t != t.strip() or "\r" in t for t in split.texts)


def test_pang_lee_embedded_default_is_cp1252():
    data = read_pang_lee()
    assert len(data.texts) == 200 and int(data.labels.sum()) == 100
    assert any("—" in text for text in data.texts) and any("clichés" in t for t in data.texts)


def write_review_tree(root, files):
    for name, content in files.items():
        path = root / "aclImdb" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def write_review_archive(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


GOOD = {"train/pos/0_9.txt": b"Great.", "train/neg/1_2.txt": b"Bad.", "test/pos/2_8.txt": b"Fine."}


@pytest.mark.parametrize("layout", ["folder", "archive"])
def test_imdb_layouts(tmp_path, layout):
    if layout == "folder":
        path = write_review_tree(tmp_path, GOOD)
    else:
        path = write_review_archive(tmp_path / "aclImdb_v1.tar.gz", GOOD)
    splits = read_imdb(path)
    assert splits["train"].texts == ["Bad.", "Great."] and splits["train"].labels.tolist() == [0, 1]
    assert splits["test"].texts == ["Fine."]
    assert read_imdb(tmp_path)["train"].texts == ["Bad.", "Great."]  # the parent folder works too


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "train/pos/3_2.txt",
            b"Says pos, rated 2.",
            r"3_2.txt: rating 2 contradicts the pos/ folder",
        ),
        ("train/neg/4_1.txt", b"line one\nbad \xff byte", r"4_1.txt:2: not UTF-8: byte 0xff"),
        ("train/neg/5_3.txt", b"  ", r"5_3.txt:1: empty review"),
    ],
)
def test_imdb_malformed_review_is_named(tmp_path, name, content, message):
    archive = write_review_archive(tmp_path / "a.tar.gz", {**GOOD, name: content})
    with pytest.raises(DataFormatError, match=message):
        read_imdb(archive)
    with pytest.raises(DataFormatError, match=message):
        read_imdb(write_review_tree(tmp_path / "tree", {**GOOD, name: content}))


def test_imdb_without_reviews(tmp_path):
    with pytest.raises(DataFormatError, match="no aclImdb"):
        read_imdb(tmp_path)


def write_sst2(tmp_path, train, dev="sentence\tlabel\nok .\t1\n"):
    (tmp_path / "train.tsv").write_bytes(train if isinstance(train, bytes) else train.encode())
    (tmp_path / "dev.tsv").write_text(dev)
    return tmp_path


@pytest.mark.parametrize(
    "train, message",
    [
        (
            "sentence\tlabel\ngood film \t1\nbad film \t2\n",
            r"train.tsv:3: label must be 0 or 1, got '2'",
        ),
        (
            "sentence\tlabel\ngood film \t1\nno label here\n",
            r"train.tsv:3: expected 2 tab-separated",
        ),
        ("index\tsentence\n0\tgood\n", r"train.tsv:1: expected header"),
        (b"sentence\tlabel\ngood\t1\nna\xefve\t0\n", r"train.tsv:3: not UTF-8"),
        ("", r"train.tsv: empty file"),
    ],
)
def test_sst2_malformed_rows_are_named(tmp_path, train, message):
    with pytest.raises(DataFormatError, match=message):
        read_sst2(write_sst2(tmp_path, train))


def test_sst2_crlf_and_trailing_space(tmp_path):
    write_sst2(tmp_path, "sentence\tlabel\r\ngood film \t1\r\nbad film \t0\r\n")
    splits = read_sst2(tmp_path)
    assert splits["train"].texts == ["good film", "bad film"]
    assert "test" not in splits  # no labelled test file


def test_pang_lee_bad_label_is_named(tmp_path):
    path = tmp_path / "p.cor"
    path.write_bytes(b"__label__pos fine\n__label__meh what\n")
    with pytest.raises(DataFormatError, match=r"p.cor:2: expected '__label__pos\|neg <text>'"):
        read_pang_lee(path)


def test_load_sentiment_splits_are_stratified_disjoint_and_seeded(shared_data):
    splits = load_sentiment("sst2", shared_data("sst2"))
    assert len(splits["validation"].texts) == 872  # SST-2 keeps its own dev split
    embedded = load_sentiment(None, seed=3)
    assert [len(embedded[s].texts) for s in ("train", "validation", "test")] == [160, 20, 20]
    assert all(embedded[s].labels.mean() == 0.5 for s in embedded)  # stratified
    texts = [set(embedded[s].texts) for s in ("train", "validation", "test")]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    assert load_sentiment(None, seed=3)["test"].texts == embedded["test"].texts
    assert load_sentiment(None, seed=4)["test"].texts != embedded["test"].texts
    assert isinstance(embedded["train"], LabelledTexts)


def test_imdb_validation_is_held_out_of_train_by_movie(imdb, shared_data):
    splits = load_sentiment("imdb", shared_data("imdb"))
    sizes = [len(splits[name].texts) for name in ("train", "validation", "test")]
    assert sizes == [22_504, 2_496, 25_000]
    # A partition of the official train split (which itself repeats a few reviews verbatim).
    together = collections.Counter(splits["train"].texts) + collections.Counter(splits["validation"].texts)
    assert together == collections.Counter(imdb["train"].texts)
    assert not set(splits["train"].groups) & set(splits["validation"].groups)  # no movie on both sides
    assert len(set(splits["validation"].groups)) > 300
    assert abs(splits["validation"].labels.mean() - 0.5) < 0.01


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown sentiment dataset 'yelp'"):
        load_sentiment("yelp")


# ## A damaged archive is an error, never a partial dataset


def damaged_copy(
    source: pathlib.Path, folder: pathlib.Path, at: float | None = None, cut: float | None = None
):
    """A copy of `source` in `folder` with 16 consecutive bytes flipped at fraction `at` of it, or cut
    short at fraction `cut`."""
    data = bytearray(source.read_bytes())
    if at is not None:
        start = int(len(data) * at)
        for index in range(start, start + 16):
            data[index] ^= 0xFF
    if cut is not None:
        data = data[: int(len(data) * cut)]
    folder.mkdir(exist_ok=True)
    (folder / source.name).write_bytes(bytes(data))
    return folder / source.name


@pytest.mark.parametrize("at", [0.55, 0.80, 0.95])
def test_flipped_bytes_in_the_imdb_archive_fail_whatever_the_checksum_flag(
    shared_data, tmp_path, monkeypatch, at
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    path = damaged_copy(shared_data("imdb") / "aclImdb_labeled.tar.gz", tmp_path / "imdb", at=at)
    with pytest.raises(ChecksumMismatchError, match="aclImdb_labeled.tar.gz.*--skip-checksum"):
        load_sentiment("imdb", path.parent)
    # Without the hash check the gzip stream is read to its end, so the damage is still found.
    with pytest.raises(DataFormatError, match="corrupted or truncated") as error:
        load_sentiment("imdb", path.parent, skip_checksum=True)
    assert error.value.path == str(path)


def test_truncated_imdb_archive_names_the_file(shared_data, tmp_path):
    path = damaged_copy(shared_data("imdb") / "aclImdb_labeled.tar.gz", tmp_path, cut=0.3)
    with pytest.raises(DataFormatError, match="corrupted or truncated") as error:
        read_imdb(path)
    assert error.value.path == str(path)


def test_a_damaged_tar_header_in_an_uncompressed_archive_is_not_the_end(tmp_path):
    """tarfile stops quietly at a bad header; the reader checks only zero blocks follow."""
    archive = tmp_path / "reviews.tar"
    with tarfile.open(archive, "w") as tar:
        for index in range(3):
            data = b"a fine film" if index else b"great"
            info = tarfile.TarInfo(f"aclImdb/train/pos/{index}_9.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = bytearray(archive.read_bytes())
    data[1024 + 148] ^= 0xFF  # the second member's header checksum field
    archive.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="corrupted or truncated .a damaged tar header"):
        read_imdb(archive)


def test_token_id_batches_pad_each_batch_to_its_longest_text_only():
    texts = ["a b c d e f g h i j", "a b", "", "c d e", "a b c d e f g h i j k l"] * 4
    split = LabelledTexts(texts, np.array([1, 0, 1, 0, 1] * 4, dtype=np.int32))
    vectorizer = keras.layers.TextVectorization(output_sequence_length=16)
    vectorizer.adapt(tf.constant(texts))
    batches = list(token_id_batches(split, vectorizer, batch_size=4, max_length=16))
    lengths, labels = [], []
    for ids, label in batches:
        assert label.dtype == tf.float32
        real = (ids.numpy() > 0).sum(axis=1)
        assert ids.shape[1] == max(real.max(), 1)  # no padding past the batch's longest text
        lengths += real.tolist()
        labels += label.numpy().tolist()
    assert sorted(lengths) == sorted(len(text.split()) for text in texts)  # every text once, empty kept
    assert sum(labels) == split.labels.sum()
    # Shuffled reproducibly by a seed: the same order for the same seed.
    first, second = (
        [ids.numpy().tolist() for ids, _ in token_id_batches(split, vectorizer, 4, 16, shuffle_seed=3)]
        for _ in range(2)
    )
    assert first == second


# ## A user's own files


# The same four examples in every format: a comma and a line break inside quoted CSV fields, a quote that
# TSV keeps as written (TSV has no quoting, so its text holds a backslash and an n, not a line break), a
# JSON integer label, a spreadsheet's byte order mark and blank lines; and the line each one starts on.
EXAMPLES = [
    ("A fine film, truly.", "pos"),
    ("dull\nand long", "neg"),
    ('"Meh" was my word', "mixed"),
    ("Café", "1"),
]
OWN_FILES = {
    "data.csv": (
        'text,label\n"A fine film, truly.",pos\n"dull\nand long",neg\n"""Meh"" was my word",mixed\n'
        "Café,1\n\n",
        [2, 3, 5, 6],
    ),
    "data.tsv": (
        "id\ttext\tlabel\n1\tA fine film, truly.\tpos\n2\tdull\\nand long\tneg\n\n"
        '3\t"Meh" was my word\tmixed\n4\tCafé\t 1 \n',
        [2, 3, 5, 6],
    ),
    "data.jsonl": (
        '{"text": "A fine film, truly.", "label": "pos"}\n{"text": "dull\\nand long", "label": "neg"}\n\n'
        '{"label": "mixed", "text": "\\"Meh\\" was my word", "id": 3}\r\n{"text": "Café", "label": 1}\n',
        [1, 2, 4, 5],
    ),
}


def write(path, content) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


@pytest.mark.parametrize("name", sorted(OWN_FILES))
def test_own_files_read_alike_in_every_format(tmp_path, name):
    content, lines = OWN_FILES[name]
    path = write(tmp_path / name, (b"\xef\xbb\xbf" if name == "data.csv" else b"") + content.encode())
    examples = read_labelled_texts(path)
    expected = [
        (text.replace("\n", "\\n") if name == "data.tsv" else text, label) for text, label in EXAMPLES
    ]
    assert [(example.text, example.label) for example in examples] == expected
    assert [(example.path, example.line) for example in examples] == [(path, line) for line in lines]


def test_class_folders_and_the_format_flag(tmp_path):
    write(tmp_path / "folder" / "sports" / "a.txt", "The match ended 2-1.")
    write(tmp_path / "folder" / "sports" / "more" / "b.txt", "Goal!")
    write(tmp_path / "folder" / "music" / "c.txt", "A fine chorus.")
    write(tmp_path / "folder" / "music" / "notes.md", "not a text: only .txt files are read")
    write(tmp_path / "folder" / "readme.txt", "beside the classes, not in one")
    examples = read_labelled_texts(tmp_path / "folder")
    assert [(example.text, example.label) for example in examples] == [
        ("A fine chorus.", "music"),
        ("The match ended 2-1.", "sports"),
        ("Goal!", "sports"),
    ]
    # --file-format reads a file whatever its extension, and refuses a folder as a file.
    assert read_labelled_texts(write(tmp_path / "data.txt", "text,label\nhi,a\n"), "csv")[0].label == "a"
    with pytest.raises(DataFormatError, match=r"data.txt: cannot tell the format"):
        read_labelled_texts(tmp_path / "data.txt")
    with pytest.raises(DataFormatError, match="is a folder"):
        read_labelled_texts(tmp_path / "folder", "csv")
    # Other column names.
    tsv = write(tmp_path / "sst.tsv", "sentence\tsentiment\ngood .\t1\n")
    assert read_labelled_texts(tsv, text_column="sentence", label_column="sentiment")[0].text == "good ."


@pytest.mark.parametrize(
    "name, content, where, problem",
    [
        (
            "a.csv",
            "sentence,label\nhi,x\n",
            1,
            "has no 'text' column; its columns: sentence, label; see --text",
        ),
        ("a.csv", "text,label\nhi,x\n  ,y\n", 3, "empty text"),
        ("a.csv", "text,label\nhi,x\nho,\n", 3, "empty label"),
        ("a.csv", "text,label\nhi,x\nho,y,z\n", 3, "3 fields where the header has 2"),
        ("a.csv", 'text,label\nhi,x\n"ho" ho,y\n', 3, "malformed CSV (',' expected after"),
        ("a.csv", 'text,label\nhi,x\n"ho,y\nha,z\n', 3, "quote opened in this row is never closed"),
        ("a.csv", b"text,label\nhi,x\nna\xefve,y\n", 3, "not UTF-8"),
        ("a.tsv", "text\tlabel\nhi\tx\nho\n", 3, "1 fields where the header has 2"),
        ("a.jsonl", '{"text": "hi", "label": "x"}\n{"text": "ho", "label": \n', 2, "not JSON"),
        ("a.jsonl", '{"text": "hi", "label": "x"}\n\n["ho", "y"]\n', 3, "expected a JSON object"),
        ("a.jsonl", '{"text": "hi", "label": "x"}\n{"text": "ho"}\n', 2, "no key 'label'"),
        ("a.jsonl", '{"text": "hi", "label": null}\n', 1, "must be a string or an integer"),
        ("a.jsonl", '{"text": 3, "label": "x"}\n', 1, "'text' must be a string"),
        ("a.jsonl", '{"text": "", "label": "x"}\n', 1, "empty text"),
        ("a.jsonl", b'{"text": "hi", "label": "x"}\n{"text": "\xff", "label": "y"}\n', 2, "not UTF-8"),
        ("a.csv", "text,label\n", None, "no rows"),
        ("a.csv", "", None, "empty: no header and no rows"),
        ("folder/music/a.txt", "   \n", 1, "empty text"),
        ("folder/music/b.txt", b"caf\xe9", 1, "not UTF-8"),
    ],
)
def test_malformed_own_files_are_refused_naming_the_file_and_the_line(
    tmp_path, name, content, where, problem
):
    path = write(tmp_path / name, content)
    target = tmp_path / "folder" if name.startswith("folder/") else path
    with pytest.raises(DataFormatError) as error:
        read_labelled_texts(target)
    assert (error.value.path, error.value.line) == (path, where)
    assert problem in error.value.problem and str(error.value).startswith(f"{path}:{where or ''}".rstrip(":"))


def test_own_splits_name_the_classes_by_the_training_labels(tmp_path):
    rows = [
        f"{word} text {i},{label}"
        for i in range(30)
        for word, label in (("red", "b"), ("blue", "a"), ("green", "c"))
    ]
    train = write(tmp_path / "train.csv", "text,label\n" + "\n".join(rows) + "\n")
    test = write(
        tmp_path / "test.jsonl", '{"text": "blue sky", "label": "a"}\n{"text": "red car", "label": "b"}\n'
    )
    splits, class_names = load_labelled_files(train, test_file=test, validation_fraction=0.2, seed=1)
    assert class_names == ["a", "b", "c"]  # sorted, whatever the file's order
    assert [len(splits[name].texts) for name in ("train", "validation", "test")] == [72, 18, 2]
    assert splits["test"].labels.tolist() == [0, 1] and splits["test"].labels.dtype == np.int32
    for split in splits.values():  # each carved text keeps its own label
        assert all(
            text.split()[0] == {0: "blue", 1: "red", 2: "green"}[label]
            for text, label in zip(split.texts, split.labels)
            if " text " in text
        )
    assert re.fullmatch(
        r" +train: +72 texts, a 31.9%, b 34.7%, c 33.3%", summary(splits, class_names).split("\n")[0]
    )
    # A label the training split lacks is refused where it is written.
    validation = write(
        tmp_path / "validation.jsonl", '{"text": "x", "label": "a"}\n{"text": "y", "label": "d"}\n'
    )
    with pytest.raises(
        DataFormatError, match=r"validation.jsonl:2: label 'd' is not among the training split's"
    ):
        load_labelled_files(train, validation_file=validation)
    one = write(tmp_path / "one.csv", "text,label\n" + "hi,x\n" * 10)
    with pytest.raises(DataFormatError, match="one label, 'x': a classifier needs two or more"):
        load_labelled_files(one)
