"""Keras layers of the zoo. Each is registered under the package "zoo", so `.keras` files load them."""

from zoo.layers.pooling import MaskedGlobalMaxPooling1D

__all__ = ["MaskedGlobalMaxPooling1D"]
