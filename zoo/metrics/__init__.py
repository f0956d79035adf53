"""Metrics of the zoo: scores computed outside the graph (a classifier's test scores,
`classification_scores`) and the callbacks that decode and score on validation data, writing their
results into the epoch's logs like compiled Keras metrics (each one a `ScoreCallback`)."""

from zoo.metrics.captioning import CaptionScoreCallback, bleu_n, caption_scores, exact_match_rate
from zoo.metrics.classification import classification_scores
from zoo.metrics.entities import (
    EntityF1Callback,
    EntityScores,
    TypeScores,
    entity_scores,
    extract_entities,
)
from zoo.metrics.information import (
    BitsPerToken,
    cross_entropy,
    entropy,
    jensen_shannon,
    kl_divergence,
    mutual_information,
    pointwise_mutual_information,
    prediction_information,
    tag_information,
)
from zoo.metrics.score_callback import ScoreCallback
from zoo.metrics.speech import TranscriptionCallback, error_rates
from zoo.metrics.translation import TranslationScoreCallback, corpus_bleu, corpus_chrf

__all__ = [
    "BitsPerToken",
    "CaptionScoreCallback",
    "EntityF1Callback",
    "EntityScores",
    "ScoreCallback",
    "TranscriptionCallback",
    "TranslationScoreCallback",
    "TypeScores",
    "bleu_n",
    "caption_scores",
    "classification_scores",
    "corpus_bleu",
    "corpus_chrf",
    "cross_entropy",
    "entropy",
    "entity_scores",
    "error_rates",
    "exact_match_rate",
    "extract_entities",
    "jensen_shannon",
    "kl_divergence",
    "mutual_information",
    "pointwise_mutual_information",
    "prediction_information",
    "tag_information",
]
