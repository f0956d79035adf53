"""The English lexicons built from wordfreq, GeoNames and names-dataset hold what a tagger expects."""

from __future__ import annotations

import zoo.text


def test_english_lexicons_hold_common_words_places_and_names(tmp_path):
    lexicons = zoo.text.english_lexicons(frequency_words=5_000, names_per_country=200, folder=tmp_path)
    assert lexicons.frequency_words[:3] == ["the", "to", "and"]
    assert len(lexicons.frequency_words) == 5_000
    assert {"London", "New York City", "Lagos", "Germany", "Texas", "Europe"} <= set(
        lexicons.gazetteers["location"]
    )
    assert {"John", "Mary", "Michael"} <= set(lexicons.gazetteers["first_name"])
    assert {"Smith", "Johnson"} <= set(lexicons.gazetteers["last_name"])
    assert list(tmp_path.glob("english_5000_200.json"))  # cached for the next run
