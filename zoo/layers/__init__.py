"""Keras layers of the zoo. Each is registered under the package "zoo", so `.keras` files load them."""

from zoo.layers.ngrams import HashedNgrams
from zoo.layers.pooling import MaskedGlobalAveragePooling1D, MaskedGlobalMaxPooling1D

__all__ = ["HashedNgrams", "MaskedGlobalAveragePooling1D", "MaskedGlobalMaxPooling1D"]
