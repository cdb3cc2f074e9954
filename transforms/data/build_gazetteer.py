"""Generate the entity gazetteer TSVs in ``transforms/data/gazetteer/`` (``make gazetteer``).

Run by hand; the pipeline only reads the committed TSVs. The sources (CLDR Arabic territory
names, GeoNames cities with Arabic alternate names, names-dataset first names by country, and
the hand-written lists in ``transforms/data/curated/``) are read by ``transforms.data.sources``;
this module is their projection to the pipeline's lists (the NER training gazetteer is the
other projection, ``transforms.ner.gazetteer``). When the news corpus is present beside the
repository (``../shared/data/news_corpus``), word frequencies from it drop place names that are
mostly ordinary words, pick the usual spelling as a city's canonical name, and give the list of
common words that ends a person's name; without it the previous ``common_words.tsv`` is kept.

Outputs (UTF-8, tab-separated, with a header line):
  entities.tsv      alias, canonical, type (PER/ORG/LOC), source
  first_names.tsv   name, source
  triggers.tsv      phrase, kind (role: a title before a name; institution: a noun allowed
                    between a role and the name; connector: عبد/بن/أبو inside a name)
  stopwords.tsv     word
  common_words.tsv  key, count
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

import polars as pl

from transforms.arabic import ARTICLE, PROCLITICS, token_key
from transforms.data import sources
from transforms.tokenize import tokenize

OUT = Path(__file__).resolve().parent / "gazetteer"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "news_corpus"

# GeoNames: cities everywhere above this population, and smaller towns in the region the news covers.
WORLD_MIN_POPULATION = 100_000
REGION_MIN_POPULATION = 5_000
REGION = {
    "SY", "IQ", "LB", "JO", "PS", "IL", "EG", "SA", "YE", "OM", "AE", "QA", "BH", "KW", "LY", "TN", "DZ",
    "MA", "SD", "MR", "IR", "TR", "AF",
}  # fmt: skip
# Words GeoNames uses for the kind of place, not part of its name.
PLACE_KIND_PREFIX = re.compile(r"^(?:مدينة|ناحية|قرية|بلدة|محافظة|قضاء|منطقة|مركز|مخيم|ولاية|إمارة)\s+")
PLACE_KINDS = {"مدينه", "ناحيه", "قريه", "بلده", "محافظه", "قضاء", "منطقه", "مركز", "مخيم", "ولايه", "اماره"}
ARABIC_NAME = re.compile(
    r"^[\u0621-\u063a\u0641-\u064a\u064b-\u0652]+(?:[ -][\u0621-\u063a\u0641-\u064a\u064b-\u0652]+)*$"
)
# First names from names-dataset: best rank in any of these countries.
NAME_COUNTRIES = REGION | {"MR", "SO", "DJ"}
NAME_MAX_RANK = 1000
NAME_COMMON_RANK = 300  # above this rank a name that is also a frequent word is dropped
COMMON_MIN_COUNT = 20


def _keys(values: list[str]) -> list[str]:
    return pl.Series(values, dtype=pl.String).to_frame("v").select(token_key(pl.col("v")))["v"].to_list()


def corpus_frequencies() -> Counter[str] | None:
    """Token-key counts over the news corpus bodies (``<TEXT>`` of every file), or None."""
    root = CORPUS / "ant_multisource_v2.1"
    if not root.is_dir():
        return None
    text = re.compile(r"<TEXT>\s*(.*?)\s*</TEXT>", re.S)
    bodies = []
    for path in sorted(root.rglob("*.txt")):
        match = text.search(path.read_text(encoding="utf-8", errors="replace"))
        if match:
            bodies.append(match.group(1))
    tokens = tokenize(pl.DataFrame({"article_id": range(len(bodies)), "body": bodies}))
    counts = tokens.select(token_key(pl.col("token")).alias("k")).group_by("k").len()
    return Counter(dict(zip(counts["k"].to_list(), counts["len"].to_list(), strict=True)))


def _mostly_a_word(key: str, freq: Counter[str]) -> bool:
    """True when a one-word place name occurs mostly as an ordinary word or part of one.

    Three signs: the name with an article (صور -> الصور) or without it (العين -> عين) is far more
    frequent, or a proclitic + name is (شار inside بشار, زير inside وزير).
    """
    own = freq.get(key, 0)
    others = [freq.get(p + key, 0) for p in PROCLITICS]
    bare = key[len(ARTICLE) :] if key.startswith(ARTICLE) else ARTICLE + key
    others.append(freq.get(bare, 0))
    return max(others) > max(2 * own, 10)


def territory_entries() -> list[tuple[str, str, str, str]]:
    """CLDR territories and regions as LOC entries (the EU and the UN as ORG)."""
    skip = {"XA", "XB", "ZZ", "EZ", "QO", "001"}  # 001 is "the world" (العالم), an ordinary word
    orgs = {"EU", "UN"}
    rows = []
    for code, name in sources.cldr_territories().items():
        if code in skip:
            continue
        name = name.split(" (")[0].strip()
        rows.append((name, name, "ORG" if code in orgs else "LOC", "cldr"))
    return rows


def city_entries(
    freq: Counter[str] | None, blocked: set[str], protected: set[str], known: dict[str, str]
) -> list[tuple[str, str, str, str]]:
    """Arabic-script GeoNames names of cities, one canonical name per city.

    A city one of whose names is already listed (CLDR or hand-written) takes that entry's
    canonical name; otherwise its most frequent spelling in the corpus. A name shared by several
    cities goes to the most populous one. Names that are mostly ordinary words are dropped.
    """
    best: dict[str, tuple[int, str, str]] = {}  # alias key -> (population, alias, canonical)
    for city in sources.geonames_cities(REGION_MIN_POPULATION):
        population = city.population
        in_region = city.country in REGION
        if population < (REGION_MIN_POPULATION if in_region else WORLD_MIN_POPULATION):
            continue
        names = []
        for raw in city.names:
            name = PLACE_KIND_PREFIX.sub("", raw.strip())
            if ARABIC_NAME.match(name) and name not in names:
                names.append(name)
        usable = []
        for name, key in zip(names, _keys(names) if names else [], strict=True):
            count = (freq or {}).get(key, 0)
            if len(key.replace(" ", "").replace("-", "")) < 3 or key in blocked or key in PLACE_KINDS:
                continue
            if key in protected and population < 1_000_000:
                continue
            if freq is not None and " " not in key:
                if _mostly_a_word(key, freq):
                    continue
                if count >= (50 if in_region else 30) and population < 2_000_000:
                    continue  # a frequent word that is also the name of a town (وان, الثورة, بسيط)
            usable.append((name, key, count))
        if not usable:
            continue
        listed = [known[k] for _, k, _ in usable if k in known]
        if listed:
            canonical = listed[0]
        else:
            plain = [u for u in usable if u[0] == u[1] or not re.search("[\u064b-\u0652]", u[0])] or usable
            canonical = max(plain, key=lambda u: u[2])[0]
        for name, key, _ in usable:
            if key not in known and (key not in best or best[key][0] < population):
                best[key] = (population, name, canonical)
    return [(alias, canonical, "LOC", "geonames") for _, alias, canonical in best.values()]


def first_names(freq: Counter[str] | None, stop_keys: set[str]) -> list[tuple[str, str]]:
    """names-dataset first names in Arabic script, ranked in a country of the region."""
    arabic = re.compile(r"^[\u0621-\u063a\u0641-\u064a\u06cc\u06a9\u067e\u0686\u06af]+$")
    not_names = set(sources.curated_words("not_first_names.tsv"))
    picked: dict[str, int] = {}
    for name, by_country in sources.first_name_ranks().items():
        if not arabic.match(name):
            continue
        ranks = [r for c, r in by_country.items() if c in NAME_COUNTRIES]
        if ranks and min(ranks) <= NAME_MAX_RANK:
            picked[name] = min(ranks)
    names = sorted(picked)
    rows = []
    for name, key in zip(names, _keys(names), strict=True):
        if key in stop_keys or key in not_names or key.startswith(ARTICLE) or len(key) < 2:
            continue
        if freq is not None and picked[name] > NAME_COMMON_RANK and freq.get(key, 0) >= 100:
            continue  # a frequent word that some people are also called (كان, بيان, وزير)
        rows.append((name, "names-dataset"))
    rows += [(name, "curated") for name in sources.curated_words("foreign_first_names.tsv")]
    return rows


def _write(name: str, header: list[str], rows: list[tuple]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
        writer.writerow(header)
        writer.writerows(sorted(set(rows)))
    print(f"{name}: {len(set(rows))} rows", file=sys.stderr)


def main() -> None:
    freq = corpus_frequencies()
    if freq is None:
        print("news corpus not found: no frequency filtering, common_words.tsv kept", file=sys.stderr)
    stopwords = sources.curated_words("stopwords.tsv")
    stop_keys = set(_keys(stopwords))
    people, orgs, places = (
        [(name.alias, name.canonical, entity_type, "curated") for name in sources.curated_names(file)]
        for file, entity_type in (("people.tsv", "PER"), ("organizations.tsv", "ORG"), ("places.tsv", "LOC"))
    )
    roles = sources.curated_words("roles.tsv")
    institutions = sources.curated_words("institutions.tsv")
    names = first_names(freq, stop_keys)
    name_keys = set(_keys([n for n, _ in names]))
    entities = people + orgs + places + territory_entries()
    # Hand-written and CLDR entries win over GeoNames for the same spelling.
    known = {}
    for row, key in zip(entities, _keys([row[0] for row in entities]), strict=True):
        if row[2] == "LOC":
            known.setdefault(key, row[1])
    blocked = stop_keys | set(_keys(roles + institutions))
    cities = city_entries(freq, blocked, name_keys, known)
    _write("entities.tsv", ["alias", "canonical", "type", "source"], entities + cities)
    _write("first_names.tsv", ["name", "source"], names)
    triggers = (
        [(w, "role") for w in roles]
        + [(w, "institution") for w in institutions]
        + [(w, "connector") for w in sources.curated_words("connectors.tsv")]
    )
    _write("triggers.tsv", ["phrase", "kind"], triggers)
    _write("stopwords.tsv", ["word"], [(w,) for w in stopwords])
    if freq is not None:
        person_tokens = {t for key in _keys([row[0] for row in people]) for t in key.split()}
        keep = person_tokens | name_keys
        common = [
            (k, c) for k, c in freq.items()
            if c >= COMMON_MIN_COUNT and k not in keep and re.search(r"[\u0621-\u064a]", k)
        ]  # fmt: skip
        _write("common_words.tsv", ["key", "count"], common)


if __name__ == "__main__":
    main()
