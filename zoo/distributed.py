"""Training across machines: `tf.distribute.MultiWorkerMirroredStrategy` under the runner's `fit`.

`--strategy multi-worker` runs one process per machine, all started with the same command; the
`TF_CONFIG` environment variable names the cluster and this process's place in it:

```json
{"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}, "task": {"type": "worker", "index": 0}}
```

Keras 3's `model.fit` does not run under `MultiWorkerMirroredStrategy` (keras-team/keras#20585), so
the runner drives the step itself with TensorFlow's public distribution API, and everything else stays
ordinary Keras. The model's variables are plain ones (the recipe builds it under the default strategy),
each worker holding a copy; only the training step is collective:

1. **Data.** Every worker reads the recipe's pipeline, batched at the global batch size, in the same
   seeded order, and keeps its slice of each batch (`shard`): worker `i` of `n` takes rows
   `[i * b // n, (i + 1) * b // n)`. The global batch is the one the user asked for, padded as a whole.
2. **Loss.** Each worker runs the model forward on its slice; the predictions (and their Keras masks),
   targets and sample weights are all-gathered (`ReplicaContext.all_gather`, which back-propagates to
   each worker's own slice), and the compiled loss is computed on the whole global batch. So the loss
   is the single-process loss of that batch, whatever its normalisation (a mean over the batch, over
   unmasked tokens, a CRF's sum), not a mean of the workers' means.
3. **Gradients.** Each worker's gradient (its slice's share of the global loss's) is summed over the
   workers (`all_reduce`), and every worker applies the same sum with its own optimizer: gradient
   clipping sees the whole gradient, and the copies stay equal step after step.
4. **Everything else** (metrics on the global batch, validation with `model.evaluate`, callbacks,
   backups, early stopping) runs in each worker on identical values, so they all decide the same.

A model with its own `train_step` joins a cluster when its loss is a sum over the batch's rows
(`zoo.embeddings.Word2Vec`): it gives that sum as `summed_loss(batch, first_row)` and updates its
metrics with `track(loss, count)`; each worker sums its slice's rows, and the gradients, losses and
counts are summed over the workers.

Two workers with global batch `B` therefore follow one process with batch `B` step for step: the same
losses and weights up to float rounding, provided the model draws no randomness per example (dropout
masks are drawn per worker slice) and keeps no statistics of its inputs (batch normalisation's moving
averages see one slice).

Only the chief (`task.type` "chief", or worker 0 when the cluster names no chief) writes the run's
folder; another worker keeps its backups in `<output-dir>/.workers/<index>/` (resumed from there when
the cluster is started again) and exits once training is over, leaving evaluation and export to the
chief. A worker that dies stops the others at their next collective step; start every process again
with the same command and training resumes from the last backup.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from zoo.errors import ClusterError


@dataclasses.dataclass(frozen=True)
class Cluster:
    """This process's place in the cluster `TF_CONFIG` describes."""

    workers: int  # processes that train (chief included)
    index: int  # this process's rank among them, the chief being 0
    task: str  # "chief" or "worker" (its TF_CONFIG task type)
    task_index: int  # its TF_CONFIG task index

    @property
    def is_chief(self) -> bool:
        return self.index == 0

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Cluster:
        """Read `TF_CONFIG`.

        Raises:
            ClusterError: TF_CONFIG missing, not JSON, or not naming this task in its cluster.
        """
        environ = os.environ if environ is None else environ
        text = environ.get("TF_CONFIG")
        if not text:
            raise ClusterError(
                "--strategy multi-worker needs the TF_CONFIG environment variable naming the cluster and "
                'this process, e.g. {"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": '
                '{"type": "worker", "index": 0}}; try `python -m zoo.cluster local --workers 2 -- '
                "python -m recipes.X ...` on one machine"
            )
        try:
            spec = json.loads(text)
            cluster, task = spec["cluster"], spec["task"]
            chiefs, workers = list(cluster.get("chief", [])), list(cluster.get("worker", []))
            kind, task_index = str(task["type"]), int(task["index"])
        except (ValueError, KeyError, TypeError) as error:
            raise ClusterError(f"TF_CONFIG is not a cluster description ({error!r}): {text}") from None
        names = {"chief": chiefs, "worker": workers}
        if kind not in names or not 0 <= task_index < len(names[kind]) or len(chiefs) > 1:
            raise ClusterError(
                f"TF_CONFIG's task {kind} {task_index} is not in its cluster (at most one chief, and "
                f"workers 0..{len(workers) - 1}): {text}"
            )
        index = task_index if kind == "chief" else len(chiefs) + task_index
        return cls(workers=len(chiefs) + len(workers), index=index, task=kind, task_index=task_index)


def make_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """The collective strategy of the `TF_CONFIG` cluster; it must exist before TensorFlow runs any op."""
    return tf.distribute.MultiWorkerMirroredStrategy()


def shard(dataset: tf.data.Dataset, index: int, count: int) -> tf.data.Dataset:
    """Worker `index` of `count`'s slice of each batch of `dataset`: rows `[index * b // count,
    (index + 1) * b // count)` of a batch of `b`, so the workers' slices make up the whole batch, in
    order (a slice may be empty when `b < count`)."""

    def take(*batch):
        # A batch of static size gets slices of static size (a model may unroll over its rows).
        size = tf.nest.flatten(batch)[0].shape[0] or tf.shape(tf.nest.flatten(batch)[0])[0]
        start, end = size * index // count, size * (index + 1) // count
        sliced = tf.nest.map_structure(lambda tensor: tensor[start:end], batch)
        return sliced if len(sliced) > 1 else sliced[0]

    return dataset.map(take, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _gather(context: tf.distribute.ReplicaContext, structure: Any) -> Any:
    """`structure`'s tensors all-gathered along the batch axis, each keeping a Keras mask it carries
    (Keras reads a prediction's mask from its `_keras_mask`, as its masking guide shows)."""

    def gather(tensor):
        if tensor is None:
            return None
        # A collective reads its destination from its input's device, which an input fed to the step
        # from outside lacks until it is copied inside the replica's device scope.
        whole = context.all_gather(tf.identity(tensor), axis=0)
        whole.set_shape([None, *tensor.shape[1:]])  # the gather keeps the rank, Keras needs it
        mask = getattr(tensor, "_keras_mask", None)
        if mask is not None:
            gathered = context.all_gather(tf.cast(mask, tf.int32), axis=0)  # no collective takes bool
            whole._keras_mask = tf.ensure_shape(tf.cast(gathered, mask.dtype), [None, *mask.shape[1:]])
        return whole

    return tf.nest.map_structure(gather, structure)


class Trainer:
    """The training step and epoch loop of one model under `strategy` (see the module docstring).

    Args:
        model: a compiled Keras model whose variables are plain (built outside `strategy.scope()`).
        strategy: the cluster's `MultiWorkerMirroredStrategy` (`make_strategy`).
        cluster: this process's place in it, which slice of each batch it trains on.
    """

    def __init__(self, model: keras.Model, strategy: tf.distribute.Strategy, cluster: Cluster):
        if strategy.num_replicas_in_sync != cluster.workers:
            raise ClusterError(
                f"one replica per worker: the strategy has {strategy.num_replicas_in_sync} replicas for "
                f"{cluster.workers} workers (hide all but one device of each machine)"
            )
        self.summed = hasattr(model, "summed_loss") and hasattr(model, "track")
        if type(model).train_step is not keras.Model.train_step and not self.summed:
            raise ClusterError(
                f"{type(model).__name__} trains with its own train_step, which the collective step would "
                "bypass: --strategy multi-worker takes models that train with their compiled loss, or "
                "that give their loss as a sum over rows (`summed_loss` and `track`)"
            )
        self.model = model
        self.strategy = strategy
        self.cluster = cluster
        self._trained: list = []  # the variables that get a gradient, in the step's order
        self._step = tf.function(self._train_step, reduce_retracing=True)

    def _replica_step(self, batch):
        if self.summed:
            return self._summed_replica_step(batch)
        model = self.model
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        context = tf.distribute.get_replica_context()
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            whole_pred, whole_y, whole_weight = _gather(context, (y_pred, y, sample_weight))
            # Keras scales a loss by 1 / replicas under a strategy; the all-gather's gradient sums the
            # replicas' equal upstream gradients, so each slice gets its exact share of the whole loss.
            loss = model.compute_loss(
                x=x, y=whole_y, y_pred=whole_pred, sample_weight=whole_weight, training=True
            )
        pairs = [
            (gradient, variable)
            for gradient, variable in zip(
                tape.gradient(loss, model.trainable_variables), model.trainable_variables
            )
            if gradient is not None
        ]
        self._trained = [variable for _, variable in pairs]
        # An embedding's gradient stays sparse (`IndexedSlices`, gathered rather than summed): Keras's
        # optimizers update only the rows it names, as they do in one process.
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [gradient for gradient, _ in pairs])
        # Every replica holds the whole batch: the compiled metrics see it as in one process.
        model.compute_metrics(x, whole_y, whole_pred, sample_weight=whole_weight)
        examples = tf.shape(tf.nest.flatten(whole_y)[0])[0]
        return summed, loss * self.strategy.num_replicas_in_sync, examples

    def _summed_replica_step(self, batch):
        """The step of a model whose loss is a sum over the batch's rows (`model.summed_loss(batch,
        first_row) -> (loss, count)`, `model.track(loss, count)` updating its metrics): each worker sums
        its own rows, and the sum of the workers' gradients is the whole batch's."""
        model, context = self.model, tf.distribute.get_replica_context()
        rows = tf.identity(tf.shape(tf.nest.flatten(batch)[0])[:1])
        before = context.all_gather(rows, axis=0)[: context.replica_id_in_sync_group]
        with tf.GradientTape() as tape:
            loss, count = model.summed_loss(batch, tf.reduce_sum(before))
        variables = model.trainable_variables
        self._trained = list(variables)
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, tape.gradient(loss, variables))
        loss, count = context.all_reduce(tf.distribute.ReduceOp.SUM, [loss, count])
        model.track(loss, count)
        return summed, loss / tf.maximum(count, 1.0), count

    def _train_step(self, batch):
        summed, loss, examples = self.strategy.run(self._replica_step, args=(batch,))
        local = self.strategy.experimental_local_results
        gradients = [local(gradient)[0] for gradient in summed]
        self.model.optimizer.apply(gradients, self._trained)
        return local(loss)[0], local(examples)[0]

    def fit(
        self,
        train: tf.data.Dataset,
        validation: tf.data.Dataset | None,
        *,
        epochs: int,
        callbacks: Sequence[keras.callbacks.Callback],
        initial_epoch: int = 0,
        initial_batches: int = 0,
        verbose: int = 2,
    ) -> keras.callbacks.History:
        """`model.fit`'s epoch loop over this worker's slices of `train` (global batches): the same logs
        (`loss`, the compiled metrics, `val_` ones from `model.evaluate(validation)`) to the same
        callbacks, from `initial_epoch` (a resumed backup's) to `epochs`.

        A backup taken `initial_batches` batches into `initial_epoch` resumes exactly there: the
        epochs before it draw their shuffled orders again without training (each iterator of a
        reshuffling pipeline draws the next order), and the resumed epoch's first batches are read and
        skipped, so the run goes on with the batches an uninterrupted one would have trained. Only the
        resumed epoch's logged training metrics cover fewer batches. Every worker must resume from the
        same position; if their backups differ, the run stops and says so.
        """
        model = self.model
        if not model.optimizer.built:  # its slots made here, not inside the traced step
            model.optimizer.build(model.trainable_variables)
        self._agree_on(initial_epoch, initial_batches)
        sliced = shard(train, self.cluster.index, self.cluster.workers)
        steps = int(train.cardinality())
        for _ in range(initial_epoch * (2 if steps >= 0 else 1)):  # the orders of the epochs done
            iter(sliced)
        callback_list = keras.callbacks.CallbackList(
            list(callbacks),
            add_history=True,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=epochs,
            steps=steps if steps >= 0 else None,
            model=model,
        )
        loss_tracker = keras.metrics.Mean(name="loss")
        model.stop_training = False
        callback_list.on_train_begin()
        logs: dict = {}
        for epoch in range(initial_epoch, epochs):
            model.reset_metrics()
            loss_tracker.reset_state()
            callback_list.on_epoch_begin(epoch)
            skip = initial_batches if epoch == initial_epoch else 0
            for step, batch in enumerate(sliced):
                if step < skip:  # trained before the backup this run resumed
                    continue
                callback_list.on_train_batch_begin(step)
                loss, examples = self._step(batch)
                loss_tracker.update_state(loss, sample_weight=examples)
                logs = {**self._metric_logs(), "loss": float(loss_tracker.result())}
                callback_list.on_train_batch_end(step, logs)
                if model.stop_training:
                    break
            if steps >= 0:
                # `model.fit` makes a fresh iterator when an epoch of known length ends and another when
                # the next begins; a shuffle drawing a new order per iterator then skips one order per
                # epoch, and so does this loop, so that each epoch sees the batches fit would.
                iter(sliced)
            logs = {**self._metric_logs(), "loss": float(loss_tracker.result())}
            if validation is not None:
                scores = model.evaluate(validation, verbose=0, return_dict=True)
                logs |= {f"val_{name}": float(value) for name, value in scores.items()}
            callback_list.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        callback_list.on_train_end(logs)
        return model.history

    def _agree_on(self, epoch: int, batches: int) -> None:
        """Check that every worker resumes at (`epoch`, `batches`), as their backups say."""

        def gather():
            position = tf.identity(tf.constant([[epoch, batches]], tf.int64))
            return tf.distribute.get_replica_context().all_gather(position, axis=0)

        positions = self.strategy.experimental_local_results(
            tf.function(lambda: self.strategy.run(gather))()
        )[0]
        positions = [tuple(int(v) for v in row) for row in positions.numpy()]
        if len(set(positions)) > 1:
            where = ", ".join(
                f"worker {i}: epoch {e + 1} after {b} batches" for i, (e, b) in enumerate(positions)
            )
            raise ClusterError(
                f"the workers' backups are at different points ({where}): a worker was stopped while the "
                "others saved. Start the cluster with --overwrite to train afresh"
            )

    def _metric_logs(self) -> dict[str, float]:
        results = self.model.get_metrics_result()
        return {name: float(value) for name, value in results.items() if name != "loss"}
