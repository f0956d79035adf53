import http.server
import threading
import time

import pytest

from zoo.data import registry
from zoo.errors import DatasetNotFoundError


def test_explicit_data_dir_wins(tmp_path, monkeypatch):
    (tmp_path / "shared" / "imdb").mkdir(parents=True)
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "shared"))
    assert registry.locate("imdb", tmp_path) == tmp_path
    assert registry.locate("imdb") == tmp_path / "shared" / "imdb"


def test_missing_data_dir_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="--data-dir .*nowhere does not exist"):
        registry.locate("imdb", tmp_path / "nowhere")


def test_keras_cache_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "datasets" / "zoo" / "imdb"
    cached.mkdir(parents=True)
    (cached / "aclImdb_v1.tar.gz").write_bytes(b"x")
    assert registry.locate("imdb") == cached


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
        with pytest.raises(DatasetNotFoundError, match="hash does not match"):
            registry.locate("imdb")
    finally:
        server.shutdown()
    assert not list((tmp_path / "home").rglob("*.tar.gz"))  # the bad download is not kept
    assert not (tmp_path / "home" / "datasets" / "zoo" / "imdb").exists()  # nor taken for a copy next time
