"""Sentence pairs: the ManyThings pair format (zip and text), malformed lines that must name the file and
the line, the split that keeps shared sentences together, the generated sample, the real spa-eng file when
$ZOO_DATA_DIR has it (counts from /work/shared/data/spa-eng/SOURCE.md), and a user's own pairs in any two
languages (TSV or Moses prefix, streamed, splits carved by source sentence)."""

import collections
import hashlib
import http.server
import itertools
import threading
import unicodedata
import zipfile

import numpy as np
import pytest
from num2words import num2words

from zoo.data import (
    DATASETS,
    PairFile,
    PairStream,
    carve,
    carve_by_key,
    load_translation,
    number_pair,
    read_sentence_pairs,
    read_user_pairs,
    registry,
    sample_pairs,
    split_pairs,
)
from zoo.errors import DataFormatError, DatasetNotFoundError

# ## Reading the pair format

ABOUT = "These files have been released under the same license as the source.\n"
CONTENT = (
    "\ufeffGo.\tVe.\n"
    "Go.\tVete.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986655 (cueyayotl)\n"
    "\n"  # blank lines are skipped
    "  \t \n"
    "Run!  \t ¡Corre!\r\n"  # surrounding spaces and CRLF
    "He's a cafe\u0301 owner.\tÉl es due\u00f1o de un cafe\u0301.\n"  # decomposed accents
    "Who?\t¿Quién?"  # no newline at the end
)
EXPECTED = [
    ("Go.", "Ve."),
    ("Go.", "Vete."),
    ("Run!", "¡Corre!"),
    ("He's a café owner.", "Él es dueño de un café."),
    ("Who?", "¿Quién?"),
]


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_text_and_zip_are_read_alike(tmp_path):
    text = tmp_path / "spa.txt"
    text.write_text(CONTENT, encoding="utf-8")
    archive = write_zip(
        tmp_path / "spa-eng.zip", {"spa-eng/": b"", "spa-eng/_about.txt": ABOUT, "spa-eng/spa.txt": CONTENT}
    )
    for path in (text, archive):
        pairs = read_sentence_pairs(path)
        assert pairs == EXPECTED
        assert all(unicodedata.is_normalized("NFC", sentence) for pair in pairs for sentence in pair)
    assert "café" in pairs[3][0] and len(pairs[3][0]) == len("He's a café owner.")  # composed, one code point


@pytest.mark.parametrize(
    "members, message",
    [
        ({"spa-eng/_about.txt": ABOUT}, "expected one sentence-pair .txt in the archive, found none"),
        (
            {"a/spa.txt": "Go.\tVe.\n", "a/fra.txt": "Go.\tVa !\n"},
            "expected one sentence-pair .txt in the archive, found a/spa.txt, a/fra.txt",
        ),
    ],
)
def test_archive_needs_exactly_one_pair_file(tmp_path, members, message):
    path = write_zip(tmp_path / "x.zip", members)
    with pytest.raises(DataFormatError, match=message) as error:
        read_sentence_pairs(path)
    assert error.value.path == str(path) and error.value.line is None


@pytest.mark.parametrize(
    "content, message, line",
    [
        ("Go.\tVe.\n\nGo.\n", "expected English<TAB>Spanish .*got 1 field$", 3),
        ("Go.\tVe.\nGo. Vete.\n", "got 1 field$", 2),
        ("Go.\tVe.\tattribution\textra\n", "got 4 fields$", 1),
        ("Go.\tVe.\nRun!\t  \n", "empty Spanish sentence", 2),
        ("\n\n \t¡Corre!\n", "empty English sentence", 3),
        (b"Go.\tVe.\nCaf\xe9\tCaf\xe9\n", "not UTF-8: byte 0xe9", 2),
        (b"", "empty file$", None),
        ("\n \n\t\n", "empty file$", None),
    ],
)
@pytest.mark.parametrize("packed", [False, True])
def test_malformed_lines_name_the_file_and_the_line(tmp_path, content, message, line, packed):
    if packed:
        write_zip(tmp_path / "spa-eng.zip", {"spa-eng/_about.txt": ABOUT, "spa-eng/spa.txt": content})
        path, name = tmp_path / "spa-eng.zip", f"{tmp_path / 'spa-eng.zip'}/spa-eng/spa.txt"
    else:
        path = name = tmp_path / "spa.txt"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(DataFormatError, match=message) as error:
        read_sentence_pairs(path)
    assert error.value.path == str(name) and error.value.line == line
    assert str(error.value).startswith(f"{name}:{line}: " if line else f"{name}: ")


# ## Splitting without shared sentences


def shared_sentences(splits):
    """English and Spanish sentences found in more than one split."""
    found = set()
    for side in (0, 1):
        for first, second in itertools.combinations(splits.values(), 2):
            found |= {pair[side] for pair in first} & {pair[side] for pair in second}
    return found


def linked_pairs(count=1000):
    """`count` pairs: singletons, and chains linked through English and through Spanish sentences."""
    pairs = []
    for index in range(0, count - 3, 4):
        if index % 12 == 0:  # a chain of 4: e0-s0, e0-s1, e1-s1, e1-s2
            pairs += [(f"e{index}", f"s{index}"), (f"e{index}", f"s{index}b")]
            pairs += [(f"e{index}b", f"s{index}b"), (f"e{index}b", f"s{index}c")]
        elif index % 12 == 4:  # one Spanish sentence for several English ones, and one lone pair
            pairs += [(f"e{index}", f"s{index}"), (f"e{index}b", f"s{index}"), (f"e{index}c", f"s{index}")]
            pairs += [(f"e{index}d", f"s{index}d")]
        else:
            pairs += [(f"e{index}{suffix}", f"s{index}{suffix}") for suffix in "abcd"]
    return pairs


@pytest.mark.parametrize("seed", [0, 1, 2, 1337])
def test_split_keeps_linked_pairs_together(seed):
    pairs = linked_pairs()
    splits = split_pairs(pairs, 0.15, 0.15, seed=seed)
    assert list(splits) == ["train", "validation", "test"]
    assert not shared_sentences(splits)
    assert collections.Counter(itertools.chain(*splits.values())) == collections.Counter(pairs)
    # Targets are round(0.15 * 1000) = 150; a split overshoots by less than its last component (<= 4 pairs).
    assert 150 <= len(splits["test"]) < 154 and 150 <= len(splits["validation"]) < 154
    # Each chain of 4 is in one split, and chains reach every split, not only train.
    where = {pair: name for name, split in splits.items() for pair in split}
    chains = [{where[pair] for pair in pairs[start : start + 4]} for start in range(0, 1000, 12)]
    assert all(len(names) == 1 for names in chains)
    assert set().union(*chains) == {"train", "validation", "test"}


def test_split_is_deterministic_by_seed():
    pairs = linked_pairs()
    assert split_pairs(pairs, seed=7) == split_pairs(list(pairs), seed=7)
    assert split_pairs(pairs, seed=7)["test"] != split_pairs(pairs, seed=8)["test"]
    # A random draw, not input order: the test split is not the start or the end of the input.
    test = split_pairs(pairs, seed=7)["test"]
    assert set(test) != set(pairs[:150]) and set(test) != set(pairs[-150:])


def test_split_fractions():
    pairs = [(f"e{index}", f"s{index}") for index in range(200)]
    sizes = {name: len(split) for name, split in split_pairs(pairs, 0.1, 0.25, seed=0).items()}
    assert sizes == {"train": 130, "validation": 20, "test": 50}
    assert len(split_pairs(pairs, 0, 0)["train"]) == 200
    for fractions in [(0.5, 0.5), (-0.1, 0.1), (0.2, 1.0)]:
        with pytest.raises(ValueError, match="must be in"):
            split_pairs(pairs, *fractions)


# ## The generated sample


def test_number_pairs_are_num2words():
    assert number_pair(321) == ("three hundred and twenty-one", "trescientos veintiuno")
    assert number_pair(2021) == ("two thousand and twenty-one", "dos mil veintiuno")
    assert number_pair(16) == ("sixteen", "diecis\u00e9is")  # composed é


def test_sample_is_deterministic_and_spanish_is_num2words():
    sample = sample_pairs(300, seed=1, max_number=999)
    assert sample == sample_pairs(300, seed=1, max_number=999)
    assert sample != sample_pairs(300, seed=2, max_number=999)
    spanish = {num2words(number): num2words(number, lang="es") for number in range(1000)}
    assert all(english in spanish and spanish[english] == translated for english, translated in sample)
    assert len(set(sample)) == 300
    with pytest.raises(ValueError, match="count must be in 1..1000"):
        sample_pairs(1001, max_number=999)


def test_default_sample_covers_every_magnitude():
    sample = sample_pairs()
    assert len(sample) == len(set(sample)) == 3000
    assert all(number_pair(number) in sample for number in range(100))  # all the words longer ones reuse
    thousands = sum("thousand" in english and "mil" in spanish for english, spanish in sample)
    assert 1500 < thousands < 2500  # each magnitude weighs the same: the 4-digit numbers are not 90%


def test_embedded_default_is_split_by_seed():
    data = load_translation(None, seed=3)
    assert (len(data.train), len(data.validation), len(data.test)) == (2100, 450, 450)
    assert "embedded sample" in data.source and "num2words" in data.source
    assert load_translation(None, seed=3) == data
    other = load_translation(None, seed=4)
    assert set(other.test) != set(data.test)
    assert set(data.train) | set(data.validation) | set(data.test) == set(sample_pairs())
    small = load_translation(None, seed=3, max_pairs=100)
    assert (len(small.train), len(small.validation), len(small.test)) == (70, 15, 15)
    assert small.test == data.test[:15] and small.train == data.train[:70]
    with pytest.raises(ValueError, match="max_pairs must be at least 1"):
        load_translation(None, max_pairs=0)


def test_data_dir_layouts(tmp_path):
    nested = tmp_path / "downloads" / "spa-eng"
    nested.mkdir(parents=True)
    (nested / "spa.txt").write_text(CONTENT, encoding="utf-8")
    archive = write_zip(tmp_path / "spa-eng.zip", {"spa-eng/spa.txt": CONTENT.replace("Who?", "Whom?")})
    for data_dir, expected in [(tmp_path / "downloads", "spa.txt"), (archive, "spa-eng.zip")]:
        for dataset in ("spa-eng", None):  # a data_dir alone means spa-eng, not the embedded sample
            data = load_translation(
                dataset, data_dir, seed=0, validation_fraction=0.2, test_fraction=0.2, skip_checksum=True
            )
            read = read_sentence_pairs(nested / "spa.txt" if expected == "spa.txt" else archive)
            assert sorted(data.train + data.validation + data.test) == sorted(read)
            assert f"spa-eng: 5 Tatoeba pairs from {tmp_path}" in data.source and expected in data.source
    # An extracted copy wins over the archive beside it.
    data = load_translation("spa-eng", tmp_path, seed=0, skip_checksum=True)
    assert ("Who?", "¿Quién?") in data.train + data.validation + data.test
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match="empty: no spa.txt or spa-eng.zip under this folder"):
        load_translation("spa-eng", empty)
    with pytest.raises(ValueError, match="unknown translation dataset 'fra-eng'"):
        load_translation("fra-eng", tmp_path)


# ## The real spa-eng file ($ZOO_DATA_DIR/spa-eng)


def test_spa_eng_registry_matches_the_file(shared_data):
    info = DATASETS["spa-eng"]
    (remote,) = info.files
    assert remote.filename == "spa-eng.zip" and not remote.extract
    data = (shared_data("spa-eng") / "spa-eng.zip").read_bytes()
    assert hashlib.sha256(data).hexdigest() == remote.file_hash
    assert "tatoeba.org" in info.license and "CC BY 2.0" in info.license


def test_spa_eng_is_read_and_split_without_shared_sentences(shared_data):
    folder = shared_data("spa-eng")
    pairs = read_sentence_pairs(folder / "spa-eng.zip")
    assert len(pairs) == 118_964 and pairs[:3] == [("Go.", "Ve."), ("Go.", "Vete."), ("Go.", "Vaya.")]
    data = load_translation("spa-eng", seed=1337)  # found as $ZOO_DATA_DIR/spa-eng
    assert str(folder / "spa-eng.zip") in data.source
    splits = {"train": data.train, "validation": data.validation, "test": data.test}
    assert {name: len(split) for name, split in splits.items()} == {
        "train": 83_274,
        "validation": 17_845,
        "test": 17_845,
    }  # as split_pairs' docstring says
    assert not shared_sentences(splits)
    assert collections.Counter(itertools.chain(*splits.values())) == collections.Counter(pairs)


def test_spa_eng_download_is_checked_and_read_from_the_cache(shared_data, tmp_path, monkeypatch):
    served = shared_data("spa-eng")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=served, **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("ZOO_DATA_DIR")
        monkeypatch.setenv("KERAS_HOME", str(tmp_path))
        (remote,) = DATASETS["spa-eng"].files
        url = f"http://127.0.0.1:{server.server_address[1]}/spa-eng.zip"
        info = registry.DatasetInfo(
            "spa-eng", (registry.RemoteFile(url, remote.file_hash, remote.filename),), "h", "l"
        )
        monkeypatch.setitem(registry.DATASETS, "spa-eng", info)
        data = load_translation("spa-eng", seed=0, max_pairs=1000)
    finally:
        server.shutdown()
    cached = tmp_path / "datasets" / "zoo" / "spa-eng" / "spa-eng.zip"
    assert cached.is_file() and str(cached) in data.source
    assert (len(data.train), len(data.validation), len(data.test)) == (700, 150, 150)


def test_a_truncated_or_damaged_zip_is_named_never_read_as_text(shared_data, tmp_path):
    data = (shared_data("spa-eng") / "spa-eng.zip").read_bytes()
    truncated = tmp_path / "cut" / "spa-eng.zip"
    truncated.parent.mkdir()
    truncated.write_bytes(data[: len(data) // 2])  # a download killed half way: no central directory
    with pytest.raises(DataFormatError, match="corrupted or truncated") as error:
        read_sentence_pairs(truncated)
    assert error.value.path == str(truncated)
    with pytest.raises(DataFormatError, match="corrupted or truncated"):
        load_translation("spa-eng", truncated.parent, skip_checksum=True)
    flipped = bytearray(data)
    for index in range(len(data) // 2, len(data) // 2 + 16):
        flipped[index] ^= 0xFF  # inside the compressed pairs: the zip CRC (or inflate) catches it
    (tmp_path / "spa-eng.zip").write_bytes(bytes(flipped))
    with pytest.raises(DataFormatError, match="corrupted or truncated"):
        read_sentence_pairs(tmp_path / "spa-eng.zip")


# ## A user's own pairs (`--dataset file`), streamed from disk


def write_lines(path, lines):
    path.write_bytes(b"".join(line if isinstance(line, bytes) else f"{line}\n".encode() for line in lines))
    return path


def test_own_tsv_ignores_further_columns_and_zip_and_text_read_alike(tmp_path):
    text = tmp_path / "deu.txt"
    text.write_text(CONTENT, encoding="utf-8")  # ManyThings' layout: attribution column, BOM, CRLF
    archive = write_zip(tmp_path / "deu-eng.zip", {"_about.txt": ABOUT, "deu.txt": CONTENT})
    for path in (text, archive):
        assert list(PairFile(path, "en", "es")) == EXPECTED
    many = write_lines(tmp_path / "many.tsv", ["a\tb\tc\td\te", "x\ty\t"])
    assert list(PairFile(many, "en", "de")) == [("a", "b"), ("x", "y")]


def test_own_moses_pair_is_read_line_by_line(tmp_path):
    write_lines(tmp_path / "corpus.de", ["Guten Morgen.", "", "Danke!", "Cafe\u0301"])
    write_lines(tmp_path / "corpus.fr", ["Bonjour.", "", "Merci !", "Café"])
    pairs = PairFile(tmp_path / "corpus", "de", "fr")
    assert str(pairs) == f"{tmp_path / 'corpus.de'} and {tmp_path / 'corpus.fr'}"
    expected = [("Guten Morgen.", "Bonjour."), ("Danke!", "Merci !"), ("Café", "Café")]
    assert list(pairs) == expected and list(pairs) == expected  # read anew each time, NFC


def test_own_moses_files_of_different_lengths_name_both(tmp_path):
    write_lines(tmp_path / "c.de", ["eins", "zwei", "drei"])
    write_lines(tmp_path / "c.fr", ["un", "deux"])
    with pytest.raises(DataFormatError) as error:
        list(PairFile(tmp_path / "c", "de", "fr"))
    assert error.value.path == str(tmp_path / "c.fr") and error.value.line is None
    assert f"c.fr: 2 lines, but {tmp_path / 'c.de'} has 3: the two files of a Moses pair" in str(error.value)
    write_lines(tmp_path / "c.fr", ["un", "deux", "trois", "quatre", "cinq"])
    with pytest.raises(DataFormatError, match=r"c.de: 3 lines, but .*c.fr has 5"):
        list(PairFile(tmp_path / "c", "de", "fr"))


@pytest.mark.parametrize(
    "lines, message, line",
    [
        (["eins\tun", "zwei un"], r"expected de<TAB>fr \(further columns ignored\), found no tab", 2),
        (["eins\tun", "", "zwei\t  \tattribution"], "empty fr sentence", 3),
        (["\tun"], "empty de sentence", 1),
        (["eins\tun", b"zw\xe9i\tdeux\n"], r"not UTF-8: byte 0xe9", 2),
    ],
)
def test_malformed_own_tsv_lines_name_the_file_and_line(tmp_path, lines, message, line):
    path = write_lines(tmp_path / "pairs.tsv", lines)
    with pytest.raises(DataFormatError, match=message) as error:
        list(PairFile(path, "de", "fr"))
    assert error.value.path == str(path) and error.value.line == line


def test_own_moses_line_empty_on_one_side_or_not_utf8_is_named(tmp_path):
    write_lines(tmp_path / "c.de", ["eins", "zwei", "drei"])
    write_lines(tmp_path / "c.fr", ["un", "  ", "trois"])
    with pytest.raises(DataFormatError, match="empty fr sentence") as error:
        list(PairFile(tmp_path / "c", "de", "fr"))
    assert (error.value.path, error.value.line) == (str(tmp_path / "c.fr"), 2)
    write_lines(tmp_path / "c.fr", ["un", b"d\xffux\n", "trois"])
    with pytest.raises(DataFormatError, match="c.fr:2: not UTF-8: byte 0xff"):
        list(PairFile(tmp_path / "c", "de", "fr"))


def test_own_path_neither_file_nor_prefix_is_named(tmp_path):
    write_lines(tmp_path / "c.de", ["eins"])
    with pytest.raises(DatasetNotFoundError, match=r"c: no such file, nor a Moses prefix \(.*c.fr missing\)"):
        PairFile(tmp_path / "c", "de", "fr")


def number_corpus(folder, count, languages=("de", "fr"), start=0, repeats=1):
    """`count` numbers written out in two languages (num2words), as a Moses pair `folder/numbers.*`; each
    number `repeats` times with a different target, as Tatoeba gives a sentence several translations."""
    numbers = range(start, start + count)
    source = [num2words(n, lang=languages[0]) for n in numbers for _ in range(repeats)]
    target = [f"{num2words(n, lang=languages[1])}{'!' * r}" for n in numbers for r in range(repeats)]
    write_lines(folder / f"numbers.{languages[0]}", source)
    write_lines(folder / f"numbers.{languages[1]}", target)
    return folder / "numbers"


def test_own_splits_are_carved_by_source_sentence_and_streamed(tmp_path):
    prefix = number_corpus(tmp_path, 200, repeats=3)
    corpus = read_user_pairs(
        prefix, validation_fraction=0.1, test_fraction=0.2, seed=5, source="de", target="fr"
    )
    assert isinstance(corpus.train, PairStream) and isinstance(corpus.test, list)
    train = list(corpus.train)
    assert len(corpus.train) == len(train) == 420 and len(corpus.validation) == 60 and len(corpus.test) == 120
    splits = {"train": train, "validation": corpus.validation, "test": corpus.test}
    sources = [{source for source, _ in pairs} for pairs in splits.values()]
    assert not any(first & second for first, second in itertools.combinations(sources, 2))
    assert sorted(train + corpus.validation + corpus.test) == sorted(PairFile(prefix, "de", "fr"))
    assert (
        list(corpus.train[:7]) == train[:7] and len(corpus.train[:7]) == 7 and len(corpus.train[:1000]) == 420
    )
    with pytest.raises(TypeError):
        corpus.train[3:5]
    again = read_user_pairs(
        prefix, validation_fraction=0.1, test_fraction=0.2, seed=5, source="de", target="fr"
    )
    assert again.test == corpus.test
    other = read_user_pairs(
        prefix, validation_fraction=0.1, test_fraction=0.2, seed=6, source="de", target="fr"
    )
    assert other.test != corpus.test


def test_carve_by_key_carves_the_distinct_keys_in_order_of_first_appearance():
    keys = np.random.default_rng(0).integers(0, 300, size=1000).astype(np.uint64)
    labels = carve_by_key(keys, 0.15, 0.1, seed=7)
    distinct = list(dict.fromkeys(keys.tolist()))  # what carve splits: one example per key
    by_key = carve(len(distinct), 0.15, 0.1, seed=7)
    label_of = {
        distinct[i]: code for code, name in enumerate(("train", "validation", "test")) for i in by_key[name]
    }
    assert labels.tolist() == [label_of[key] for key in keys.tolist()]
    assert (
        carve(len(keys), 0.15, 0.1, seed=7, groups=keys.tolist())["test"].tolist()
        == np.flatnonzero(labels == 2).tolist()
    )


def test_own_validation_and_test_files_carve_nothing(tmp_path):
    (tmp_path / "train").mkdir()
    train = number_corpus(tmp_path / "train", 50)
    tsv = write_lines(tmp_path / "test.tsv", ["eins\tun", "zwei\tdeux\tattribution"])
    corpus = load_translation(
        "file",
        train_file=train,
        validation_file=tsv,
        test_file=tsv,
        validation_fraction=0.9,
        source="de",
        target="fr",
    )
    assert len(corpus.train) == 50 and corpus.test == corpus.validation == [("eins", "un"), ("zwei", "deux")]
    assert "carved" not in corpus.source
    empty = write_lines(tmp_path / "empty.tsv", ["", "  "])
    with pytest.raises(DataFormatError, match="empty.tsv: no sentence pairs"):
        read_user_pairs(empty, source="de", target="fr")
    with pytest.raises(DataFormatError, match="empty.tsv: no sentence pairs"):
        read_user_pairs(train, test_file=empty, source="de", target="fr")
