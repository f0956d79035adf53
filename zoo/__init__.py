"""The recipe zoo's shared library: layers, metrics, text, data, CLI, runner and export.

Import the parts you need (`from zoo import text`, `from zoo.data import sentiment`); every module is
plain Keras 3 / TensorFlow and works in any project. `import zoo` registers every layer, loss and
function a saved model of the zoo may name (package "zoo"), so `keras.saving.load_model` reads any
`model.keras` the recipes write; `zoo.load_model(path)` does it for a file or a run's folder.
"""

from __future__ import annotations

import os
import pathlib

# Every module holding a `@keras.saving.register_keras_serializable(package="zoo")` object
# (`zoo.text` imports `zoo.text.graph`, whose `standardize` a TextVectorization may name).
from zoo import embeddings, layers, losses, text  # noqa: F401

__version__ = "0.1.0"


def load_model(path: str | os.PathLike, **kwargs):
    """Load a `model.keras` the zoo wrote: the file itself, or a run's output folder holding one.

    Keyword arguments go to `keras.saving.load_model` (e.g. `compile=False`).

    Example:

    ```python
    model = zoo.load_model("saved_models/sentiment")
    model.predict(tf.constant(["A moving, beautifully acted film."]))
    ```
    """
    import keras

    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file (a run's folder holds model.keras)")
    return keras.saving.load_model(path, **kwargs)
