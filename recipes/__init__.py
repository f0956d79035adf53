"""Runnable recipes, one module per task: `python -m recipes.<name> --help`."""

import os

# Quiet TensorFlow's C++ start-up chatter unless the user asked for it; set before TF is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
