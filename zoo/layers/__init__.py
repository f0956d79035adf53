"""Keras layers of the zoo. Each is registered under the package "zoo", so `.keras` files load them."""

from zoo.layers.attention import BahdanauAttention, LuongAttention
from zoo.layers.attention_lstm import AttentionLSTM
from zoo.layers.audio import LogMelSpectrogram, SpecAugment, WaveformCheck
from zoo.layers.backbone_preprocessing import BackbonePreprocessing
from zoo.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from zoo.layers.characters import CharacterEncoder
from zoo.layers.crf import CRF
from zoo.layers.ctc import ConvSubsampling, CTCLogits, CTCTranscriber
from zoo.layers.naive_bayes import NaiveBayesLinear
from zoo.layers.ngrams import HashedNgrams
from zoo.layers.pooling import MaskedGlobalAveragePooling1D, MaskedGlobalMaxPooling1D
from zoo.layers.token_features import TokenFeatures

__all__ = [
    "AttentionLSTM",
    "BackbonePreprocessing",
    "BahdanauAttention",
    "CRF",
    "CTCLogits",
    "CTCTranscriber",
    "CharacterEncoder",
    "ConvSubsampling",
    "GRUCell",
    "HashedNgrams",
    "LSTMCell",
    "LogMelSpectrogram",
    "LuongAttention",
    "MaskedGlobalAveragePooling1D",
    "MaskedGlobalMaxPooling1D",
    "NaiveBayesLinear",
    "SimpleRNNCell",
    "SpecAugment",
    "TokenFeatures",
    "WaveformCheck",
]
