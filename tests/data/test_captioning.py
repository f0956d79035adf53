"""Captioning data: Flickr8k's CSV (quotes and commas, file:line errors) and token file, the present subset
and what it skips (counted, never silent), the official split lists, the release's layout as the registry
downloads it, COCO-style JSON, decoding images (and files that cannot be), a user's own captions CSV
(captions grouped by image, carved splits that keep them together, file:line errors), the digit strips
rebuilt from scikit-learn's digits, and the real Flickr8k subset in $ZOO_DATA_DIR (counts from its
SOURCE.md)."""

import collections
import csv
import doctest
import hashlib
import http.server
import json
import os
import pathlib
import re
import threading
import zipfile

import numpy as np
import pytest
import sklearn.datasets
import tensorflow as tf

import zoo
from zoo.data import (
    DATASETS,
    DIGIT_IMAGE_SPLITS,
    DIGIT_WORDS,
    CaptionedImages,
    caption_pairs,
    caption_split,
    captioning,
    captions_summary,
    digit_strips,
    load_caption_files,
    load_captions,
    locate,
    read_caption_csv,
    read_coco_captions,
    read_flickr8k,
    read_flickr8k_captions,
    read_images,
    registry,
)
from zoo.errors import DataFormatError, DatasetNotFoundError

# ## Flickr8k files made here

CAPTIONS = (
    "image,caption\n"
    "a.jpg,A dog runs .\n"
    '"a.jpg","A dog , brown , runs ."\n'  # quoted fields, commas inside
    'b.jpg,"A sign that says "" sale "" ."\n'  # doubled quotes inside
    "gone.jpg,The image of this caption is not in Images/ .\n"
    "b.jpg,  Two people .  \r\n"  # surrounding spaces and CRLF
    "\n"  # blank lines are skipped
    "c.jpg,A cat .\n"
    "gone.jpg,Another caption of the missing image .\n"
)
EXPECTED = {
    "a.jpg": ["A dog runs .", "A dog , brown , runs ."],
    "b.jpg": ['A sign that says " sale " .', "Two people ."],
    "c.jpg": ["A cat ."],
}
LISTS = {"train": ["a.jpg", "gone.jpg"], "dev": ["b.jpg"], "test": []}  # c.jpg is in no list


def flickr_folder(root, captions=CAPTIONS, images=("a.jpg", "b.jpg", "c.jpg", "x.jpg"), lists=LISTS):
    """Kaggle's layout; the images are not decoded by the reader, so any bytes do."""
    (root / "Images").mkdir(parents=True)
    for name in images:
        (root / "Images" / name).write_bytes(b"\xff\xd8 not decoded here \xff\xd9")
    (root / "captions.txt").write_bytes(captions.encode("utf-8"))
    for split, names in lists.items():
        (root / f"Flickr_8k.{split}Images.txt").write_text("".join(f"{name}\n" for name in names))
    return root


def test_captions_are_grouped_by_present_image_and_skips_are_counted(tmp_path):
    splits = read_flickr8k(flickr_folder(tmp_path / "flickr8k"))
    assert splits.train.ids == ["a.jpg"] and splits.validation.ids == ["b.jpg"] and splits.test.ids == []
    assert splits.train.captions == [EXPECTED["a.jpg"]] and splits.validation.captions == [EXPECTED["b.jpg"]]
    assert splits.train.images == [str(tmp_path / "flickr8k" / "Images" / "a.jpg")]
    assert splits.skipped == {
        "captions_without_image": 2,  # gone.jpg's two captions
        "images_without_file": 1,  # gone.jpg
        "images_in_no_split": 1,  # c.jpg
        "images_without_caption": 1,  # x.jpg
    }
    source = splits.source
    assert "2 captions of 1 images without a file skipped" in source
    assert (
        "1 present images in no official list skipped" in source
        and "1 image files without a caption" in source
    )
    assert "train 1 of 2 listed, validation 1 of 1 listed, test 0 of 0 listed" in source
    assert "research use only" in source
    by_file = read_flickr8k(tmp_path / "flickr8k" / "captions.txt")  # the folder holding the file
    assert by_file.skipped == splits.skipped
    rows = read_flickr8k_captions(tmp_path / "flickr8k" / "captions.txt")
    assert len(rows) == 7 and rows[2] == ("b.jpg", 'A sign that says " sale " .')


@pytest.mark.parametrize(
    "rows, line, message",
    [
        (
            ["a.jpg,A dog , brown , runs ."],
            3,
            "expected 2 fields \\(image,caption\\), got 4; a caption holding",
        ),
        (['b.jpg,"A sign , quoted ."', "c.jpg,A cat .", "c.jpg,A cat , again ."], 5, "got 3; a caption"),
        (["b.jpg,"], 3, "empty caption for b.jpg"),
        (['b.jpg,"  "'], 3, "empty caption for b.jpg"),
        ([",A caption without an image ."], 3, "empty image name"),
        (["../a.jpg,A dog ."], 3, "image '../a.jpg' is not a plain file name"),
        (['b.jpg,"Two" people .'], 3, "malformed CSV \\(.*\\); quote a caption as"),
        (['b.jpg,"Two people .', "c.jpg,A cat ."], 3, "malformed CSV \\(unexpected end of data\\)"),
        (
            ['b.jpg,"Two', 'people ."', "c.jpg,A cat ."],
            3,
            "the caption spans lines 3-4: a double quote left open",
        ),
    ],
    ids=[
        "unquoted-comma",
        "later-row",
        "empty",
        "blank",
        "no-image",
        "folder",
        "bad-quote",
        "open-quote",
        "two-lines",
    ],
)
def test_malformed_csv_row_names_the_file_and_line(tmp_path, rows, line, message):
    content = "image,caption\na.jpg,A dog runs .\n" + "\n".join(rows) + "\nc.jpg,A cat .\n"
    folder = flickr_folder(tmp_path, captions=content)
    with pytest.raises(DataFormatError, match=message) as error:
        read_flickr8k(folder)
    assert (error.value.path, error.value.line) == (str(folder / "captions.txt"), line)
    assert str(error.value).startswith(f"{folder / 'captions.txt'}:{line}: ")


def test_bad_header_bytes_and_empty_files(tmp_path):
    path = tmp_path / "captions.txt"
    for content, line, message in [
        ("file,text\na.jpg,A dog .\n", 1, "expected the header image,caption, got 'file,text'"),
        ("image,caption\na.jpg,A dog \xe9\n".encode("latin-1"), 2, "not UTF-8"),
        ("image,caption\n\n", None, "no captions"),
    ]:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(DataFormatError, match=message) as error:
            read_flickr8k_captions(path)
        assert (error.value.path, error.value.line) == (str(path), line)


def test_split_lists_must_be_disjoint_and_present(tmp_path):
    folder = flickr_folder(
        tmp_path / "twice", lists={"train": ["a.jpg"], "dev": ["c.jpg", "a.jpg"], "test": []}
    )
    with pytest.raises(
        DataFormatError, match="a.jpg is already listed in Flickr_8k.trainImages.txt line 1"
    ) as error:
        read_flickr8k(folder)
    assert (error.value.path, error.value.line) == (str(folder / "Flickr_8k.devImages.txt"), 2)
    folder = flickr_folder(tmp_path / "two", lists={"train": ["a.jpg"], "dev": ["b.jpg"]})
    with pytest.raises(
        DataFormatError, match="no official split list Flickr_8k.testImages.txt under this folder"
    ):
        read_flickr8k(folder)
    folder = flickr_folder(tmp_path / "none", images=("y.jpg",))
    with pytest.raises(DataFormatError, match="none of its 4 images is in") as error:
        read_flickr8k(folder)
    assert error.value.path == str(folder / "captions.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no Flickr8k captions.txt or Flickr8k.token.txt"):
        read_flickr8k(tmp_path / "empty")


def token_file(captions=CAPTIONS):
    """The release's Flickr8k.token.txt holding the same captions as a CSV."""
    rows = [row for row in csv.reader(captions.splitlines()[1:]) if row]
    numbers = collections.Counter()
    lines = []
    for image, caption in rows:
        lines.append(f"{image}#{numbers[image]}\t{caption}")
        numbers[image] += 1
    return "\n".join(lines) + "\n"


def release_archives(root):
    """Flickr8k_Dataset.zip and Flickr8k_text.zip laid out as the release (and its mirror) has them."""
    with zipfile.ZipFile(root / "Flickr8k_Dataset.zip", "w") as archive:
        for name in ("a.jpg", "b.jpg", "c.jpg", "x.jpg"):
            archive.writestr(f"Flicker8k_Dataset/{name}", b"\xff\xd8 not decoded here \xff\xd9")
            archive.writestr(f"__MACOSX/Flicker8k_Dataset/._{name}", b"resource fork")
    with zipfile.ZipFile(root / "Flickr8k_text.zip", "w") as archive:
        archive.writestr("Flickr8k.token.txt", token_file())
        archive.writestr("Flickr8k.lemma.token.txt", "not read\n")
        for split, names in LISTS.items():
            archive.writestr(f"Flickr_8k.{split}Images.txt", "".join(f"{name}\n" for name in names))
    return root


def test_release_layout_with_the_token_file_reads_the_same(tmp_path):
    expected = read_flickr8k(flickr_folder(tmp_path / "kaggle"))
    for name in ("Flickr8k_Dataset.zip", "Flickr8k_text.zip"):
        with zipfile.ZipFile(release_archives(tmp_path) / name) as archive:
            archive.extractall(tmp_path / "release" / name.replace(".zip", "_extracted"))
    splits = read_flickr8k(tmp_path / "release")
    assert splits.skipped == expected.skipped
    for got, want in zip(splits[:3], expected[:3]):
        assert got.ids == want.ids and got.captions == want.captions
        assert all(pathlib.Path(path).parent.name == "Flicker8k_Dataset" for path in got.images)
    token = next((tmp_path / "release").rglob("Flickr8k.token.txt"))
    for line, message in [
        ("a.jpg\tA dog .", "expected <image>#<n> before the tab, got 'a.jpg'"),
        ("a.jpg#0 A dog .", "expected <image>#<n><TAB>caption, got 1 fields"),
        ("a.jpg#0\t ", "empty caption for a.jpg"),
    ]:
        token.write_text(token_file() + line + "\n")
        with pytest.raises(DataFormatError, match=re.escape(message)) as error:
            read_flickr8k(tmp_path / "release")
        assert (error.value.path, error.value.line) == (str(token), 8)


def test_registry_download_layout_is_read(tmp_path, monkeypatch):
    (tmp_path / "www").mkdir()
    served = release_archives(tmp_path / "www")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=served, **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
        # An existing folder: keras.utils.get_file falls back to /tmp/.keras when KERAS_HOME is missing.
        (tmp_path / "home").mkdir()
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
        files = tuple(
            registry.RemoteFile(
                f"http://127.0.0.1:{server.server_address[1]}/{remote.filename}",
                hashlib.md5((served / remote.filename).read_bytes()).hexdigest(),
                remote.filename,
                extract=remote.extract,
            )
            for remote in DATASETS["flickr8k"].files
        )
        monkeypatch.setitem(registry.DATASETS, "flickr8k", registry.DatasetInfo("flickr8k", files, "h", "l"))
        splits = load_captions("flickr8k")
    finally:
        server.shutdown()
    assert splits.train.ids == ["a.jpg"] and splits.validation.captions == [EXPECTED["b.jpg"]]
    assert str(tmp_path / "home" / "datasets" / "zoo" / "flickr8k") in splits.source


# ## COCO-style captions JSON


def coco_file(path, images, annotations):
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"info": {"year": 2017}, "licenses": [], "images": images, "annotations": annotations}
    path.write_text(json.dumps(content, indent=1))
    return path


def coco_images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"\xff\xd8\xff\xd9")
    return folder


def test_coco_file_keeps_present_captioned_images(tmp_path):
    names = [f"{number:012d}.jpg" for number in range(40)]
    images = [{"id": number, "file_name": name, "height": 2} for number, name in enumerate(names)]
    annotations = [
        {"id": 900 + n, "image_id": n % 39, "caption": f" Caption {n} of {n % 39}.\n"} for n in range(78)
    ]
    path = coco_file(tmp_path / "captions.json", images, annotations)
    coco_images(tmp_path / "images", names[1:])  # the file of image 0 is missing; image 39 has no caption
    splits = read_coco_captions(path)
    assert splits.skipped == {
        "captions_without_image": 2,
        "images_without_file": 1,
        "images_without_caption": 1,
    }
    assert "2 captions of 1 images without a file skipped" in splits.source
    kept = {name: captions for data in splits[:3] for name, captions in zip(data.ids, data.captions)}
    assert sorted(kept) == names[1:39]
    assert kept[names[12]] == ["Caption 12 of 12.", "Caption 51 of 12."]
    for split in ("train", "validation", "test"):
        data = getattr(splits, split)
        assert data.ids == sorted(data.ids) and all(caption_split(name) == split for name in data.ids)
        assert data.images == [str(tmp_path / "images" / name) for name in data.ids]
    assert splits.test.ids and splits.validation.ids  # 12 and 14 fall there (caption_split's example)
    assert read_coco_captions(tmp_path).skipped == splits.skipped  # the folder's one *.json


@pytest.mark.parametrize(
    "images, annotations, line, message",
    [
        (
            [{"id": 1, "file_name": "a.jpg"}],
            [{"image_id": 2, "caption": "A cat."}],
            None,
            "annotations\\[0\\]: image_id 2 is not among the images",
        ),
        (
            [{"id": 1, "file_name": "a.jpg"}],
            [{"image_id": "1", "caption": "A cat."}],
            None,
            "image_id '1' is not among",
        ),
        (
            [{"id": 1, "file_name": "a.jpg"}],
            [{"image_id": 1}],
            None,
            'annotations\\[0\\] has no "caption" string',
        ),
        (
            [{"id": 1, "file_name": "a.jpg"}],
            [{"image_id": 1, "caption": " "}],
            None,
            "empty caption for image 1",
        ),
        ([{"id": 1, "file_name": "a.jpg"}] * 2, [], None, "images\\[1\\]: image id 1 is listed twice"),
        ([{"file_name": "a.jpg"}], [], None, 'images\\[0\\] has no "id"'),
        (
            [{"id": 1, "file_name": "../a.jpg"}],
            [],
            None,
            'images\\[0\\] \\(id 1\\) has no "file_name" inside',
        ),
    ],
    ids=["unknown-id", "id-type", "no-caption", "empty-caption", "id-twice", "no-id", "escape"],
)
def test_malformed_coco_json_names_the_file(tmp_path, images, annotations, line, message):
    path = coco_file(tmp_path / "captions.json", images, annotations)
    coco_images(tmp_path / "images", ["a.jpg"])
    with pytest.raises(DataFormatError, match=message) as error:
        read_coco_captions(path)
    assert (error.value.path, error.value.line) == (str(path), line)


def test_coco_json_syntax_errors_give_the_line(tmp_path):
    path = tmp_path / "captions.json"
    path.write_text('{"images": [\n  {"id": 1, "file_name": "a.jpg"},\n  ]\n}\n')
    with pytest.raises(DataFormatError, match="not valid JSON") as error:
        read_coco_captions(path)
    assert (error.value.path, error.value.line) == (str(path), 3)
    path.write_text('{"images": []}')
    with pytest.raises(DataFormatError, match='expected an object with "images" and "annotations" lists'):
        read_coco_captions(path)


def test_coco_layout_uses_val_as_test(tmp_path):
    train_names = [f"{number:012d}.jpg" for number in range(60)]
    val_names = [f"{number:012d}.jpg" for number in range(100, 110)]
    for kind, names in (("train2017", train_names), ("val2017", val_names)):
        images = [{"id": n, "file_name": name} for n, name in enumerate(names)]
        annotations = [
            {"image_id": n, "caption": f"{kind} {n} #{k}"} for n in range(len(names)) for k in range(5)
        ]
        coco_file(tmp_path / "coco" / "annotations" / f"captions_{kind}.json", images, annotations)
        coco_images(tmp_path / "coco" / kind, names)
    splits = load_captions("coco", tmp_path / "coco", validation_fraction=0.2)
    assert splits.test.ids == val_names and splits.test.captions[3] == [f"val2017 3 #{k}" for k in range(5)]
    assert all(path.startswith(str(tmp_path / "coco" / "val2017")) for path in splits.test.images)
    assert sorted(splits.train.ids + splits.validation.ids) == train_names
    assert splits.validation.ids == [
        name for name in train_names if caption_split(name, 0.2, 0) == "validation"
    ]
    assert 0 < len(splits.validation.ids) < 30 and "captions_val2017.json as test" in splits.source
    with pytest.raises(ValueError, match="images_dir is for one captions file"):
        read_coco_captions(tmp_path / "coco", tmp_path)


def test_caption_split_depends_on_the_id_only():
    ids = [f"{number:012d}.jpg" for number in range(3000)]
    splits = [caption_split(name) for name in ids]
    shares = {name: splits.count(name) / len(ids) for name in ("train", "validation", "test")}
    assert shares["test"] == pytest.approx(0.1, abs=0.02) and shares["validation"] == pytest.approx(
        0.1, abs=0.02
    )
    wider = [caption_split(name, 0.3) for name in ids]
    assert [a == "test" for a in splits] == [b == "test" for b in wider]  # test never moves
    with pytest.raises(ValueError, match="leave some images for training"):
        caption_split("a.jpg", 0.5, 0.5)


# ## Decoding images


def test_read_images_decodes_resizes_and_names_bad_files(tmp_path):
    color = np.zeros((30, 40, 3), np.uint8) + np.array([255, 0, 128], np.uint8)
    (tmp_path / "color.png").write_bytes(tf.io.encode_png(color).numpy())
    gray = np.full((10, 10, 1), 51, np.uint8)
    (tmp_path / "gray.jpg").write_bytes(tf.io.encode_jpeg(gray, quality=100).numpy())
    images = read_images([tmp_path / "color.png", str(tmp_path / "gray.jpg")], (8, 6))
    assert images.shape == (2, 8, 6, 3) and images.dtype == np.float32
    np.testing.assert_allclose(images[0], np.broadcast_to([1, 0, 128 / 255], (8, 6, 3)), atol=1e-6)
    np.testing.assert_allclose(images[1], 0.2, atol=1.5 / 255)  # grayscale: 3 equal channels
    as_bytes = read_images([tmp_path / "color.png"], (3, 3), dtype="uint8")
    assert as_bytes.dtype == np.uint8 and (as_bytes == [255, 0, 128]).all()
    (tmp_path / "garbage.jpg").write_bytes(b"this is not an image" * 10)
    jpeg = tf.io.encode_jpeg(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).numpy()
    (tmp_path / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    for name in ("garbage.jpg", "truncated.jpg"):
        with pytest.raises(
            DataFormatError, match="cannot be decoded as a JPEG, PNG, GIF or BMP image"
        ) as error:
            read_images([tmp_path / "color.png", tmp_path / name], (8, 8))
        assert error.value.path == str(tmp_path / name) and error.value.line is None
    with pytest.raises(DataFormatError, match="cannot be read") as error:
        read_images([tmp_path / "absent.jpg"], (8, 8))
    assert error.value.path == str(tmp_path / "absent.jpg")
    for size in ((8,), (0, 8), (8.0, 8)):
        with pytest.raises(ValueError, match="size must be"):
            read_images([], size)


def test_load_captions_can_decode_photos(tmp_path):
    folder = flickr_folder(tmp_path)
    (folder / "Images" / "a.jpg").write_bytes(tf.io.encode_jpeg(np.zeros((5, 7, 3), np.uint8)).numpy())
    with pytest.raises(DataFormatError, match="cannot be decoded") as error:
        load_captions("flickr8k", folder, image_size=(4, 4), skip_checksum=True)  # b.jpg holds no image
    assert error.value.path == str(folder / "Images" / "b.jpg")
    (folder / "Images" / "b.jpg").write_bytes((folder / "Images" / "a.jpg").read_bytes())
    splits = load_captions("flickr8k", folder, image_size=(4, 4), skip_checksum=True)
    assert splits.train.images.shape == (1, 4, 4, 3) and splits.validation.images.dtype == np.float32
    assert splits.validation.captions == [EXPECTED["b.jpg"]] and "decoded at 4x4" in splits.source


# ## The digit strips


def digit_index():
    """`load_digits()` index of each 8x8 image by its bytes (the 1,797 images are all different)."""
    digits = sklearn.datasets.load_digits()
    index = {image.astype(np.uint8).tobytes(): i for i, image in enumerate(digits.images)}
    assert len(index) == 1797
    return index, digits.images, digits.target


def rebuild(strip, index, images, digit_size=16, max_digits=5):
    """The `load_digits()` indices of the digits in a strip, found from its pixels alone, after checking
    every slot is exactly a digit image upscaled (or black after the last digit)."""
    assert strip.shape == (digit_size, digit_size * max_digits, 3)
    assert (strip[..., 0] == strip[..., 1]).all() and (strip[..., 0] == strip[..., 2]).all()
    scale, found = digit_size // 8, []
    for slot in range(max_digits):
        block = strip[:, slot * digit_size : (slot + 1) * digit_size, 0]
        if not block.any():
            assert not strip[:, slot * digit_size :].any()  # padding only on the right
            break
        small = np.round(block[::scale, ::scale] * 16).astype(np.uint8)
        i = index[small.tobytes()]
        np.testing.assert_array_equal(
            block, np.kron(images[i] / 16, np.ones((scale, scale))).astype(np.float32)
        )
        found.append(i)
    return found


def test_digit_strips_are_real_digits_named_in_their_captions():
    index, images, targets = digit_index()
    counts = {"train": 300, "validation": 60, "test": 60}
    splits = load_captions(None, strips=tuple(counts.values()))
    used = {}
    for split, count in counts.items():
        data = getattr(splits, split)
        assert data.images.shape == (count, 16, 80, 3)
        assert data.images.dtype == np.float32 and data.images.min() == 0 and data.images.max() == 1
        lengths, used[split] = [], set()
        for name, strip, captions in zip(data.ids, data.images, data.captions):
            found = rebuild(strip, index, images)
            assert 2 <= len(found) <= 5 and len(set(found)) == len(found)
            assert captions == [" ".join(DIGIT_WORDS[targets[i]] for i in found)]
            assert name == "+".join(map(str, found))
            lengths.append(len(found))
            used[split] |= set(found)
        assert set(lengths) == {2, 3, 4, 5}
        assert used[split] <= set(DIGIT_IMAGE_SPLITS[split])
    assert not used["train"] & used["validation"] and not used["train"] & used["test"]
    assert not used["validation"] & used["test"]
    assert {targets[i] for i in used["test"]} == set(range(10))
    assert "train/validation/test" in splits.source and splits.skipped == {}


def test_digit_strips_are_deterministic_by_seed_and_sized():
    first, again, other = (load_captions(None, seed=seed, strips=(50, 10, 10)) for seed in (0, 0, 1))
    for a, b in zip(first[:3], again[:3]):
        assert a.ids == b.ids and a.captions == b.captions and np.array_equal(a.images, b.images)
    assert first.train.ids != other.train.ids and first.test.ids != other.test.ids
    index, images, _ = digit_index()
    big = digit_strips(20, seed=3, split="validation", min_digits=1, max_digits=3, digit_size=32)
    assert big.images.shape == (20, 32, 96, 3)
    assert all(
        rebuild(s, index, images, 32, 3) == list(map(int, n.split("+"))) for s, n in zip(big.images, big.ids)
    )
    assert digit_strips(4, seed=3, channels=1).images.shape == (4, 16, 80, 1)
    for kwargs, message in [
        ({"split": "dev"}, "split must be one of train, validation, test"),
        ({"min_digits": 0}, "need 1 <= min_digits <= max_digits"),
        ({"min_digits": 4, "max_digits": 3}, "need 1 <= min_digits <= max_digits"),
        ({"digit_size": 12}, "digit_size must be a positive multiple of 8"),
        ({"channels": 2}, "channels must be 1 or 3"),
    ]:
        with pytest.raises(ValueError, match=message):
            digit_strips(3, 0, **kwargs)
    with pytest.raises(ValueError, match="count must be at least 0"):
        digit_strips(-1, 0)


def test_pairs_summary_and_entry_point_arguments(tmp_path):
    data = CaptionedImages(["a", "b"], np.arange(2 * 4).reshape(2, 2, 2, 1), [["one", "two"], ["three"]])
    images, captions = caption_pairs(data)
    assert captions == ["one", "two", "three"] and (images[:, 0, 0, 0] == [0, 0, 4]).all()
    summary = captions_summary(load_captions(None, strips=(4, 2, 2))).splitlines()
    assert len(summary) == 3 and re.fullmatch(r" +train: +4 images, +4 captions, .* distinct", summary[0])
    with pytest.raises(
        ValueError, match="unknown captioning dataset 'flickr30k'; choose one of flickr8k, coco"
    ):
        load_captions("flickr30k", tmp_path)
    with pytest.raises(ValueError, match="data_dir and image_size are for the photo datasets"):
        load_captions(None, tmp_path)
    with pytest.raises(ValueError, match="strips must be 3 counts"):
        load_captions(None, strips=(10, 10))
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_captions("coco", tmp_path / "nowhere")


def test_docstring_examples_run():
    results = doctest.testmod(captioning, optionflags=doctest.ELLIPSIS)
    assert results.failed == 0 and results.attempted >= 6


# ## The real Flickr8k subset ($ZOO_DATA_DIR/flickr8k)


def test_flickr8k_subset_is_split_by_the_official_lists(shared_data):
    folder = shared_data("flickr8k")
    splits = load_captions("flickr8k")  # found through $ZOO_DATA_DIR
    assert str(folder / "Images") in splits.source and splits == read_flickr8k(folder)
    assert [len(data.ids) for data in splits[:3]] == [605, 87, 102]  # SOURCE.md
    assert splits.skipped == {
        "captions_without_image": 40_455 - 4_000,
        "images_without_file": 8_091 - 800,
        "images_in_no_split": 6,
        "images_without_caption": 0,
    }
    assert "36,455 captions of 7,291 images without a file skipped" in splits.source
    assert (
        "train 605 of 6,000 listed, validation 87 of 1,000 listed, test 102 of 1,000 listed" in splits.source
    )
    present = set(os.listdir(folder / "Images"))
    for data, list_name in zip(splits[:3], ("train", "dev", "test")):
        listed = (folder / f"Flickr_8k.{list_name}Images.txt").read_text().split()
        assert data.ids == sorted(present & set(listed))
        assert all(len(captions) == 5 for captions in data.captions)  # the source has five for every image
        assert data.images == [str(folder / "Images" / name) for name in data.ids]
    assert sum(len(data.ids) for data in splits[:3]) == 800 - 6
    with open(folder / "captions.txt", newline="", encoding="utf-8") as file:
        rows = [row for row in csv.DictReader(file) if row["image"] in present]
    expected = collections.defaultdict(list)
    for row in rows:
        expected[row["image"]].append(row["caption"].strip())
    got = {name: captions for data in splits[:3] for name, captions in zip(data.ids, data.captions)}
    assert got == {name: captions for name, captions in expected.items() if name in got}
    assert (
        got["1012212859_01547e3f17.jpg"][0]
        == "A dog shakes its head near the shore , a red ball next to it ."
    )
    assert 'Young boy with a black " ADHD " t-shirt nodding off' in got["1253275679_e955fb7304.jpg"]
    sign = "A girl sits in a harness ready to lift up into the air and behind her is a sign that says "
    sign += '" active . "'
    assert sign in got["1401961581_76921a75c5.jpg"]
    captions = [caption for references in got.values() for caption in references]
    assert (
        sum("," in caption for caption in captions) > 200 and sum('"' in caption for caption in captions) >= 5
    )
    images = read_images(splits.test.images[:3], (64, 48), dtype="uint8")
    assert images.shape == (3, 64, 48, 3) and images.dtype == np.uint8 and images.std() > 20


def test_flickr8k_registry_entry(shared_data):
    source = (shared_data("flickr8k") / "SOURCE.md").read_text()
    info = DATASETS["flickr8k"]
    assert [remote.url for remote in info.files] == [
        "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/Flickr8k_Dataset.zip",
        "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/Flickr8k_text.zip",
    ]
    assert all(re.fullmatch("[0-9a-f]{32}", remote.file_hash) and remote.extract for remote in info.files)
    assert "research use only" in info.license and "research use only" in source
    assert "never redistribute" in info.license and "Hodosh" in info.license
    assert locate("flickr8k") == shared_data("flickr8k")
    package = pathlib.Path(zoo.__file__).parent  # research-only data is never bundled
    assert not [path for path in package.rglob("*") if path.suffix.lower() in (".jpg", ".jpeg", ".txt")]
    assert DATASETS["coco"].files == () and "CC BY 4.0" in DATASETS["coco"].license


# ## A user's own images, listed in a CSV file


def write_photos(folder, count=4, size=(24, 32)):
    """`count` small images in `folder/photos/`, PNG and JPEG in turn, each of one colour."""
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    names = []
    for index in range(count):
        pixels = np.zeros((*size, 3), np.uint8) + np.uint8(index * 40 % 256)
        name = f"photos/{index}.{'png' if index % 2 else 'jpg'}"
        encode = tf.io.encode_png if index % 2 else tf.io.encode_jpeg
        (folder / name).write_bytes(encode(pixels).numpy())
        names.append(name)
    return names


def test_caption_csv_groups_each_images_captions_in_row_order(tmp_path):
    names = write_photos(tmp_path, 3)
    (tmp_path / "captions.csv").write_text(
        f'caption,image\nA dark square,{names[0]}\n"Grey, square",{names[1]}\n'
        f"Black,{names[0]}\n\nLight grey,{names[2]}\n"
    )
    data = read_caption_csv(tmp_path / "captions.csv")
    assert data.ids == names and data.images == [str(tmp_path / name) for name in names]
    assert data.captions == [["A dark square", "Black"], ["Grey, square"], ["Light grey"]]
    (tmp_path / "other.tsv").write_text(f"file\tsentence\n{names[2]}\tlight\n")
    data = read_caption_csv(tmp_path / "other.tsv", image_column="file", caption_column="sentence")
    assert data.captions == [["light"]]


def test_carved_caption_splits_keep_an_images_captions_together(tmp_path):
    names = write_photos(tmp_path, 20, size=(4, 4))
    rows = [(name, f"caption {n} of {name}") for n in range(3) for name in names]  # an image every 20 rows
    (tmp_path / "captions.csv").write_text("image,caption\n" + "".join(f"{i},{c}\n" for i, c in rows))
    splits = load_caption_files(tmp_path / "captions.csv", validation_fraction=0.2, test_fraction=0.1, seed=3)
    assert [len(getattr(splits, name).ids) for name in ("train", "validation", "test")] == [14, 4, 2]
    seen = [set(getattr(splits, name).ids) for name in ("train", "validation", "test")]
    assert set.union(*seen) == set(names) and sum(map(len, seen)) == 20  # each image in one split
    for data in splits[:3]:
        for image, captions in zip(data.ids, data.captions):
            assert captions == [f"caption {n} of {image}" for n in range(3)]
    assert "validation 20% of its images by seed 3" in splits.source
    (tmp_path / "test.csv").write_text(f"image,caption\n{names[0]},held out\n")
    given = load_caption_files(tmp_path / "captions.csv", test_file=tmp_path / "test.csv", seed=3)
    assert given.test.captions == [["held out"]] and len(given.train.ids) + len(given.validation.ids) == 20
    other = load_caption_files(tmp_path / "captions.csv", validation_fraction=0.2, test_fraction=0.1, seed=4)
    assert other.test.ids != splits.test.ids


@pytest.mark.parametrize(
    "row, problem",
    [
        ("photos/gone.png,a caption", r"photos/gone\.png: no such image file"),
        ("photos/notes.png,a caption", r"photos/notes\.png: is not a JPEG, PNG, GIF or BMP image"),
        ("photos/cut.jpg,a caption", r"photos/cut\.jpg: cannot be decoded as a JPEG, PNG, GIF or BMP image"),
        ("photos/0.jpg,  ", r"empty 'caption' for photos/0\.jpg"),
        (",a caption", r"empty 'image': no image named"),
        ("photos/0.jpg,a caption, with a comma", r"3 fields where the header has 2"),
    ],
)
def test_a_malformed_caption_csv_names_its_file_and_line(tmp_path, row, problem):
    names = write_photos(tmp_path, 2)
    (tmp_path / "photos" / "notes.png").write_text("not an image")
    jpeg = tf.io.encode_jpeg(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).numpy()
    (tmp_path / "photos" / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    csv_file = tmp_path / "captions.csv"
    csv_file.write_text(f"image,caption\n{names[0]},fine\n{names[1]},fine too\n\n{row}\n")
    with pytest.raises(DataFormatError, match=rf"^{re.escape(str(csv_file))}:5: {problem}"):
        read_caption_csv(csv_file)
