"""The captioning recipe end to end: it learns to read digit strips, its SavedModel captions image bytes and
float images, a short Flickr8k run learns, and a keras.applications encoder loads a weights file."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.captioning
import zoo.cli
import zoo.data
import zoo.errors
import zoo.export
import zoo.metrics
import zoo.train
from recipes import captioning

BACKBONE = "VGG16"  # few layers: the quickest keras.applications model to build and trace


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("captioning")
    flags = ["--strips", "2000", "--epochs", "3", "--batch-size", "16", "--validation-samples", "100"]
    flags += ["--heatmaps", "2"]
    return output_dir, captioning.main([*flags, "--output-dir", str(output_dir)])


def test_digit_strips_are_learned(trained):
    output_dir, metrics = trained
    history = zoo.train.read_history(output_dir / "history.csv")
    assert history[-1]["loss"] < history[0]["loss"] / 3
    # Chance is about 0 (2-5 digits, 10 names each); three short epochs read a third of the strips exactly.
    assert metrics["test_exact"] > 0.3 and metrics["test_greedy_exact"] > 0.3
    assert metrics["test_bleu1"] > 60 and metrics["test_bleu4"] > 30
    assert history[-1]["val_bleu4"] > 0
    # The strips keep the checkpoint of the lowest validation loss (their BLEU-4 saturates at 100).
    assert "best_val_loss" in metrics and "best_val_bleu4" not in metrics


def test_convs_per_block_deepens_the_small_cnn():
    for convs in (1, 2):
        cnn = zoo.captioning.grid_encoder((16, 80), [32, 64, 128], convs_per_block=convs)
        conv_layers = [layer for layer in cnn.layers if isinstance(layer, keras.layers.Conv2D)]
        assert len(conv_layers) == 3 * convs
        assert cnn.output_shape == (None, 2, 10, 128)  # one 2x2 pool per block, whatever its depth


def test_label_smoothing_charges_even_a_confident_right_word():
    targets = np.array([[[4, 5, 3, 0]]])  # two words, </s>, padding
    logits = 50.0 * keras.ops.one_hot(targets, 14)  # every word right, with near certainty
    losses = {}
    for smoothing in ("0", "0.1"):
        config = zoo.cli.parse(captioning.Config, ["--label-smoothing", smoothing])
        trainer = captioning.build_model(config, 14, (16, 80), 1, 4, 10).trainer
        losses[smoothing] = float(trainer.loss(targets, logits))
    # 0.1 of the target spread over 14 words: -0.1 * mean log p is about 0.1 * 50 * 13 / 14.
    assert losses["0"] < 1e-6 and losses["0.1"] == pytest.approx(0.1 * 50 * 13 / 14, rel=1e-3)


def test_every_artifact_is_written_and_exports_match(trained):
    output_dir, metrics = trained
    for name in ("model.keras", "saved_model", "vocabulary.txt", "metrics.json", "history.csv"):
        assert (output_dir / name).exists(), name
    assert (output_dir / "attention_0.png").stat().st_size > 5000 and (
        output_dir / "attention_1.png"
    ).exists()
    assert metrics["keras_max_abs_diff"] <= 1e-4 and metrics["savedmodel_differing_captions"] == 0
    words = (output_dir / "vocabulary.txt").read_text().split("\n")
    assert words[:4] == ["", "[UNK]", "<s>", "</s>"] and set(words[4:-1]) == set(zoo.data.DIGIT_WORDS)


def test_deploy_json_and_each_endpoint_reproduces_its_test_scores(trained):
    """The test split's strips are float images: `serve_images` gives the greedy scores, `beam_images`
    test_bleu4 and test_exact (beam search, the recipe's default decoder)."""
    output_dir, metrics = trained
    manifest = json.loads((output_dir / "deploy.json").read_text())
    assert set(manifest["exports"]["saved_model"]["signatures"]) == {
        "serve", "serving_default", "serve_images", "beam", "beam_images"
    }  # fmt: skip
    assert manifest["decoders"]["serve"] == manifest["decoders"]["serve_images"] == "greedy"
    assert manifest["decoders"]["beam_images"].startswith("beam search, 3 beams, length penalty 0.6")
    assert manifest["reproduces"]["serve_images"]["test_greedy_exact"] == metrics["test_greedy_exact"]
    assert manifest["reproduces"]["beam_images"]["test_bleu4"] == metrics["test_bleu4"]
    assert manifest["vocabulary"] == "vocabulary.txt" and manifest["special_ids"]["end"] == 3
    assert manifest["verified"]["tflite_differing_captions"] == metrics["tflite_differing_captions"] == 0
    test = zoo.data.load_captions(None, seed=0, strips=(2000, 300, 300)).test
    references = [[zoo.captioning.normalize_caption(text) for text in captions] for captions in test.captions]
    model = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    for endpoint, prefix in ((model.serve_images, "test_greedy_"), (model.beam_images, "test_")):
        captions = [
            text.decode() for i in range(0, 300, 64) for text in endpoint(test.images[i : i + 64]).numpy()
        ]
        scores = zoo.metrics.caption_scores(captions, references)
        assert scores["exact"] == metrics[f"{prefix}exact"] and scores["bleu4"] == pytest.approx(
            metrics[f"{prefix}bleu4"]
        )


def test_the_tflite_file_captions_as_the_greedy_endpoint(trained):
    output_dir, _ = trained
    images = zoo.data.digit_strips(8, seed=7, split="test").images
    model = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    served = [text.decode() for text in model.serve_images(tf.constant(images)).numpy()]
    assert zoo.captioning.caption_with_tflite(output_dir, images) == served
    tensors = zoo.export.tflite_tensors(output_dir / "model.tflite")
    assert (
        tensors["inputs"][0]["shape"] == [1, *images.shape[1:]]
        and tensors["outputs"][0]["name"] == "word_ids"
    )


def test_saved_model_captions_png_bytes_and_float_images(trained):
    output_dir, _ = trained
    strips = zoo.data.digit_strips(24, seed=123, split="test")
    files = [tf.io.encode_png(np.round(image * 255).astype(np.uint8)).numpy() for image in strips.images]
    model = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    from_bytes = [text.decode() for text in model.serve(tf.constant(files)).numpy()]
    from_pixels = [text.decode() for text in model.serve_images(tf.constant(strips.images)).numpy()]
    references = [captions[0] for captions in strips.captions]
    assert zoo.metrics.exact_match_rate(from_bytes, references) > 0.3
    # PNG rounds the pixels to 1/255: the same captions, but for a rare near tie.
    assert sum(a == b for a, b in zip(from_bytes, from_pixels)) >= 22
    # A photo of another size is resized by the graph.
    photo = tf.io.encode_jpeg(np.zeros((50, 70, 3), np.uint8)).numpy()
    assert model.serve(tf.constant([photo])).shape == (1,)
    # No image, no caption; no images, no captions.
    assert model.serve(tf.constant([files[0], b""])).numpy()[1] == b""
    for empty in (model.serve(tf.zeros([0], tf.string)), model.serve_images(strips.images[:0])):
        assert empty.shape == (0,) and empty.dtype == tf.string


def test_predict_captions_image_files_and_refuses_a_file_that_is_not_one(trained, tmp_path):
    output_dir, _ = trained
    strips = zoo.data.digit_strips(3, seed=11, split="test").images
    paths = []
    for index, image in enumerate(strips):
        paths.append(tmp_path / f"strip_{index}.png")
        paths[-1].write_bytes(tf.io.encode_png(np.round(image * 255).astype(np.uint8)).numpy())
    model = tf.saved_model.load(str(output_dir / "saved_model" / "1"))
    served = [text.decode() for text in model.serve(tf.constant([p.read_bytes() for p in paths])).numpy()]
    answers = captioning.main(["predict", "--output-dir", str(output_dir), *map(str, paths)])
    assert answers == [{"path": str(path), "caption": caption} for path, caption in zip(paths, served)]
    (tmp_path / "notes.jpg").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(paths[0].read_bytes()[:40])  # a PNG cut short
    for name, problem in (("notes.jpg", "is not a JPEG, PNG"), ("broken.png", "cannot be decoded")):
        with pytest.raises(zoo.errors.DataFormatError, match=f"{name}: {problem}"):
            captioning.main(["predict", "--output-dir", str(output_dir), str(paths[0]), str(tmp_path / name)])


def test_an_ensemble_trains_its_members_exports_and_resumes(tmp_path, capsys):
    flags = ["--strips", "600", "--epochs", "2", "--batch-size", "16", "--validation-samples", "50"]
    flags += ["--heatmaps", "1", "--beam-size", "2", "--ensemble", "2", "--output-dir", str(tmp_path)]
    metrics = captioning.main(flags)
    members = [json.loads((tmp_path / f"member_{i}" / "metrics.json").read_text()) for i in (0, 1)]
    for index, scores in enumerate(members):
        folder = tmp_path / f"member_{index}"
        assert (folder / "best.weights.h5").exists() and (folder / "model.keras").exists()
        assert len(zoo.train.read_history(folder / "history.csv")) == 2
        assert metrics[f"member_{index}_test_greedy_exact"] == scores["test_greedy_exact"]
    # Seeds --seed and --seed + 1: two models, not one trained twice.
    kernels = [
        keras.saving.load_model(tmp_path / f"member_{i}" / "model.keras").get_layer("logits").kernel.numpy()
        for i in (0, 1)
    ]
    assert not np.allclose(*kernels)
    assert metrics["train_seconds"] == pytest.approx(
        members[0]["train_seconds"] + members[1]["train_seconds"]
    )
    assert metrics["epochs"] == 4 and metrics["savedmodel_differing_captions"] == 0
    assert metrics["tflite_differing_captions"] == 0  # the TFLite file decodes with both members too
    assert json.loads((tmp_path / "deploy.json").read_text())["ensemble_members"] == 2
    assert (tmp_path / "saved_model").exists() and (tmp_path / "attention_0.png").exists()
    # A finished run says so; after a kill during the ensemble's export (its metrics.json not yet
    # written), the same command loads the trained members instead of training them again.
    with pytest.raises(zoo.train.RunFinished):
        captioning.main(flags)
    (tmp_path / "metrics.json").unlink()
    capsys.readouterr()
    again = captioning.main([*flags, "--no-export"])
    assert capsys.readouterr().out.count("trained in an earlier run") == 2
    assert again["test_greedy_exact"] == metrics["test_greedy_exact"]
    assert len(zoo.train.read_history(tmp_path / "member_0" / "history.csv")) == 2


def test_short_flickr8k_run_learns(tmp_path, shared_data):
    shared_data("flickr8k")
    flags = ["--dataset", "flickr8k", "--max-train-samples", "48", "--image-size", "48", "--epochs", "3"]
    flags += ["--batch-size", "8"]
    flags += ["--conv-filters", "8", "16", "32", "--units", "32", "--embedding-dim", "32", "--beam-size", "1"]
    flags += ["--validation-samples", "16", "--heatmaps", "1", "--no-export", "--output-dir", str(tmp_path)]
    metrics = captioning.main(flags)
    history = zoo.train.read_history(tmp_path / "history.csv")
    assert history[-1]["loss"] < history[0]["loss"] - 0.25  # from uniform over the words to their frequencies
    assert 0 <= metrics["test_bleu1"] <= 100 and (tmp_path / "attention_0.png").exists()


def test_keras_applications_encoder_loads_a_weights_file(tmp_path):
    base = dict(strips=8, encoder=BACKBONE, image_size=32)
    backbone = getattr(keras.applications, BACKBONE)(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "notop.weights.h5"
    backbone.save_weights(path)
    model = captioning.build_model(
        captioning.Config(**base, encoder_weights=str(path)), 14, (32, 32), 1, 6, 1
    )
    (frozen,) = [
        layer for layer in model.trainer.get_layer(BACKBONE.lower()).layers if isinstance(layer, keras.Model)
    ]
    assert frozen.trainable_weights == [] and len(frozen.weights) == len(backbone.weights)
    for loaded, saved in zip(frozen.weights, backbone.weights):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy())
    inputs = {"images": np.zeros((2, 32, 32, 3), "float32"), "tokens": np.ones((2, 1, 6), "int32")}
    assert np.isfinite(model.trainer.train_on_batch(inputs, np.ones((2, 1, 6), "int32")))
    tuned = zoo.captioning.grid_encoder((32, 32), backbone=BACKBONE, fine_tune=True)
    assert len(tuned.trainable_weights) == len(backbone.weights)  # fine-tuned: all of them train


def test_a_file_that_is_not_an_image_is_named(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(tf.io.encode_png(np.zeros((4, 4, 3), np.uint8)).numpy())
    (tmp_path / "notes.jpg").write_text("not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert len(list(zoo.captioning.image_dataset(zoo.data.CaptionedImages([], [str(good)], []), (4, 4)))) == 1
    for name, problem in (
        ("notes.jpg", "is not a JPEG"),
        ("empty.jpg", "it is empty"),
        ("gone.png", "cannot be read"),
    ):
        paths = [str(good), str(tmp_path / name)]
        with pytest.raises(zoo.errors.DataFormatError, match=f"{name}: .*{problem}"):
            zoo.captioning.image_dataset(zoo.data.CaptionedImages([], paths, []), (4, 4))


def test_captions_are_normalised():
    normalize_caption = zoo.captioning.normalize_caption
    assert normalize_caption("A dog shakes its head near the shore , a red ball next to it .") == (
        "a dog shakes its head near the shore a red ball next to it"
    )
    assert normalize_caption('Young boy with a black " ADHD " t-shirt') == (
        "young boy with a black adhd t-shirt"
    )
    assert normalize_caption("A man 's hat - red !") == "a man 's hat red"


@pytest.mark.parametrize(
    "flags",
    [
        ["--dataset", "flickr30k"],
        ["--encoder", "ResNet51"],
        ["--encoder-weights", "weights.h5"],
        ["--encoder", "ResNet50", "--encoder-weights", "/nonexistent/weights.h5"],
        ["--dropout", "1.5"],
        ["--convs-per-block", "0"],
        ["--label-smoothing", "1.0"],
    ],
)
def test_bad_flags_are_refused(flags):
    with pytest.raises(SystemExit):
        captioning.main(flags)


def test_trains_on_a_users_own_images_listed_in_a_csv(tmp_path):
    """Twelve photos of four colours, PNG and JPEG, three captions each on rows far apart, in a CSV whose
    paths are relative to it; the carved test split keeps each image's captions together."""
    (tmp_path / "photos").mkdir()
    colours = {"red": [220, 30, 30], "green": [30, 200, 40], "blue": [20, 40, 230], "white": [250, 250, 250]}
    rows = []
    for index in range(12):
        name, rgb = list(colours.items())[index % 4]
        pixels = np.broadcast_to(np.array(rgb, np.uint8), (40 + index, 48, 3))  # sizes differ too
        path = f"photos/{index}.{'png' if index % 2 else 'jpg'}"
        encode = tf.io.encode_png if index % 2 else tf.io.encode_jpeg
        (tmp_path / path).write_bytes(encode(pixels).numpy())
        rows += [(n, path, caption) for n, caption in enumerate([f"a {name} square", f"{name}", "a photo"])]
    rows.sort()  # all first captions, then all second ones, ...
    (tmp_path / "captions.csv").write_text("image,caption\n" + "".join(f"{p},{c}\n" for _, p, c in rows))
    flags = ["--train-file", str(tmp_path / "captions.csv"), "--test-fraction", "0.25", "--seed", "1"]
    flags += [
        "--image-size",
        "16",
        "--conv-filters",
        "8",
        "16",
        "--feature-dim",
        "16",
        "--embedding-dim",
        "8",
    ]
    flags += ["--units", "16", "--attention-units", "8", "--epochs", "1", "--batch-size", "4"]
    flags += ["--validation-samples", "4", "--heatmaps", "1", "--no-export"]
    config = zoo.cli.parse(captioning.Config, flags)
    splits = captioning.load_splits(config)
    assert [len(data.ids) for data in splits[:3]] == [8, 1, 3]
    assert all(len(captions) == 3 for data in splits[:3] for captions in data.captions)
    assert sorted(id for data in splits[:3] for id in data.ids) == sorted({p for _, p, _ in rows})
    metrics = captioning.main([*flags, "--output-dir", str(tmp_path / "run")])
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    train_words = {word for captions in splits.train.captions for text in captions for word in text.split()}
    assert written["vocabulary_size"] == metrics["vocabulary_size"] == len(train_words) + 4
    assert 0 <= metrics["test_bleu4"] <= 100 and (tmp_path / "run" / "history.csv").exists()
