"""Benchmarks: each runs a recipe beside the references it names, on the same data; JSON + Markdown out."""

import os

# Quiet TensorFlow's C++ start-up chatter unless the user asked for it; set before TF is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
