"""The callback behind every score computed outside the graph: predict on held-out data at an epoch's end,
score it, and write the scores into the epoch's logs like a compiled metric.

BLEU of translations, CER of transcripts, entity F1 of tags: none of them is a `keras.metrics.Metric`,
since each needs a whole decoded corpus (a beam search, a Viterbi path, an edit distance) rather than
batch sums of tensors. `ScoreCallback` gives them one place in training: it calls a score function,
writes its numbers into the epoch's `logs` under a prefix, and prints a few examples.
`TranslationScoreCallback`, `CaptionScoreCallback`, `TranscriptionCallback` and `EntityF1Callback` are
thin subclasses that only say how their task predicts and scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras

# A score function's answer: names (without the prefix) -> numbers, and printable examples in order.
Scored = tuple[dict[str, float], Sequence[str]]


class ScoreCallback(keras.callbacks.Callback):
    """Scores held-out data at the end of epochs and adds the scores to the epoch's logs.

    At the end of a scored epoch it calls `score()` once, writes each returned score into the epoch's
    `logs` as `{prefix}{name}`, and prints a headline with the scores followed by the first `examples`
    examples. From the logs the scores reach history.csv, TensorBoard, checkpoints, early stopping and the
    `History` that `fit` returns, exactly like a compiled metric.

    Keras calls callbacks in list order with one shared `logs` dict, so this callback must come before
    every callback that reads its values. `zoo.train.Run.fit` runs its `extra_callbacks` before its own
    for this reason: pass it there and name one of its scores as the `monitor` (with the `mode` in
    which it improves; Keras cannot tell for an unknown name).

    With `every` above 1, the epochs scored are every `every`-th from the first (1, 1 + every, ...), the
    first of each `fit` (history.csv takes its columns from the first epoch it logs, a resumed run's
    too) and the last `fit` was asked for (a run ends scored). Other epochs leave the names out of the
    logs, as Keras does with `val_loss` under `validation_freq`: history.csv shows `NA` there, and the
    runner's checkpoint and early stopping act on scored epochs only (the checkpoint warns).

    Args:
        score: function of no arguments that predicts on the held-out data and scores it once, returning
            `(scores, examples)`: a dict of name -> number (names without the prefix, e.g. `"bleu"`), and
            the examples to show, one printable string per example (it may span lines), in order.
        prefix: put before the names written to the logs. Defaults to `"val_"`.
        every: score every `every`-th epoch (and the first and last of a `fit`). Defaults to 1.
        examples: how many examples to print after each scoring; 0 prints nothing, headline included.
            Defaults to 3.
        headline: print `epoch N: {prefix}name value, ...` before the examples. Defaults to True.

    Attributes:
        logged: the scores of the last scoring, as written into the logs (prefixed names).
        shown: the examples of the last scoring, all of them.

    Example:

    >>> import keras, numpy as np
    >>> from zoo.metrics import ScoreCallback
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> def score():
    ...     predictions = model.predict(np.ones((2, 1)), verbose=0)[:, 0]
    ...     distance = float(abs(predictions - 3.0).mean())
    ...     return {"distance": distance}, [f"3.0 -> {p:.1f}" for p in predictions]
    >>> callback = ScoreCallback(score, examples=1)
    >>> history = model.fit(  # doctest: +ELLIPSIS
    ...     np.ones((4, 1)), np.full((4, 1), 3.0), epochs=1, verbose=0, callbacks=[callback]
    ... )
    epoch 1: val_distance ...
    3.0 -> ...
    >>> history.history["val_distance"] == [callback.logged["val_distance"]]
    True
    """

    def __init__(
        self,
        score: Callable[[], Scored],
        prefix: str = "val_",
        every: int = 1,
        examples: int = 3,
        headline: bool = True,
    ):
        super().__init__()
        if every < 1 or examples < 0:
            raise ValueError(f"every must be >= 1 and examples >= 0, got every={every}, examples={examples}")
        self.score = score
        self.prefix = prefix
        self.every = every
        self.examples = examples
        self.headline = headline
        self.logged: dict[str, float] = {}
        self.shown: list[str] = []
        self._first = True  # no epoch of this `fit` scored yet

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._first = True

    def _evaluate(self) -> tuple[dict[str, float], list[str]]:
        """Score once: the prefixed scores and the examples (`logged` and `shown` are left as they are)."""
        scores, examples = self.score()
        return {f"{self.prefix}{name}": float(value) for name, value in scores.items()}, list(examples)

    def scored(self, epoch: int) -> bool:
        """Whether the end of `epoch` (counted from 0) is scored."""
        last = (self.params or {}).get("epochs")
        return self._first or epoch % self.every == 0 or epoch + 1 == last

    def report(self, epoch: int) -> list[str]:
        """The lines printed after scoring `epoch`: the headline and the first `examples` examples."""
        if not self.examples:
            return []
        scores = ", ".join(f"{name} {value:.2f}" for name, value in self.logged.items())
        return ([f"epoch {epoch + 1}: {scores}"] if self.headline else []) + self.shown[: self.examples]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.scored(epoch):
            return
        self.logged, self.shown = self._evaluate()
        self._first = False
        if logs is not None:
            logs.update(self.logged)
        lines = self.report(epoch)
        if lines:
            print("\n".join(lines))
