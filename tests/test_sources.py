"""The gazetteer sources: curated TSV lists and the package readers both gazetteers share."""

from __future__ import annotations

import pytest

from transforms.data import sources

ALIAS_LISTS = ("people.tsv", "organizations.tsv", "places.tsv")
WORD_LISTS = {
    "foreign_first_names.tsv": "name",
    "roles.tsv": "phrase",
    "institutions.tsv": "word",
    "connectors.tsv": "word",
    "stopwords.tsv": "word",
    "not_first_names.tsv": "key",
}


def _lines(file: str) -> list[str]:
    return (sources.CURATED / file).read_text(encoding="utf-8").split("\n")


def test_every_curated_file_is_listed_in_the_readme_with_its_source() -> None:
    readme = (sources.CURATED / "README.md").read_text(encoding="utf-8")
    files = sorted(path.name for path in sources.CURATED.glob("*.tsv"))
    assert files == sorted((*ALIAS_LISTS, *WORD_LISTS))
    assert all(f"| `{name}` |" in readme for name in files)


@pytest.mark.parametrize("file", ALIAS_LISTS)
def test_alias_lists_have_a_header_and_each_canonical_is_its_own_alias(file: str) -> None:
    lines = _lines(file)
    assert lines[0] == "alias\tcanonical" and lines[-1] == ""
    assert all(line.count("\t") == 1 for line in lines[1:-1])
    names = sources.curated_names(file)
    assert len(names) == len(lines) - 2 and len(set(names)) == len(names)
    assert all(n.alias and n.canonical and n.alias == n.alias.strip() for n in names)
    assert {n.canonical for n in names} <= {n.alias for n in names if n.alias == n.canonical}


@pytest.mark.parametrize(("file", "header"), WORD_LISTS.items())
def test_word_lists_have_a_header_and_one_distinct_entry_a_line(file: str, header: str) -> None:
    lines = _lines(file)
    assert lines[0] == header and lines[-1] == ""
    words = sources.curated_words(file)
    assert words == lines[1:-1]
    assert all(w and w == w.strip() and "\t" not in w for w in words)
    assert len(set(words)) == len(words)


def test_cldr_territories_are_arabic_names_by_code() -> None:
    territories = sources.cldr_territories()
    assert territories["SY"] == "سوريا"
    assert territories["EU"] == "الاتحاد الأوروبي"
