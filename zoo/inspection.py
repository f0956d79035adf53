"""What the cells of a recurrent language model learn: find, for each property of the text, the unit that
tracks it, and colour the text by that unit.

Karpathy, Johnson and Fei-Fei ("Visualizing and Understanding Recurrent Networks", 2015) found LSTM cells
that count the position in a line, switch on inside quotes or brackets, or fire at the end of a word, by
looking at thousands of them. This module automates the looking:

1. `recurrent_activations` runs the trained model over a text one character at a time and records every
   unit of every RNN layer after each character: the cell state `c` and the output `h` of an LSTM, the
   state `h` of a GRU or SimpleRNN.
2. `character_features` computes numbers per character that a unit might track (`FEATURES`).
3. `best_units` finds, for each feature, the unit whose activation has the largest absolute Pearson
   correlation with it over the text, and the unit that shares the most information with it: the
   mutual information in bits between the unit's activation, cut into `BINS` (8) equal-frequency bins
   (`discretise`), and the feature (a binary one as its two values, any other cut the same way).
4. `report` writes an HTML page colouring the text by each feature's best units (red positive, blue
   negative, like the paper's figures) and a Markdown table (feature, the best unit by each measure with
   both numbers), with a sentence naming the features where the two measures pick different units.

A correlation answers "which unit is most linearly related to this feature"; mutual information also
sees a unit that responds to it non-monotonically (high at both ends of a line, low in its middle), which
a correlation near 0 hides. Neither says "what does this unit do": a unit may track several features, and
a feature may be spread over many units. Look at the page.
"""

from __future__ import annotations

import html
import pathlib
import re
import string
from typing import NamedTuple

import keras
import numpy as np
import scipy.stats

from zoo.data.characters import encode
from zoo.language_model import START, recurrent_step
from zoo.metrics.information import mutual_information

BINS = 8  # equal-frequency bins an activation or a feature is cut into for mutual information

FEATURES = {
    "position_in_line": "characters since the last line break (0 at the start of a line)",
    "start_of_line": "1 for the first character of a line",
    "inside_quotes": 'after an odd number of double quotes (") in the text so far',
    "inside_brackets": "after more opening than closing brackets, ( or [",
    "speaker_line": "on a line that names a speaker, like 'ROMEO:' in Shakespeare",
    "position_in_word": "letters since the word started (0 outside words)",
    "is_vowel": "the character is a, e, i, o or u (either case)",
    "is_upper": "the character is an upper-case letter",
    "is_space": "the character is a space",
    "is_punctuation": "the character is ASCII punctuation",
    "is_newline": "the character is a line break",
}

_SPEAKER = re.compile(r"[A-Z][A-Za-z' ]{0,40}:")


def character_features(text: str) -> dict[str, np.ndarray]:
    """One float array per `FEATURES` entry, of `len(text)`: the value at i describes `text[i]` and what
    came before it (the state a unit holds after reading `text[i]`)."""
    length = len(text)
    features = {name: np.zeros(length, np.float32) for name in FEATURES}
    position, word, quotes, depth = 0, 0, 0, 0
    previous = START
    speaker = np.zeros(length, bool)
    start = 0
    for line in text.split("\n"):
        if _SPEAKER.fullmatch(line.strip()):
            speaker[start : start + len(line)] = True
        start += len(line) + 1
    for index, character in enumerate(text):
        position = 0 if previous == "\n" else position + 1
        word = word + 1 if character.isalpha() else 0
        quotes += character == '"'
        depth = max(0, depth + (character in "([") - (character in ")]"))
        values = {
            "position_in_line": position,
            "start_of_line": previous == "\n",
            "inside_quotes": quotes % 2 == 1 and character != '"',
            "inside_brackets": depth > 0,
            "speaker_line": speaker[index],
            "position_in_word": word,
            "is_vowel": character in "aeiouAEIOU",
            "is_upper": character.isupper(),
            "is_space": character == " ",
            "is_punctuation": character in string.punctuation,
            "is_newline": character == "\n",
        }
        for name, value in values.items():
            features[name][index] = float(value)
        previous = character
    return features


class UnitMatch(NamedTuple):
    """A feature's best unit by |correlation| and its best unit by mutual information (-1 and NaN when
    the feature is constant in the text)."""

    feature: str
    unit: int  # column of the activation matrix of the largest |correlation|
    name: str  # e.g. "lstm_1/c[17]"
    correlation: float  # Pearson r of the unit with the feature
    information: float = float("nan")  # its mutual information with the feature, bits
    mi_unit: int = -1  # column of the largest mutual information
    mi_name: str = ""
    mi_information: float = float("nan")  # bits
    mi_correlation: float = float("nan")  # its Pearson r


def correlations(activations: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of `activations` (time, units) with `feature` (time,); 0 for a
    constant unit, NaN for every unit when the feature is constant."""
    activations = np.asarray(activations, np.float64)
    feature = np.asarray(feature, np.float64)
    centred_units = activations - activations.mean(axis=0)
    centred_feature = feature - feature.mean()
    feature_norm = np.sqrt(np.sum(centred_feature**2))
    if feature_norm == 0:
        return np.full(activations.shape[1], np.nan)
    unit_norms = np.sqrt(np.sum(centred_units**2, axis=0))
    covariance = centred_feature @ centred_units
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(unit_norms > 0, covariance / (unit_norms * feature_norm), 0.0)


def discretise(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Equal-frequency bin labels of `values` (time,), or of each column of `values` (time, units).

    A value's bin is that of its mid-rank: `floor(bins * (rank - 1/2) / n)`, its rank being the mean rank
    of the values equal to it (`scipy.stats.rankdata`). Distinct values fill the bins equally; equal
    values share a bin; a binary column keeps its two values apart (their mid-ranks are n/2 apart,
    however rare one of them is), and a constant one has a single bin."""
    values = np.asarray(values, np.float64)
    ranks = scipy.stats.rankdata(values, method="average", axis=0)
    return np.floor(bins * (ranks - 0.5) / len(values)).astype(np.int64)


def mutual_informations(activations: np.ndarray, feature: np.ndarray, bins: int = BINS) -> np.ndarray:
    """The mutual information in bits of each column of `activations` (time, units) with `feature`
    (time,), both `discretise`d into `bins` equal-frequency bins (the plug-in estimate of
    `zoo.metrics.information.mutual_information`): 0 for a constant unit or feature."""
    units = discretise(activations, bins)
    labels = discretise(feature, bins)
    return np.array([mutual_information(x=units[:, unit], y=labels) for unit in range(units.shape[1])])


def best_units(
    activations: np.ndarray,
    features: dict[str, np.ndarray],
    names: list[str] | None = None,
    bins: int = BINS,
) -> list[UnitMatch]:
    """For each feature, the unit of largest |correlation| and the unit of largest mutual information
    (`mutual_informations`), each the first one on ties, with both numbers of each.

    Args:
        activations: `(time, units)`.
        features: name -> `(time,)` values, e.g. from `character_features`.
        names: a name per unit (default `unit[i]`).
        bins: equal-frequency bins of each activation and each feature for the mutual information.
    """
    names = names or [f"unit[{index}]" for index in range(activations.shape[1])]
    matches = []
    for feature, values in features.items():
        r = correlations(activations, values)
        if np.all(np.isnan(r)):
            matches.append(UnitMatch(feature, -1, "", float("nan")))
            continue
        information = mutual_informations(activations, values, bins)
        unit, best = int(np.nanargmax(np.abs(r))), int(np.argmax(information))
        by_correlation = (unit, names[unit], float(r[unit]), float(information[unit]))
        by_information = (best, names[best], float(information[best]), float(r[best]))
        matches.append(UnitMatch(feature, *by_correlation, *by_information))
    return matches


def recurrent_activations(model: keras.Model, ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Every state unit of every RNN layer of a stateless RNN language model after each character.

    Args:
        model: ids -> logits, as `zoo.language_model.recurrent_step` accepts.
        ids: int `(time,)`; the state starts from zeros before `ids[0]`.

    Returns:
        activations `(time, units)` and a name per unit, `"<layer>/<c or h>[<index>]"`.
    """
    step, initial_states = recurrent_step(model)
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    states = initial_states(1)
    rows = []
    for index in np.asarray(ids, np.int32):
        _, states = step(np.array([index], np.int32), states)
        rows.append(np.concatenate([keras.ops.convert_to_numpy(s)[0] for layer in states for s in layer]))
    names = []
    for layer, layer_states in zip(layers, states):
        kinds = ["h", "c"] if len(layer_states) == 2 else ["h"]  # LSTM states are [h, c]
        for kind, state in zip(kinds, layer_states):
            names += [f"{layer.name}/{kind}[{unit}]" for unit in range(state.shape[-1])]
    return np.stack(rows), names


# ## Report


def _colour(value: float) -> str:
    """A value in [-1, 1] -> background colour: white at 0, red towards +1, blue towards -1."""
    value = float(np.clip(value, -1.0, 1.0))
    fade = int(round(255 * (1.0 - abs(value))))
    return f"rgb(255,{fade},{fade})" if value >= 0 else f"rgb({fade},{fade},255)"


def coloured_text(text: str, values: np.ndarray) -> str:
    """HTML spans, one per character, background by `values` scaled by their largest magnitude."""
    scale = float(np.max(np.abs(values))) or 1.0
    spans = []
    for character, value in zip(text, values):
        shown = "\u21b5<br>" if character == "\n" else html.escape(character)
        spans.append(f'<span style="background:{_colour(value / scale)}">{shown}</span>')
    return "".join(spans)


def disagreement(matches: list[UnitMatch]) -> str:
    """Sentences naming the features whose best unit by |correlation| is not their best unit by mutual
    information, with both units' numbers, and those where mutual information's unit looks non-monotone:
    at least 1.5 times the bits of correlation's unit (and 0.05 bit more) with a smaller |r|."""
    differ = [match for match in matches if match.unit >= 0 and match.mi_unit != match.unit]
    if not differ:
        return "Correlation and mutual information pick the same unit for every feature."
    cases = "; ".join(
        f"{match.feature}: {match.mi_name} by mutual information ({match.mi_information:.3f} bits, "
        f"r = {match.mi_correlation:+.3f}), {match.name} by correlation (r = {match.correlation:+.3f}, "
        f"{match.information:.3f} bits)"
        for match in differ
    )
    sentence = (
        f"Correlation and mutual information pick different units for {len(differ)} of "
        f"{sum(match.unit >= 0 for match in matches)} features: {cases}."
    )
    non_monotone = [
        f"{match.feature} ({match.mi_name})"
        for match in differ
        if match.mi_information >= max(1.5 * match.information, match.information + 0.05)
        and abs(match.mi_correlation) < abs(match.correlation)
    ]
    criterion = "at least 1.5 times the bits of correlation's unit (and 0.05 bit more) with a smaller |r|"
    if not non_monotone:
        return (
            f"{sentence} Nowhere does mutual information's unit hold {criterion}, the mark of a unit "
            "that responds non-monotonically: the two measures pick units of similar standing."
        )
    return (
        f"{sentence} Mutual information's unit holds {criterion} in {', '.join(non_monotone)}: such a unit "
        "responds to the feature non-monotonically (high at both ends of a line, low in its middle, "
        "say), which a correlation misses."
    )


def markdown_table(matches: list[UnitMatch], bins: int = BINS) -> str:
    """Each feature's best unit by |correlation| and by mutual information, each with its r and its bits,
    then the `disagreement` sentence."""
    lines = [
        "| feature | best unit by correlation | r | MI (bits) | best unit by MI | MI (bits) | r |",
        "|---|---|---|---|---|---|---|",
    ]
    for match in matches:
        if match.unit < 0:
            lines.append(f"| {match.feature} | (constant in this text) | | | | | |")
        else:
            lines.append(
                f"| {match.feature} | {match.name} | {match.correlation:+.3f} | {match.information:.3f} | "
                f"{match.mi_name} | {match.mi_information:.3f} | {match.mi_correlation:+.3f} |"
            )
    note = (
        f"MI: mutual information between the unit's activation, cut into {bins} equal-frequency bins, "
        "and the feature (a binary feature as its two values, any other cut the same way)."
    )
    return "\n".join(lines) + f"\n\n{note}\n\n{disagreement(matches)}\n"


def report(
    text: str,
    activations: np.ndarray,
    names: list[str],
    html_path: str | pathlib.Path,
    markdown_path: str | pathlib.Path,
    title: str = "What the cells learn",
    bins: int = BINS,
) -> list[UnitMatch]:
    """Find each feature's best units over `text` (`best_units`) and write the HTML page (the text
    coloured by the best unit by correlation and, where it differs, by the best unit by mutual
    information) and the Markdown table (`markdown_table`)."""
    matches = best_units(activations, character_features(text), names, bins)
    sections = []
    for match in matches:
        if match.unit < 0:
            continue
        sections.append(
            f"<h2>{match.feature}</h2><p>{html.escape(FEATURES[match.feature])}</p>"
            f"<h3>By correlation: {html.escape(match.name)} (r = {match.correlation:+.3f}, "
            f"{match.information:.3f} bits)</h3>"
            f'<div class="text">{coloured_text(text, activations[:, match.unit])}</div>'
        )
        if match.mi_unit != match.unit:
            sections.append(
                f"<h3>By mutual information: {html.escape(match.mi_name)} ({match.mi_information:.3f} bits, "
                f"r = {match.mi_correlation:+.3f})</h3>"
                f'<div class="text">{coloured_text(text, activations[:, match.mi_unit])}</div>'
            )
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:auto}"
        ".text{font-family:monospace;white-space:pre-wrap;line-height:1.5;border:1px solid #ccc;padding:.5em}"
        f"</style></head><body><h1>{html.escape(title)}</h1>"
        "<p>Each character's background is the unit's activation after reading it: red positive, blue "
        "negative, white zero (scaled by the unit's largest magnitude in this text).</p>"
        f"<p>{html.escape(disagreement(matches))}</p>{''.join(sections)}</body></html>"
    )
    pathlib.Path(html_path).write_text(page, encoding="utf-8")
    table = markdown_table(matches, bins)
    pathlib.Path(markdown_path).write_text(f"# {title}\n\n{table}", encoding="utf-8")
    return matches


def inspect_text(
    model: keras.Model, characters: list[str], text: str, output_dir: str | pathlib.Path
) -> list[UnitMatch]:
    """`recurrent_activations` of `model` over `text` (read after a line break), then `report` to
    `output_dir/cells.html` and `output_dir/cells.md`."""
    activations, names = recurrent_activations(model, encode(START + text, characters))
    output_dir = pathlib.Path(output_dir)
    return report(text, activations[1:], names, output_dir / "cells.html", output_dir / "cells.md")
