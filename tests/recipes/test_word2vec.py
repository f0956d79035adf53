"""The word2vec recipe end to end on gensim's Lee corpus: its vectors beat random ones on WordSim353, gensim
reads them back, and every artifact is written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gensim.models import KeyedVectors

import zoo.embeddings
import zoo.train
from recipes import word2vec


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("word2vec")
    # Lee's 60k words need many passes before the vectors spread out (gensim's too: after 5 epochs its
    # nearest neighbours all have cosine 0.99); 25 passes of 1,024-token steps take about 20 s.
    flags = ["--dataset", "lee", "--epochs", "25", "--batch-size", "1024"]
    flags += ["--neighbours", "police", "fire", "nosuchword"]
    return output_dir, word2vec.main([*flags, "--output-dir", str(output_dir)])


def test_short_run_beats_random_vectors_on_wordsim353(trained):
    output_dir, metrics = trained
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    vectors = KeyedVectors.load_word2vec_format(str(output_dir / "vectors.txt"), binary=False)
    # Only about 60 WordSim353 pairs have both words in Lee's vocabulary, so random vectors scatter widely
    # (Spearman about -0.2..0.4, sd 0.13): the trained ones must beat most random draws, and their nearest
    # neighbours, which random vectors would not give, must make sense.
    random_scores = []
    for seed in range(20):
        noise = np.random.default_rng(seed).normal(size=vectors.vectors.shape).astype("float32")
        random = zoo.embeddings.keyed_vectors(vectors.index_to_key, noise)
        random_scores.append(random.evaluate_word_pairs(datapath("wordsim353.tsv"))[1].statistic)
    beaten = sum(metrics["wordsim353_spearman"] > score for score in random_scores)
    assert metrics["wordsim353_spearman"] > 0.1 and beaten >= 14, (metrics, sorted(random_scores))
    fire = {word for word, _ in vectors.most_similar("fire", topn=10)}
    police = {word for word, _ in vectors.most_similar("police", topn=10)}
    assert fire & {"fires", "flames", "firefighters", "crews", "blaze", "bushfires", "blazes"}, fire
    assert police & {"officers", "officer", "arrested", "detectives", "investigators", "authorities"}, police
    for key in (
        "analogy_accuracy",
        "wordsim353_spearman",
        "simlex999_spearman",
        "words_per_second",
        "train_seconds",
    ):
        assert np.isfinite(metrics[key]), key
    assert metrics["words_per_second"] > 0


def test_vectors_round_trip_through_gensim(trained):
    output_dir, metrics = trained
    from gensim.models import KeyedVectors

    vectors = KeyedVectors.load_word2vec_format(str(output_dir / "vectors.txt"), binary=False)
    assert len(vectors) == metrics["vocabulary_size"]
    assert vectors.index_to_key[0] == "the"
    # The file's vectors are the model's: the scores gensim computes from them are those reported.
    assert zoo.embeddings.evaluate_vectors(vectors)["wordsim353_spearman"] == pytest.approx(
        metrics["wordsim353_spearman"], abs=1e-3
    )


def test_every_artifact_is_written_and_exports_match(trained):
    output_dir, metrics = trained
    for name in ("vectors.txt", "word_map.png", "metrics.json", "history.csv", "model.keras", "saved_model",
                 "model.tflite", "vocabulary.txt", "logs/projector/projector_config.pbtxt",
                 "logs/projector/metadata.tsv", "logs/projector/vectors.tsv"):  # fmt: skip
        assert (output_dir / name).exists(), name
    written = json.loads((output_dir / "metrics.json").read_text())
    assert written["analogy_accuracy"] == metrics["analogy_accuracy"]
    assert metrics["savedmodel_max_abs_diff"] <= 1e-6 and metrics["tflite_max_abs_diff"] <= 1e-6


def test_vectors_start_the_sentiment_embedding(trained):
    import zoo.text

    output_dir, _ = trained
    vectors = zoo.text.load_word_vectors(output_dir / "vectors.txt")
    matrix, found = zoo.text.embedding_matrix(["", "[UNK]", "police", "fire", "zzzz"], vectors)
    assert found == 2 and np.allclose(matrix[2], vectors["police"])


def test_bad_flags_are_refused():
    with pytest.raises(SystemExit):
        word2vec.main(["--batch-size", "1001", "--workers", "2"])
    with pytest.raises(SystemExit):
        word2vec.main(["--model", "glove"])


def test_predict_answers_neighbours_and_analogies_as_gensim_does(trained, capsys):
    output_dir, _ = trained
    queries = ["police", "police - man + woman", "nosuchword"]
    answers = word2vec.main(["predict", "--output-dir", str(output_dir), "--neighbours", "3", *queries])
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()[-3:]] == answers
    keyed = KeyedVectors.load_word2vec_format(str(output_dir / "vectors.txt"))
    for answer, (positive, negative) in zip(answers, [(["police"], []), (["police", "woman"], ["man"])]):
        expected = keyed.most_similar(positive, negative, topn=3)
        assert [word for word, _ in answer["neighbours"]] == [word for word, _ in expected]
        np.testing.assert_allclose([s for _, s in answer["neighbours"]], [s for _, s in expected], atol=1e-4)
    assert "nosuchword" in answers[2]["error"]


def test_streamed_corpus_trains_on_the_same_words(tmp_path):
    from gensim.test.utils import datapath

    import zoo.data.corpora

    texts = zoo.data.corpora.load_text_corpus("lee")
    corpus = zoo.embeddings.build_corpus([zoo.data.corpora.words(text) for text in texts], min_count=5)
    flags = ["--stream", "--data-dir", datapath("lee_background.cor"), "--epochs", "2", "--no-export"]
    metrics = word2vec.main([*flags, "--shuffle-lines", "50", "--output-dir", str(tmp_path)])
    assert metrics["vocabulary_size"] == len(corpus.words) and metrics["corpus_words"] == corpus.raw_words
    assert np.isfinite(metrics["wordsim353_spearman"]) and metrics["epochs"] == 2
    with pytest.raises(SystemExit):
        word2vec.main(["--stream", "--dataset", "imdb"])


def test_trains_on_your_own_text_files_given_by_a_glob(tmp_path, capsys):
    """`--train-file GLOB` streams the files as `--stream --data-dir GLOB` does: the same words, counted
    over both files; validation and test files are refused (the vectors are scored on analogies)."""
    from gensim.test.utils import datapath

    import zoo.data.corpora

    lines = zoo.data.corpora.read_lines(datapath("lee_background.cor"))[:120]
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "part-1.txt").write_text("\n".join(lines[:70]) + "\n", encoding="utf-8")
    (tmp_path / "corpus" / "part-2.txt").write_text("\n".join(lines[70:]) + "\n", encoding="utf-8")
    (tmp_path / "corpus" / "notes.md").write_text("not matched by the glob\n")
    corpus = zoo.embeddings.build_corpus([zoo.data.corpora.words(line) for line in lines], min_count=3)
    pattern = str(tmp_path / "corpus" / "part-*.txt")
    flags = [
        "--epochs",
        "1",
        "--min-count",
        "3",
        "--dimension",
        "16",
        "--no-export",
        "--neighbours",
        "police",
    ]
    own = word2vec.main([*flags, "--train-file", pattern, "--output-dir", str(tmp_path / "own")])
    assert own["vocabulary_size"] == len(corpus.words) and own["corpus_words"] == corpus.raw_words
    assert json.loads((tmp_path / "own" / "metrics.json").read_text())["corpus_words"] == corpus.raw_words
    streamed = word2vec.main([*flags, "--stream", "--data-dir", pattern, "--output-dir", str(tmp_path / "s")])
    assert streamed["vocabulary_size"] == own["vocabulary_size"]
    losses = [zoo.train.read_history(tmp_path / name / "history.csv")[0]["loss"] for name in ("own", "s")]
    assert losses[0] == pytest.approx(losses[1])  # the same words, in the same steps
    capsys.readouterr()
    for extra in (["--validation-file", pattern], ["--test-file", pattern], ["--test-fraction", "0.2"]):
        with pytest.raises(SystemExit):
            word2vec.main(["--train-file", pattern, *extra])
        assert "word2vec holds no text out" in capsys.readouterr().err
