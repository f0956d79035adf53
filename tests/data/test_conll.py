"""CoNLL readers and tag schemes on the real WNUT-17 files, CoNLL-2003-style files, malformed inputs that
must name the file and the line, and the embedded sample."""

import collections
import hashlib
import itertools
import os
import pathlib
import re

import numpy as np
import pytest
from seqeval.metrics.sequence_labeling import get_entities

from zoo.data import (
    DATASETS,
    TaggedSentences,
    convert_tags,
    load_ner,
    locate,
    ner_sample,
    ner_summary,
    read_conll,
    validate_tags,
)
from zoo.errors import DataFormatError, DatasetNotFoundError

# ## WNUT-17 as distributed (counts from /work/shared/data/wnut17/SOURCE.md)

WNUT17_TRAIN_TAGS = {
    "O": 59_570,
    "B-person": 660,
    "I-person": 335,
    "B-location": 548,
    "I-location": 245,
    "B-group": 264,
    "I-group": 150,
    "B-corporation": 221,
    "I-corporation": 46,
    "B-creative-work": 140,
    "I-creative-work": 206,
    "B-product": 142,
    "I-product": 203,
}


@pytest.fixture(scope="module")
def wnut17():
    root = os.environ.get("ZOO_DATA_DIR")
    if not root:
        pytest.skip("ZOO_DATA_DIR is not set")
    return load_ner("wnut17", pathlib.Path(root) / "wnut17")


def test_wnut17_files_as_distributed(wnut17):
    counts = {name: (len(s.tokens), sum(map(len, s.tokens))) for name, s in wnut17.items()}
    assert counts == {"train": (3_394, 62_730), "validation": (1_009, 15_733), "test": (1_287, 23_394)}
    train = wnut17["train"]
    assert collections.Counter(tag for tags in train.tags for tag in tags) == WNUT17_TRAIN_TAGS
    for split in wnut17.values():
        assert isinstance(split, TaggedSentences) and split.repaired == 0 and split.source_scheme == "bio"
        assert {tag for tags in split.tags for tag in tags} == set(WNUT17_TRAIN_TAGS)  # 13 tags everywhere
        assert all(len(tokens) == len(tags) and tokens for tokens, tags in zip(split.tokens, split.tags))
    # The first separator of wnut17train.conll is a line holding a single TAB: it ends the sentence.
    assert train.tokens[0][:3] == ["@paulwalk", "It", "'s"] and train.tokens[0][-2:] == ["evening", "."]
    assert train.tokens[1][:2] == ["From", "Green"]
    start = train.tokens[0].index("Empire")
    assert train.tags[0][start : start + 3] == ["B-location", "I-location", "I-location"]
    assert not any(token != token.strip() or "\t" in token for tokens in train.tokens for token in tokens)


def test_wnut17_found_through_zoo_data_dir(wnut17, shared_data):
    assert locate("wnut17") == shared_data("wnut17")  # $ZOO_DATA_DIR/wnut17
    assert load_ner("wnut17")["test"].tokens == wnut17["test"].tokens


def test_wnut17_registry_matches_the_files(shared_data):
    info = DATASETS["wnut17"]
    assert [remote.filename for remote in info.files] == [
        "wnut17train.conll",
        "emerging.dev.conll",
        "emerging.test.annotated",
    ]
    for remote in info.files:
        assert remote.url == (
            f"https://raw.githubusercontent.com/leondz/emerging_entities_17/master/{remote.filename}"
        )
        data = (shared_data("wnut17") / remote.filename).read_bytes()
        assert hashlib.sha256(data).hexdigest() == remote.file_hash
    assert info.license.startswith("CC BY 4.0")


def test_bio_bioes_iob1_round_trips_on_wnut17_train(wnut17):
    entities = singles = 0
    for tags in wnut17["train"].tags:
        assert validate_tags(tags, "bio") is None
        bioes = convert_tags(tags, "bio", "bioes")
        assert validate_tags(bioes, "bioes") is None
        assert convert_tags(bioes, "bioes", "bio") == tags
        iob1 = convert_tags(tags, "bio", "iob1")
        assert validate_tags(iob1, "iob1") is None and convert_tags(iob1, "iob1", "bio") == tags
        entities += sum(tag.startswith("B-") for tag in tags)
        singles += sum(tag.startswith("S-") for tag in bioes)
        assert sum(tag.startswith(("E-", "S-")) for tag in bioes) == sum(tag.startswith("B-") for tag in tags)
    assert entities == 1_975 and 0 < singles < entities


def test_wnut17_raw_test_file_is_pointed_at_the_gold_one(tmp_path, shared_data):
    for name in ("wnut17train.conll", "emerging.dev.conll"):
        (tmp_path / name).write_bytes((shared_data("wnut17") / name).read_bytes())
    (tmp_path / "emerging.test.conll").write_text("Apple\tB-corporation,B-product\n")
    with pytest.raises(DataFormatError, match="gold test set is emerging.test.annotated"):
        load_ner("wnut17", tmp_path)


# ## Tag schemes


def test_convert_tags_examples():
    iob1 = ["I-ORG", "O", "I-MISC", "O", "I-PER", "I-PER", "B-PER", "I-LOC", "B-LOC", "I-LOC"]
    bio = ["B-ORG", "O", "B-MISC", "O", "B-PER", "I-PER", "B-PER", "B-LOC", "B-LOC", "I-LOC"]
    bioes = ["S-ORG", "O", "S-MISC", "O", "B-PER", "E-PER", "S-PER", "S-LOC", "B-LOC", "E-LOC"]
    assert convert_tags(iob1, "iob1", "bio") == bio
    assert convert_tags(bio, "bio", "bioes") == bioes
    assert convert_tags(bioes, "bioes", "bio") == bio
    assert convert_tags(bio, "bio", "iob1") == iob1
    assert convert_tags(bioes, "bioes", "iob1") == iob1
    assert convert_tags([], "bio", "bioes") == []
    assert convert_tags(["B-creative-work", "I-creative-work"], "bio", "bioes") == [
        "B-creative-work",
        "E-creative-work",
    ]
    with pytest.raises(ValueError, match="unknown tag scheme 'iobes'"):
        convert_tags(bio, "bio", "iobes")
    with pytest.raises(ValueError, match="tag 'S-PER' at position 0"):
        convert_tags(["S-PER"], "bio", "bioes")


def _rule_of_thumb(tags, scheme):
    """The schemes' rules, written independently of zoo.data.conll: index of the first bad tag."""
    if scheme in ("bio", "iob1"):
        opening = "I" if scheme == "bio" else "B"  # the prefix that must continue an entity
        for i, tag in enumerate(tags):
            if tag[0] == opening and (i == 0 or tags[i - 1] not in (f"B{tag[1:]}", f"I{tag[1:]}")):
                return i
        return None
    open_type = None
    for i, tag in enumerate(tags):
        if open_type is not None and tag not in (f"I-{open_type}", f"E-{open_type}"):
            return i - 1  # the entity before this tag is never closed
        if open_type is None and tag[0] in "IE":
            return i  # continues an entity that did not start
        open_type = tag[2:] if tag[0] in "BI" else None
    return len(tags) - 1 if open_type is not None else None


@pytest.mark.parametrize(
    "scheme, alphabet, longest",
    [
        ("bio", ["O", "B-a", "I-a", "B-b", "I-b"], 5),
        ("iob1", ["O", "B-a", "I-a", "B-b", "I-b"], 5),
        ("bioes", ["O", "B-a", "I-a", "E-a", "S-a", "B-b", "I-b", "E-b", "S-b"], 4),
    ],
)
def test_validate_tags_on_every_short_sequence(scheme, alphabet, longest):
    valid = 0
    for length in range(longest + 1):
        for tags in map(list, itertools.product(alphabet, repeat=length)):
            invalid = validate_tags(tags, scheme)
            assert invalid == _rule_of_thumb(tags, scheme), tags
            if invalid is None:
                valid += 1
                for other in ("bio", "iob1", "bioes"):
                    assert convert_tags(convert_tags(tags, scheme, other), other, scheme) == tags
    assert valid > 100


def test_validate_tags_refuses_tags_outside_the_scheme():
    assert validate_tags(["O", "S-person"], "bio") == 1
    assert validate_tags(["O", "B-person", "PERSON"], "bioes") == 1  # B-person is left open first
    assert validate_tags(["O", "b-person"], "bio") == 1
    with pytest.raises(ValueError, match="unknown tag scheme"):
        validate_tags(["O"], "bilou")


@pytest.mark.parametrize("scheme, prefixes", [("bio", "BI"), ("bioes", "BIES")])
def test_repair_reads_tags_as_conlleval(scheme, prefixes):
    """seqeval's default mode reads chunks as conlleval does: the repair must find the same entities."""
    rng = np.random.default_rng(0)
    alphabet = ["O"] + [f"{prefix}-{kind}" for prefix in prefixes for kind in ("a", "b")]
    repaired = 0
    for _ in range(2_000):
        tags = [str(tag) for tag in rng.choice(alphabet, size=rng.integers(1, 9))]
        fixed = convert_tags(tags, scheme, scheme)
        assert validate_tags(fixed, scheme) is None
        assert get_entities(fixed) == get_entities(tags)
        repaired += fixed != tags
    assert repaired > 1_000


# ## Column files


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


# CoNLL-2003 as released (IOB1, 4 space-separated columns): `B-` only between adjacent entities of one type.
ENG_IOB1 = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

India NNP I-NP I-LOC
Pakistan NNP I-NP B-LOC
and CC O O
New NNP I-NP I-LOC
York NNP I-NP I-LOC
Boston NNP I-NP B-LOC
, , O O
Smith NNP I-NP I-PER
-DOCSTART- -X- -X- O
Lamb NN I-NP O
"""
ENG_BIO = [
    ["B-ORG", "O", "B-MISC", "O", "O"],
    ["B-PER", "I-PER"],
    ["B-LOC", "B-LOC", "O", "B-LOC", "I-LOC", "B-LOC", "O", "B-PER"],
    ["O"],
]


def test_iob1_file_is_converted_to_bio_exactly(tmp_path):
    data = read_conll(write(tmp_path, "eng.train", ENG_IOB1), scheme="iob1")
    assert data.tags == ENG_BIO and data.source_scheme == "iob1" and data.repaired == 0
    assert data.tokens[0] == ["EU", "rejects", "German", "call", "."]
    assert data.tokens[3] == ["Lamb"]  # -DOCSTART- ends a sentence and is no token
    assert not any("-DOCSTART-" in tokens for tokens in data.tokens)
    # Read as BIO, the first I-ORG is an error, and the message says how to read it anyway.
    with pytest.raises(DataFormatError, match=r"eng.train:3: tag 'I-ORG' cannot follow .* --repair-tags"):
        read_conll(tmp_path / "eng.train")


@pytest.mark.parametrize(
    "names", [("eng.train", "eng.testa", "eng.testb"), ("train.txt", "valid.txt", "test.txt")]
)
@pytest.mark.parametrize("written", ["iob1", "bio", "bioes"])
def test_conll2003_layouts_and_schemes_are_detected(tmp_path, names, written):
    folder = tmp_path / "nested" / "conll2003"
    folder.mkdir(parents=True)
    lines = ENG_IOB1.splitlines(keepends=True)
    for name in names:
        if written == "iob1":
            write(folder, name, ENG_IOB1)
            continue
        # The same sentences with their tags rewritten in another scheme.
        data = read_conll(write(folder, name, ENG_IOB1), scheme="iob1")
        tags = iter(tag for sentence in data.tags for tag in convert_tags(sentence, "bio", written))
        rewritten = [
            line
            if not line.strip() or line.startswith("-DOCSTART-")
            else f"{line.rsplit(' ', 1)[0]} {next(tags)}\n"
            for line in lines
        ]
        write(folder, name, "".join(rewritten))
    splits = load_ner("conll2003", tmp_path)  # a parent of the folder works too
    assert sorted(splits) == ["test", "train", "validation"]
    for split in splits.values():
        assert split.tags == ENG_BIO and split.source_scheme == written and split.repaired == 0
    # An explicit scheme wins over detection.
    with pytest.raises(DataFormatError, match=f"{names[0]}:"):
        load_ner("conll2003", folder, scheme="bio" if written != "bio" else "iob1")


def test_conll2003_folder_without_files(tmp_path):
    write(tmp_path, "train.txt", "EU B-ORG\n")
    with pytest.raises(DataFormatError, match="no CoNLL-2003 files .*eng.train.* or train.txt, valid.txt"):
        load_ner("conll2003", tmp_path)


def test_conll2003_has_no_download(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))  # no conll2003/ in it
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for call in (lambda: locate("conll2003"), lambda: load_ner("conll2003")):
        with pytest.raises(DatasetNotFoundError) as error:
            call()
        message = str(error.value)
        assert "--data-dir" in message and "https://www.clips.uantwerpen.be/conll2003/ner/" in message
    assert not (tmp_path / "keras").exists()  # nothing was attempted


def test_sentence_boundaries(tmp_path):
    content = (
        # CRLF; lines of a tab or of spaces; several blank lines in a row are one boundary.
        "\n\nI\tO\r\nlove\tO\r\n\t\r\n \t \n\n"
        "São\tB-location\nPaulo\tI-location\n-DOCSTART-\tO\n🔥\tO\n"  # -DOCSTART- without blank lines
        "\n@paul_w\tO\n#tbt\tO"  # no newline at the end
    )
    data = read_conll(write(tmp_path, "b.conll", content))
    assert data.tokens == [["I", "love"], ["São", "Paulo"], ["🔥"], ["@paul_w", "#tbt"]]
    assert data.tags == [["O", "O"], ["B-location", "I-location"], ["O"], ["O", "O"]]
    spaced = read_conll(write(tmp_path, "s.conll", "EU   NNP  B-ORG\nrejects VBZ O  \n"))
    assert spaced.tokens == [["EU", "rejects"]] and spaced.tags == [["B-ORG", "O"]]
    # A BOM is not part of the first token.
    assert read_conll(write(tmp_path, "bom.conll", "\ufeffEU\tB-ORG\n")).tokens == [["EU"]]


@pytest.mark.parametrize(
    "content, scheme, message, line",
    [
        ("EU NNP B-ORG\nrejects VBZ\n", "bio", r"f.conll:2: expected 3 columns \(as on line 1\), got 2", 2),
        ("a\tO\n\nb\tO\tO\n", "bio", r"f.conll:3: expected 2 columns \(as on line 1\), got 3", 3),
        ("a\nb\n", "bio", r"f.conll:1: expected a token and a tag column, got 1 column", 1),
        (
            "a\tO\nb\tI-person\n",
            "bio",
            r"f.conll:2: tag 'I-person' cannot follow 'O' in bio; --repair-tags \(repair=True\) reads it "
            r"as conlleval does, as 'B-person'",
            2,
        ),
        ("\nb\tI-person\n", "bio", r"f.conll:2: tag 'I-person' cannot follow the sentence start in bio", 2),
        (
            "a\tB-person\nb\tO\n",
            "bioes",
            r"f.conll:1: tag 'B-person' before 'O' leaves its entity open in bioes .* as 'S-person'",
            1,
        ),
        ("a\tI-LOC\nb\tB-PER\n", "iob1", r"f.conll:2: tag 'B-PER' cannot follow 'I-LOC' in iob1", 2),
        ("a\tO\nb\tPERSON\n", "bio", r"f.conll:2: tag must be O or PREFIX-TYPE .*got 'PERSON'", 2),
        ("a\tB-\n", "bio", r"f.conll:1: tag must be O or PREFIX-TYPE .*got 'B-'", 1),
        ("a\tB-corporation,B-product\n", "bio", r"f.conll:1: tag must be O or PREFIX-TYPE", 1),
        ("a\tO\nb\tS-person\n", "bio", r"f.conll:2: tag 'S-person' is not O or B\|I-TYPE", 2),
        (" \tO\n", "bio", r"f.conll:1: empty token", 1),
        (b"a\tO\n\nna\xefve\tO\n", "bio", r"f.conll:3: not UTF-8: byte 0xef", 3),
        (b"", "bio", r"f.conll: empty file$", None),
        ("\n\t\n  \n", "bio", r"f.conll: empty file$", None),
        ("-DOCSTART- -X- -X- O\n\n", "bio", r"f.conll: no sentences$", None),
    ],
)
def test_malformed_files_are_named(tmp_path, content, scheme, message, line):
    path = write(tmp_path, "f.conll", content)
    with pytest.raises(DataFormatError, match=message) as error:
        read_conll(path, scheme=scheme)
    assert error.value.path == str(path) and error.value.line == line
    assert str(error.value).startswith(str(path))


def test_repair_counts_and_converts(tmp_path):
    content = "a\tO\nb\tI-person\nc\tI-person\n\nd\tB-location\ne\tI-person\n\nf\tB-group\n"
    path = write(tmp_path, "r.conll", content)
    data = read_conll(path, repair=True)
    assert data.tags == [["O", "B-person", "I-person"], ["B-location", "B-person"], ["B-group"]]
    assert data.repaired == 2
    assert "2 tags repaired" in ner_summary({"train": data})
    assert read_conll(write(tmp_path, "ok.conll", "f\tB-group\n"), repair=True).repaired == 0
    # BIOES: an entity left open (B- before O) is a single-token entity, as conlleval reads it.
    bioes = read_conll(
        write(tmp_path, "e.conll", "a\tB-x\nb\tO\nc\tI-x\nd\tE-x\n"), scheme="bioes", repair=True
    )
    assert bioes.tags == [["B-x", "O", "B-x", "I-x"]] and bioes.repaired == 2  # S-x, B-x
    with pytest.raises(ValueError, match="unknown tag scheme 'BIO'"):
        read_conll(path, scheme="BIO")


# ## The embedded sample


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras"


def names(split):
    """(type, name) of every entity of BIO tags, case-folded, as the split by name sees them."""
    found = set()
    for tokens, tags in zip(split.tokens, split.tags):
        for start, tag in enumerate(tags):
            if tag.startswith("B-"):
                end = start + 1
                while end < len(tags) and tags[end] == f"I-{tag[2:]}":
                    end += 1
                found.add((tag[2:], " ".join(tokens[start:end]).casefold()))
    return found


def test_write_sample_is_deterministic_and_diverse(tmp_path):
    first = ner_sample.write_sample(tmp_path / "a.conll", sentences=200, seed=1).read_bytes()
    assert first == ner_sample.write_sample(tmp_path / "b.conll", sentences=200, seed=1).read_bytes()
    assert first != ner_sample.write_sample(tmp_path / "c.conll", sentences=200, seed=2).read_bytes()
    data = read_conll(tmp_path / "a.conll")
    assert len(data.tokens) == 200 and data.source_scheme == "bio"
    assert {tag for tags in data.tags for tag in tags} == {"O"} | {
        f"{prefix}-{kind}" for prefix in "BI" for kind in ("person", "location", "corporation", "product")
    }
    entity_tokens = [
        t for tokens, tags in zip(data.tokens, data.tags) for t, tag in zip(tokens, tags) if tag != "O"
    ]
    other_tokens = [
        t for tokens, tags in zip(data.tokens, data.tags) for t, tag in zip(tokens, tags) if tag == "O"
    ]
    assert any(t.islower() and t[0].isalpha() for t in entity_tokens)  # lowercase names
    assert any(t.isupper() and len(t) > 3 for t in entity_tokens)  # names in capitals
    assert any(t.isdigit() for t in entity_tokens) and any(t.isdigit() for t in other_tokens)
    assert any(t.startswith("@") for t in other_tokens) and any(t.startswith("#") for t in other_tokens)
    assert any(re.search("[\U0001f300-\U0001faff]", t) for t in other_tokens)  # emoji
    assert any(tags.count("I-product") >= 2 for tags in data.tags)  # names of three tokens
    assert len(set(map(tuple, data.tokens))) > 190  # hardly any sentence twice
    assert len(ner_sample.TEMPLATES) >= 25 and min(map(len, ner_sample.NAMES.values())) >= 20


def test_embedded_sample_is_written_once_and_read_back(keras_home):
    splits = load_ner(None)
    files = list(keras_home.rglob("*.conll"))
    assert len(files) == 1 and files[0].parent == keras_home / "datasets" / "zoo" / "ner_sample"
    assert sum(len(split.tokens) for split in splits.values()) == 300
    # Not rewritten when present: an edit is read back (and refused, naming the file and the line).
    lines = files[0].read_text(encoding="utf-8").count("\n")
    with files[0].open("a", encoding="utf-8") as file:
        file.write("stray\tI-person\n")
    with pytest.raises(DataFormatError, match=re.escape(f"{files[0]}:{lines + 1}: tag 'I-person'")):
        load_ner(None)
    repaired = load_ner(None, repair=True)
    assert sum(split.repaired for split in repaired.values()) == 1
    assert sum(len(split.tokens) for split in repaired.values()) == 301


def test_embedded_sample_splits_by_seed_and_by_name(keras_home):
    splits = load_ner(None, seed=3)
    assert load_ner(None, seed=3) == splits
    assert load_ner(None, seed=4)["test"].tokens != splits["test"].tokens
    for seed in (0, 3, 4):
        splits = load_ner(None, seed=seed)
        sizes = [len(splits[name].tokens) for name in ("train", "validation", "test")]
        assert sum(sizes) == 300 and sizes[0] >= 235 and min(sizes[1:]) >= 25
        train, validation, test = (names(splits[name]) for name in ("train", "validation", "test"))
        kinds = [{kind for kind, _ in found} for found in (train, validation, test)]
        assert kinds == [{"person", "location", "corporation", "product"}] * 3
        # Every held-out sentence mentions a name training never saw; some test names are nowhere else.
        for split in (splits["validation"], splits["test"]):
            for tokens, tags in zip(split.tokens, split.tags):
                assert names(TaggedSentences([tokens], [tags])) - train
        assert len(test - train - validation) >= 5
    entities = sum(tag.startswith("B-") for tags in splits["test"].tags for tag in tags)
    assert re.fullmatch(
        rf" +test: +{sizes[2]} sentences, +[\d,]+ tokens, +{entities} entities "
        r"\(corporation \d+, location \d+, person \d+, product \d+\)",
        ner_summary(splits).splitlines()[2],
    )


def test_unknown_dataset_and_scheme():
    with pytest.raises(ValueError, match="unknown NER dataset 'ontonotes'"):
        load_ner("ontonotes")
    with pytest.raises(ValueError, match="unknown tag scheme 'bilou'"):
        load_ner(None, scheme="bilou")


# ## Your own files (`--dataset file`)

# Three sentences with types of the user's own (drug, dose), written in BIOES.
OWN_TOKENS = [["Take", "two", "aspirin", "daily"], ["Ibuprofen", "helps"], ["No", "dose", "given"]]
OWN_BIOES = [["O", "B-dose", "E-dose", "O"], ["S-drug", "O"], ["O", "O", "O"]]
OWN_BIO = [["O", "B-dose", "I-dose", "O"], ["B-drug", "O"], ["O", "O", "O"]]


def own_file(tmp_path, name, tags, columns=2, repeat=1):
    """The sentences as a WNUT-style file (token<TAB>tag) or, with 4 columns, CoNLL-2003-style (token, POS,
    chunk and tag separated by spaces, with a -DOCSTART- line)."""
    lines = ["-DOCSTART- -X- -X- O", ""] if columns == 4 else []
    for _ in range(repeat):
        for tokens, sentence in zip(OWN_TOKENS, tags):
            for token, tag in zip(tokens, sentence):
                lines.append(f"{token} NN I-NP {tag}" if columns == 4 else f"{token}\t{tag}")
            lines.append("")
    return write(tmp_path, name, "\n".join(lines))


def test_own_two_and_four_column_files_are_read_alike_in_any_tag_set(tmp_path):
    for columns in (2, 4):
        files = {
            name: own_file(tmp_path, f"{name}{columns}.txt", OWN_BIO, columns)
            for name in ("train", "validation", "test")
        }
        splits = load_ner("file", **{f"{name}_file": path for name, path in files.items()})
        for split in splits.values():
            assert split.tokens == OWN_TOKENS and split.tags == OWN_BIO and split.source_scheme == "bio"


def test_own_file_columns_are_chosen_counting_from_either_end(tmp_path):
    # id, token, tag, part of speech: neither the first nor the last column holds what is wanted.
    path = write(tmp_path, "c.tsv", "1\tTake\tO\tVB\n2\taspirin\tB-drug\tNN\n\n1\tStop\tO\tVB\n")
    for token_column, tag_column in ((1, 2), (-3, -2), (1, -2)):
        data = read_conll(path, token_column=token_column, tag_column=tag_column)
        assert data.tokens == [["Take", "aspirin"], ["Stop"]] and data.tags == [["O", "B-drug"], ["O"]]
    with pytest.raises(DataFormatError, match=r"c.tsv:1: tag must be O or PREFIX-TYPE .*got 'VB'"):
        read_conll(path, token_column=1)  # the last column is not the tag here


def test_own_bioes_file_is_detected_and_converted_to_the_scheme_learnt(tmp_path):
    path = own_file(tmp_path, "bioes.txt", OWN_BIOES, repeat=10)
    splits = load_ner("file", train_file=path, seed=3)
    assert {split.source_scheme for split in splits.values()} == {"bioes"}
    assert "read as bioes" in ner_summary(splits)
    assert sum(len(split.tokens) for split in splits.values()) == 30
    assert [len(splits[name].tokens) for name in ("train", "validation", "test")] == [24, 3, 3]
    for split in splits.values():  # BIO whatever the file's scheme, and back to BIOES exactly
        for tokens, tags in zip(split.tokens, split.tags):
            index = OWN_TOKENS.index(tokens)
            assert tags == OWN_BIO[index]
            assert convert_tags(tags, "bio", "bioes") == OWN_BIOES[index]
    # Said to be BIO, the file is refused at its first E- tag, with the file and line.
    with pytest.raises(DataFormatError, match=r"bioes.txt:3: tag 'E-dose' is not O or B\|I-TYPE"):
        load_ner("file", train_file=path, scheme="bio")
    # The same file again draws the same splits; another seed others.
    assert load_ner("file", train_file=path, seed=3)["test"].tokens == splits["test"].tokens
    assert any(
        load_ner("file", train_file=path, seed=seed)["test"].tokens != splits["test"].tokens
        for seed in (4, 5, 6)
    )


@pytest.mark.parametrize(
    "content, flags, message, line",
    [
        ("a\tO\nb\n", {}, r"expected 2 columns \(as on line 1\), got 1", 2),
        ("a\tO\n", {"tag_column": 2}, r"2 columns, too few for the tag in column 2 \(--tag-column\)", 1),
        ("a\tO\n", {"token_column": -3}, r"2 columns, too few for the token in column -3", 1),
        ("a\tO\n", {"token_column": 1}, r"the token and the tag are both column 1 of 2", 1),
        ("a\tO\nb\tI-drug\n", {"scheme": "bio"}, r"tag 'I-drug' cannot follow 'O' in bio; --repair-tags", 2),
        # Valid in no scheme, so whatever is detected refuses it.
        ("a\tB-drug\nb\tI-dose\n", {}, r"tag 'I-dose' cannot follow 'B-drug' in bio", 2),
        ("a\tB-drug\nb\tO\n", {"scheme": "bioes"}, r"tag 'B-drug' before 'O' leaves its entity open", 1),
    ],
)
def test_malformed_own_files_are_named(tmp_path, content, flags, message, line):
    path = write(tmp_path, "own.conll", (content + "\n") * 3)  # enough sentences to carve from
    with pytest.raises(DataFormatError, match=message) as error:
        load_ner("file", train_file=path, **flags)
    assert error.value.path == str(path) and error.value.line == line


def test_own_file_repairs_and_missing_files(tmp_path):
    path = write(tmp_path, "r.conll", "a\tO\nb\tI-drug\n\nc\tO\n\nd\tO\n")
    splits = load_ner("file", train_file=path, scheme="bio", repair=True)
    assert sum(split.repaired for split in splits.values()) == 1
    with pytest.raises(DatasetNotFoundError, match="missing.conll: no such file"):
        load_ner("file", train_file=path, test_file=tmp_path / "missing.conll")
    with pytest.raises(ValueError, match="needs a train_file"):
        load_ner("file")
