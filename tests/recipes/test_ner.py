"""The NER recipe end to end: it learns on real WNUT-17 tweets, exports faithfully, runs with no data."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.data
import zoo.errors
import zoo.export
import zoo.layers
import zoo.metrics
import zoo.tagging
from benchmarks import inference
from recipes import ner

# A quick, real run: the WNUT-17 training file for 5 epochs, dev as validation, the test file as test.
QUICK = ["--dataset", "wnut17", "--epochs", "5", "--patience", "5",
         "--word-dim", "50", "--units", "64", "--char-filters", "30"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    if not os.environ.get("ZOO_DATA_DIR"):
        pytest.skip("ZOO_DATA_DIR is not set; the recipe test trains on WNUT-17")
    output_dir = tmp_path_factory.mktemp("ner")
    metrics = ner.main([*QUICK, "--output-dir", str(output_dir)])
    return output_dir, metrics


def test_short_run_on_wnut17_learns(trained):
    output_dir, metrics = trained
    assert metrics["test_entity_f1"] > 0.05  # a tagger that finds nothing scores 0
    assert metrics["test_entity_precision"] > 0.15
    assert metrics["best_val_entity_f1"] > 0.05
    # The information view of the tags, per token: the tags tell something about the truth, not all.
    assert 0.05 < metrics["test_tag_uncertainty_coefficient"] < 1.0
    assert metrics["test_tag_mutual_information_bits"] < metrics["test_tag_label_entropy_bits"]
    history = (output_dir / "history.csv").read_text().splitlines()
    assert "val_entity_f1" in history[0]  # the callback's metric reached the CSV log


def test_every_artifact_is_written(trained):
    output_dir, metrics = trained
    for name in ("model.keras", "model.tflite", "words.txt", "chars.txt", "tags.txt", "metrics.json",
                 "history.csv", "entity_scores.md", "saved_model/1/saved_model.pb"):  # fmt: skip
        assert (output_dir / name).exists(), name
    assert json.loads((output_dir / "metrics.json").read_text()) == metrics
    table = (output_dir / "entity_scores.md").read_text()
    for entity_type in ("person", "location", "corporation", "product", "group", "creative-work"):
        assert f"| {entity_type}" in table


def test_tflite_is_builtin_only_and_matches(trained):
    output_dir, metrics = trained
    assert metrics["tflite_max_abs_diff"] == 0.0 and metrics["savedmodel_max_abs_diff"] == 0.0
    assert not [op for op in zoo.export.tflite_ops(output_dir / "model.tflite") if op.startswith("Flex")]


def test_saved_model_tags_token_strings_in_a_fresh_process(trained):
    output_dir, _ = trained
    script = textwrap.dedent(f"""
        import json, tensorflow as tf
        model = tf.saved_model.load({str(output_dir / "saved_model" / "1")!r})
        tokens = tf.constant([["Going", "to", "New", "York", "with", "@bob", "😀"],
                              ["hi", "", "", "", "", "", ""]])
        (tags,) = model.signatures["serving_default"](tokens=tokens).values()
        print(json.dumps([[t.decode() for t in row] for row in tags.numpy()]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    tags = json.loads(result.stdout.strip().splitlines()[-1])
    tag_names = (output_dir / "tags.txt").read_text().split()
    assert len(tags[0]) == 7 and all(tag in tag_names for tag in tags[0])
    assert tags[1][0] in tag_names and tags[1][1:] == [""] * 6  # padding in, empty tags out


def test_exports_tag_a_one_word_sentence_and_empty_batches(trained):
    output_dir, _ = trained
    loaded = tf.saved_model.load(str(output_dir / "saved_model" / "1"))  # kept: its variables die with it
    serve = loaded.serve
    keras_model = keras.saving.load_model(output_dir / "model.keras")
    tag_names = (output_dir / "tags.txt").read_text().split()
    for tokens in ([["EU"]], np.zeros((0, 3), bytes), np.zeros((1, 0), bytes), np.zeros((0, 0), bytes)):
        tokens = tf.constant(tokens, tf.string)
        tags = serve(tokens).numpy()
        assert tags.shape == tuple(tokens.shape)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras_model(tokens)), tags)
    assert serve(tf.constant([["EU"]])).numpy()[0, 0].decode() in tag_names


def test_softmax_head_and_no_chars_run_on_the_embedded_sample(tmp_path):
    metrics = ner.main(["--head", "softmax", "--chars", "none", "--epochs", "2", "--no-export",
                        "--output-dir", str(tmp_path)])  # fmt: skip
    assert 0.0 <= metrics["test_entity_f1"] <= 1.0


# --ema: validation, checkpoints and the test score read the moving average of the weights (Keras's
# SwapEMAWeights puts it in the model at each epoch end). With momentum 0.9 it follows the weights and the
# run learns; with 0.99999 the average of 12 epochs' few hundred steps is still nearly the initial
# weights, so a run scored on it must find next to nothing (scored on the last weights, it would learn).
@pytest.mark.parametrize(
    "flags, learns",
    [([], True), (["--ema", "0.9"], True), (["--ema", "0.99999"], False)],
    ids=["last-weights", "ema", "ema-near-initial"],
)
def test_embedded_default_learns(tmp_path, flags, learns):
    metrics = ner.main([*flags, "--epochs", "12", "--no-export", "--output-dir", str(tmp_path)])
    if learns:
        assert metrics["test_entity_f1"] > 0.4  # test names never occur in training
    else:
        assert metrics["test_entity_f1"] < 0.1 and metrics["best_val_entity_f1"] < 0.1


@pytest.mark.parametrize("flags", [{"ema": 1.0}, {"ema": -0.1}, {"dropout": 1.0}])
def test_rejects_out_of_range_rates(tmp_path, flags):
    with pytest.raises(ValueError, match="must be in|must be a finite number >= 0"):
        ner.Config(output_dir=str(tmp_path), **flags)


def test_embeddings_file_initialises_word_vectors(tmp_path):
    vectors = tmp_path / "vectors.txt"
    rng = np.random.default_rng(0)
    words = ["the", "in", "visited", "zzunseen"]
    rows = [f"{word} " + " ".join(f"{v:.4f}" for v in rng.normal(size=6)) for word in words]
    vectors.write_text(f"{len(words)} 6\n" + "\n".join(rows) + "\n")
    config = ner.Config(embeddings=str(vectors), output_dir=str(tmp_path))
    data = ner.load_data(config)
    model, _ = ner.build_model(config, data)
    table = model.get_layer("word_embedding").get_weights()[0]
    vocabulary = data.features.word_vocabulary
    assert "zzunseen" in vocabulary  # a word only the file knows joins the vocabulary
    for word, row in zip(words, rows):
        expected = np.array(row.split()[1:], dtype="float32")
        np.testing.assert_allclose(table[vocabulary.index(word) + 2], expected, atol=1e-6)
    # Fixed by default: training leaves them as the file has them; --tune-embeddings trains them.
    model.fit(data.train.take(2), epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_layer("word_embedding").get_weights()[0], table)
    tuned, _ = ner.build_model(dataclasses.replace(config, tune_embeddings=True), data)
    tuned.fit(data.train.take(2), epochs=1, verbose=0)
    assert not np.allclose(tuned.get_layer("word_embedding").get_weights()[0], table)


def test_bad_embeddings_file_names_the_file(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("not a header\nthe 1 2\n")
    with pytest.raises(zoo.errors.DataFormatError, match="vectors.txt"):
        ner.load_data(ner.Config(embeddings=str(vectors), output_dir=str(tmp_path)))


def test_dev_for_training_must_leave_a_validation_split(tmp_path):
    with pytest.raises(ValueError, match="dev-for-training"):
        ner.Config(dev_for_training=1.0, output_dir=str(tmp_path))


def test_bioes_scheme_learns_end_and_single_tags_of_the_same_entities(tmp_path):
    bio, bioes = (
        ner.load_data(ner.Config(tag_scheme=scheme, output_dir=str(tmp_path))) for scheme in ("bio", "bioes")
    )
    assert len(bioes.tag_names) == 1 + 2 * (len(bio.tag_names) - 1)  # B-, I-, E-, S- where BIO has B-, I-
    assert {"S-person", "E-person", "B-person", "I-person"} <= set(bioes.tag_names)
    for name in ("train", "validation", "test"):
        before, after = bio.splits[name].tags, bioes.splits[name].tags
        assert [zoo.metrics.extract_entities(t) for t in before] == [
            zoo.metrics.extract_entities(t) for t in after
        ]
        assert all(zoo.data.validate_tags(t, "bioes") is None for t in after)
    assert any("S-" in tag for sentence in bioes.splits["train"].tags for tag in sentence)
    _, tag_ids = next(iter(bioes.train))  # the batches carry the BIOES ids
    assert {bioes.tag_names[i][:2] for i in np.unique(tag_ids) if i >= 0} >= {"B-", "E-", "S-"}


def test_a_sentences_tag_scores_do_not_depend_on_its_padding(tmp_path):
    config = ner.Config(output_dir=str(tmp_path))
    data = ner.load_data(config)
    model, _ = ner.build_model(config, data)
    packed, _ = next(iter(data.test))
    packed = np.asarray(packed)
    length = int(np.sum(packed[0, :, 0] > 0))
    alone = packed[:1, :length]  # the first sentence without padding, then with 40 steps of it
    padded = np.concatenate([alone, np.zeros((1, 40, packed.shape[-1]), packed.dtype)], axis=1)
    np.testing.assert_allclose(
        np.asarray(model(padded, training=False))[:, :length],
        np.asarray(model(alone, training=False)),
        atol=1e-5,
    )


@pytest.mark.parametrize(
    "head, gazetteers",
    [("crf", False), ("softmax", False), ("crf", True)],
    ids=["crf", "softmax", "gazetteers"],
)
def test_an_ensemble_decodes_the_mean_of_its_members_scores(tmp_path, head, gazetteers):
    vectors = tmp_path / "vectors.txt"
    rng = np.random.default_rng(0)
    rows = [f"{word} " + " ".join(f"{v:.4f}" for v in rng.normal(size=6)) for word in ("the", "in", "of")]
    vectors.write_text("3 6\n" + "\n".join(rows) + "\n")
    config = ner.Config(embeddings=str(vectors), head=head, gazetteers=gazetteers, output_dir=str(tmp_path))
    data = ner.load_data(config)
    members = []
    for seed in range(3):  # three trained taggers' worth: their own initial weights and transitions
        keras.utils.set_random_seed(seed)
        model, _ = ner.build_model(config, data, suffix=f"_{seed}")
        if head == "crf":  # transitions that matter (they start at zero), small beside the untrained scores
            for weight in model.get_layer("crf").weights:
                weight.assign(rng.normal(scale=0.05, size=weight.shape).astype("float32"))
        members.append(model)
    tagger = zoo.tagging.ensemble_tagger(
        members, config.chars, head, share_words=True, gazetteer_bits=data.features.gazetteer_bits
    )
    if gazetteers:  # each member's gazetteer projection, read on the packed ids' last column
        assert [member.get_layer(f"gazetteers_{i}").kernel.shape for i, member in enumerate(members)] == [
            (8, 8)
        ] * 3
        assert all(
            tagger.get_layer(f"gazetteers_{i}") is m.get_layer(f"gazetteers_{i}")
            for i, m in enumerate(members)
        )
    # The fixed vectors are one table; each member keeps its own casing, characters, LSTM and scores.
    assert (
        sum(w.shape == members[0].get_layer("word_embedding_0").embeddings.shape for w in tagger.weights) == 1
    )
    assert len(tagger.weights) == 3 * len(members[0].weights) - 2 * (1 + 3 * (head == "crf"))
    packed, _ = next(iter(data.test))
    packed = packed.numpy()
    if gazetteers:  # bits of a first and a further token of a city in every sentence, beside the sample's
        packed[:, :3, -1] |= [1, 32, 33]
    scores = [np.asarray(member(packed, training=False)) for member in members]
    assert not np.allclose(scores[0], scores[1])  # members start apart
    mask = packed[..., 0] > 0
    if head == "crf":
        crf = zoo.layers.CRF(scores[0].shape[-1])
        crf.build(scores[0].shape)
        crf.set_weights(
            [np.mean(w, axis=0) for w in zip(*(m.get_layer("crf").get_weights() for m in members))]
        )
        expected, _ = crf.decode(np.mean(scores, axis=0), mask)
        alone, _ = members[1].get_layer("crf").decode(scores[1], mask)
    else:
        expected = np.argmax(np.mean(np.log(scores), axis=0), axis=-1)
        alone = np.argmax(scores[1], axis=-1)
    expected, alone = np.asarray(expected)[mask], np.asarray(alone)[mask]
    assert np.any(expected != alone)  # the mean is not just any member
    np.testing.assert_array_equal(np.asarray(tagger(packed))[mask], expected)


def test_gazetteers_are_a_column_of_their_own_that_the_tower_reads(tmp_path):
    plain, listed = (
        ner.load_data(ner.Config(gazetteers=flag, output_dir=str(tmp_path))) for flag in (False, True)
    )
    (packed, tags), (extended, same_tags) = next(iter(plain.test)), next(iter(listed.test))
    assert packed.shape[-1] == 2 + 20 and extended.shape[-1] == 3 + 20
    np.testing.assert_array_equal(extended[..., :-1], packed)  # the other columns do not move
    np.testing.assert_array_equal(tags, same_tags)
    # The sample names Berlin, Paris, ...: some of its tokens are in a list, padding never.
    assert np.any(extended[..., -1] > 0) and not np.any(extended[..., -1][extended[..., 0] == 0])
    config = ner.Config(gazetteers=True, output_dir=str(tmp_path))
    model, _ = ner.build_model(config, listed)
    assert model.get_layer("gazetteers").kernel.shape == (listed.features.gazetteer_bits, 8)
    assert model.get_layer("characters").input.shape[-1] == 20  # the characters end before the bits
    flipped = extended.numpy()
    flipped[..., -1] = np.where(flipped[..., 0] > 0, 1, 0)  # every token a city's first word
    before, after = (np.asarray(model(x, training=False)) for x in (extended, flipped))
    assert not np.allclose(before, after)  # the scores read the bits


def test_a_short_wnut17_run_with_gazetteers_exports_faithfully(tmp_path):
    if not os.environ.get("ZOO_DATA_DIR"):
        pytest.skip("ZOO_DATA_DIR is not set; the recipe test trains on WNUT-17")
    metrics = ner.main([*QUICK, "--epochs", "2", "--gazetteers", "--output-dir", str(tmp_path)])
    assert metrics["test_entity_f1"] > 0.02 and metrics["best_val_entity_f1"] > 0.02
    assert metrics["tflite_max_abs_diff"] == 0.0 and metrics["savedmodel_max_abs_diff"] == 0.0
    deploy = json.loads((tmp_path / "deploy.json").read_text())
    assert deploy["gazetteers"]["lists"] == ["city", "country", "us_state", "continent"]
    assert "gazetteers.tsv" in deploy["side_files"] and "GeoNames" in deploy["gazetteer_sources"]
    interpreter = zoo.export.tflite_interpreter(tmp_path / "model.tflite")
    assert tuple(interpreter.get_input_details()[0]["shape"]) == (1, zoo.tagging.TFLITE_LENGTH, 3 + 20)

    # A device rebuilds the packed ids from the side files: an entry's first and further tokens.
    def lines(name):  # split at newlines only: chars.txt may hold U+2028
        return (tmp_path / name).read_text(encoding="utf-8").removesuffix("\n").split("\n")

    lists = {}
    for line in lines("gazetteers.tsv"):
        kind, entry = line.split("\t")
        lists.setdefault(kind, []).append(entry)
    assert "New York City" in lists["city"]
    features = zoo.layers.TokenFeatures(lines("words.txt"), lines("chars.txt"), gazetteers=lists)
    packed = features(tf.constant([["Flying", "to", "New", "York", "City", "with", "France"]])).numpy()
    new, york, city, _, france = packed[0, 2:, -1]
    assert new & 1 and york & 16 and city & 16  # New begins a city (bit 0), York and City continue it (4)
    assert france & 2  # a one-word country begins an entry of list 1
    # So does the inference benchmark, and the TFLite tags test sentences as the SavedModel does.
    config = json.loads((tmp_path / "config.json").read_text())
    workload = inference.ner_workload(tmp_path, config, limit=16)
    device = [
        workload.tflite_answer(zoo.export.run_tflite(tmp_path / "model.tflite", row), sentence)
        for row, sentence in zip(workload.rows, workload.examples)
    ]
    loaded = tf.saved_model.load(str(tmp_path / "saved_model" / "1"))
    served = workload.answers(loaded.serve(workload.batch(workload.examples)).numpy(), workload.examples)
    length = zoo.tagging.TFLITE_LENGTH  # the TFLite's sentence; further tokens it answers O
    assert [tags[:length] for tags in device] == [tags[:length] for tags in served]


@pytest.mark.parametrize("flags", [[], ["--gazetteers"]], ids=["plain", "gazetteers"])
def test_an_ensemble_trains_exports_and_scores_its_members(tmp_path, flags):
    metrics = ner.main([*flags, "--ensemble", "2", "--epochs", "3", "--output-dir", str(tmp_path)])
    for key in ("test_entity_f1", "member_0_test_entity_f1", "member_1_test_entity_f1"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["savedmodel_max_abs_diff"] == 0.0 and metrics["tflite_max_abs_diff"] == 0.0
    assert (tmp_path / "saved_model" / "1" / "saved_model.pb").exists()


def test_predict_tags_raw_text_and_reads_entities_from_the_tags(trained, capsys):
    output_dir, _ = trained
    texts = ["Going to New York with @bob tonight!", ""]
    answers = ner.main(["predict", "--output-dir", str(output_dir), *texts])
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()[-2:]] == answers
    first, empty = answers
    assert first["tokens"] == ["Going", "to", "New", "York", "with", "@bob", "tonight", "!"]
    keras_model = keras.saving.load_model(output_dir / "model.keras")
    tags = keras.ops.convert_to_numpy(keras_model(tf.constant([first["tokens"]])))[0]
    assert first["tags"] == [tag.decode() for tag in tags]  # the SavedModel's tags are the model's
    expected = zoo.metrics.extract_entities(first["tags"])
    assert [(entity["type"], entity["text"]) for entity in first["entities"]] == [
        (kind, " ".join(first["tokens"][start:end]).replace(" !", "!")) for kind, start, end in expected
    ]
    for entity in first["entities"]:
        assert texts[0][entity["start"] : entity["end"]] == entity["text"]
    assert empty == {"text": "", "tokens": [], "tags": [], "entities": []}


def test_device_words_shrink_the_word_table_without_changing_a_tag(tmp_path):
    vectors = tmp_path / "vectors.txt"
    rng = np.random.default_rng(0)
    extra = [f"zz{a}{b}" for a in "abcd" for b in "abcdefghij"]  # only the file has them (GloVe's rarer)
    rows = [f"{word} " + " ".join(f"{v:.4f}" for v in rng.normal(size=6)) for word in ["the", *extra]]
    vectors.write_text(f"{len(rows)} 6\n" + "\n".join(rows) + "\n")
    config = ner.Config(embeddings=str(vectors), output_dir=str(tmp_path))
    data = ner.load_data(config)
    _, tagger = ner.build_model(config, data)
    full = data.features
    smaller, kept_rows = full.keeping(set(full.word_vocabulary) - set(extra[1:]))
    device = zoo.export.with_embedding_rows(tagger, len(full.word_vocabulary) + 2, kept_rows)
    assert smaller.word_vocabulary == [word for word in full.word_vocabulary if word not in extra[1:]]
    table = device.get_layer("word_embedding").get_weights()[0]
    np.testing.assert_array_equal(table, tagger.get_layer("word_embedding").get_weights()[0][kept_rows])
    sentences = tf.constant([data.splits["test"].tokens[0][:6], ["the", "zzaa", "", "", "", ""]])
    np.testing.assert_array_equal(tagger(full(sentences)), device(smaller(sentences)))
    dropped = tf.constant([["zzbc"]])
    assert int(smaller(dropped)[0, 0, 0]) == 1 and int(full(dropped)[0, 0, 0]) > 1  # now unknown
    # --device-words: the words of the data and the vocabulary's first N stay, the file's other words go.
    kept, _ = zoo.tagging.device_tagger(tagger, full, data.splits, data.tag_names, keep=1)
    assert full.word_vocabulary[0] in kept.word_vocabulary and not set(extra) & set(kept.word_vocabulary)


def test_trains_on_own_files_in_their_tag_set_and_scheme(tmp_path):
    """The embedded sample rewritten as a user's files: training in CoNLL-2003's four space-separated
    columns, tags in BIOES with types of the user's own (PERSON, ...), the test file WNUT's two columns in
    BIO; validation is carved from the training file. The model learns BIOES and scores the user's types."""
    splits = zoo.data.load_ner(None, seed=0)

    def write(name, split, scheme, columns):
        lines = ["-DOCSTART- -X- -X- O", ""] if columns == 4 else []
        for tokens, tags in zip(split.tokens, split.tags):
            tags = [tag[:2] + tag[2:].upper() for tag in zoo.data.convert_tags(tags, "bio", scheme)]
            lines += [
                f"{token} NN I-NP {tag}" if columns == 4 else f"{token}\t{tag}"
                for token, tag in zip(tokens, tags)
            ]
            lines.append("")
        (tmp_path / name).write_text("\n".join(lines), encoding="utf-8")
        return str(tmp_path / name)

    train = write("train.txt", splits["train"], "bioes", 4)
    test = write("test.tsv", splits["test"], "bio", 2)
    flags = ["--train-file", train, "--test-file", test, "--tag-scheme", "bioes", "--epochs", "8"]
    metrics = ner.main([*flags, "--no-export", "--output-dir", str(tmp_path / "run")])
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == metrics
    assert metrics["test_entity_f1"] > 0.3  # test names never occur in training
    scores = (tmp_path / "run" / "entity_scores.md").read_text()
    assert all(kind in scores for kind in ("PERSON", "LOCATION", "CORPORATION", "PRODUCT"))
    with pytest.raises(SystemExit):  # the files' columns are for files only
        ner.main(["--tag-column", "2"])
