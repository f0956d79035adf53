"""Is a copy of a dataset the one the registry knows, whole? Hashes, their cache, archive streams, downloads.

Every copy is checked whatever its origin (a fresh download, the Keras cache, `--data-dir`,
`$ZOO_DATA_DIR`): each file the registry names is hashed (SHA-256, and MD5 where only that is published),
and a folder of many files by its tree hash (`tree_hash`). Hashes are remembered in
`<KERAS_HOME or ~/.keras>/datasets/zoo/checksums.json`, keyed by absolute path, size and `mtime_ns`, so a
second run does not read 100 MB again, and an edited file is hashed afresh.

Archives are read to their end and their own checks (gzip and zip CRCs) verified whatever the hashes
say, so a damaged archive read with `--skip-checksum` fails with the file's name instead of yielding the
part before the damage.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import json
import lzma
import os
import pathlib
import tarfile
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator, Sequence

import zoo.io
from zoo.errors import ChecksumMismatchError, DataFormatError
from zoo.progress import progress

CHECKSUM_CACHE = "checksums.json"
_CHUNK = 1 << 20
# What reading a damaged or cut-short compressed archive raises, besides the archive modules' own errors.
_STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, OSError, tarfile.TarError,
                  zipfile.BadZipFile)  # fmt: skip


def zoo_cache_root() -> pathlib.Path:
    """`<KERAS_HOME or ~/.keras>/datasets/zoo`: downloads, one folder per dataset, and the hash cache."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "datasets" / "zoo"


@dataclasses.dataclass(frozen=True)
class Variant:
    """One known copy of a dataset, told apart from others by the hashes of its files.

    Args:
        description: what the copy is, for messages ("the official download", "the 385-clip subset").
        files: file name -> SHA-256 (or MD5) hex digest. A name ending in "/" is a folder of many files
            (`recordings/`), pinned by its `tree_hash`. Names are looked for anywhere under the copy.
        counts: how many examples each split of this copy holds (loaders check what they read against it).
        whole: for a subset, the counts of the whole dataset, so a loader can say how much it holds.
    """

    description: str
    files: dict[str, str]
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    whole: dict[str, int] | None = None


@dataclasses.dataclass(frozen=True)
class DatasetCopy:
    """Where a dataset is and, when its hashes matched, which known copy it is (else `variant` is None)."""

    name: str
    folder: pathlib.Path
    variant: Variant | None = None


# ## Hashes and their cache


def _hash(path: pathlib.Path) -> dict[str, str]:
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}


def _load_cache(cache: pathlib.Path) -> dict:
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}  # absent or unreadable: hashes are recomputed, never trusted from a broken file


def file_digests(paths: Sequence[str | os.PathLike]) -> list[dict[str, str]]:
    """`{"sha256": ..., "md5": ...}` of each file, read from the hash cache when the file's absolute path,
    size and `mtime_ns` are those recorded, else hashed and recorded."""
    cache_file = zoo_cache_root() / CHECKSUM_CACHE
    cache = _load_cache(cache_file)
    digests, changed = [], False
    for path in progress(paths, "checking file hashes", unit="file"):
        path = pathlib.Path(path).absolute()
        stat = path.stat()
        entry = cache.get(str(path))
        if not (entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns):
            entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **_hash(path)}
            cache[str(path)] = entry
            changed = True
        digests.append({"sha256": entry["sha256"], "md5": entry["md5"]})
    if changed:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            zoo.io.write_text(cache_file, json.dumps(cache, indent=0, sort_keys=True))
        except OSError:
            pass  # a read-only home only costs the next run a rehash
    return digests


def _tree_files(folder: pathlib.Path) -> list[pathlib.Path]:
    """The files under `folder`, hidden ones (`.DS_Store`, temporary `.partial-*` names) left out."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def tree_hash(folder: str | os.PathLike) -> str:
    """SHA-256 of the lines `sha256sum` prints for every file under `folder`, paths relative to the folder's
    parent (`recordings/0_george_0.wav`), sorted by path: `"<sha256>  <path>\\n"` each."""
    folder = pathlib.Path(folder)
    files = _tree_files(folder)
    lines = (
        f"{digest['sha256']}  {path.relative_to(folder.parent).as_posix()}\n"
        for path, digest in zip(files, file_digests(files))
    )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _matches(actual: dict[str, str], expected: str) -> bool:
    return expected.lower() == actual["md5" if len(expected) == 32 else "sha256"]


# ## Which known copy is this?


def _find(folder: pathlib.Path, name: str) -> pathlib.Path | None:
    """The first file (or, for `name/`, folder) called `name` under `folder` in sorted order, as the readers
    pick it; `folder` may be the file itself."""
    want_dir = name.endswith("/")
    name = name.rstrip("/")
    if folder.is_file():
        return folder if not want_dir and folder.name == name else None
    if folder.name == name and want_dir:
        return folder
    for path in sorted(folder.rglob(name)):
        if path.is_dir() == want_dir and not any(
            part.startswith(".") for part in path.relative_to(folder).parts
        ):
            return path
    return None


def identify(
    name: str, folder: pathlib.Path, variants: Sequence[Variant], skip_checksum: bool = False
) -> DatasetCopy:
    """Check the copy of dataset `name` at `folder` against its known `variants`.

    The first variant whose files are all present and all match is the copy's identity. A folder holding no
    file any variant names (a user's own layout, an extracted official tree) is reported as unverified in
    one printed line and read as it is; so is one holding known files that all match but no complete variant.

    Raises:
        ChecksumMismatchError: a known file (or folder) matches none of the hashes pinned for it.
    """
    if skip_checksum:
        print(f"{name}: checksums skipped (--skip-checksum); reading {folder} as it is")
        return DatasetCopy(name, folder)
    names = list(dict.fromkeys(entry for variant in variants for entry in variant.files))
    found = {entry: path for entry in names if (path := _find(folder, entry)) is not None}
    if not found:
        if variants:
            print(f"{name}: {folder} holds no file the registry knows; unverified, read as it is")
        return DatasetCopy(name, folder)
    actual = {}
    for entry, path in found.items():
        if entry.endswith("/"):
            digest = tree_hash(path)
            actual[entry] = {"sha256": digest, "md5": ""}
        else:
            actual[entry] = file_digests([path])[0]
    for variant in variants:
        if all(entry in found and _matches(actual[entry], digest) for entry, digest in variant.files.items()):
            return DatasetCopy(name, folder, variant)
    for entry, path in found.items():
        expected = {v.files[entry]: v.description for v in variants if entry in v.files}
        if not any(_matches(actual[entry], digest) for digest in expected):
            raise ChecksumMismatchError(path, expected, actual[entry]["sha256"], name)
    print(
        f"{name}: {folder} holds {', '.join(found)} as known, but not every file of a known copy; "
        "unverified, read as it is"
    )
    return DatasetCopy(name, folder)


def check_counts(copy: DatasetCopy, counts: dict[str, int], what: str = "examples") -> None:
    """Compare what a loader read (`counts`, per split) with the identified copy's known sizes.

    A known subset says in one printed line how much of the whole it holds; fewer examples than the
    identified copy holds is an error naming the folder. An unverified copy is not checked.

    Raises:
        DataFormatError: a split with fewer examples than the identified copy holds.
    """
    variant = copy.variant
    if variant is None:
        return
    for split, expected in variant.counts.items():
        got = counts.get(split, 0)
        if got < expected:
            raise DataFormatError(
                copy.folder,
                None,
                f"read {got:,} {split} {what}, but {variant.description} of {copy.name} holds {expected:,}: "
                "the copy is incomplete (a reader stopped early or a file was replaced); get a fresh copy",
            )
    if variant.whole:
        held = ", ".join(
            f"{variant.counts.get(split, 0):,} of {total:,} {split}" for split, total in variant.whole.items()
        )
        print(f"{copy.name}: {variant.description}, a known subset: {held}{' ' + what if what else ''}")


# ## Archives read to their end


def _corrupted(path: pathlib.Path, error: BaseException) -> DataFormatError:
    reason = " ".join(str(error).split()) or type(error).__name__
    return DataFormatError(path, None, f"the archive is corrupted or truncated ({reason}); get a fresh copy")


def _drain_tar(archive: tarfile.TarFile, path: pathlib.Path) -> None:
    """After the last member tarfile found: only the zero blocks of the end marker may follow, and the
    compressed stream must end with a good checksum (gzip CRC, bz2/xz checks)."""
    stream = archive.fileobj
    stream.seek(archive.offset)
    while chunk := stream.read(_CHUNK):
        if chunk.count(0) != len(chunk):
            problem = "a damaged tar header, with more data after it"
            raise DataFormatError(
                path, None, f"the archive is corrupted or truncated ({problem}); get a fresh copy"
            )


def tar_members(path: str | os.PathLike, wanted) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each regular member of the tar archive `path` (any compression) for which
    `wanted(name)` is true, in one streaming pass read to the end of the stream.

    Raises:
        DataFormatError: the archive is not a tar archive, or is corrupted or truncated.
    """
    path = pathlib.Path(path)
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile() and wanted(member.name):
                    yield member.name, archive.extractfile(member).read()
            _drain_tar(archive, path)
    except tarfile.ReadError as error:
        if "not a" in str(error) or "empty" in str(error):
            raise DataFormatError(path, None, f"not a readable tar archive ({error})") from None
        raise _corrupted(path, error) from None
    except _STREAM_ERRORS as error:
        raise _corrupted(path, error) from None


def read_zip_member(path: str | os.PathLike, choose) -> tuple[str, bytes]:
    """The member `choose(names)` picks from the zip archive `path`, and its bytes, CRC checked.

    Raises:
        DataFormatError: the archive is corrupted or truncated (a cut-short zip has no central directory).
    """
    path = pathlib.Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            member = choose(archive.namelist())
            return member, archive.read(member)
    except _STREAM_ERRORS as error:
        raise _corrupted(path, error) from None


def zip_member_lines(path: str | os.PathLike, choose) -> Iterator[tuple[str, bytes]]:
    """`(member, line)` for each line (bytes, up to and with its `\\n`) of the member `choose(names)` picks
    from the zip archive `path`, streamed: the member is never whole in memory. Its CRC is checked when its
    last line has been read.

    Raises:
        DataFormatError: the archive is corrupted or truncated.
    """
    path = pathlib.Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            member = choose(archive.namelist())
            with archive.open(member) as handle:
                for line in handle:
                    yield member, line
    except _STREAM_ERRORS as error:
        raise _corrupted(path, error) from None


def looks_like_zip(path: pathlib.Path) -> bool:
    """A `.zip` name or a zip signature at the start: damaged zips are still zips, not text."""
    if path.suffix.lower() == ".zip":
        return True
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def extract(archive_path: pathlib.Path, target: pathlib.Path) -> None:
    """Extract a zip or tar archive whole into the folder `target`, no path escaping it, every CRC
    checked; the tar stream is read to its end.

    Raises:
        DataFormatError: the archive is corrupted or truncated, or a member would land outside `target`.
    """
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive_path):
            with zipfile.ZipFile(archive_path) as archive:
                for member in archive.namelist():
                    if not (target / member).resolve().is_relative_to(target.resolve()):
                        raise DataFormatError(
                            archive_path, None, f"member {member!r} would land outside the folder"
                        )
                archive.extractall(target)
        else:
            with tarfile.open(archive_path, "r:*") as archive:
                archive.extractall(target, filter="data")
                _drain_tar(archive, archive_path)
    except tarfile.FilterError as error:
        raise DataFormatError(archive_path, None, f"unsafe member refused ({error})") from None
    except _STREAM_ERRORS as error:
        raise _corrupted(archive_path, error) from None


# ## Downloads


def download(url: str, target: pathlib.Path, expected: str = "", name: str = "") -> None:
    """Fetch `url` to `target`: written under a temporary name beside it, checked against the hash
    `expected` (SHA-256 or MD5; empty: unchecked), and renamed only then, so a killed or failed download
    leaves nothing under `target`.

    Raises:
        ChecksumMismatchError: the file arrived whole but its hash is not `expected` (it is not kept).
        OSError: the network failed or the connection closed before `Content-Length` bytes came.
    """
    with zoo.io.replacing(target) as staging:
        sha256, md5, size = hashlib.sha256(), hashlib.md5(), 0
        try:
            with urllib.request.urlopen(url, timeout=30) as response, open(staging, "wb") as out:
                length = response.headers.get("Content-Length")
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    sha256.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
        except http.client.HTTPException as error:  # IncompleteRead and the like are not OSErrors
            raise OSError(f"{type(error).__name__}: {error}") from None
        if length is not None and size != int(length):
            raise OSError(f"the connection closed after {size:,} of {int(length):,} bytes")
        actual = {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}
        if expected and not _matches(actual, expected):
            raise ChecksumMismatchError(
                target, {expected: f"the download from {url}"}, actual["sha256"], name, download=True
            )
    file_digests([target])  # recorded now, so the check of the cached copy does not read it again
