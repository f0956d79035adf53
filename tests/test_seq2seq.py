"""zoo.seq2seq and zoo.text.subword: lossless subword round trips, teacher-forcing batches, translators,
and a user's own pairs streamed from disk into the tokenizer and the batches."""

from __future__ import annotations

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

import zoo.data
import zoo.decoding
import zoo.seq2seq
from zoo.text.subword import END_ID, PAD_ID, START_ID, UNK_ID, train_sentencepiece


@pytest.fixture(scope="module")
def number_pairs():
    return zoo.data.sample_pairs(count=600, seed=3)


@pytest.fixture(scope="module")
def tokenizers(number_pairs):
    return zoo.seq2seq.Seq2SeqTokenizers.train(number_pairs, vocabulary_size=200)


def test_sentencepiece_is_lossless_on_real_spanish(shared_data):
    import zipfile

    with zipfile.ZipFile(shared_data("spa-eng") / "spa-eng.zip") as archive:
        lines = archive.read("spa-eng/spa.txt").decode("utf-8").splitlines()
    spanish = [line.split("\t")[1] for line in lines[::20]]
    tokenizer = train_sentencepiece(spanish[:4000], 2000)
    held_out = spanish[4000:4300]
    restored = tokenizer.detokenize(tokenizer.tokenize(held_out))
    restored = [text if isinstance(text, str) else text.decode("utf-8") for text in restored]
    assert restored == held_out  # accents, ¿ ¡ and spacing come back exactly
    assert tokenizer.token_to_id("<pad>") == PAD_ID and tokenizer.token_to_id("</s>") == END_ID


def test_vocabulary_size_is_an_upper_bound_on_tiny_corpora():
    tokenizer = train_sentencepiece(["uno dos tres", "dos tres"] * 20, 500)
    assert 8 <= tokenizer.vocabulary_size() < 500
    with pytest.raises(ValueError, match="vocabulary_size"):
        train_sentencepiece(["a b"], 4)


def test_teacher_forcing_batches_shift_the_target(number_pairs, tokenizers):
    dataset = zoo.seq2seq.teacher_forcing_dataset(number_pairs, tokenizers, batch_size=16, max_length=30)
    count = 0
    for inputs, target_out in dataset:
        source, target_in = inputs["source"].numpy(), inputs["target_in"].numpy()
        assert target_in.shape == target_out.shape and source.shape[0] == target_in.shape[0]
        np.testing.assert_array_equal(target_in[:, 0], START_ID)
        target_out = target_out.numpy()
        lengths = (target_out != PAD_ID).sum(axis=1)
        # target_in = <s> y1..yn, target_out = y1..yn </s>: the same pieces shifted by one.
        for row_in, row_out, length in zip(target_in, target_out, lengths):
            assert row_out[length - 1] == END_ID
            np.testing.assert_array_equal(row_in[1:length], row_out[: length - 1])
        count += len(source)
    assert count == len(number_pairs)  # nothing longer than 30 pieces in the sample: nothing dropped


def test_long_pairs_are_dropped(number_pairs, tokenizers):
    dataset = zoo.seq2seq.teacher_forcing_dataset(number_pairs, tokenizers, batch_size=16, max_length=4)
    kept = sum(len(target) for _, target in dataset)
    assert 0 < kept < len(number_pairs)
    for inputs, target_out in dataset:
        assert inputs["source"].shape[1] <= 4 and target_out.shape[1] <= 5


def copy_translator(tokenizers, sampler, max_length=20):
    """A 'model' that copies the source ids, then ends: it checks the plumbing, not learning."""

    def encode(source_ids):
        return {"source": source_ids}

    def next_token(prompt, cache, index):
        source = cache["source"]
        length = keras.ops.sum(keras.ops.cast(source > 0, "int32"), axis=1)
        position = index - 1
        padded = keras.ops.pad(source, [[0, 0], [0, max_length + 1]])
        token = keras.ops.where(position < length, keras.ops.take(padded, position, axis=1), END_ID)
        return keras.ops.one_hot(token, 200) * 10.0, None, cache

    return zoo.seq2seq.Translator(tokenizers, encode, next_token, sampler, max_length)


@pytest.mark.parametrize("beam", [False, True])
def test_translator_decodes_and_detokenises(tokenizers, beam):
    # Source and target tokenizers differ; share the target one so copying ids copies the text.
    shared = zoo.seq2seq.Seq2SeqTokenizers(tokenizers.target, tokenizers.target)
    sampler = zoo.decoding.BeamSearch(3) if beam else keras_hub.samplers.GreedySampler()
    translator = copy_translator(shared, sampler)
    texts = ["trescientos veintiuno", "dos", ""]
    assert translator.translate_all(texts, batch_size=2) == texts
    ids = translator.ids(tf.constant(texts)).numpy()
    assert ids.shape == (3, 20) and (ids[2] == PAD_ID).all()  # the end token itself becomes padding


class LookupTranslator:
    """Stands in for a `Translator`: fixed translations, and a record of what it was asked."""

    def __init__(self, translations: dict[str, str]):
        self.translations, self.calls = translations, []

    def translate_all(self, sources):
        self.calls.append(list(sources))
        return [self.translations[source] for source in sources]


def test_scores_translate_each_source_once_and_use_all_its_references():
    # Tatoeba style: one English sentence, two Spanish translations, kept together in one split.
    go, cold = "Go away from here now.", "I am very cold this morning."
    pairs = [(go, "Vete de aquí ahora mismo."), (go, "Váyase de aquí ahora mismo."),
             (cold, "Tengo mucho frío esta mañana.")]  # fmt: skip
    translator = LookupTranslator({go: "Váyase de aquí ahora mismo.", cold: "Tengo mucho frío esta mañana."})
    scores, hypotheses = zoo.seq2seq.translation_scores(translator, pairs, "test_")
    assert translator.calls == [[go, cold]]
    assert hypotheses == ["Váyase de aquí ahora mismo."] * 2 + ["Tengo mucho frío esta mañana."]
    assert scores["test_multiref_bleu"] == pytest.approx(100.0)  # each translation is one of its references
    assert scores["test_bleu"] < 95.0  # "Váyase" is wrong against the pair whose reference says "Vete"
    assert scores["test_multiref_chrf"] > scores["test_chrf"] and scores["test_seconds"] >= 0.0


def test_the_export_translates_every_edge_case_as_in_memory(tmp_path, number_pairs, tokenizers, monkeypatch):
    """Checked in a fresh process: a batch of one, one word, an empty text, an empty batch and a text
    longer than the translator's maximum, which both cut to its first pieces."""
    import zoo.export

    run_cases = zoo.export.run_saved_model_in_subprocess
    seen = {}

    def spy(path, cases, endpoints=None):
        seen.update(cases)
        return run_cases(path, cases, endpoints)

    monkeypatch.setattr(zoo.export, "run_saved_model_in_subprocess", spy)
    shared = zoo.seq2seq.Seq2SeqTokenizers(tokenizers.target, tokenizers.target)
    translator = copy_translator(shared, keras_hub.samplers.GreedySampler(), max_length=6)
    data = zoo.seq2seq.TranslationData(None, None, shared, [], number_pairs[:8], 0, 0)
    metrics = zoo.seq2seq.export_translator(translator, data, tmp_path, track=[])
    assert metrics == {"savedmodel_differing_translations": 0, "tflite_differing_translations": 0}
    assert set(seen) >= {"batch_of_one", "one_word", "empty_text", "empty_batch", "longest"}
    (longest,) = seen["longest"]
    pieces = shared.target.tokenize(longest)
    assert len(pieces) > 6
    model = tf.saved_model.load(str(tmp_path / "saved_model" / "1"))
    cut = shared.target.detokenize(pieces[:6])  # the copying translator writes the pieces it read
    assert (
        model.serve(tf.constant([longest])).numpy()[0].decode()
        == cut
        == translator([longest]).numpy()[0].decode()
    )
    empty = model.serve(tf.zeros([0], tf.string))
    assert empty.shape == (0,) and empty.dtype == tf.string
    assert model.serve(tf.constant([""])).numpy().tolist() == [b""]


# ## A user's own pairs, streamed from disk


def test_a_streamed_training_split_gives_what_its_list_gives(tmp_path, number_pairs):
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{source}\t{target}\n" for source, target in number_pairs), encoding="utf-8")
    stream = zoo.data.PairStream(zoo.data.PairFile(path, "en", "es"), len(number_pairs))
    from_list = zoo.seq2seq.Seq2SeqTokenizers.train(number_pairs, vocabulary_size=200)
    from_stream = zoo.seq2seq.Seq2SeqTokenizers.train(stream, vocabulary_size=200)
    assert from_stream.source.proto == from_list.source.proto
    batches = [
        list(
            zoo.seq2seq.teacher_forcing_dataset(
                pairs, from_list, batch_size=16, max_length=30, shuffle_seed=4
            )
        )
        for pairs in (number_pairs, stream)
    ]
    assert len(batches[0]) == len(batches[1]) > 1
    for (inputs, target), (streamed, streamed_target) in zip(*batches):
        np.testing.assert_array_equal(streamed["source"], inputs["source"])
        np.testing.assert_array_equal(streamed_target, target)


def test_the_tokenizer_learns_from_the_training_split_only(tmp_path):
    from recipes import translation

    (tmp_path / "train.de").write_text("eins\nzwei\ndrei\nvier\n" * 5, encoding="utf-8")
    (tmp_path / "train.fr").write_text("un\ndeux\ntrois\nquatre\n" * 5, encoding="utf-8")
    (tmp_path / "test.tsv").write_text("fünf\tcinq\nsechs\tsix\n", encoding="utf-8")  # ü, f, c, h: test only
    config = translation.Config(
        train_file=str(tmp_path / "train"),
        validation_file=str(tmp_path / "test.tsv"),
        test_file=str(tmp_path / "test.tsv"),
        source="de",
        target="fr",
        vocabulary_size=100,
        batch_size=4,
    )
    data = zoo.seq2seq.load_translation_data(config)
    assert data.test_pairs == [("fünf", "cinq"), ("sechs", "six")]
    assert sum(len(target) for _, target in data.train) == 20  # every training pair, none held out
    tokenizer = data.tokenizers.source
    assert UNK_ID not in np.asarray(tokenizer.tokenize("zwei trois"))
    for unseen in ("ü", "f", "c", "h"):  # characters of the held-out files only: unknown to the tokenizer
        assert UNK_ID in np.asarray(tokenizer.tokenize(unseen))


def test_languages_other_than_tatoebas_come_with_own_files():
    from recipes import transformer

    config = transformer.Config(train_file="corpus", source="de", target="pt-BR", max_train_minutes=0.5)
    assert (config.dataset, config.source, config.target) == ("file", "de", "pt-BR")
    for flags, message in [
        ({"source": "de", "target": "fr"}, "the Tatoeba pairs and the embedded sample are eng and spa"),
        ({"train_file": "c", "source": "de", "target": "fr/x"}, "--target 'fr/x': a language code is"),
        ({"train_file": "c", "source": "de", "target": "de"}, "must differ"),
        ({"max_train_minutes": 0.0}, "--max-train-minutes must be positive"),
        ({"max_train_minutes": 1.0, "strategy": "multi-worker"}, "not with --strategy multi-worker"),
    ]:
        with pytest.raises(ValueError, match=message):
            transformer.Config(**flags)
