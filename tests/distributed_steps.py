"""A small masked sequence tagger trained for two epochs, by `model.fit` in one process or by
`zoo.distributed.Trainer` as a worker of the cluster TF_CONFIG names; writes each step's loss and the final
weights to the JSON file named by the first argument. Run by tests/test_distributed.py."""

import json
import os
import sys

import zoo.distributed

cluster = None
if "TF_CONFIG" in os.environ:  # the strategy comes before any TensorFlow op
    cluster = zoo.distributed.Cluster.from_environment()
    strategy = zoo.distributed.make_strategy()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
ids = rng.integers(1, 50, size=(90, 12))
ids[:, 7:] *= rng.random((90, 5)) > 0.5  # padding (id 0) inside some rows: masked steps
ids = np.sort(ids, axis=1)[:, ::-1].copy()  # right-padded
tags = (ids % 5).astype("int32")
inputs = keras.Input((None,), dtype="int32")
hidden = keras.layers.Embedding(50, 8, mask_zero=True)(inputs)  # a sparse gradient
hidden = keras.layers.LSTM(6, return_sequences=True)(hidden)
model = keras.Model(inputs, keras.layers.Dense(5)(hidden))
model.compile(
    optimizer=keras.optimizers.Adam(0.01, clipnorm=0.5),  # clipping must see the whole gradient
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),  # a mean over unmasked steps
    metrics=["accuracy"],
)
data = tf.data.Dataset.from_tensor_slices((ids, tags))
train = data.shuffle(90, seed=3, reshuffle_each_iteration=True).batch(16)  # the last batch holds 10
validation = data.take(32).batch(16)


class Losses(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps, self.epochs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(logs["loss"])

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append({key: float(value) for key, value in logs.items()})


losses = Losses()
if cluster is None:
    model.fit(train, validation_data=validation, epochs=2, callbacks=[losses], verbose=0)
else:
    trainer = zoo.distributed.Trainer(model, strategy, cluster)
    trainer.fit(train, validation, epochs=2, callbacks=[losses], verbose=0)
weights = [w.tolist() for w in model.get_weights()]
result = {"steps": losses.steps, "epochs": losses.epochs, "weights": weights}
path = sys.argv[1] if cluster is None else f"{sys.argv[1]}.{cluster.index}"
with open(path, "w") as file:
    json.dump(result, file)
