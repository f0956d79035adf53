"""Runnable recipes, one module per task: `python -m recipes.<name> --help`."""

import os
import sys

# Quiet TensorFlow's C++ start-up chatter unless the user asked for it; set before TF is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# `python -m recipes.X --help` prints the flags and exits: nothing it runs needs TensorFlow, so the
# recipe's imports are deferred and never executed (`recipes._deferred`). ("-m" is argv[0] while the
# module named by -m is being found.)
if sys.argv[:1] == ["-m"] and {"-h", "--help"} & set(sys.argv[1:]):
    from recipes import _deferred

    _deferred.defer_imports()
