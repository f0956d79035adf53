"""Images with captions for image captioning: Flickr8k (the present subset of it, split by the official
lists), COCO-style captions JSON, a user's own images listed in a CSV file with their captions, and the
embedded default the zoo builds itself, strips of scikit-learn's handwritten digits captioned with the
digits' names ("seven two nine").

Every reader returns each image once with all of its captions (Flickr8k and COCO have five, the digit strips
one), captions as written (case, spacing and punctuation kept: cleaning belongs to the model). Photos are
returned as file paths, decoded and resized in the recipe's tf.data pipeline (`decode_image` is that step,
`read_images` runs it eagerly); the digit strips are float32 arrays in [0, 1] with 3 channels, the layout of
`decode_image`'s output, so one CNN encoder takes either. Images are sorted by id, and every split rule
depends only on the ids, so the same image is in the same split on every machine.
"""

from __future__ import annotations

import collections
import csv
import functools
import hashlib
import io
import json
import os
import pathlib
import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from zoo.data.common import DIGIT_WORDS, check_fractions, read_table, user_splits
from zoo.data.integrity import check_counts
from zoo.data.registry import DATASETS, find_dataset, locate
from zoo.data.sentiment import decode_utf8
from zoo.errors import DataFormatError
from zoo.progress import progress


class CaptionedImages(NamedTuple):
    # The image's file name ("1000268201_693b08cb0e.jpg"); for a digit strip, the indices of its digits in
    # `sklearn.datasets.load_digits()` joined with "+" ("1530+1602+1788").
    ids: list[str]
    # Photos: one path per image (str), decoded in the input pipeline. Digit strips: a float32 array
    # (images, height, width, 3) in [0, 1].
    images: list[str] | np.ndarray
    captions: list[list[str]]  # every reference caption of each image, in file order


class CaptionSplits(NamedTuple):
    train: CaptionedImages
    validation: CaptionedImages
    test: CaptionedImages
    source: str  # where the images come from, what was skipped and how it was split, one line for logs
    # What the reader left out and why, e.g. {"captions_without_image": 36455, ...}; the same counts are in
    # `source`. Nothing is dropped without being counted here.
    skipped: dict[str, int]


def _empty() -> CaptionedImages:
    return CaptionedImages([], [], [])


def _take(data: CaptionedImages, indices: Sequence[int]) -> CaptionedImages:
    indices = list(indices)
    if isinstance(data.images, np.ndarray):
        images = data.images[np.asarray(indices, dtype=int)]
    else:
        images = [data.images[i] for i in indices]
    return CaptionedImages([data.ids[i] for i in indices], images, [data.captions[i] for i in indices])


def caption_pairs(data: CaptionedImages) -> tuple[list[str] | np.ndarray, list[str]]:
    """One `(image, caption)` pair per caption, for teacher-forced training: each image repeated once for
    each of its captions, in order (an image with five captions gives five pairs).

    Example:

    >>> from zoo.data import CaptionedImages, caption_pairs
    >>> data = CaptionedImages(["a.jpg", "b.jpg"], ["A/a.jpg", "A/b.jpg"], [["a dog", "a pup"], ["a cat"]])
    >>> caption_pairs(data)
    (['A/a.jpg', 'A/a.jpg', 'A/b.jpg'], ['a dog', 'a pup', 'a cat'])
    """
    indices = [i for i, captions in enumerate(data.captions) for _ in captions]
    return _take(data, indices).images, [caption for captions in data.captions for caption in captions]


def captions_summary(splits: CaptionSplits) -> str:
    """One line per split: images, captions, words and distinct lower-cased words."""
    lines = []
    for name in ("train", "validation", "test"):
        data = getattr(splits, name)
        captions = [caption for references in data.captions for caption in references]
        words = [word for caption in captions for word in caption.lower().split()]
        lines.append(
            f"{name:>10}: {len(data.ids):6,d} images, {len(captions):7,d} captions, {len(words):8,d} words, "
            f"{len(set(words)):6,d} distinct"
        )
    return "\n".join(lines)


# ## Decoding images (TensorFlow)


def decode_image(contents, size: tuple[int, int]):
    """The bytes of a JPEG, PNG, GIF or BMP file -> a float32 (height, width, 3) tensor in [0, 1].

    TF-only: the step of the recipe's tf.data pipeline (`dataset.map(lambda path, caption:
    (decode_image(tf.io.read_file(path), size), caption))`), and what `read_images` runs eagerly, so
    pixels are the same in both. Grayscale images get 3 equal channels, an alpha channel is dropped (the
    first frame of a GIF is used), and `tf.image.resize` (bilinear) brings the image to `size`, ignoring
    its aspect ratio, as the classic captioning encoders do.

    Args:
        contents: a scalar string tensor, the file's bytes.
        size: `(height, width)` in pixels.
    """
    import tensorflow as tf  # imported here: the readers and the digit strips do not need it

    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)  # uint8 / 255
    return tf.clip_by_value(tf.image.resize(image, size), 0.0, 1.0)


# The first bytes of each format `decode_image` reads. tf.io.decode_image picks the decoder by them and
# hands anything else to the GIF decoder, whose "Invalid GIF data" names no file.
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def check_image_files(paths: Sequence[str | os.PathLike]) -> None:
    """Raise `DataFormatError` naming the first file of `paths` that cannot be read or does not start as
    a JPEG, PNG, GIF or BMP file does (only the first bytes are read, so this is fast on many files).

    Run before a tf.data pipeline decodes the files with `decode_image`: an error inside the pipeline
    cannot say which file caused it."""
    longest = max(map(len, _IMAGE_SIGNATURES))
    for path in paths:
        path = os.fsdecode(path) if isinstance(path, bytes) else path
        try:
            with open(path, "rb") as handle:
                head = handle.read(longest)
        except OSError as error:
            raise DataFormatError(path, None, f"cannot be read ({error.strerror or error})") from None
        if not head.startswith(_IMAGE_SIGNATURES):
            problem = "is not a JPEG, PNG, GIF or BMP image" + (" (it is empty)" if not head else "")
            raise DataFormatError(path, None, problem)


def _check_size(size: tuple[int, int]) -> None:
    if len(size) != 2 or not all(isinstance(side, int) and side > 0 for side in size):
        raise ValueError(f"size must be (height, width), two positive integers, got {size!r}")


def read_images(
    paths: Sequence[str | os.PathLike], size: tuple[int, int], *, dtype: str = "float32"
) -> np.ndarray:
    """Decode and resize image files into one array, by `decode_image` (TF-only).

    Args:
        paths: the image files, such as `CaptionedImages.images` of a photo dataset.
        size: `(height, width)` of every image, in pixels.
        dtype: "float32" for values in [0, 1], or "uint8" for 0-255 (the float values times 255, rounded).

    Returns:
        An array of shape `(len(paths), height, width, 3)`.

    Raises:
        DataFormatError: a file that cannot be read or is not a JPEG, PNG, GIF or BMP image; the message
            starts with the file's path.
        ValueError: a size that is not two positive integers, or another dtype.

    Example:

    >>> from zoo.data import load_captions, read_images
    >>> splits = load_captions("flickr8k")  # doctest: +SKIP
    >>> read_images(splits.test.images[:4], (224, 224)).shape  # doctest: +SKIP
    (4, 224, 224, 3)
    """
    _check_size(size)
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}")
    images = np.zeros((len(paths), *size, 3), dtype=np.float32)
    for index, path in enumerate(progress(paths, "decoding images", unit="image")):
        images[index] = _decode_file(path, size)
    return np.round(images * 255).astype(np.uint8) if dtype == "uint8" else images


def _decode_file(path: str | os.PathLike, size: tuple[int, int]) -> np.ndarray:
    """`decode_image` of a file, eagerly; a file that cannot be read or decoded is named."""
    import tensorflow as tf

    try:
        contents = pathlib.Path(path).read_bytes()
    except OSError as error:
        raise DataFormatError(path, None, f"cannot be read ({error.strerror or error})") from None
    try:
        return decode_image(tf.constant(contents), size).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
        reason = " ".join(error.message.split())
        problem = f"cannot be decoded as a JPEG, PNG, GIF or BMP image ({reason})"
        raise DataFormatError(path, None, problem) from None


# ## Flickr8k

_FLICKR8K_CAPTIONS = ("captions.txt", "Flickr8k.token.txt")  # Kaggle's CSV, the original release's token file
_FLICKR8K_IMAGES = ("Images", "Flicker8k_Dataset", "Flickr8k_Dataset")  # Kaggle's, the release's (sic)
_FLICKR8K_LISTS = {
    "train": "Flickr_8k.trainImages.txt",
    "validation": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}
_FILE_NAME = re.compile(r"[^/\\.][^/\\]*")  # a plain file name: no folder, not hidden
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def _find(root: pathlib.Path, names: Sequence[str], folder: bool) -> pathlib.Path | None:
    """The first of `names` in `root`, else the first anywhere under it (sorted paths, macOS's `__MACOSX/`
    copies ignored); folders or files as `folder` says."""
    for name in names:
        if (root / name).is_dir() if folder else (root / name).is_file():
            return root / name
    for name in names:
        found = sorted(
            path
            for path in root.rglob(name)
            if "__MACOSX" not in path.parts and (path.is_dir() if folder else path.is_file())
        )
        if found:
            return found[0]
    return None


def _check_name(path: pathlib.Path, line: int, image: str) -> None:
    if not image:
        raise DataFormatError(path, line, "empty image name")
    if not _FILE_NAME.fullmatch(image):
        raise DataFormatError(
            path, line, f"image {image!r} is not a plain file name like 1000268201_693b.jpg"
        )


def _read_captions_csv(path: pathlib.Path, text: str) -> list[tuple[str, str, int]]:
    """`image,caption` rows of Kaggle's `captions.txt`, with the line each row starts on."""
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1  # the line the next row starts on; csv counts the lines a quoted caption spans
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if line == 1:
                if [field.strip().lower() for field in row] != ["image", "caption"]:
                    raise DataFormatError(
                        path, 1, f"expected the header image,caption, got {','.join(row)!r}"
                    )
                continue
            if not row:
                continue
            if len(row) != 2:
                problem = f"expected 2 fields (image,caption), got {len(row)}; a caption holding a comma "
                raise DataFormatError(path, line, problem + "must be in double quotes")
            image, caption = (field.strip() for field in row)
            _check_name(path, line, image)
            if not caption:
                raise DataFormatError(path, line, f"empty caption for {image}")
            if "\n" in caption or "\r" in caption:
                problem = f"the caption spans lines {line}-{reader.line_num}: a double quote left open?"
                raise DataFormatError(path, line, problem)
            rows.append((image, caption, line))
    except csv.Error as error:
        problem = f'malformed CSV ({error}); quote a caption as "..." and double the quotes inside it'
        raise DataFormatError(path, start, problem) from None
    return rows


def _read_token_file(path: pathlib.Path, text: str) -> list[tuple[str, str, int]]:
    """`<image>#<n><TAB>caption` lines of the original release's `Flickr8k.token.txt`."""
    rows = []
    # "\n" only: str.splitlines would also split at characters such as U+2028 inside a caption.
    for line, content in enumerate(text.split("\n"), start=1):
        content = content.rstrip("\r")
        if not content.strip():
            continue
        fields = content.split("\t")
        if len(fields) != 2:
            raise DataFormatError(path, line, f"expected <image>#<n><TAB>caption, got {len(fields)} fields")
        image, _, number = fields[0].strip().rpartition("#")
        if not number.isdigit():
            raise DataFormatError(path, line, f"expected <image>#<n> before the tab, got {fields[0]!r}")
        _check_name(path, line, image)
        caption = fields[1].strip()
        if not caption:
            raise DataFormatError(path, line, f"empty caption for {image}")
        rows.append((image, caption, line))
    return rows


def read_flickr8k_captions(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read Flickr8k's captions: Kaggle's `captions.txt` or the original release's `Flickr8k.token.txt`.

    `captions.txt` is CSV with the header `image,caption` and RFC 4180 quoting: a caption holding a comma is
    wrapped in double quotes, and a quote inside it is doubled (`"a "" sale "" sign"` is `a " sale " sign`),
    so it is read with the `csv` module, strictly. `Flickr8k.token.txt` has one `<image>#<n><TAB>caption`
    line per caption. Captions are stripped of surrounding spaces and otherwise kept as written (tokenised
    with spaces before punctuation, mixed case); blank lines are skipped.

    Args:
        path: the `captions.txt` (any name but `*.token.txt`) or `Flickr8k.token.txt` file, UTF-8.

    Returns:
        `(image file name, caption)` in file order.

    Raises:
        DataFormatError: bytes that are not UTF-8, a CSV without the `image,caption` header, a row without
            exactly 2 fields (an unquoted comma), broken quoting, a caption spanning lines (a quote left
            open), an empty caption, an image that is not a plain file name, a token line that is not
            `<image>#<n><TAB>caption`, or no caption at all. The message starts with `path:line:`, the line
            a row starts on.

    Example:

    >>> from zoo.data import read_flickr8k_captions
    >>> read_flickr8k_captions("flickr8k/captions.txt")[2]  # doctest: +SKIP
    ('1000268201_693b08cb0e.jpg', 'A little girl climbing into a wooden playhouse .')
    """
    path = pathlib.Path(path)
    text = decode_utf8(path.read_bytes(), str(path)).removeprefix("\ufeff")
    rows = (_read_token_file if path.name.endswith(".token.txt") else _read_captions_csv)(path, text)
    if not rows:
        raise DataFormatError(path, None, "no captions")
    return [(image, caption) for image, caption, _ in rows]


def _read_image_list(path: pathlib.Path) -> list[tuple[str, int]]:
    """The file names of an official split list, one per line, with their line numbers."""
    names = []
    for line, content in enumerate(decode_utf8(path.read_bytes(), str(path)).split("\n"), start=1):
        name = content.strip()
        if name:
            _check_name(path, line, name)
            names.append((name, line))
    return names


def read_flickr8k(path: str | os.PathLike) -> CaptionSplits:
    """Read Flickr8k (Hodosh et al. 2013), or any subset of it: the images, their captions, and the
    official `Flickr_8k.{train,dev,test}Images.txt` lists (6,000 / 1,000 / 1,000 images).

    Two layouts are read, found anywhere under `path`: Kaggle's (`Images/*.jpg`, `captions.txt`), which
    the shared copy follows, and the original release's (`Flicker8k_Dataset/*.jpg`, `Flickr8k.token.txt`;
    what the registry downloads). Only captions whose image file is present are kept, grouped by image
    (five each); the official lists give the splits, the dev list being validation. Nothing is dropped
    silently: `skipped` and `source` count the captions and images left out because the image file is
    absent, the present images that no list names (91 of the 8,091 in the full release), and the image
    files without a caption.

    On the shared 800-image subset: train 605 images (3,025 captions), validation 87, test 102; 6 present
    images in no list and 36,455 captions of 7,291 absent images skipped.

    Args:
        path: the dataset folder, or any parent of it.

    Returns:
        `CaptionSplits`; each split sorted by file name, `images` holding the paths (`str`) of the files.

    Raises:
        DataFormatError: no captions file, image folder or split list under `path`; a malformed captions
            file (see `read_flickr8k_captions`); an image named twice in the split lists (file:line of the
            second); or no captioned image present at all.

    Example:

    >>> from zoo.data import read_flickr8k
    >>> splits = read_flickr8k("flickr8k")  # doctest: +SKIP
    >>> len(splits.train.ids), len(splits.validation.ids), len(splits.test.ids)  # doctest: +SKIP
    (605, 87, 102)
    >>> splits.skipped["images_in_no_split"]  # doctest: +SKIP
    6
    """
    root = pathlib.Path(path)
    root = root.parent if root.is_file() else root
    captions_file = _find(root, _FLICKR8K_CAPTIONS, folder=False)
    images_folder = _find(root, _FLICKR8K_IMAGES, folder=True)
    if captions_file is None or images_folder is None:
        missing = "captions.txt or Flickr8k.token.txt" if captions_file is None else "Images/ folder"
        raise DataFormatError(root, None, f"no Flickr8k {missing} under this folder")
    lists = {}
    for split, name in _FLICKR8K_LISTS.items():
        lists[split] = _find(root, (name,), folder=False)
        if lists[split] is None:
            raise DataFormatError(root, None, f"no official split list {name} under this folder")

    by_image: dict[str, list[str]] = {}
    for image, caption in read_flickr8k_captions(captions_file):
        by_image.setdefault(image, []).append(caption)
    files = {file.name for file in images_folder.iterdir() if file.suffix.lower() in _IMAGE_SUFFIXES}
    absent = [image for image in by_image if image not in files]
    split_of: dict[str, tuple[str, pathlib.Path, int]] = {}
    listed = {}
    for split, list_file in lists.items():
        names = _read_image_list(list_file)
        listed[split] = len(names)
        for name, line in names:
            if name in split_of:
                _, first_file, first_line = split_of[name]
                problem = f"{name} is already listed in {first_file.name} line {first_line}"
                raise DataFormatError(list_file, line, problem)
            split_of[name] = (split, list_file, line)
    present = sorted(image for image in by_image if image in files)
    if not present:
        problem = f"none of its {len(by_image):,} images is in {images_folder}"
        raise DataFormatError(captions_file, None, problem)
    unlisted = [image for image in present if image not in split_of]
    skipped = {
        "captions_without_image": sum(len(by_image[image]) for image in absent),
        "images_without_file": len(absent),
        "images_in_no_split": len(unlisted),
        "images_without_caption": len(files - set(by_image)),
    }
    splits = {split: _empty() for split in _FLICKR8K_LISTS}
    for image in present:
        if image in split_of:
            data = splits[split_of[image][0]]
            data.ids.append(image)
            data.images.append(str(images_folder / image))
            data.captions.append(by_image[image])
    kept = len(present) - len(unlisted)
    captions = sum(len(references) for data in splits.values() for references in data.captions)
    source = (
        f"flickr8k: {kept:,} images with {captions:,} captions from {images_folder} "
        f"({DATASETS['flickr8k'].license}); {captions_file.name} has captions of {len(by_image):,} images: "
        f"{skipped['captions_without_image']:,} captions of {len(absent):,} images without a file skipped, "
        f"{len(unlisted):,} present images in no official list skipped"
    )
    if skipped["images_without_caption"]:
        source += f", {skipped['images_without_caption']:,} image files without a caption ignored"
    source += "; official splits: " + ", ".join(
        f"{split} {len(splits[split].ids):,} of {listed[split]:,} listed" for split in _FLICKR8K_LISTS
    )
    return CaptionSplits(splits["train"], splits["validation"], splits["test"], source, skipped)


# ## COCO-style captions JSON


def _read_coco_json(
    path: pathlib.Path, images_folder: pathlib.Path
) -> tuple[CaptionedImages, dict[str, int]]:
    """The images of a COCO captions file present in `images_folder`, with their captions, and the counts
    of what was skipped."""
    text = decode_utf8(path.read_bytes(), str(path))
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataFormatError(
            path, error.lineno, f"not valid JSON ({error.msg}, column {error.colno})"
        ) from None
    if not isinstance(content, dict) or not all(
        isinstance(content.get(key), list) for key in ("images", "annotations")
    ):
        raise DataFormatError(path, None, 'expected an object with "images" and "annotations" lists')
    file_names: dict[int | str, str] = {}
    for position, image in enumerate(content["images"]):
        where = f"images[{position}]"
        if not isinstance(image, dict) or not isinstance(image.get("id"), (int, str)):
            raise DataFormatError(path, None, f'{where} has no "id" (an integer or a string)')
        name = image.get("file_name")
        if not isinstance(name, str) or not name.strip() or ".." in pathlib.PurePosixPath(name).parts:
            raise DataFormatError(
                path, None, f'{where} (id {image["id"]}) has no "file_name" inside the folder'
            )
        if image["id"] in file_names:
            raise DataFormatError(path, None, f"{where}: image id {image['id']} is listed twice")
        file_names[image["id"]] = name.strip()
    if len(set(file_names.values())) != len(file_names):
        twice = collections.Counter(file_names.values()).most_common(1)[0][0]
        raise DataFormatError(path, None, f"file_name {twice} belongs to two image ids")
    by_id: dict[int | str, list[str]] = {}
    for position, annotation in enumerate(content["annotations"]):
        where = f"annotations[{position}]"
        if not isinstance(annotation, dict) or not isinstance(annotation.get("caption"), str):
            raise DataFormatError(path, None, f'{where} has no "caption" string')
        image_id = annotation.get("image_id")
        if not isinstance(image_id, (int, str)) or image_id not in file_names:
            raise DataFormatError(path, None, f"{where}: image_id {image_id!r} is not among the images")
        caption = annotation["caption"].strip()
        if not caption:
            raise DataFormatError(path, None, f"{where}: empty caption for image {image_id}")
        by_id.setdefault(image_id, []).append(caption)
    if not file_names:
        raise DataFormatError(path, None, "no images")
    present = {i for i, name in file_names.items() if (images_folder / name).is_file()}
    kept = sorted((file_names[i], i) for i in present if i in by_id)
    skipped = {
        "captions_without_image": sum(len(captions) for i, captions in by_id.items() if i not in present),
        "images_without_file": len(file_names) - len(present),
        "images_without_caption": len(present - set(by_id)),
    }
    data = CaptionedImages(
        [name for name, _ in kept],
        [str(images_folder / name) for name, _ in kept],
        [by_id[i] for _, i in kept],
    )
    return data, skipped


def caption_split(image_id: str, validation_fraction: float = 0.1, test_fraction: float = 0.1) -> str:
    """The split of an image from its id alone: "train", "validation" or "test".

    The first 8 bytes of the id's SHA-256, modulo 1,000, give a bucket; the first `test_fraction` x 1,000
    buckets are test, the next `validation_fraction` x 1,000 validation, the rest train. An image is in the
    same split in any subset of its dataset and on any machine, and the test images do not change with
    `validation_fraction`.

    Example:

    >>> from zoo.data import caption_split
    >>> [caption_split(f"{number:012d}.jpg") for number in (11, 12, 14)]
    ['train', 'test', 'validation']
    """
    check_fractions(validation_fraction, test_fraction, "images")
    bucket = int.from_bytes(hashlib.sha256(image_id.encode("utf-8")).digest()[:8], "big") % 1000
    if bucket < test_fraction * 1000:
        return "test"
    return "validation" if bucket < (test_fraction + validation_fraction) * 1000 else "train"


def _split_by_id(data: CaptionedImages, validation_fraction: float, test_fraction: float) -> dict:
    names = [caption_split(image_id, validation_fraction, test_fraction) for image_id in data.ids]
    return {
        split: _take(data, [i for i, name in enumerate(names) if name == split])
        for split in ("train", "validation", "test")
    }


def _coco_images_folder(json_file: pathlib.Path, root: pathlib.Path) -> pathlib.Path:
    """COCO's layout: `annotations/captions_val2017.json` beside `val2017/`; else `images/` beside the JSON
    file, else the JSON file's own folder."""
    stem = json_file.stem
    if stem.startswith("captions_"):
        name = stem.removeprefix("captions_")
        found = _find(json_file.parent, (name,), folder=True) or _find(root, (name,), folder=True)
        if found is None and json_file.parent.parent.is_dir():
            found = _find(json_file.parent.parent, (name,), folder=True)
        if found is not None:
            return found
    if (json_file.parent / "images").is_dir():
        return json_file.parent / "images"
    return json_file.parent


def read_coco_captions(
    path: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    *,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> CaptionSplits:
    """Read COCO-style captions: a JSON object `{"images": [{"id", "file_name"}, ...], "annotations":
    [{"image_id", "caption"}, ...]}` (other keys, such as COCO's "info" and "licenses", are ignored) and a
    folder of the image files.

    Only images whose file is present and that have a caption are kept, each with all of its captions (five
    or more in COCO), like `read_flickr8k`; `skipped` and `source` count the rest. Two layouts:

    - COCO's own: `path` is a folder holding `captions_train<year>.json` and `captions_val<year>.json`
      (in `annotations/`) and the `train<year>/`, `val<year>/` image folders. COCO's val images are the test
      split (its test images have no public captions); validation is `validation_fraction` of the train
      images by `caption_split` of the file name.
    - One file: `path` is a captions JSON (or a folder holding exactly one `*.json`); its images are split
      three ways by `caption_split` of the file name, by both fractions.

    Args:
        path: the JSON file, or a folder as above.
        images_dir: the folder `file_name` is relative to, for one file; by default the folder named after
            the file (`val2017/` for `captions_val2017.json`), else `images/` beside it, else its own folder.
        validation_fraction: share of the (train) images held out for validation.
        test_fraction: share held out for test, for one file.

    Returns:
        `CaptionSplits`, each split sorted by file name, `images` holding the paths; ids are file names.

    Raises:
        DataFormatError: bytes that are not UTF-8 or not JSON (file:line), another structure, an image
            without an id or file name, an id listed twice, an annotation without a caption string or whose
            `image_id` is not among the images, an empty caption, or no captioned image present. The message
            starts with the JSON file's path.
        ValueError: fractions outside [0, 1) or leaving nothing for training, or `images_dir` with a folder.

    Example:

    >>> from zoo.data import read_coco_captions
    >>> splits = read_coco_captions("coco")  # annotations/captions_{train,val}2017.json  # doctest: +SKIP
    >>> len(splits.test.ids)  # COCO's val2017  # doctest: +SKIP
    5000
    """
    check_fractions(validation_fraction, test_fraction, "images")
    root = pathlib.Path(path)
    if root.is_dir():
        train_file = next(iter(_coco_pair(root, "train")), None)
        test_file = next(iter(_coco_pair(root, "val")), None)
        if train_file is not None and test_file is not None:
            if images_dir is not None:
                raise ValueError("images_dir is for one captions file; COCO's layout finds each image folder")
            train, train_skipped = _read_coco_json(train_file, _coco_images_folder(train_file, root))
            test, test_skipped = _read_coco_json(test_file, _coco_images_folder(test_file, root))
            skipped = {key: train_skipped[key] + test_skipped[key] for key in train_skipped}
            splits = _split_by_id(train, validation_fraction, 0)
            splits["test"] = test
            how = f"{test_file.name} as test, validation {validation_fraction:.0%} of {train_file.name} by id"
            return _coco_result(splits, skipped, [train_file, test_file], how)
        candidates = sorted(file for file in root.glob("*.json"))
        if len(candidates) != 1:
            problem = "expected captions_train*.json and captions_val*.json, or one *.json, in this folder"
            raise DataFormatError(root, None, problem)
        root = candidates[0]
    folder = pathlib.Path(images_dir) if images_dir is not None else _coco_images_folder(root, root.parent)
    data, skipped = _read_coco_json(root, folder)
    splits = _split_by_id(data, validation_fraction, test_fraction)
    how = f"split by id (test {test_fraction:.0%}, validation {validation_fraction:.0%})"
    return _coco_result(splits, skipped, [root], how)


def _coco_pair(root: pathlib.Path, kind: str) -> list[pathlib.Path]:
    return sorted(
        file
        for file in root.rglob(f"captions_{kind}*.json")
        if "__MACOSX" not in file.parts and file.is_file()
    )


def _coco_result(splits: dict, skipped: dict[str, int], files: list[pathlib.Path], how: str) -> CaptionSplits:
    kept = sum(len(data.ids) for data in splits.values())
    if not kept:
        raise DataFormatError(files[0], None, "no image with a caption has its file present")
    source = (
        f"coco: {kept:,} images from {' and '.join(map(str, files))}; "
        f"{skipped['captions_without_image']:,} captions of "
        f"{skipped['images_without_file']:,} images without a file skipped, "
        f"{skipped['images_without_caption']:,} present images without a caption skipped; {how}"
    )
    return CaptionSplits(splits["train"], splits["validation"], splits["test"], source, skipped)


# ## A user's own images, listed in a CSV file with their captions


class _CaptionRow(NamedTuple):
    image: str  # as the CSV writes it
    path: str  # the file
    caption: str


def _caption_rows(path: str | os.PathLike, image_column: str, caption_column: str) -> list[_CaptionRow]:
    """The rows of a user's captions CSV, each image checked once: present, and decoded by `decode_image`
    as the input pipeline will decode it (a broken file is named here, not in the middle of an epoch)."""
    folder, rows, checked = pathlib.Path(path).parent, [], set()
    for line, (image, caption) in progress(
        read_table(path, [image_column, caption_column]), f"checking the images of {path}", unit="row"
    ):
        if not image:
            raise DataFormatError(path, line, f"empty {image_column!r}: no image named")
        if not caption:
            raise DataFormatError(path, line, f"empty {caption_column!r} for {image}")
        file = folder / image
        if image not in checked:
            if not file.is_file():
                raise DataFormatError(path, line, f"{image}: no such image file (looked for {file})")
            try:
                check_image_files([file])
                _decode_file(file, (1, 1))
            except DataFormatError as error:
                raise DataFormatError(path, line, f"{image}: {error.problem}") from None
            checked.add(image)
        rows.append(_CaptionRow(image, str(file), caption))
    return rows


def _by_image(rows: Sequence[_CaptionRow]) -> CaptionedImages:
    """Each image once, in order of its first row, with all of its captions in row order."""
    captions: dict[str, list[str]] = {}
    names = {}
    for row in rows:
        captions.setdefault(row.path, []).append(row.caption)
        names.setdefault(row.path, row.image)
    return CaptionedImages([names[path] for path in captions], list(captions), list(captions.values()))


def read_caption_csv(
    path: str | os.PathLike, *, image_column: str = "image", caption_column: str = "caption"
) -> CaptionedImages:
    """Read a user's own captioned images: a CSV (or TSV) file whose header names `image_column` and
    `caption_column` (`zoo.data.common.read_table`), one row per caption, an image on as many rows as it
    has captions (anywhere in the file), and the JPEG, PNG, GIF or BMP files it names, relative to its
    folder (or absolute). Each image is decoded once while reading (as `decode_image` decodes it in the
    input pipeline), so a file that is missing or broken is named with its row.

    Returns:
        `CaptionedImages`: each image once, in order of its first row, its id as the CSV writes it, its
        captions in row order.

    Raises:
        DataFormatError: a malformed file (see `read_table`), an empty image name or caption, an image file
            that is missing, not an image or cannot be decoded. The message starts with `path:line:`.

    Example:

    >>> from zoo.data import read_caption_csv
    >>> pets = read_caption_csv("my_photos/captions.csv")  # image,caption  # doctest: +SKIP
    >>> pets.ids[0], pets.captions[0]  # doctest: +SKIP
    ('photos/rex.jpg', ['a dog on a sofa', 'a brown dog sleeping'])
    """
    return _by_image(_caption_rows(path, image_column, caption_column))


def load_caption_files(
    train_file: str | os.PathLike,
    validation_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    *,
    image_column: str = "image",
    caption_column: str = "caption",
) -> CaptionSplits:
    """A user's own train, validation and test CSV files (`read_caption_csv`); a split without a file is
    carved from the training file's images (`zoo.data.user_splits`: `validation_fraction` and
    `test_fraction` of its distinct images, drawn by `seed`), each image with all of its captions in one
    split.

    Example:

    >>> from zoo.data import load_caption_files
    >>> splits = load_caption_files("my_photos/captions.csv", seed=1)  # doctest: +SKIP
    """

    def read(path):
        return _caption_rows(path, image_column, caption_column)

    def images(rows):
        return [row.path for row in rows]

    files = {"validation": validation_file, "test": test_file}
    splits = user_splits(
        read, train_file, validation_file, test_file, validation_fraction, test_fraction, seed, images
    )
    how = ", ".join(
        f"{name} {files[name]}" if files[name] else f"{name} {fraction:.0%} of its images by seed {seed}"
        for name, fraction in (("validation", validation_fraction), ("test", test_fraction))
    )
    return CaptionSplits(
        *(_by_image(splits[name]) for name in ("train", "validation", "test")),
        f"file: images and captions listed in {train_file}; {how}",
        {},
    )


# ## The embedded default: strips of handwritten digits

# Which of the 1,797 `load_digits()` images each split draws from: consecutive blocks (about 70/15/15%,
# every digit 122-130 / 25-29 / 26-29 times), so a validation or test strip never holds a digit image seen
# in training. The blocks depend only on the image index, not on the seed.
DIGIT_IMAGE_SPLITS = {"train": range(0, 1257), "validation": range(1257, 1527), "test": range(1527, 1797)}


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """`load_digits()` images as float32 in [0, 1] (its values are 0-16) and their digits, read once."""
    import sklearn.datasets  # imported here: only the embedded default needs it

    digits = sklearn.datasets.load_digits()
    images = (digits.images / 16).astype(np.float32)
    images.setflags(write=False)
    return images, digits.target.astype(int)


def digit_strips(
    count: int,
    seed: int,
    *,
    split: str = "train",
    min_digits: int = 2,
    max_digits: int = 5,
    digit_size: int = 16,
    channels: int = 3,
) -> CaptionedImages:
    """Horizontal strips of handwritten digits captioned with their names: the embedded default of the
    captioning recipe.

    The digits are scikit-learn's `load_digits()` (1,797 real 8x8 scans of handwritten digits, from the UCI
    optdigits test set, shipped inside scikit-learn), values 0-16 scaled to [0, 1] (white strokes on black).
    Each strip picks a length (uniformly from `min_digits` to `max_digits`) and that many different digit
    images of `split`'s block (`DIGIT_IMAGE_SPLITS`), each upscaled by repeating pixels to `digit_size`
    square and set side by side from the left; the strip is padded with black on the right to
    `max_digits` digits, so every strip is `digit_size` x `max_digits * digit_size`. The caption is the
    digits' English words, "seven two nine": a one-to-many task (one image, a sequence of words) whose words
    are to be read left to right, which attention can learn to do, small enough to learn in a minute.

    Args:
        count: how many strips.
        seed: the same seed gives the same strips.
        split: "train", "validation" or "test": the block of digit images to draw from.
        min_digits: fewest digits in a strip.
        max_digits: most digits in a strip, which also fixes the width.
        digit_size: the side of one digit in pixels, a multiple of 8 (16 repeats each pixel 2x2).
        channels: 3 (the gray value repeated, the layout photos have) or 1.

    Returns:
        `CaptionedImages`, `images` a float32 array `(count, digit_size, max_digits * digit_size,
        channels)` in [0, 1]; one caption per strip; the id joins the digits' `load_digits()` indices
        with "+".

    Raises:
        ValueError: a negative count, an unknown split, digit limits not 1 <= min_digits <= max_digits, a
            digit_size that is not a positive multiple of 8, or channels other than 1 and 3.

    Example:

    >>> from zoo.data import digit_strips
    >>> strips = digit_strips(2, seed=0)
    >>> strips.images.shape, strips.images.dtype.name
    ((2, 16, 80, 3), 'float32')
    >>> strips.ids[1], strips.captions[1]
    ('1144+1220+632+761', ['five three two two'])
    """
    if count < 0:
        raise ValueError(f"count must be at least 0, got {count}")
    if split not in DIGIT_IMAGE_SPLITS:
        raise ValueError(f"split must be one of {', '.join(DIGIT_IMAGE_SPLITS)}, got {split!r}")
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits} and {max_digits}")
    if not (isinstance(digit_size, int) and digit_size > 0 and digit_size % 8 == 0):
        raise ValueError(f"digit_size must be a positive multiple of 8 (pixels), got {digit_size!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    pixels, targets = _digits()
    pool = DIGIT_IMAGE_SPLITS[split]
    scale = digit_size // 8
    rng = np.random.default_rng(seed)
    images = np.zeros((count, digit_size, max_digits * digit_size), dtype=np.float32)
    ids, captions = [], []
    for number in range(count):
        length = int(rng.integers(min_digits, max_digits + 1))
        chosen = [pool[i] for i in rng.choice(len(pool), size=length, replace=False)]
        for slot, index in enumerate(chosen):
            digit = pixels[index].repeat(scale, axis=0).repeat(scale, axis=1)
            images[number, :, slot * digit_size : (slot + 1) * digit_size] = digit
        ids.append("+".join(str(index) for index in chosen))
        captions.append([" ".join(DIGIT_WORDS[targets[index]] for index in chosen)])
    images = np.repeat(images[..., np.newaxis], channels, axis=-1)
    return CaptionedImages(ids, images, captions)


# ## One entry point for recipes

CAPTION_DATASETS = ("flickr8k", "coco")


def _seed(seed: int, stream: int) -> int:
    """Independent seeds for the strips of each split (a SeedSequence per split, not seed + 1)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def _images_read(splits: CaptionSplits) -> int:
    """How many image files the reader found: those in a split, in no split, and without a caption."""
    in_splits = sum(len(data.ids) for data in splits[:3])
    return (
        in_splits
        + splits.skipped.get("images_in_no_split", 0)
        + splits.skipped.get("images_without_caption", 0)
    )


def load_captions(
    dataset: str | None,
    data_dir: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    strips: tuple[int, int, int] = (2000, 300, 300),
    min_digits: int = 2,
    max_digits: int = 5,
    digit_size: int = 16,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    image_size: tuple[int, int] | None = None,
    skip_checksum: bool = False,
) -> CaptionSplits:
    """Train, validation and test images with their captions.

    - `None`: the embedded default, `digit_strips` of `min_digits` to `max_digits` handwritten digits,
      `strips` strips for train, validation and test, each drawn by its own seed from its own block of
      digit images (`DIGIT_IMAGE_SPLITS`); float32 arrays `(16, 80, 3)` with the defaults.
    - "flickr8k": `read_flickr8k`, the present images of Flickr8k split by the official lists.
    - "coco": `read_coco_captions`, COCO's captions JSON files (or any one COCO-style file) and images.

    The photo datasets are found by `zoo.data.locate` (`data_dir`, `$ZOO_DATA_DIR/<name>`, the Keras cache,
    or, for Flickr8k, a download checked against its MD5).

    Args:
        dataset: "flickr8k", "coco", or None for the digit strips.
        data_dir: a copy on disk (see the readers for the layouts), instead of `$ZOO_DATA_DIR/<name>`, the
            Keras cache or a download.
        seed: the digit strips (the photo datasets' splits do not depend on it).
        strips: how many digit strips for train, validation and test.
        min_digits: fewest digits in a strip.
        max_digits: most digits in a strip (the strip is `max_digits * 16` pixels wide).
        digit_size: pixels per digit side in a strip, a multiple of 8.
        validation_fraction: for "coco", share of the train images held out for validation by id.
        test_fraction: for "coco" from one file, share of the images held out for test by id.
        image_size: `(height, width)`: decode the photos with `read_images` into float32 arrays in [0, 1]
            of this size, like the digit strips; None (the default) keeps their paths, for tf.data.
        skip_checksum: read the photo dataset without checking its hashes (your own edited copy).

    Raises:
        DatasetNotFoundError: no copy on disk and no download possible.
        DataFormatError: a malformed file (see the readers); the message names the file (and line).
        ValueError: an unknown dataset, `data_dir` or `image_size` with the digit strips, or bad counts,
            digit limits or fractions.

    Example:

    >>> from zoo.data import load_captions
    >>> splits = load_captions(None, strips=(20, 5, 5))
    >>> splits.train.images.shape, len(splits.test.captions)
    ((20, 16, 80, 3), 5)
    """
    if dataset is None:
        if data_dir is not None or image_size is not None:
            raise ValueError(
                "data_dir and image_size are for the photo datasets (flickr8k, coco); the digit strips are "
                "built in memory, their size set by digit_size and max_digits"
            )
        if len(strips) != 3 or min(strips) < 0:
            raise ValueError(f"strips must be 3 counts (train, validation, test) >= 0, got {strips}")
        made = [
            digit_strips(
                count,
                _seed(seed, stream),
                split=split,
                min_digits=min_digits,
                max_digits=max_digits,
                digit_size=digit_size,
            )
            for stream, (split, count) in enumerate(zip(DIGIT_IMAGE_SPLITS, strips))
        ]
        source = (
            f"embedded sample: strips of {min_digits}-{max_digits} handwritten digits from scikit-learn's "
            f"load_digits ({'/'.join(map(str, strips))} strips, seed {seed}), digit images "
            f"{'/'.join(f'{r.start}-{r.stop - 1}' for r in DIGIT_IMAGE_SPLITS.values())} for "
            f"train/validation/test, {digit_size}x{digit_size * max_digits} px, 3 channels"
        )
        return CaptionSplits(*made, source, {})
    if dataset == "flickr8k":
        copy = find_dataset("flickr8k", data_dir, skip_checksum=skip_checksum)
        splits = read_flickr8k(copy.folder)
        check_counts(copy, {"images": _images_read(splits)}, "")
    elif dataset == "coco":
        splits = read_coco_captions(
            locate("coco", data_dir, skip_checksum=skip_checksum),
            validation_fraction=validation_fraction,
            test_fraction=test_fraction,
        )
    else:
        raise ValueError(
            f"unknown captioning dataset {dataset!r}; choose one of {', '.join(CAPTION_DATASETS)} or None"
        )
    if image_size is not None:
        _check_size(image_size)
        decoded = [data._replace(images=read_images(data.images, image_size)) for data in splits[:3]]
        splits = CaptionSplits(
            *decoded, splits.source + f", decoded at {image_size[0]}x{image_size[1]}", splits.skipped
        )
    return splits
