"""zoo.text: every function, and the graph/Python parity on real reviews."""

import re
import tarfile
import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.text
from zoo.errors import DataFormatError
from zoo.text import Vocabulary


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("Great film.<br /><br />Loved it", "Great film. Loved it"),
        ("<i>Italic</i> &amp; &quot;quoted&quot; &#39;s", 'Italic & "quoted" \'s'),
        ("ﬁne ＡＢＣ café", "fine ABC café"),  # NFKC: ligature, fullwidth
        ("zero\u200bwidth\u00adsoft\ufeff", "zerowidthsoft"),  # Cf characters removed
        ("tab\there\nnew\x07bell", "tab here newbell"),
        ("  spaced \u00a0 out  ", "spaced out"),
        ("", ""),
        ("<br /><br />", ""),
        ("3 < 5 and 6 > 2", "3 < 5 and 6 > 2"),  # not tags
    ],
)
def test_clean(raw, cleaned):
    assert zoo.text.clean(raw) == cleaned


def test_clean_options_can_be_switched_off():
    assert zoo.text.clean("<b>ﬁ</b>", strip_html=False, unicode_form=None) == "<b>ﬁ</b>"


def test_normalize():
    assert zoo.text.normalize("See HTTPS://Example.com/x?y=1 now") == "see xxurl now"
    assert zoo.text.normalize("www.imdb.com rated 7/10") == "xxurl rated 7/10"
    assert zoo.text.normalize("1,000.5 or 42", numbers="xxnum") == "xxnum or xxnum"
    assert zoo.text.normalize("KEEP Case", lowercase=False, urls=None) == "KEEP Case"


def test_stop_words_keep_negations_by_default():
    tokens = ["this", "is", "not", "a", "good", "film", "and", "never", "dull"]
    assert zoo.text.remove_stop_words(tokens) == ["not", "good", "film", "never", "dull"]
    assert zoo.text.remove_stop_words(tokens, keep_negations=False) == ["good", "film", "dull"]
    assert zoo.text.remove_stop_words(["a", "b"], stop_words={"b"}) == ["a"]
    assert "the" in zoo.text.ENGLISH_STOP_WORDS and "not" in zoo.text.NEGATIONS


def test_stem():
    assert zoo.text.stem(["running", "generously", "cats", "ponies"]) == [
        "run",
        "generous",
        "cat",
        "poni",
    ]
    assert zoo.text.stem(["corriendo"], language="spanish") == ["corr"]


def test_lemmatize_knows_irregular_forms():
    assert zoo.text.lemmatize(["mice", "was", "running", "better"]) == [
        "mouse",
        "be",
        "run",
        "good",
    ]
    assert zoo.text.lemmatize(["zxqv"]) == ["zxqv"]  # unknown words pass through


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("it's great!! 7/10", ["it's", "great", "!", "!", "7", "/", "10"]),
        ("don't_stop", ["don't", "_", "stop"]),
        ("naïve café 😀!", ["naïve", "café", "😀", "!"]),
        ("", []),
    ],
)
def test_tokenize(text, tokens):
    assert zoo.text.tokenize(text) == tokens


def test_preprocess_chains_clean_normalize_tokenize():
    assert zoo.text.preprocess("A <b>GREAT</b> film, see www.imdb.com!") == [
        "a", "great", "film", ",", "see", "xxurl", "!"
    ]  # fmt: skip


TRICKY = [
    "Great<br /><br />film, 10/10!! Don't miss it :-)",
    "Visit https://example.com/a_b?c=1&amp;d=2 or www.IMDB.com.",
    "Émile's naïve café — 1,000.5 stars... 😀😀",
    "under_score\tand\ttabs\nand newlines",
    "&lt;b&gt; not a tag &quot;quoted&quot;",
    "MiXeD CaSe ÀÉÎ",
    "",
]


def _graph_tokens(texts):
    return [t.decode("utf-8").split() for t in zoo.text.standardize(tf.constant(texts)).numpy()]


def _comparable(text):
    # The documented limits of the graph twin: no NFKC, only six named entities.
    return unicodedata.is_normalized("NFKC", text) and not re.search(
        r"&(?!(?:amp|lt|gt|quot|apos|#39);)#?\w+;", text
    )


def test_graph_skips_nfkc_which_python_applies():
    # The documented difference: "…" is "..." after NFKC in Python, one token in the graph.
    assert zoo.text.preprocess("wow…") == ["wow", ".", ".", "."]
    assert _graph_tokens(["wow…"]) == [["wow", "…"]]


def test_graph_and_python_agree_on_tricky_strings():
    assert _graph_tokens(TRICKY) == [zoo.text.preprocess(t) for t in TRICKY]


def test_graph_and_python_agree_on_real_reviews(shared_data):
    texts = []
    with tarfile.open(shared_data("imdb") / "aclImdb_labeled.tar.gz") as archive:
        for member in archive:
            if re.fullmatch(r"aclImdb/train/(pos|neg)/\d+_\d+\.txt", member.name):
                texts.append(archive.extractfile(member).read().decode("utf-8"))
                if len(texts) == 1000:
                    break
    lines = (shared_data("sst2") / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    texts += [line.split("\t")[0] for line in lines]
    comparable = [text for text in texts if _comparable(text)]
    assert len(comparable) > 0.95 * len(texts)
    mismatches = [
        text for text, graph in zip(comparable, _graph_tokens(comparable))
        if graph != zoo.text.preprocess(text)
    ]  # fmt: skip
    assert mismatches == []


def test_text_vectorization_with_standardize_survives_keras_save(tmp_path):
    vectorizer = keras.layers.TextVectorization(20, standardize=zoo.text.standardize)
    vectorizer.adapt(["A good film!", "A bad film<br />."])
    texts = keras.Input(shape=(), dtype="string")
    model = keras.Model(texts, vectorizer(texts))
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    probe = tf.constant(["GOOD film!!", "unknown words"])
    np.testing.assert_array_equal(restored(probe), model(probe))


def test_vocabulary_build_orders_by_count_then_token_and_caps_size():
    vocab = Vocabulary.build([["b", "a", "c", "a"], ["c", "d", "a"]], max_size=4)
    assert vocab.tokens == ["", "[UNK]", "a", "c"]
    assert len(vocab) == 4 and "a" in vocab and "d" not in vocab
    assert Vocabulary.build([["x", "y", "y"]], min_count=2).tokens == ["", "[UNK]", "y"]
    assert vocab.encode(["a", "zzz", "c"]) == [2, 1, 3]
    assert vocab["zzz"] == vocab.unk_id == 1 and vocab.pad_id == 0
    assert vocab.decode([2, 0, 1, 3]) == ["a", "c"]
    assert vocab.decode([2, 1], skip_special=False) == ["a", "[UNK]"]


def test_vocabulary_refuses_bad_tokens():
    with pytest.raises(ValueError, match="duplicate"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="duplicate"):
        Vocabulary(["[UNK]"])
    with pytest.raises(ValueError, match="line breaks"):
        Vocabulary(["a\nb"])


def test_vocabulary_save_load_round_trip(tmp_path):
    vocab = Vocabulary.build([["héllo", "world", "😀"]])
    loaded = Vocabulary.load(vocab.save(tmp_path / "vocab.txt"))
    assert loaded.tokens == vocab.tokens


def test_vocabulary_load_names_file_and_line(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\nUNKNOWN\nword\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"vocab.txt:2: expected special token '\[UNK\]'"):
        Vocabulary.load(path)
    path.write_bytes(b"\n[UNK]\nok\nbad\xff\n")
    with pytest.raises(DataFormatError, match=r"vocab.txt:4: not UTF-8"):
        Vocabulary.load(path)


def test_vocabulary_matches_keras_lookup_layers(tmp_path):
    vocab = Vocabulary.build([zoo.text.preprocess("a good film, a bad film, a film")])
    lookup = keras.layers.StringLookup(vocabulary=vocab.tokens[2:], mask_token="", oov_token="[UNK]")
    tokens = ["a", "film", "never-seen", "good"]
    assert lookup(tf.constant(tokens)).numpy().tolist() == vocab.encode(tokens)
    # and a TextVectorization vocabulary file loads as a Vocabulary with the same ids
    vectorizer = keras.layers.TextVectorization(standardize=zoo.text.standardize)
    vectorizer.adapt(["a good film, a bad film, a film"])
    path = tmp_path / "v.txt"
    path.write_text("\n".join(vectorizer.get_vocabulary()) + "\n", encoding="utf-8")
    loaded = Vocabulary.load(path)
    text = "A good film, an unseen one"
    assert loaded.encode(zoo.text.preprocess(text)) == vectorizer([text]).numpy()[0].tolist()
