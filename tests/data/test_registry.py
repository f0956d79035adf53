import hashlib
import http.server
import os
import pathlib
import threading
import time

import pytest

from zoo.data import integrity, registry
from zoo.errors import ChecksumMismatchError, DataFormatError, DatasetNotFoundError


def test_explicit_data_dir_wins(tmp_path, monkeypatch):
    (tmp_path / "shared" / "imdb").mkdir(parents=True)
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "shared"))
    assert registry.locate("imdb", tmp_path) == tmp_path
    assert registry.locate("imdb") == tmp_path / "shared" / "imdb"


def test_missing_data_dir_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="--data-dir .*nowhere does not exist"):
        registry.locate("imdb", tmp_path / "nowhere")


def test_keras_cache_is_used_and_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "datasets" / "zoo" / "imdb"
    cached.mkdir(parents=True)
    (cached / "aclImdb_v1.tar.gz").write_bytes(b"x")
    assert registry.locate("imdb", skip_checksum=True) == cached
    with pytest.raises(ChecksumMismatchError) as error:
        registry.locate("imdb")  # a cached copy is checked too, not trusted for having been downloaded
    message = str(error.value)
    assert str(cached / "aclImdb_v1.tar.gz") in message and "--skip-checksum" in message
    assert registry.DATASETS["imdb"].files[0].file_hash in message  # the expected hash
    assert hashlib.sha256(b"x").hexdigest() in message  # and the actual one


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(DatasetNotFoundError, match="known: imdb, sst2"):
        registry.locate("yelp")


def offline(monkeypatch, tmp_path, url, file_hash="0" * 32):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    info = registry.DatasetInfo("imdb", (registry.RemoteFile(url, file_hash, "x.tar.gz"),), "h", "l")
    monkeypatch.setitem(registry.DATASETS, "imdb", info)


def test_offline_download_fails_fast_with_how_to_fix(tmp_path, monkeypatch):
    offline(monkeypatch, tmp_path, "http://127.0.0.1:9/none.tar.gz")  # discard port: refused
    start = time.perf_counter()
    with pytest.raises(DatasetNotFoundError) as error:
        registry.locate("imdb")
    assert time.perf_counter() - start < 5
    assert "--data-dir" in str(error.value) and "ZOO_DATA_DIR" in str(error.value)
    assert "http://127.0.0.1:9/none.tar.gz" in str(error.value)


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    served = tmp_path / "www"
    served.mkdir()
    (served / "data.tar.gz").write_bytes(b"not the real archive")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=served, **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.tar.gz"
        offline(monkeypatch, tmp_path / "home", url, file_hash="0" * 64)
        with pytest.raises(ChecksumMismatchError, match="hash does not match.*not kept"):
            registry.locate("imdb")
    finally:
        server.shutdown()
    assert not list((tmp_path / "home").rglob("*.tar.gz"))  # the bad download is not kept
    assert not (tmp_path / "home" / "datasets" / "zoo" / "imdb").exists()  # nor taken for a copy next time


class HalfwayHandler(http.server.BaseHTTPRequestHandler):
    """Promises 1,000,000 bytes, sends half of them, and closes the connection: a killed download."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + b"\0" * 499_998)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_interrupted_download_leaves_nothing_under_the_final_name(tmp_path, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HalfwayHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x.tar.gz"
        offline(monkeypatch, tmp_path, url, file_hash="0" * 64)
        with pytest.raises(DatasetNotFoundError, match="closed after 500,000 of 1,000,000 bytes"):
            registry.locate("imdb")
    finally:
        server.shutdown()
        server.server_close()
    assert not list(tmp_path.rglob("x.tar.gz")) and not list(tmp_path.rglob(".partial-*"))


def test_a_folder_without_known_files_is_read_unverified(tmp_path, capsys):
    (tmp_path / "aclImdb").mkdir()
    copy = registry.find_dataset("imdb", tmp_path)
    assert copy.folder == tmp_path and copy.variant is None
    assert "unverified" in capsys.readouterr().out


def test_checksum_cache_does_not_rehash_an_unchanged_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    hashed = []
    real = integrity._hash
    monkeypatch.setattr(integrity, "_hash", lambda path: hashed.append(path) or real(path))
    data = tmp_path / "data.bin"
    data.write_bytes(b"first")
    first = integrity.file_digests([data])
    assert integrity.file_digests([data]) == first and len(hashed) == 1  # the second check read the cache
    assert (tmp_path / "home" / "datasets" / "zoo" / integrity.CHECKSUM_CACHE).is_file()
    data.write_bytes(b"other")
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 1))
    assert integrity.file_digests([data])[0]["sha256"] == hashlib.sha256(b"other").hexdigest()
    assert len(hashed) == 2  # an edited file is hashed afresh


def test_tree_hash_is_sha256_of_the_sha256sum_lines(tmp_path):
    folder = tmp_path / "recordings"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.wav").write_bytes(b"b")
    (folder / "sub" / "a.wav").write_bytes(b"a")
    (folder / ".DS_Store").write_bytes(b"ignored")
    lines = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in sorted({"recordings/b.wav": b"b", "recordings/sub/a.wav": b"a"}.items())
    )
    assert integrity.tree_hash(folder) == hashlib.sha256(lines.encode()).hexdigest()


def _pinned_files(folder: pathlib.Path, variant) -> dict[str, pathlib.Path]:
    return {entry: integrity._find(folder, entry) for entry in variant.files}


def test_every_shared_dataset_matches_its_pinned_hashes(shared_data, tmp_path, monkeypatch):
    """The pins are right: each copy in ZOO_DATA_DIR is identified as a known copy, and every single-file
    pin is checked again here with hashlib, outside the hash cache."""
    shared_data("imdb")  # skips without ZOO_DATA_DIR
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty hash cache: everything is hashed afresh
    root = pathlib.Path(os.environ["ZOO_DATA_DIR"])
    names = sorted(name for name in registry.DATASETS if (root / name).is_dir())
    assert names == sorted(path.name for path in root.iterdir() if path.is_dir())  # none unpinned
    for name in names:
        copy = registry.find_dataset(name)
        assert copy.variant is not None, name
        for entry, path in _pinned_files(copy.folder, copy.variant).items():
            if not entry.endswith("/"):
                assert hashlib.sha256(path.read_bytes()).hexdigest() == copy.variant.files[entry], path
        subset = copy.variant.whole is not None
        assert subset == (name in ("ljspeech", "flickr8k")), name


def test_every_download_and_copy_is_pinned():
    for name, info in registry.DATASETS.items():
        for remote in info.files:
            assert len(remote.file_hash) in (32, 64) or name == "fsdd", remote.filename
        for variant in info.variants:
            assert variant.files and all(
                len(digest) == 64 for digest in variant.files.values() if len(digest) != 32
            )
    # fsdd's archive has no published hash: its recordings are pinned by their tree hash instead
    assert "recordings/" in registry.DATASETS["fsdd"].variants[0].files


def test_counts_are_checked_against_the_identified_copy(tmp_path, capsys):
    subset = integrity.Variant("the 2-clip subset", {"a": "0" * 64}, {"clips": 2}, whole={"clips": 10})
    integrity.check_counts(integrity.DatasetCopy("demo", tmp_path, subset), {"clips": 2}, "")
    assert "2 of 10 clips" in capsys.readouterr().out  # a known subset says how much it holds
    with pytest.raises(DataFormatError, match=r"read 1 clips.*holds 2.*incomplete") as error:
        integrity.check_counts(integrity.DatasetCopy("demo", tmp_path, subset), {"clips": 1}, "")
    assert error.value.path == str(tmp_path)
    integrity.check_counts(integrity.DatasetCopy("demo", tmp_path), {"clips": 1})  # unverified: read as is


def test_skip_checksum_is_a_flag_of_every_recipe():
    import zoo.cli
    from zoo.train import RunConfig

    assert RunConfig().skip_checksum is False
    assert zoo.cli.parse(RunConfig, ["--skip-checksum"]).skip_checksum  # every recipe's Config subclasses it
