from __future__ import annotations

import csv
import random
import zipfile

import keras
import keras_hub
import numpy as np
import pytest
import sacrebleu
import tensorflow as tf

from zoo.metrics import TranslationScoreCallback, corpus_bleu, corpus_chrf


def perturb(sentence: str, rng: random.Random) -> str:
    """A plausible translation error: drop a word and/or swap two neighbours."""
    words = sentence.split()
    if len(words) > 2 and rng.random() < 0.5:
        del words[rng.randrange(len(words))]
    if len(words) > 2 and rng.random() < 0.5:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


@pytest.fixture
def spanish(shared_data):
    """300 Spanish sentences of spa-eng (shuffled, so short and long ones), a perturbed copy as
    hypotheses and a second, differently perturbed reference per sentence."""
    with zipfile.ZipFile(shared_data("spa-eng") / "spa-eng.zip") as archive:
        lines = archive.open("spa-eng/spa.txt").read().decode("utf-8").splitlines()
    rng = random.Random(0)
    references = [line.split("\t")[1] for line in rng.sample(lines, 300)]
    hypotheses = [perturb(reference, rng) for reference in references]
    second_references = [perturb(reference, rng) for reference in references]
    return hypotheses, references, second_references


def test_parity_with_sacrebleu_on_real_sentences(spanish):
    hypotheses, references, second_references = spanish
    bleu = sacrebleu.metrics.BLEU().corpus_score(hypotheses, [references]).score
    assert 40 < bleu < 90  # a corpus that is partly right, so the comparison means something
    assert corpus_bleu(hypotheses, references) == pytest.approx(bleu, abs=1e-9)
    assert corpus_bleu(hypotheses, [[r] for r in references]) == pytest.approx(bleu, abs=1e-9)
    chrf = sacrebleu.metrics.CHRF().corpus_score(hypotheses, [references]).score
    assert corpus_chrf(hypotheses, references) == pytest.approx(chrf, abs=1e-9)
    # Several references per sentence: our per-sentence lists are sacrebleu's transposed streams.
    both = list(zip(references, second_references))
    streams = [references, second_references]
    assert corpus_bleu(hypotheses, both) == pytest.approx(
        sacrebleu.metrics.BLEU().corpus_score(hypotheses, streams).score, abs=1e-9
    )
    assert corpus_bleu(hypotheses, both) > bleu
    assert corpus_chrf(hypotheses, both) == pytest.approx(
        sacrebleu.metrics.CHRF().corpus_score(hypotheses, streams).score, abs=1e-9
    )
    assert corpus_chrf(hypotheses, both, word_order=2) == pytest.approx(
        sacrebleu.metrics.CHRF(word_order=2).corpus_score(hypotheses, streams).score, abs=1e-9
    )


def test_a_varying_number_of_references():
    hypotheses = ["el gato come pescado hoy", "yo tengo hambre ahora"]
    references = [["el gato come pescado ayer", "el gato come pescado"], ["tengo mucha hambre ahora"]]
    streams = [["el gato come pescado ayer", "tengo mucha hambre ahora"], ["el gato come pescado", None]]
    assert corpus_bleu(hypotheses, references) == pytest.approx(
        sacrebleu.metrics.BLEU().corpus_score(hypotheses, streams).score
    )


def keras_hub_bleu(hypotheses, references, **kwargs):
    metric = keras_hub.metrics.Bleu(**kwargs)
    metric.update_state(tf.ragged.constant(references), tf.constant(hypotheses))
    return 100 * float(metric.result())


def test_keras_hub_bleu_agrees_only_on_easy_corpora(spanish):
    # Why corpus_bleu calls sacrebleu (keras-hub 0.32); if this fails, revisit zoo.metrics.translation.
    hypotheses, references, _ = spanish
    assert keras_hub_bleu(hypotheses, [[r] for r in references]) == pytest.approx(
        corpus_bleu(hypotheses, references), abs=0.01
    )
    # Brevity penalty: the shortest reference, not the closest.
    hypothesis, options = (
        ["el gato come pescado hoy en casa"],
        [["el gato come", "el gato come pescado hoy en su casa"]],
    )
    assert corpus_bleu(hypothesis, options) == pytest.approx(72.8955, abs=1e-3)
    assert keras_hub_bleu(hypothesis, options) == pytest.approx(84.0896, abs=1e-3)
    # No 4-gram matches: sacrebleu's exp smoothing keeps a score; keras-hub gives 0.
    hypotheses, references = (
        ["el gato come hoy", "yo tengo hambre"],
        [["el gato come pescado"], ["tengo mucha hambre"]],
    )
    assert corpus_bleu(hypotheses, references) == pytest.approx(46.7138, abs=1e-3)
    assert keras_hub_bleu(hypotheses, references) == 0.0
    # The 13a tokenizer pads the line, so a leading ".5" splits; keras-hub's does not.
    tokenizer = sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()
    assert tokenizer(".5 es la mitad").split() == [".", "5", "es", "la", "mitad"]
    split = keras_hub.metrics.Bleu()._tokenizer(tf.constant([".5 es la mitad"])).to_list()[0]
    assert [token.decode() for token in split] == [".5", "es", "la", "mitad"]


def test_perfect_and_empty_hypotheses():
    references = ["Tom puede jugar al fútbol.", "¿Dónde está la estación?"]
    assert corpus_bleu(references, references) == pytest.approx(100.0)
    assert corpus_chrf(references, references) == pytest.approx(100.0)
    assert corpus_bleu(["", ""], references) == 0.0
    assert corpus_chrf(["", ""], references) == 0.0
    one_empty = corpus_bleu(["", references[1]], references)
    assert 0.0 < one_empty < 100.0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="no hypotheses"):
        corpus_bleu([], [])
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_bleu(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="hypothesis 1 needs at least one reference"):
        corpus_chrf(["a", "b"], [["a"], []])
    with pytest.raises(ValueError, match="must be strings"):
        corpus_bleu([b"a"], ["a"])


SOURCES = ["I am hungry.", "Where is the station?", "Tom can play soccer.", "It is raining."]
REFERENCES = ["Tengo hambre.", "¿Dónde está la estación?", "Tom puede jugar al fútbol.", "Está lloviendo."]


def toy_translate(sources):
    """Right on every other sentence, a word short on the rest."""
    table = dict(zip(SOURCES, REFERENCES))
    return [table[s] if i % 2 == 0 else table[s].split(" ", 1)[-1] for i, s in enumerate(sources)]


def test_callback_writes_the_logs_and_prints_examples(capsys):
    callback = TranslationScoreCallback(toy_translate, SOURCES, REFERENCES, prefix="dev_", examples=2)
    logs = {"loss": 1.0}
    callback.on_epoch_end(0, logs)
    translations = toy_translate(SOURCES)
    assert logs == {
        "loss": 1.0,
        "dev_bleu": pytest.approx(sacrebleu.corpus_bleu(translations, [REFERENCES]).score),
        "dev_chrf": pytest.approx(sacrebleu.corpus_chrf(translations, [REFERENCES]).score),
    }
    assert 0 < logs["dev_bleu"] < 100 and callback.translations == translations
    printed = capsys.readouterr().out
    assert "epoch 1: dev_bleu" in printed and "¿Dónde está la estación?" in printed
    assert "Tom can play soccer." not in printed  # only the first two examples


def test_callback_accepts_string_tensors_and_checks_the_count():
    as_tensor = TranslationScoreCallback(
        lambda s: tf.constant(toy_translate(s)), SOURCES, REFERENCES, examples=0
    )
    assert as_tensor.evaluate() == TranslationScoreCallback(toy_translate, SOURCES, REFERENCES).evaluate()
    with pytest.raises(ValueError, match="returned 3 translations for 4 sources"):
        TranslationScoreCallback(lambda s: toy_translate(s)[:3], SOURCES, REFERENCES).evaluate()
    with pytest.raises(ValueError, match="4 hypotheses but 3 references"):
        TranslationScoreCallback(toy_translate, SOURCES, REFERENCES[:3])


def test_callback_values_reach_history_csv_and_checkpoint(tmp_path):
    # The translate function gets worse as the model's single weight moves, so the score changes.
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")

    def translate(sources):
        weight = float(model.layers[0].kernel.numpy()[0, 0])
        return [r if i < 4 * abs(weight) else "" for i, r in enumerate(toy_translate(sources))]

    callback = TranslationScoreCallback(translate, SOURCES, REFERENCES, examples=0)
    best_path = tmp_path / "best.weights.h5"
    history = model.fit(
        np.ones((8, 1)),
        np.zeros((8, 1)),
        epochs=2,
        verbose=0,
        callbacks=[
            callback,  # first: the callbacks after it read what it writes
            keras.callbacks.ModelCheckpoint(
                str(best_path), monitor="val_bleu", mode="max", save_best_only=True, save_weights_only=True
            ),
            keras.callbacks.CSVLogger(str(tmp_path / "history.csv")),
        ],
    )
    with (tmp_path / "history.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(row["val_bleu"]) for row in rows] == pytest.approx(history.history["val_bleu"])
    assert [float(row["val_chrf"]) for row in rows] == pytest.approx(history.history["val_chrf"])
    assert history.history["val_bleu"][-1] == pytest.approx(callback.scores["val_bleu"])
    assert best_path.exists()  # ModelCheckpoint found val_bleu in the logs
