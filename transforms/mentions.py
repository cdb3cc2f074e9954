"""Entity mentions from the trained NER tagger, with exact offsets and canonical entities.

The tagger (``transforms.ner.Tagger``) reads ANERcorp-style tokens, whose proclitics stay attached
(وإيران is one token), and returns IOB2 tags. This step turns those tags into mentions an analyst
can count, all as polars expressions over the tokens of a whole batch:

1. ``tokenize`` every body; one ``tagger.tag`` call per batch with the article id as document id
   (the tagger's consistency pass works per document); tags are put back on the token rows.
2. IOB runs become spans: a span starts at ``B-X`` or at an ``I-X`` that does not continue a span of
   the same type in the same sentence (conlleval's reading), so every tag sequence gives spans.
3. Spans lose leading and trailing punctuation tokens, and a role or title at their start
   (الرئيس, وزير الخارجية الروسي, الجنرال: from ``triggers.tsv``): titles are not names.
4. The first token loses its attached proclitics (و ف ب ل ك and their combinations, لل = ل + ال)
   when there is evidence that the rest is a word on its own (``strip_span_clitics``: a listed
   name, a definite noun as in والمعلم, a name the tagger tagged bare elsewhere in the batch, news
   corpus frequencies). Tokens that are listed names or first names themselves are never cut
   (لبنان, وليد, فيصل, بشار, كركوك). Offsets follow the stripped surface, so
   ``body[start_char:end_char] == surface`` always holds.
5. Canonical names: the surface without quotes, diacritics and tatweel (ل + ال gets its alef back:
   للأمم -> الأمم); a name listed in the gazetteer takes the listed canonical spelling (سورية ->
   سوريا); a person's short form takes the full name of someone named in the same article
   (الأسد -> بشار الأسد; a short form two people share stays as it is), else the listed person it
   alone names (بوتين -> فلاديمير بوتين); the first word (كيم -> كيم جونغ أون) and a family name
   without its article (رزاز -> عمر الرزاز) are short forms too. Across the corpus, a short form
   no article resolves is linked at read time (the warehouse's ``entity_links`` view).
   ``entity_id`` hashes type and the normalized name
   (``entities.entity_ids``), so one real-world entity has one id in every batch.
6. With ``use_gazetteer``, the first (gazetteer and heuristics) extractor's persons are added where
   they overlap no tagger span, and replace tagger spans they strictly contain (علي شمخاني over
   شمخاني): it knows listed names and role-introduced names the tagger misses or cuts short. Its
   listed organisations (جبهة النصرة) are added where they overlap no tagger span.
7. Before canonical names (``tidy_mentions``): a leading ``#`` leaves the surface and ``#``/``_``
   the name (#أردوغان, سعد_الحريري); a proclitic left on a name goes when the rest is a listed
   name or one named so in the batch (لبي بي سي -> بي بي سي); a one-word place that is the
   nationality adjective of a listed place (السورية) becomes MISC; currency words (دولار) and
   organisations named only by an institution noun (حزب) go.

``tag_sentences`` is the same token-level path for text that is already tokenized (`akhbar ner`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from transforms.arabic import ARABIC_WORD, DIACRITICS, LEADING_CONJUNCTION, clitic_variants, match_key, token_key
from transforms.entities import (
    ENTITY_TYPES,
    GAZETTEER_DIR,
    MENTION_SCHEMA,
    EntityConfig,
    Gazetteer,
    entity_ids,
    extract_mentions,
    load_gazetteer,
    phrase_keys,
    short_forms,
)
from transforms.tokenize import QUOTES, tokenize

_QUOTE_CHARS = "[" + "".join(QUOTES) + "]"
_PUNCT_TOKEN = r"^[\p{P}\p{S}]+$"
_ORDINAL = r"^ال(?:اول|ثاني|ثالث|رابع|خامس|سادس|سابع|ثامن|تاسع|عاشر)$"
# Evidence that a stripped reading is a word of its own, best first.
_LISTED, _TAGGED, _DEFINITE, _CONJUNCTION, _FREQUENT = 0, 1, 2, 3, 4


class SentenceTagger(Protocol):
    """What ``tag_mentions`` needs of a tagger (``transforms.ner.Tagger`` has it)."""

    def tag(
        self, sentences: list[list[str]], doc_ids: Sequence[Hashable] | None = None
    ) -> list[list[str]]: ...


@dataclass(frozen=True)
class MentionConfig:
    """Knobs of the tagger-based mention step.

    ``use_gazetteer``: combine with the first extractor's mentions of ``gazetteer_types``; on
    overlap ``prefer`` decides (see ``combine``). The defaults were chosen on the ANERcorp dev
    split, where the first extractor's places and organizations cost more than they bring (the
    measurements are in ``tests/bench_ner.py``). ``listed_types``: of the other types, the first
    extractor's mentions of names listed in the gazetteer (جبهة النصرة, مجلس الشعب السوري) are
    added where they overlap no tagger span; pattern-found ones (الجيش اللبناني, وزارة الخارجية,
    which ANERcorp does not tag) are not. ``entities``: that extractor's own config.
    ``trim_roles``: cut titles and roles from span starts. ``split_coordinations``: a person span
    holding و + another name is two people. ``strip_clitics``: cut attached proclitics from a
    span's first token (``min_stem_letters``: letters the rest must keep).
    ``gazetteer_names``: a listed alias takes the gazetteer's canonical name.
    ``resolve_short_forms``: a person's short form names the full name given in the article;
    ``listed_short_forms``: otherwise, a family name that names exactly one listed person names
    that person (بوتين -> فلاديمير بوتين).
    ``more_short_forms``: a person's first word alone (كيم after كيم جونغ أون) and a family name
    without its article (رزاز after عمر الرزاز) also name the full name of the article, when no
    other person of the article has that word.
    ``document_consistency``: pass article ids to the tagger (its document-level pass).
    ``strip_markup``: a leading ``#`` (and the proclitics before it) leaves the surface, ``#`` and
    ``_`` leave the name (#أردوغان -> أردوغان, سعد_الحريري -> سعد الحريري).
    ``strip_name_clitics``: a name whose first word keeps a proclitic (لبي بي سي) loses it when
    the rest is a listed name or a name of the same type elsewhere in the batch.
    ``nationality_type``: a one-word place that is a nationality adjective (السورية, سعودية) and
    no listed place takes this type (MISC, as CoNLL-style guidelines type nationalities; None
    drops it). ``drop_currencies``: currency words (دولار, الجنيه المصري), which ANERcorp tags
    MISC, are amounts, not entities an analyst follows: dropped from the mentions.
    ``drop_generic``: an organisation named only by an institution noun (حزب, المنظمة: the
    ``institution`` words of ``triggers.tsv``) names no one organisation: dropped.
    ``types``: entity types kept.

    None of these change ``tag_sentences`` (what `akhbar ner` prints): they work below the token
    or on mentions, after the tags.
    """

    use_gazetteer: bool = True
    gazetteer_types: tuple[str, ...] = ("PER",)
    prefer: str = "longer"
    listed_types: tuple[str, ...] = ("ORG",)
    trim_roles: bool = True
    split_coordinations: bool = True
    strip_clitics: bool = True
    min_stem_letters: int = 3
    gazetteer_names: bool = True
    resolve_short_forms: bool = True
    listed_short_forms: bool = True
    more_short_forms: bool = True
    document_consistency: bool = True
    strip_markup: bool = True
    strip_name_clitics: bool = True
    nationality_type: str | None = "MISC"
    drop_currencies: bool = True
    drop_generic: bool = True
    types: tuple[str, ...] = ENTITY_TYPES
    entities: EntityConfig = field(default_factory=EntityConfig)


def tag_tokens(
    tokens: pl.DataFrame,
    tagger: SentenceTagger,
    sentence_columns: Sequence[str] = ("article_id", "sentence_index"),
    doc_column: str | None = "article_id",
) -> pl.DataFrame:
    """Add ``tag`` (IOB2) to token rows, with one ``tagger.tag`` call for the whole frame.

    Rows must be in reading order (as ``tokenize`` returns them); a sentence is a run of rows
    sharing ``sentence_columns``. ``doc_column`` gives the tagger one document id per sentence.
    """
    if tokens.is_empty():
        return tokens.with_columns(pl.lit(None, dtype=pl.String).alias("tag"))
    cols = list(sentence_columns)
    # A run id rather than a group key: the same key twice in a row-order stream is still one
    # sentence, and a key that comes back later is a new one.
    changed = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in cols])
    keep = list(dict.fromkeys([*cols, doc_column] if doc_column else cols))
    runs = tokens.select(*keep, pl.col("token"), changed.fill_null(True).cum_sum().alias("_run"))
    grouped = runs.group_by("_run", maintain_order=True).agg(
        pl.col("token"), *([pl.col(doc_column).first()] if doc_column else [])
    )
    # The tagger's interface is Python lists: one conversion each way for the whole batch.
    sentences = grouped["token"].to_list()
    doc_ids = grouped[doc_column].to_list() if doc_column else None
    tags = tagger.tag(sentences, doc_ids)
    if len(tags) != len(sentences):
        raise ValueError(f"tagger returned {len(tags)} sentences for {len(sentences)}")
    flat = pl.Series("tag", list(chain.from_iterable(tags)), dtype=pl.String)
    if flat.len() != tokens.height:
        raise ValueError(f"tagger returned {flat.len()} tags for {tokens.height} tokens")
    return tokens.with_columns(flat)


def iob_spans(
    frame: pl.DataFrame,
    tag_column: str = "tag",
    sentence_columns: Sequence[str] = ("article_id", "sentence_index"),
) -> pl.DataFrame:
    """Add ``span`` (an id shared by the tokens of one entity, null outside) and ``span_type``.

    conlleval's reading: ``B-X`` starts a span, and so does ``I-X`` after ``O``, after another
    type or at a sentence start; anything that is not ``B-``/``I-`` plus a type is ``O``.
    """
    tag = pl.col(tag_column).fill_null("O")
    parts = tag.str.extract_groups(r"^([BI])-(\S+)$")
    frame = frame.with_columns(
        parts.struct.field("1").alias("_bio"), parts.struct.field("2").alias("span_type")
    )
    same_sentence = pl.all_horizontal([pl.col(c).eq_missing(pl.col(c).shift(1)) for c in sentence_columns])
    continues = (
        (pl.col("_bio") == "I")
        & same_sentence.fill_null(False)
        & (pl.col("span_type").shift(1) == pl.col("span_type")).fill_null(False)
    )
    inside = pl.col("_bio").is_not_null()
    starts = inside & ~continues
    return frame.with_columns(pl.when(inside).then(starts.cast(pl.Int64).cum_sum()).alias("span")).drop(
        "_bio"
    )


def spans_to_tags(
    frame: pl.DataFrame, span_column: str = "span", type_column: str = "span_type"
) -> pl.Series:
    """IOB2 tags back from span ids: ``B-`` on a span's first row, ``I-`` after, ``O`` outside."""
    span = pl.col(span_column)
    first = span.ne_missing(span.shift(1))
    return frame.select(
        pl.when(span.is_null())
        .then(pl.lit("O"))
        .otherwise(pl.when(first).then(pl.lit("B-")).otherwise(pl.lit("I-")) + pl.col(type_column))
        .alias("tag")
    )["tag"]


def _role_flags(frame: pl.DataFrame, gaz: Gazetteer) -> pl.DataFrame:
    """Per span token: ``_role`` (a role word or part of a two-word role) and ``_between`` (may stand
    between a role and a name: definite nouns and nisba adjectives that are not first names,
    institution nouns)."""
    key = token_key(pl.col("token"))
    roles = gaz.roles.filter(pl.col("kind") == "role")
    single = roles.filter(pl.col("n") == 1)["key"].implode()
    pairs = roles.filter(pl.col("n") == 2)["key"].implode()
    institutions = gaz.roles.filter(pl.col("kind") == "institution")["key"].implode()
    names = gaz.first_names.implode()
    frame = frame.with_columns(key.alias("_key")).with_columns(
        pl.col("_key").str.replace(LEADING_CONJUNCTION, "").alias("_bare")
    )
    # Two-word roles (ولي العهد, آية الله, رئيس الوزراء): both words are role words.
    next_in_span = pl.col("span").shift(-1) == pl.col("span")
    pair = (
        next_in_span
        & (
            (pl.col("_key") + " " + pl.col("_key").shift(-1)).is_in(pairs)
            | (pl.col("_bare") + " " + pl.col("_key").shift(-1)).is_in(pairs)
        )
    ).fill_null(False)
    frame = frame.with_columns(pair.alias("_pair"))
    role = (
        pl.col("_key").is_in(single)
        | pl.col("_bare").is_in(single)
        | pl.col("_pair")
        | (pl.col("_pair").shift(1) & (pl.col("span").shift(1) == pl.col("span"))).fill_null(False)
    )
    between = (
        (
            pl.col("_key").str.contains(r"^(?:ال|وال)..")
            & ~pl.col("_key").is_in(names)
            & ~pl.col("_bare").is_in(names)
        )
        | pl.col("_key").is_in(institutions)
        | pl.col("_bare").is_in(institutions)
    )
    return frame.with_columns(role.alias("_role"), between.alias("_between")).drop("_pair", "_bare", "_key")


def refine_spans(
    frame: pl.DataFrame, gaz: Gazetteer, config: MentionConfig = MentionConfig()
) -> pl.DataFrame:
    """Token-level post-processing of tagger spans: edges trimmed, coordinated persons split.

    ``frame``: token rows in reading order with ``token``, ``span``, ``span_type`` (rows outside
    spans may be left out beforehand); ``span`` is renumbered, and null where a token left its span.

    Trimming: a span's leading run of punctuation goes; then, if a role starts what is left, the
    role and the words that may follow a role (الرئيس السوري, وزير الخارجية الروسي) go too, for
    persons; for other types only role words go (محافظ البصرة -> البصرة). The last word is kept
    unless it is a role itself (الرئيس الأسد -> الأسد); a span that is only a title disappears.
    Trailing punctuation goes.

    Splitting (``config.split_coordinations``): a person span holding و + a name (لاريجاني والمقداد,
    شمخاني وباتروشيف) is two people; the و-token starts a new span when ``clitic_readings`` would
    cut و from it (so وليد, ويلز, وقاص after أبي stay inside the name).
    """
    if frame.is_empty():
        return frame
    frame = _role_flags(frame, gaz).with_columns(
        pl.col("token").str.contains(_PUNCT_TOKEN).alias("_punct"),
        pl.col("span").ne_missing(pl.col("span").shift(1)).alias("_first"),
        pl.col("span").ne_missing(pl.col("span").shift(-1)).alias("_last"),
    )
    punct = pl.col("_punct")
    role = pl.col("_role") if config.trim_roles else pl.lit(False)
    is_person = pl.col("span_type") == "PER"
    frame = frame.with_columns(_in_span_cum_sum(role).alias("_roles_so_far"))
    trimmable = punct | role | (is_person & pl.col("_between") & (pl.col("_roles_so_far") > 0))
    frame = frame.with_columns(
        (_in_span_cum_sum(~trimmable) == 0).alias("_lead"),
        _in_span_cum_sum(~punct, reverse=True).alias("_words_after"),
    )
    tail = pl.col("_words_after") == 0
    last_word = (pl.col("_words_after") == 1) & ~punct
    keep = pl.col("span").is_not_null() & ~tail & (~pl.col("_lead") | (last_word & ~role))
    frame = frame.with_columns(pl.when(keep).then(pl.col("span")).alias("span")).drop(
        "_role", "_between", "_punct", "_first", "_last", "_roles_so_far", "_lead", "_words_after"
    )
    span = pl.col("span")
    first = span.is_not_null() & span.ne_missing(span.shift(1))
    split = pl.lit(False)
    if config.split_coordinations:
        connectors = gaz.roles.filter(pl.col("kind") == "connector")["key"].implode()
        inside = span.is_not_null() & ~first & (pl.col("span_type") == "PER")
        candidate = (
            inside
            & pl.col("token").str.starts_with("و")
            & ~token_key(pl.col("token").shift(1)).is_in(connectors)
        )
        candidates = frame.filter(candidate).select("token").unique()
        if candidates.height:
            single = first & span.ne_missing(span.shift(-1))
            bare = frame.filter(single).select(token_key(pl.col("token")).alias("k"))["k"].unique()
            readings = clitic_readings(
                candidates, bare, gaz, config.min_stem_letters, config.entities.gazetteer_dir
            )
            conj = readings.filter(pl.col("clitic_shift") == 1)["token"]
            split = candidate & pl.col("token").is_in(conj.implode())
    starts = (first | split).cast(pl.Int64).cum_sum()
    return frame.with_columns(pl.when(span.is_not_null()).then(starts).alias("span"))


def _in_span_cum_sum(flag: pl.Expr, reverse: bool = False) -> pl.Expr:
    """Running count of ``flag`` inside each span (inclusive), from its start or from its end.

    A span's rows are contiguous, so a running sum over the whole frame minus its value where the
    span starts does it: much cheaper than a window per span (``over``) with 10^5 spans a batch.
    """
    x = flag.cast(pl.Int64)
    total = x.cum_sum(reverse=reverse)
    edge = pl.col("_last") if reverse else pl.col("_first")
    base = pl.when(edge).then(total - x)
    base = base.backward_fill() if reverse else base.forward_fill()
    return total - base


def tag_sentences(
    sentences: list[list[str]],
    tagger: SentenceTagger,
    doc_ids: Sequence[Hashable] | None = None,
    config: MentionConfig = MentionConfig(),
    context_radius: int | None = None,
) -> list[list[str]]:
    """IOB2 tags of already tokenized sentences with the pipeline's token-level post-processing.

    The same tagger call, the same span refinement (``refine_spans``: punctuation and titles cut
    from span edges, coordinated persons split) and the same first-extractor persons (with
    ``config.use_gazetteer``; each sentence is its own text) as ``tag_mentions``; what happens
    below the token (clitics, canonical names) has no place in token tags. ``doc_ids``: one document id per
    sentence for the consistency pass; ``context_radius``: limit that pass to the sentences at
    most that many places away in the same document (the tagger must accept the keyword).
    """
    gaz = load_gazetteer(config.entities.gazetteer_dir)
    if doc_ids is not None and len(doc_ids) != len(sentences):
        raise ValueError(f"{len(doc_ids)} doc_ids for {len(sentences)} sentences")
    sents = [list(s) for s in sentences]
    if context_radius is None:
        tags = tagger.tag(sents, doc_ids)
    else:
        tags = tagger.tag(sents, doc_ids, context_radius=context_radius)
    lengths = [len(s) for s in sentences]
    frame = pl.DataFrame(
        {
            "sentence_index": np.repeat(np.arange(len(sentences), dtype=np.int64), lengths),
            "token": pl.Series(list(chain.from_iterable(sentences)), dtype=pl.String),
            "tag": pl.Series(list(chain.from_iterable(tags)), dtype=pl.String),
        }
    )
    spans = refine_spans(iob_spans(frame, sentence_columns=("sentence_index",)), gaz, config)
    if config.use_gazetteer and spans.height:
        spans = _with_listed_tokens(spans, gaz, config)
    flat = spans_to_tags(spans).to_list()
    out: list[list[str]] = []
    at = 0
    for n in lengths:
        out.append(flat[at : at + n])
        at += n
    return out


def _with_listed_tokens(frame: pl.DataFrame, gaz: Gazetteer, config: MentionConfig) -> pl.DataFrame:
    """Token spans combined with the first extractor's mentions (step 6 of ``tag_mentions``).

    Each sentence becomes a body (tokens joined by spaces) for ``extract_mentions``; its mentions
    and the tagger's spans are combined by ``combine_listed``, as in the pipeline, and a mention
    marks every token it touches (a mention cut inside وإيران marks the token, as ANERcorp tags
    whole tokens).
    """
    frame = frame.with_row_index("_row").with_columns(
        pl.col("sentence_index").cast(pl.String).alias("_doc"),
        (pl.col("token").str.len_chars().cast(pl.Int64) + 1).alias("_step"),
    )
    frame = frame.with_columns((pl.col("_step").cum_sum().over("sentence_index") - pl.col("_step")).alias("_start"))
    frame = frame.with_columns((pl.col("_start") + pl.col("_step") - 1).alias("_end"))
    bodies = frame.group_by("_doc", maintain_order=True).agg(pl.col("token").str.join(" ").alias("body"))
    listed = extract_mentions(bodies.rename({"_doc": "article_id"}), config.entities)
    columns = ["article_id", "entity_type", "start_char", "end_char"]
    tagged = (
        frame.filter(pl.col("span").is_not_null())
        .group_by("span", maintain_order=True)
        .agg(
            pl.col("_doc").first().alias("article_id"),
            pl.col("span_type").first().alias("entity_type"),
            pl.col("_start").min().alias("start_char"),
            pl.col("_end").max().alias("end_char"),
        )
        .select(columns)
    )
    tagged = tagged.cast(listed.select(columns).schema)  # type: ignore[arg-type]
    found = combine_listed(tagged, listed, gaz, config, columns)
    found = found.sort("article_id", "start_char").with_row_index("_span")
    # The mention a token touches: the last one starting before the token ends, if it reaches it.
    hit = (
        frame.select("_row", "_doc", "_start", (pl.col("_end") - 1).alias("_probe"))
        .sort("_doc", "_probe")
        .join_asof(
            found.sort("article_id", "start_char"),
            left_on="_probe",
            right_on="start_char",
            by_left="_doc",
            by_right="article_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("end_char") > pl.col("_start"))
        .select("_row", pl.col("_span").cast(pl.Int64).alias("span"), pl.col("entity_type").alias("span_type"))
    )
    return (
        frame.drop("span", "span_type")
        .join(hit, on="_row", how="left")
        .sort("_row")
        .drop("_row", "_doc", "_step", "_start", "_end")
    )


def _lexicon(gaz: Gazetteer) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Token keys for clitic decisions: (whole, listed, protected).

    ``whole``: one-word listed names. ``listed``: every word of a listed name. ``protected``:
    first words of listed names, first names, role, institution and connector words; a protected
    token is never cut. Words inside listed names are not protected: للأمم in المفوضية السامية
    للأمم المتحدة is still ل + الأمم.
    """
    whole = gaz.aliases.filter(pl.col("n") == 1)["key"].unique()
    listed = gaz.aliases.select(pl.col("key").str.split(" ").explode())["key"].unique()
    protected = pl.concat([gaz.aliases["first"], gaz.first_names, gaz.roles.filter(pl.col("n") == 1)["key"]])
    return whole, listed, protected.unique()


@cache
def _word_counts(directory: str) -> pl.DataFrame:
    """News-corpus counts of token keys seen at least 20 times (``common_words.tsv``; ``key``, ``count``)."""
    path = Path(directory) / "common_words.tsv"
    if not path.exists():
        return pl.DataFrame(schema={"key": pl.String, "count": pl.Int64})
    frame = pl.read_csv(path, separator="\t", quote_char=None, schema_overrides={"key": pl.String})
    return frame.select("key", pl.col("count").cast(pl.Int64))


def clitic_readings(
    tokens: pl.DataFrame,
    tagged_keys: pl.Series,
    gaz: Gazetteer,
    min_stem_letters: int = 3,
    gazetteer_dir: str = str(GAZETTEER_DIR),
) -> pl.DataFrame:
    """How many characters of each token are attached proclitics, where there is evidence.

    ``tokens``: a ``token`` column. Returns one row per distinct token that has a reading:
    ``token``, ``clitic_shift`` (characters cut) and ``elided`` (ل + ال contraction: the name shown
    gets its alef back); tokens left whole have no row. Nothing is cut from a token
    that is a name, first name or role word itself (لبنان, وليد, فيصل), and the rest must keep
    ``min_stem_letters`` letters. Evidence that the rest stands on its own, best first:

    1. it is a word of a listed name (وإيران, بطهران, وبالعراق -> العراق) other than a title's
       first word, or a first name after one letter (ومحمد);
    2. the tagger tagged it bare somewhere in the batch (``tagged_keys``: وبوتين after بوتين);
    3. it is a definite noun of four letters or more after و, ب or ل (والمعلم, للبنك -> البنك);
    4. و + a word of four letters or more that does not start with a bare alef, waw or ya (the
       usual shapes of W- names: وليام aside, ويلز, واشنطن, وولتر) and is not rarer in the news
       corpus than the whole token (وثيقة, ولاية stay whole);
    5. in the news corpus the rest is common (50 times or more) and at least four times as frequent
       as the whole token, as a word is with a proclitic (ببطولة, لولاية, بكلية); بلدية (لديه is only
       2.6 times as frequent) stays whole.

    After ف or ك alone (names such as فورد, كلود, كاليفورنيا begin with them) only a one-word
    listed name counts (فالجزائر). Best evidence wins, then the shortest cut (وكندا -> كندا, not وك + ندا).
    """
    whole, listed, protected = _lexicon(gaz)
    counts = _word_counts(gazetteer_dir)
    lex = tokens.select("token").unique()
    lex = lex.filter(
        pl.col("token").str.contains(ARABIC_WORD) & ~token_key(pl.col("token")).is_in(protected.implode())
    )
    variants = (
        clitic_variants(lex, "token")
        .filter(pl.col("clitic_shift") > 0)
        .with_columns(
            pl.col("token")
            .str.slice(0, pl.col("clitic_shift"))
            .str.replace_all(DIACRITICS, "")
            .alias("_prefix"),
            token_key(pl.col("token")).alias("_whole"),
        )
        .join(counts.rename({"key": "_whole", "count": "_whole_n"}), on="_whole", how="left")
        .join(counts.rename({"key": "stem_key", "count": "_stem_n"}), on="stem_key", how="left")
    )
    stem = pl.col("stem_key")
    prefix = pl.col("_prefix")
    weak_prefix = prefix.is_in(["ف", "ك"])
    evidence = (
        pl.when(
            stem.is_in(whole.implode())
            | (
                ~weak_prefix
                & stem.is_in(listed.implode())
                # Listed names may start with a title (آية الله خامنئي): ولاية is no و + ل + آية.
                & ~stem.is_in(gaz.roles["first"].implode())
            )
            | (prefix.is_in(["و", "ب", "ل"]) & stem.is_in(gaz.first_names.implode()))
        )
        .then(pl.lit(_LISTED))
        .when(weak_prefix)
        .then(pl.lit(None, dtype=pl.Int32))
        .when(stem.is_in(tagged_keys.implode()))
        .then(pl.lit(_TAGGED))
        .when(stem.str.starts_with("ال") & (stem.str.len_chars() >= 4))
        .then(pl.lit(_DEFINITE))
        .when(
            (prefix == "و")
            & (stem.str.len_chars() >= 4)
            & ~pl.col("stem").str.contains("^[اويى]")
            & (pl.col("_whole_n").fill_null(0) <= pl.col("_stem_n").fill_null(0))
        )
        .then(pl.lit(_CONJUNCTION))
        .when(
            (pl.col("_stem_n").fill_null(0) >= 50)
            & (pl.col("_stem_n").fill_null(0) >= 4 * pl.col("_whole_n").fill_null(0))
            & ~stem.is_in(gaz.stopwords.implode())
        )
        .then(pl.lit(_FREQUENT))
    )
    elided = stem.str.starts_with("ال") & ~pl.col("stem").str.contains("^[اأإآ]")
    return (
        variants.with_columns(evidence.alias("_evidence"), elided.alias("elided"))
        .filter(pl.col("_evidence").is_not_null() & (stem.str.len_chars() >= min_stem_letters))
        # The elided reading wins a tie with the plain one: without it the choice would depend on
        # how polars happens to order equal rows, and re-runs could differ.
        .sort("token", "_evidence", "clitic_shift", "elided", descending=[False, False, False, True])
        .unique("token", keep="first", maintain_order=True)
        .select("token", pl.col("clitic_shift").cast(pl.Int32), "elided")
    )


def strip_span_clitics(
    first: pl.DataFrame,
    tagged_keys: pl.Series,
    gaz: Gazetteer,
    min_stem_letters: int = 3,
    gazetteer_dir: str = str(GAZETTEER_DIR),
) -> pl.DataFrame:
    """Add ``clitic_shift`` and ``elided`` (see ``clitic_readings``) to rows with a ``token`` column
    (0 and false where the token stays whole)."""
    chosen = clitic_readings(first, tagged_keys, gaz, min_stem_letters, gazetteer_dir)
    return first.join(chosen, on="token", how="left", maintain_order="left").with_columns(
        pl.col("clitic_shift").fill_null(0), pl.col("elided").fill_null(False)
    )


def display_name(expr: pl.Expr) -> pl.Expr:
    """A name as shown: no quote marks, diacritics or tatweel, single spaces, trimmed."""
    return (
        expr.str.replace_all(_QUOTE_CHARS, "")
        .str.replace_all(DIACRITICS, "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _no_mentions() -> pl.DataFrame:
    return pl.DataFrame(schema=MENTION_SCHEMA)


@dataclass(frozen=True)
class TaggedArticles:
    """The per-article part of ``tag_mentions``: what each article gives on its own, whatever else the
    batch holds. Pieces of a batch (runs of whole articles) can be done apart, in other processes, and
    joined with ``TaggedArticles.concat``; ``mentions_of`` then does the batch-wide rest."""

    tokens: pl.DataFrame  # tokenize's rows plus ``tag`` (IOB2), in reading order
    listed: pl.DataFrame | None  # the first extractor's mentions (``extract_mentions``), with use_gazetteer

    @staticmethod
    def concat(parts: Sequence[TaggedArticles]) -> TaggedArticles:
        """Pieces in article order as one batch's; the extractor's rows sorted as one call sorts them."""
        listed = [part.listed for part in parts if part.listed is not None]
        return TaggedArticles(
            pl.concat([part.tokens for part in parts], how="vertical_relaxed"),
            pl.concat(listed, how="vertical_relaxed").sort("article_id", "start_char") if listed else None,
        )


def tag_articles(articles: pl.DataFrame, tagger: SentenceTagger, config: MentionConfig = MentionConfig()
                 ) -> TaggedArticles:
    """Tokens with the tagger's tags, and the first extractor's mentions, of ``articles`` (article_id, body)."""
    articles = articles.select(pl.col("article_id").cast(pl.String), pl.col("body"))
    tokens = tokenize(articles)
    if tokens.height:
        tokens = tag_tokens(tokens, tagger, doc_column="article_id" if config.document_consistency else None)
    else:
        tokens = tokens.with_columns(pl.lit(None, dtype=pl.String).alias("tag"))
    listed = extract_mentions(articles, config.entities) if config.use_gazetteer else None
    return TaggedArticles(tokens, listed)


def model_mentions(
    articles: pl.DataFrame, tagged: pl.DataFrame, config: MentionConfig, gaz: Gazetteer
) -> pl.DataFrame:
    """Tagger spans (``tagged``: tokens with tags) as mentions: ``article_id``, ``entity_type``, ``surface``,
    ``start_char``, ``end_char``, ``name`` (display form, before gazetteer and short-form canonicalisation)."""
    empty = pl.DataFrame(
        schema={
            "article_id": pl.String, "entity_type": pl.String, "surface": pl.String,
            "start_char": pl.Int64, "end_char": pl.Int64, "name": pl.String,
        }
    )  # fmt: skip
    if tagged.is_empty():
        return empty
    spans = iob_spans(tagged).filter(pl.col("span").is_not_null())
    spans = refine_spans(spans, gaz, config).filter(pl.col("span").is_not_null())
    if spans.is_empty():
        return empty
    found = spans.group_by("span", maintain_order=True).agg(
        pl.col("article_id").first(),
        pl.col("span_type").first().alias("entity_type"),
        pl.col("token").first(),
        pl.col("start_char").first(),
        pl.col("end_char").last(),
        pl.len().alias("_n"),
    )
    if config.strip_clitics:
        # Tokens the tagger tagged as a whole one-token name somewhere in the batch.
        bare = found.filter(pl.col("_n") == 1).select(token_key(pl.col("token")).alias("k"))["k"].unique()
        found = strip_span_clitics(found, bare, gaz, config.min_stem_letters, config.entities.gazetteer_dir)
    else:
        found = found.with_columns(pl.lit(0).alias("clitic_shift"), pl.lit(False).alias("elided"))
    found = found.with_columns((pl.col("start_char") + pl.col("clitic_shift")).alias("start_char")).join(
        articles, on="article_id", how="left"
    )
    surface = pl.col("body").str.slice(pl.col("start_char"), pl.col("end_char") - pl.col("start_char"))
    found = found.with_columns(surface.alias("surface"))
    name = display_name(pl.when(pl.col("elided")).then("ا" + pl.col("surface")).otherwise(pl.col("surface")))
    return found.select(
        "article_id", "entity_type", "surface", "start_char", "end_char", name.alias("name")
    ).filter(pl.col("name").str.len_chars() > 0)


def combine(tagged: pl.DataFrame, listed: pl.DataFrame, prefer: str = "longer") -> pl.DataFrame:
    """Tagger mentions and gazetteer mentions in one set without overlaps (each set has none inside).

    ``prefer``: on overlap, ``"tagger"`` keeps the tagger's span; ``"gazetteer"`` keeps the
    gazetteer's; ``"longer"`` keeps the tagger's unless a gazetteer mention strictly contains every
    tagger span it overlaps (علي شمخاني over شمخاني, وكالة فارس over فارس). Mentions overlapping
    nothing are always kept.

    Vectorized with two as-of joins per gazetteer mention: the tagger spans it overlaps are the
    contiguous run from the first one ending after its start to the last one starting before its end.
    """
    if prefer == "gazetteer":
        return pl.concat([listed, _without_overlaps(tagged, listed)])
    if prefer == "tagger" or tagged.is_empty() or listed.is_empty():
        return pl.concat([tagged, _without_overlaps(listed, tagged)])
    if prefer != "longer":
        raise ValueError(f"prefer must be 'tagger', 'gazetteer' or 'longer', not {prefer!r}")
    model = tagged.sort("article_id", "start_char").with_row_index("_m")
    spans = model.select(
        "article_id", "_m", pl.col("start_char").alias("_ms"), pl.col("end_char").alias("_me")
    )
    gaz = listed.with_row_index("_g")
    # First tagger span ending after the mention starts; last one starting before it ends.
    first = gaz.select("article_id", "_g", (pl.col("start_char") + 1).alias("_probe")).sort(
        "article_id", "_probe"
    )
    first = first.join_asof(
        spans.sort("article_id", "_me"), left_on="_probe", right_on="_me", by="article_id",
        strategy="forward", check_sortedness=False,
    ).select("_g", pl.col("_m").alias("_first"), pl.col("_ms").alias("_first_start"))  # fmt: skip
    last = gaz.select("article_id", "_g", (pl.col("end_char") - 1).alias("_probe")).sort(
        "article_id", "_probe"
    )
    last = last.join_asof(
        spans.sort("article_id", "_ms"), left_on="_probe", right_on="_ms", by="article_id",
        strategy="backward", check_sortedness=False,
    ).select("_g", pl.col("_m").alias("_last"), pl.col("_me").alias("_last_end"))  # fmt: skip
    runs = gaz.join(first, on="_g").join(last, on="_g")
    overlaps = (
        pl.col("_first").is_not_null() & pl.col("_last").is_not_null() & (pl.col("_first") <= pl.col("_last"))
    )
    contains = (
        (pl.col("_first_start") >= pl.col("start_char"))
        & (pl.col("_last_end") <= pl.col("end_char"))
        & ((pl.col("_first_start") > pl.col("start_char")) | (pl.col("_last_end") < pl.col("end_char")))
    )
    runs = runs.with_columns(overlaps.alias("_overlaps"), contains.alias("_contains"))
    winners = runs.filter(pl.col("_overlaps") & pl.col("_contains"))
    added = runs.filter(~pl.col("_overlaps") | pl.col("_contains")).select(listed.columns)
    replaced = winners.select(pl.int_ranges("_first", pl.col("_last") + 1).alias("_m")).explode("_m")
    kept = model.join(replaced, on="_m", how="anti").drop("_m")
    return pl.concat([kept, added])


def combine_listed(
    found: pl.DataFrame, listed: pl.DataFrame, gaz: Gazetteer, config: MentionConfig, columns: list[str]
) -> pl.DataFrame:
    """Tagger mentions plus the first extractor's (``extract_mentions`` rows), as ``config`` says.

    Its ``gazetteer_types`` mentions are combined with ``config.prefer``; then its mentions of
    ``listed_types`` whose canonical name is a gazetteer entry fill gaps the tagger left. Both
    frames end with ``columns`` (``name`` is the extractor's canonical name).
    """
    listed = listed.with_columns(pl.col("canonical_name").alias("name"))
    primary = listed.filter(pl.col("entity_type").is_in(config.gazetteer_types)).select(columns)
    found = combine(found.select(columns), primary, config.prefer)
    extra_types = [t for t in config.listed_types if t not in config.gazetteer_types]
    if extra_types:
        names = gaz.aliases.filter(pl.col("entity_type").is_in(extra_types)).select(
            pl.col("canonical").alias("name"), "entity_type"
        )
        extra = listed.join(names.unique(), on=["name", "entity_type"], how="semi").select(columns)
        found = combine(found, extra, "tagger")
    return found


def _without_overlaps(extra: pl.DataFrame, kept: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``extra`` overlapping no row of ``kept`` (same article; ``kept`` rows never overlap).

    Among kept spans starting before an extra span ends, the last one reaches furthest, so one
    backward as-of join per row decides.
    """
    if kept.is_empty() or extra.is_empty():
        return extra
    right = kept.select(
        "article_id", pl.col("start_char").alias("_ks"), pl.col("end_char").alias("_ke")
    ).sort("article_id", "_ks")
    left = extra.with_columns((pl.col("end_char") - 1).alias("_probe")).sort("article_id", "_probe")
    # Both sides are sorted by (article_id, key); polars cannot verify that when ``by`` is given.
    joined = left.join_asof(
        right, left_on="_probe", right_on="_ks", by="article_id", strategy="backward", check_sortedness=False
    )
    return joined.filter(pl.col("_ke").is_null() | (pl.col("_ke") <= pl.col("start_char"))).drop(
        "_probe", "_ks", "_ke"
    )


# Currency words as token keys (ة folded to ه), with the tanwin alef and plural endings news uses.
_CURRENCY = (
    r"^(?:ال)?(?:دولار|يورو|جنيه|دينار|ريال|ليره|لير|درهم|روبل|يوان|ين|شيكل|فرنك|روبيه|بيزو|استرليني|"
    r"بيتكوين|كرونه|فلس|قرش)(?:ا|ات|ان)?$"
)
# Nisba adjectives as token keys: definite (السوري, السوريه, الامريكيون), or bare with the feminine
# or plural ending (سعوديه); a bare -ي word is too often a place (دبي, مالي) to be read as one.
_NISBA_DEFINITE = r"^ال\S{3,}(?:ي|يه|يون|يين)$"
_NISBA_BARE = r"^\S{3,}(?:يه|يون|يين)$"
_NISBA_WORD = r"^(?:ال)?\S{2,}(?:ي|يه)$"
# Hashtag markup at a surface's start, after any proclitics written before it (و#الإمارات).
_MARKUP_LEAD = r"^[وف]?[بلك]?#+"


def tidy_mentions(
    found: pl.DataFrame, articles: pl.DataFrame, gaz: Gazetteer, config: MentionConfig
) -> pl.DataFrame:
    """Mentions (``entity_type``, ``surface``, ``start_char``, ``name``, ...) as an analyst counts them.

    Hashtag markup and proclitics left on a name go, nationality adjectives leave the places,
    currency words and lone institution nouns the mentions (``MentionConfig``: ``strip_markup``,
    ``strip_name_clitics``, ``nationality_type``, ``drop_currencies``, ``drop_generic``). Offsets follow the surface, so
    ``body[start_char:end_char] == surface`` still holds.
    """
    if found.is_empty():
        return found
    if config.strip_markup:
        found = _strip_markup(found)
    if config.strip_name_clitics:
        found = _strip_name_clitics(found, gaz)
    key = token_key(pl.col("name"))
    if config.drop_currencies:
        found = found.filter(~((pl.col("entity_type") == "MISC") & currency_name(key)))
    if config.drop_generic:
        nouns = gaz.roles.filter(pl.col("kind") == "institution")["key"].implode()
        found = found.filter(~((pl.col("entity_type") == "ORG") & key.str.replace(r"^ال", "").is_in(nouns)))
    nisba = (pl.col("entity_type") == "LOC") & nationality_adjective(key, gaz)
    if config.nationality_type is None:
        found = found.filter(~nisba)
    else:
        found = found.with_columns(
            pl.when(nisba).then(pl.lit(config.nationality_type)).otherwise(pl.col("entity_type")).alias("entity_type")
        )
    return found


def currency_name(key: pl.Expr) -> pl.Expr:
    """A name key that is a currency word, alone or with nisba adjectives (الدولار الأمريكي)."""
    words = key.str.split(" ")
    rest = words.list.slice(1).list.eval(pl.element().str.contains(_NISBA_WORD)).list.all()
    return words.list.first().str.contains(_CURRENCY) & rest


def nationality_adjective(key: pl.Expr, gaz: Gazetteer) -> pl.Expr:
    """A one-word name key that is the nisba adjective of a listed place and names no place itself.

    السورية: سوري + ة, from سوريا; اللبناني from لبنان; العراقية from العراق; سعودية from السعودية.
    Places whose name only looks like one (إشبيلية, الأوروغواي, حمورية) derive from no listed place.
    """
    places = gaz.aliases.filter(pl.col("entity_type") == "LOC")["key"].implode()
    bare = key.str.replace(r"^ال", "")
    base = bare.str.replace(r"(?:يون|يين|يه|ي)$", "")
    derived = pl.any_horizontal(
        [f.is_in(places) for f in (base, base + "ا", "ال" + base, base + "يا", base + "ه", "ال" + bare)]
    )
    # الأوروغواي is a place listed without its article; السورية is not سورية (Syria) with one.
    return (
        ~key.str.contains(" ")
        & (key.str.contains(_NISBA_DEFINITE) | key.str.contains(_NISBA_BARE))
        & ~key.is_in(places)
        & ~(bare.is_in(places) & ~key.str.ends_with("يه"))
        & derived
    )


def _strip_markup(found: pl.DataFrame) -> pl.DataFrame:
    """Leading ``#`` (with the proclitics before it) off surfaces; ``#`` and ``_`` out of names."""
    cut = pl.col("surface").str.extract(f"({_MARKUP_LEAD})", 1).str.len_chars().fill_null(0).cast(pl.Int64)
    name = (
        pl.col("name")
        .str.replace(_MARKUP_LEAD, "")
        .str.replace_all("#", "")
        .str.replace_all("_", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return (
        found.with_columns(cut.alias("_cut"))
        .with_columns(
            (pl.col("start_char") + pl.col("_cut")).alias("start_char"),
            pl.col("surface").str.slice(pl.col("_cut")).alias("surface"),
            name.alias("name"),
        )
        .drop("_cut")
        .filter((pl.col("surface").str.len_chars() > 0) & (pl.col("name").str.len_chars() > 0))
    )


def _strip_name_clitics(found: pl.DataFrame, gaz: Gazetteer) -> pl.DataFrame:
    """Names read off the body whose first word keeps a proclitic lose it (لبي بي سي -> بي بي سي).

    The token-level cut (``strip_span_clitics``) needs a stem of ``min_stem_letters`` and looks at
    one token; here the evidence is the whole name: what is left (ل + ال gets its alef back) is a
    listed name or a name of the same type elsewhere in the batch, and the name as it stands is
    not listed. A first word that is a protected token (a first name, the first word of a listed
    name) is never cut.
    """
    _, _, protected = _lexicon(gaz)
    rows = found.with_row_index("_r")
    keyed = rows.select(
        "_r",
        "entity_type",
        pl.col("surface").str.extract(r"^(\S+)", 1).alias("token"),
        token_key(display_name(pl.col("surface"))).str.replace(r"^\S+", "").alias("_rest"),
        token_key(pl.col("name")).alias("_key"),
    )
    known = pl.concat(
        [
            gaz.aliases.select("key", "entity_type"),
            keyed.select(pl.col("_key").alias("key"), "entity_type"),
        ]
    ).unique()
    # Names read off the body, not a listed spelling; the whole name is not known already.
    keyed = keyed.join(rows.select("_r", "name", "surface"), on="_r").filter(
        (pl.col("name") == display_name(pl.col("surface")))
        & ~token_key(pl.col("token")).is_in(protected.implode())
    )
    listed = gaz.aliases.select("key", "entity_type")
    keyed = keyed.join(listed, left_on=["_key", "entity_type"], right_on=["key", "entity_type"], how="anti")
    if keyed.is_empty():
        return found
    variants = (
        clitic_variants(keyed.select("token").unique(), "token")
        .filter(pl.col("clitic_shift") > 0)
        .with_columns((pl.col("stem_key") != token_key(pl.col("stem"))).alias("elided"))
    )
    chosen = (
        keyed.join(variants, on="token")
        .with_columns((pl.col("stem_key") + pl.col("_rest")).alias("_stripped"))
        .join(known, left_on=["_stripped", "entity_type"], right_on=["key", "entity_type"], how="semi")
        .sort("_r", "clitic_shift", "elided", descending=[False, False, True])
        .unique("_r", keep="first")
        .select("_r", pl.col("clitic_shift").cast(pl.Int64).alias("_cut"), "elided")
    )
    if chosen.is_empty():
        return found
    surface = pl.col("surface").str.slice(pl.col("_cut"))
    return (
        rows.join(chosen, on="_r", how="left", maintain_order="left")
        .with_columns(pl.col("_cut").fill_null(0), pl.col("elided").fill_null(False))
        .with_columns(
            (pl.col("start_char") + pl.col("_cut")).alias("start_char"),
            pl.when(pl.col("_cut") > 0)
            .then(display_name(pl.when(pl.col("elided")).then("ا" + surface).otherwise(surface)))
            .otherwise(pl.col("name"))
            .alias("name"),
            surface.alias("surface"),
        )
        .drop("_r", "_cut", "elided")
    )


def listed_first_name_spelling(name: pl.Expr, entity_type: pl.Expr, gaz: Gazetteer) -> pl.Expr:
    """A person's first word written with a final ى where only the ي spelling is a listed first name
    takes that spelling (على شمخاني -> علي شمخاني): writing a final ي as ى is common in news copy, and
    على is the preposition. Names listed with ى (مصطفى, موسى) keep it."""
    first = name.str.extract(r"^(\S+)", 1)
    respelled = first.str.replace(r"ى$", "ي")
    spellings = gaz.first_name_spellings.implode()
    change = (entity_type == "PER") & respelled.is_in(spellings) & ~first.is_in(spellings)
    return pl.when(change).then(pl.concat_str(respelled, name.str.slice(first.str.len_chars()))).otherwise(name)


def canonical_names(mentions: pl.DataFrame, gaz: Gazetteer, config: MentionConfig) -> pl.DataFrame:
    """Add ``canonical_name`` to mentions with a display ``name``: listed spelling, then short forms."""
    keyed = phrase_keys(mentions.select("name").unique(), "name").select("name", "key")
    out = mentions.join(keyed, on="name", how="left", maintain_order="left")
    canonical = pl.col("name")
    if config.gazetteer_names:
        listed = gaz.aliases.select("key", "entity_type", pl.col("canonical").alias("_listed"))
        out = out.join(listed, on=["key", "entity_type"], how="left", maintain_order="left")
        canonical = pl.col("_listed").fill_null(canonical)
    out = out.with_columns(listed_first_name_spelling(canonical, pl.col("entity_type"), gaz).alias("canonical"))
    out = out.with_columns(match_key(pl.col("canonical")).alias("_ckey"))
    # One spelling per entity and article (على شمخاني, علي شمخاني): short forms then name one person.
    spelling = out.group_by("article_id", "entity_type", "_ckey").agg(
        pl.col("canonical").mode().sort().first().alias("_spelling")
    )
    out = out.join(spelling, on=["article_id", "entity_type", "_ckey"], how="left", maintain_order="left")
    out = out.with_columns(pl.col("_spelling").alias("canonical"))
    if config.resolve_short_forms:
        # Twice: a two-word name first takes the longer name it shortens (جابري أنصاري -> حسين
        # جابري أنصاري), so that a one-word form (أنصاري) then names a single person.
        for _ in range(2):
            out = _resolve_short_forms(out, gaz, config.more_short_forms)
    if config.listed_short_forms:
        listed = listed_short_forms(gaz).rename({"canonical": "_listed_full"})
        out = out.join(listed, on="key", how="left", maintain_order="left").with_columns(
            pl.when((pl.col("entity_type") == "PER") & (pl.col("canonical") == pl.col("name")))
            .then(pl.col("_listed_full").fill_null(pl.col("canonical")))
            .otherwise(pl.col("canonical"))
            .alias("canonical")
        )
    return out.with_columns(pl.col("canonical").alias("canonical_name"))


def _resolve_short_forms(out: pl.DataFrame, gaz: Gazetteer, more: bool = True) -> pl.DataFrame:
    """Person mentions whose own key is a short form of a full name in the article take that name.

    Short forms: the family name or last two words (``entities.short_forms``) and, with
    ``more``, a family name without its article (رزاز for الرزاز) and the first word
    (``first_word_forms``).
    """
    # Only full names give short forms: a bare الأسد must not compete with بشار الأسد.
    people = out.filter((pl.col("entity_type") == "PER") & pl.col("canonical").str.contains(" "))
    forms = short_forms(people.select("article_id", "entity_type", "canonical"), gaz)
    forms = forms.select("article_id", "key", "canonical")
    if more and people.height:
        # A family name with the article is also written without it (لرزاز beside عمر الرزاز).
        bare = forms.filter(pl.col("key").str.contains(r"^ال\S{3,}$")).with_columns(pl.col("key").str.slice(2))
        forms = pl.concat([forms, bare, first_word_forms(people, gaz)]).unique()
        # A word two people of the article share, first or last, names neither.
        forms = forms.filter(pl.col("canonical").n_unique().over("article_id", "key") == 1)
    if forms.is_empty():
        return out
    full = forms.select("article_id", "key", pl.col("canonical").alias("_full"))
    # Matched on the mention's own key: a short form anywhere in the article, headline included.
    return (
        out.join(full, on=["article_id", "key"], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("entity_type") == "PER")
            .then(pl.col("_full").fill_null(pl.col("canonical")))
            .otherwise(pl.col("canonical"))
            .alias("canonical")
        )
        .drop("_full")
    )


def first_word_forms(people: pl.DataFrame, gaz: Gazetteer) -> pl.DataFrame:
    """Per article, the first word of each person's full name as a short form (كيم -> كيم جونغ أون).

    ``people``: ``article_id``, ``canonical`` (names of two words or more) and ``name`` (as
    written). Returns ``article_id``, ``key``, ``canonical``. Korean and Chinese names put the
    family name first, and news writes a person met earlier by the first word too. Left out:
    connectors (عبد, أبو), roles, function words, words under three letters, definite words
    (الكولومبي of a span الكولومبي سانتياغو), family names of listed people (نتانياهو of a span
    نتانياهو مغرم: a family name followed by a word the tagger took in), and a word that any
    person of the article has after the first place (كيم of يونغ كيم), which would make it two
    people's.
    """
    words = token_key(pl.col("canonical")).str.split(" ")
    listed = gaz.aliases.filter((pl.col("entity_type") == "PER") & (pl.col("n") >= 2))
    family = listed.select(pl.col("key").str.split(" ").list.last())["key"]
    excluded = pl.concat([gaz.roles["key"], gaz.stopwords, family]).implode()
    firsts = people.select("article_id", "canonical", words.list.first().alias("key")).unique()
    # Later words of the names as written too: بنيامين نتانياهو reads بنيامين نتنياهو once listed.
    later = pl.concat(
        [
            people.select("article_id", words.list.slice(1).alias("key")),
            people.select("article_id", token_key(pl.col("name")).str.split(" ").list.slice(1).alias("key")),
        ]
    ).explode("key").unique()
    return firsts.filter(
        (pl.col("key").str.len_chars() >= 3)
        & ~pl.col("key").str.starts_with("ال")
        & ~pl.col("key").is_in(excluded)
    ).join(later, on=["article_id", "key"], how="anti").select("article_id", "key", "canonical")


def listed_short_forms(gaz: Gazetteer) -> pl.DataFrame:
    """Family names of listed people that name exactly one of them (بوتين -> فلاديمير بوتين).

    Columns ``key``, ``canonical``. A family name that is also a first name, a role, a function
    word or a listed name of its own, or that two listed people share, is left out. A few thousand rows:
    cheap enough to build per batch.
    """
    people = gaz.aliases.filter((pl.col("entity_type") == "PER") & (pl.col("n") >= 2))
    words = pl.col("key").str.split(" ")
    connectors = gaz.roles.filter(pl.col("kind") == "connector")["key"].implode()
    forms = (
        people.filter(~words.list.get(-2).is_in(connectors))  # عبد الملك is one name, not الملك
        .select(words.list.last().alias("key"), "canonical")
        .unique()
        .filter(
            (pl.col("key").str.len_chars() >= 3)
            & ~pl.col("key").str.contains(_ORDINAL)  # الملك عبد الله الثاني
            & ~pl.col("key").is_in(gaz.roles["key"].implode())
            & ~pl.col("key").is_in(gaz.first_names.implode())
            & ~pl.col("key").is_in(gaz.stopwords.implode())
            & ~pl.col("key").is_in(gaz.aliases["key"].implode())
        )
    )
    return forms.filter(pl.col("canonical").n_unique().over("key") == 1)


def tag_mentions(
    articles: pl.DataFrame, tagger: SentenceTagger, config: MentionConfig = MentionConfig()
) -> pl.DataFrame:
    """One row per entity mention in ``articles`` (``article_id``, ``body``), found by ``tagger``.

    Columns as ``entities.extract_mentions``: ``article_id``, ``entity_id``, ``entity_type``,
    ``surface`` (exactly ``body[start_char:end_char]``), ``start_char``, ``end_char``,
    ``canonical_name``. Mentions of one article never overlap; rows are sorted by article and
    offset.
    """
    return mentions_of(articles, tag_articles(articles, tagger, config), config)


def mentions_of(articles: pl.DataFrame, tagged: TaggedArticles, config: MentionConfig = MentionConfig()
                ) -> pl.DataFrame:
    """``tag_mentions``'s result from the per-article part (``tag_articles``) of the same ``articles``.

    The batch-wide steps: span refinement and clitic stripping take their evidence (names the tagger
    tagged alone) from the whole batch, then the two extractors are combined, tidied and named.
    """
    gaz = load_gazetteer(config.entities.gazetteer_dir)
    articles = articles.select(pl.col("article_id").cast(pl.String), pl.col("body"))
    found = model_mentions(articles, tagged.tokens, config, gaz)
    if config.use_gazetteer and tagged.listed is not None:
        columns = ["article_id", "entity_type", "surface", "start_char", "end_char", "name"]
        found = combine_listed(found, tagged.listed, gaz, config, columns)
    found = tidy_mentions(found, articles, gaz, config)
    found = found.filter(pl.col("entity_type").is_in(config.types))
    if found.is_empty():
        return _no_mentions()
    found = canonical_names(found, gaz, config)
    return (
        found.select(
            "article_id",
            entity_ids(found["entity_type"], found["canonical_name"]).alias("entity_id"),
            "entity_type",
            "surface",
            "start_char",
            "end_char",
            "canonical_name",
        )
        .sort("article_id", "start_char")
        .cast(MENTION_SCHEMA)  # type: ignore[arg-type]
    )


def entity_aliases(mentions: pl.DataFrame) -> pl.DataFrame:
    """What was merged: one row per entity and distinct surface, with how often it occurs.

    Columns: ``entity_id``, ``canonical_name``, ``entity_type``, ``alias`` (the surface as shown),
    ``mention_count``.
    """
    if mentions.is_empty():
        return pl.DataFrame(
            schema={
                "entity_id": pl.String, "canonical_name": pl.String, "entity_type": pl.String,
                "alias": pl.String, "mention_count": pl.UInt32,
            }
        )  # fmt: skip
    return (
        mentions.with_columns(display_name(pl.col("surface")).alias("alias"))
        .group_by("entity_id", "alias")
        .agg(
            pl.col("canonical_name").mode().sort().first(),
            pl.col("entity_type").first(),
            pl.len().cast(pl.UInt32).alias("mention_count"),
        )
        .select("entity_id", "canonical_name", "entity_type", "alias", "mention_count")
        .sort("entity_id", "mention_count", "alias", descending=[False, True, False])
    )
