"""The input scaling a `keras.applications` backbone was trained with, applied to images in [0, 1]."""

from __future__ import annotations

import importlib

import keras


def backbone_module(backbone: str):
    """The `keras.applications` module of a backbone function: "ResNet50" -> `keras.applications.resnet`.

    Raises:
        ValueError: `backbone` is not a model of `keras.applications`.
    """
    function = getattr(keras.applications, backbone, None)
    if not callable(function) or not backbone[:1].isupper():
        raise ValueError(
            f"unknown keras.applications backbone {backbone!r}; use a model name such as MobileNetV2, "
            "ResNet50, EfficientNetB0 or ConvNeXtTiny"
        )
    return importlib.import_module("keras.applications." + function.__module__.rsplit(".", 1)[1])


@keras.saving.register_keras_serializable(package="zoo")
class BackbonePreprocessing(keras.layers.Layer):
    """Scales images in [0, 1] the way a `keras.applications` backbone expects, inside the model.

    Each backbone family was trained on differently scaled pixels: [-1, 1] (MobileNetV2, Xception,
    ResNetV2, Inception), ImageNet mean and standard deviation (DenseNet), BGR with the ImageNet mean
    subtracted from 0-255 values (ResNet, VGG), or 0-255 values scaled by the model itself
    (EfficientNet, ConvNeXt, MobileNetV3). This layer multiplies by 255 and calls the backbone module's
    own `preprocess_input` (`keras.applications.resnet.preprocess_input` for "ResNet50"), so the numbers
    are Keras's and a saved model carries the step: callers feed [0, 1] images, as
    `zoo.data.decode_image` returns them, whatever the backbone.

    Args:
        backbone: a model name of `keras.applications`, e.g. "ResNet50" or "MobileNetV2".
        **kwargs: standard `keras.layers.Layer` arguments.

    Call arguments:
        images: float `(batch, height, width, 3)` in [0, 1], RGB.

    Returns:
        The same shape, scaled for the backbone.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import zoo.layers
    >>> scale = zoo.layers.BackbonePreprocessing("MobileNetV2")  # to [-1, 1]
    >>> keras.ops.convert_to_numpy(scale(np.array([[[[0.0, 0.5, 1.0]]]]))).tolist()
    [[[[-1.0, 0.0, 1.0]]]]
    """

    def __init__(self, backbone: str, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        self._preprocess = backbone_module(backbone).preprocess_input

    def call(self, images):
        return self._preprocess(keras.ops.cast(images, self.compute_dtype) * 255.0)

    def compute_output_shape(self, images_shape):
        return images_shape

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone}
