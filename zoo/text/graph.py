"""Text standardisation inside the TensorFlow graph, so an exported model takes raw strings."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.text.normalization import URL_PATTERN

_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&apos;": "'", "&amp;": "&"}


@keras.saving.register_keras_serializable(package="zoo")
def standardize(texts: tf.Tensor) -> tf.Tensor:
    """Clean, normalise and space out punctuation in a string tensor, with core TensorFlow ops only.

    The graph twin of `zoo.text.preprocess`: for any text already in Unicode NFKC form and without HTML
    entities other than the six below, `standardize(text)` split on spaces equals `preprocess(text)`.
    Use it as `keras.layers.TextVectorization(standardize=zoo.text.standardize)`; it is registered with
    Keras, so such a layer saves to and loads from `.keras` files.

    In order: HTML tags -> space; the common entities (`&amp; &lt; &gt; &quot; &#39; &apos;`) unescaped
    (Python's `html.unescape` knows all of them, numeric ones such as `&#305;` included, which regular
    expressions cannot decode); tab, newline and other separators -> space; control and
    invisible format characters removed; URLs -> `xxurl`; lowercase (UTF-8 aware); every character that
    is not a letter, digit, whitespace or apostrophe spaced out as its own token; whitespace collapsed.
    There is no NFKC step: core TensorFlow has no Unicode normalisation (tensorflow-text does, but a
    SavedModel using it would need tensorflow-text wherever it is served).

    Args:
        texts: string tensor of any shape.

    Returns:
        String tensor of the same shape.

    Example:

    >>> import tensorflow as tf
    >>> import zoo.text
    >>> zoo.text.standardize(tf.constant(["Great<br />film, 10/10!"])).numpy().tolist()
    [b'great film , 10 / 10 !']
    """
    texts = tf.strings.regex_replace(texts, r"</?[A-Za-z][^<>]{0,200}>", " ")
    for entity, char in _ENTITIES.items():
        texts = tf.strings.regex_replace(texts, entity, char, replace_global=True)
    texts = tf.strings.regex_replace(texts, r"[\t\n\r\p{Z}]", " ")
    texts = tf.strings.regex_replace(texts, r"[\p{Cc}\p{Cf}]", "")
    texts = tf.strings.regex_replace(texts, "(?i)" + URL_PATTERN, " xxurl ")
    texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, r"([^\pL\pN\s'])", r" \1 ")
    texts = tf.strings.regex_replace(texts, r"\s+", " ")
    return tf.strings.strip(texts)
