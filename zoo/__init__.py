"""The recipe zoo's shared library: layers, metrics, text, data, CLI, runner and export.

Import the parts you need (`from zoo import text`, `from zoo.data import sentiment`); every module is
plain Keras 3 / TensorFlow and works in any project.
"""

__version__ = "0.1.0"
