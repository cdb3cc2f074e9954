"""Run the JSON expectation suites in ``expectations/suites`` on polars frames with Great Expectations.

The suites are reviewed like code: every expectation carries ``meta.severity`` (``error`` or
``warning``) and ``meta.scope`` (``row``: failing rows are quarantined; ``batch``: a failing
``error`` stops the whole load). Great Expectations decides which rows fail; this module turns
its results into three things the flow needs: a results table for ``validation_results``, one
readable reason per quarantined row, and the list of failures that block the load.

Great Expectations is imported lazily (importing it costs seconds) and its context, data source
and batch definition are built once per process and reused, behind a lock, because its
suite-parameter parser keeps global state.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

import polars as pl

from transforms.schema import EXPECTATION_RESULTS, ROW_REASONS

DEFAULT_SUITES_DIR: Final = Path(__file__).resolve().parent / "suites"
SEVERITIES: Final = ("error", "warning")
SCOPES: Final = ("row", "batch")

# The frames a validation returns, declared with every other frame in transforms.schema.
RESULTS_SCHEMA: Final = EXPECTATION_RESULTS.schema
ROW_REASONS_SCHEMA: Final = ROW_REASONS.schema

# COMPLETE gives every failing row position in unexpected_index_list (unexpected_list itself is
# capped at 200 values, so values for reasons are read back from the polars frame instead).
_RESULT_FORMAT: Final = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": 5,
    "return_unexpected_index_query": False,
}
_MAX_EXAMPLES: Final = 5
_MAX_VALUE_CHARS: Final = 60
_NAME_KEY: Final = "akhbar_name"  # injected into the GE copy of each expectation's meta


@dataclass(frozen=True)
class ValidationOutcome:
    """What one validation of one frame says.

    ``results`` has one row per expectation (``RESULTS_SCHEMA``); ``row_reasons`` one row per
    input row that failed a row-scope ``error`` expectation (``ROW_REASONS_SCHEMA``, reasons of
    several failures joined with ``"; "``); ``blocking_failures`` names the failed batch-scope
    ``error`` expectations (and ``error`` expectations that could not be evaluated at all).
    """

    results: pl.DataFrame
    row_reasons: pl.DataFrame
    blocking_failures: list[str]

    @property
    def blocked(self) -> bool:
        return bool(self.blocking_failures)


# ---------------------------------------------------------------------------------------------
# Suites as JSON


def suites_dir() -> Path:
    """Where the suites are read from.

    Teams may keep their own reviewed suites elsewhere: ``AKHBAR_EXPECTATIONS_DIR`` points at that
    folder. Read at each call, not at import, so one process can validate against either.
    """
    return Path(os.environ.get("AKHBAR_EXPECTATIONS_DIR") or DEFAULT_SUITES_DIR)


def suite_names() -> list[str]:
    """Names of the suites in the suites folder."""
    return sorted(p.stem for p in suites_dir().glob("*.json"))


def load_suite(name: str) -> dict:
    """The suite's JSON as a dict (a fresh copy), checked for severity, scope and unique names."""
    return copy.deepcopy(_load_suite_cached(name))


def _suite_path(name: str) -> Path:
    return suites_dir() / f"{name}.json"


def _load_suite_cached(name: str) -> dict:
    return _load_suite_file(_suite_path(name), name)


@cache
def _load_suite_file(path: Path, name: str) -> dict:
    if not path.is_file():
        raise ValueError(f"unknown expectation suite {name!r}; known: {suite_names()}")
    suite = json.loads(path.read_text(encoding="utf-8"))
    if suite.get("name") != name:
        raise ValueError(f"{path.name}: suite name {suite.get('name')!r} does not match the file name")
    expectations = suite.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise ValueError(f"{path.name}: no expectations")
    seen: set[str] = set()
    for i, exp in enumerate(expectations):
        where = f"{path.name}: expectation {i} ({exp.get('type')})"
        if not isinstance(exp.get("type"), str) or not isinstance(exp.get("kwargs"), dict):
            raise ValueError(f"{where}: needs a 'type' string and a 'kwargs' object")
        meta = exp.get("meta") or {}
        if meta.get("severity") not in SEVERITIES:
            raise ValueError(f"{where}: meta.severity must be one of {SEVERITIES}")
        if meta.get("scope") not in SCOPES:
            raise ValueError(f"{where}: meta.scope must be one of {SCOPES}")
        label = expectation_name(name, exp)
        if label in seen:
            raise ValueError(f"{where}: {label} appears twice; results would be ambiguous")
        seen.add(label)
    return suite


def expectation_columns(expectation: Mapping[str, Any]) -> list[str]:
    """The columns an expectation is about, in the order its kwargs name them."""
    kwargs = expectation["kwargs"]
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_A" in kwargs:
        return [kwargs["column_A"], kwargs["column_B"]]
    return list(kwargs.get("column_list", []))


def expectation_name(suite: str, expectation: Mapping[str, Any]) -> str:
    """``suite.type(columns)``: how people read an expectation in reasons and reports."""
    columns = expectation_columns(expectation)
    suffix = f"({', '.join(columns)})" if columns else ""
    return f"{suite}.{expectation['type']}{suffix}"


# ---------------------------------------------------------------------------------------------
# Great Expectations, once per process


class _Gx:
    """The ephemeral context, its pandas data source and the whole-frame batch definition."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # The pandas engine hashes every frame below this many bytes for a batch marker
        # (`pandas_data_fingerprint`) that nothing here reads: about a sixth of each validation's
        # time on news batches. A frame of zero bytes does not exist, so no frame is hashed.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        # Validators read this to decide on tqdm bars; without it every validation draws bars.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        asset = self.context.data_sources.add_pandas("akhbar").add_dataframe_asset("frame")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
        self.suites: dict[Path, Any] = {}

    def suite(self, name: str) -> Any:
        """The GE ``ExpectationSuite`` for ``name``, built strictly from the JSON once.

        ``ExpectationSuite(expectations=[dict, ...])`` only logs and drops an invalid
        expectation, so each one is built here first and any error raised.
        """
        path = _suite_path(name)
        if path not in self.suites:
            from great_expectations.expectations.expectation import (
                ColumnMapExpectation,
                ColumnPairMapExpectation,
                MulticolumnMapExpectation,
            )
            from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

            raw = load_suite(name)
            built = []
            for exp in raw["expectations"]:
                meta = {**exp["meta"], _NAME_KEY: expectation_name(name, exp)}
                severity = "critical" if meta["severity"] == "error" else "warning"
                config = ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"], meta=meta, severity=severity)
                expectation = config.to_domain_obj()
                map_kinds = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
                if meta["scope"] == "row" and not isinstance(expectation, map_kinds):
                    raise ValueError(f"{meta[_NAME_KEY]}: scope 'row' needs a per-row (map) expectation")
                built.append(expectation)
            self.suites[path] = self.gx.ExpectationSuite(name=name, expectations=built, meta=raw.get("meta") or {})
        return self.suites[path]


_LOCK: Final = threading.Lock()
_STATE: list[_Gx] = []


def _gx() -> _Gx:
    """The process-wide GE state; call with ``_LOCK`` held."""
    if not _STATE:
        _STATE.append(_Gx())
    return _STATE[0]


def warm_up(*suites: str) -> None:
    """Import Great Expectations, build the context and the given suites ahead of the first batch."""
    with _LOCK:
        state = _gx()
        for name in suites or suite_names():
            state.suite(name)


# ---------------------------------------------------------------------------------------------
# Validation


def validate_frame(frame: pl.DataFrame, suite: str, *, now: datetime | None = None) -> ValidationOutcome:
    """Validate ``frame`` against the suite ``suite``.

    Row positions in ``row_reasons`` refer to ``frame`` as given (as ``frame.with_row_index()``
    numbers them). ``now`` is the validation time the suites' date bounds are relative to
    (default: the current UTC time). An empty frame validates as a success without calling GE.
    """
    raw = _load_suite_cached(suite)
    expectations = raw["expectations"]
    if frame.height == 0:
        return _empty_outcome(suite, expectations)

    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    pdf = _to_pandas(frame, expectations)
    with _LOCK:
        state = _gx()
        gx_suite = state.suite(suite)
        batch = state.batch_definition.get_batch(batch_parameters={"dataframe": pdf})
        validation = batch.validate(
            gx_suite,
            result_format=copy.deepcopy(_RESULT_FORMAT),
            expectation_parameters={"validation_time": now.isoformat()},
        )

    by_name = {r.expectation_config.meta[_NAME_KEY]: r for r in validation.results}
    rows: list[dict[str, Any]] = []
    reason_frames: list[pl.DataFrame] = []
    blocking: list[str] = []
    # Columns a blocking columns check reports missing; expectations on them cannot run at all.
    missing = {
        c
        for exp in expectations
        if exp["meta"]["severity"] == "error"
        for c in exp["kwargs"].get("column_set", [])
        if c not in frame.columns
    }
    for exp in expectations:
        name = expectation_name(suite, exp)
        row, indices, reasons = _summarise(frame, suite, exp, name, by_name[name])
        rows.append(row)
        severity, scope = exp["meta"]["severity"], exp["meta"]["scope"]
        if row["success"] or severity != "error":
            continue
        if scope == "row" and indices is not None:
            reason_frames.append(pl.DataFrame({"row_index": indices, "reason": reasons}, schema=ROW_REASONS_SCHEMA))
        elif row["unexpected_count"] is None and missing.intersection(expectation_columns(exp)):
            # Not evaluable because a column is missing: the columns check already blocks and says which.
            continue
        else:
            blocking.append(f"{name}: {row['details']}")

    return ValidationOutcome(
        results=pl.DataFrame(rows, schema=RESULTS_SCHEMA),
        row_reasons=_join_reasons(reason_frames),
        blocking_failures=blocking,
    )


def _empty_outcome(suite: str, expectations: Sequence[Mapping[str, Any]]) -> ValidationOutcome:
    rows = [_result_row(suite, exp, expectation_name(suite, exp), True, 0, [], None) for exp in expectations]
    return ValidationOutcome(
        results=pl.DataFrame(rows, schema=RESULTS_SCHEMA),
        row_reasons=pl.DataFrame(schema=ROW_REASONS_SCHEMA),
        blocking_failures=[],
    )


def _to_pandas(frame: pl.DataFrame, expectations: Sequence[Mapping[str, Any]]) -> Any:
    """Only the columns the suite reads, with dtypes GE's pandas engine handles fast and right.

    GE's between-check is vectorised only for int64/float64 and tz-aware datetimes; other integer
    widths fall back to a per-value Python function. Naive datetimes are taken as UTC.
    """
    wanted: list[str] = []
    for exp in expectations:
        kwargs = exp["kwargs"]
        names = expectation_columns(exp) + list(kwargs.get("column_set", []))
        wanted.extend(c for c in names if c in frame.columns and c not in wanted)
    casts = []
    for name in wanted:
        dtype = frame.schema[name]
        if dtype.is_integer():
            casts.append(pl.col(name).cast(pl.Int64))
        elif dtype.is_float():
            casts.append(pl.col(name).cast(pl.Float64))
        elif isinstance(dtype, pl.Datetime):
            tz = dtype.time_zone
            col = pl.col(name).dt.replace_time_zone("UTC") if tz is None else pl.col(name).dt.convert_time_zone("UTC")
            casts.append(col)
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            casts.append(pl.col(name).cast(pl.String))
    # With none of the columns present, keep the row count so the missing columns are what fails.
    subset = frame.select(wanted).with_columns(casts) if wanted else frame.with_row_index("_").select("_")
    return subset.to_pandas()


def _summarise(
    frame: pl.DataFrame, suite: str, exp: Mapping[str, Any], name: str, result: Any
) -> tuple[dict[str, Any], pl.Series | None, list[str]]:
    """One results row, the failing row positions (map expectations) and their reasons."""
    error = _exception_message(result.exception_info)
    if error is not None:
        return _result_row(suite, exp, name, False, None, [], f"could not be evaluated: {error}"), None, []
    info = result.result or {}
    if result.success:
        return _result_row(suite, exp, name, True, int(info.get("unexpected_count") or 0), [], None), None, []

    kwargs = result.expectation_config.kwargs  # suite parameters already substituted
    if "unexpected_index_list" in info:
        indices = pl.Series("row_index", info["unexpected_index_list"], dtype=pl.Int64)
        values = _values_at(frame, exp, indices)
        # One short string per failing row only (not per input row): reasons are per-row text.
        descriptions = [_describe(exp["type"], kwargs, expectation_columns(exp), v) for v in values]
        reasons = [f"{name}: {d}" for d in descriptions]
        count = int(info.get("unexpected_count", len(indices)))
        total = int(info.get("element_count", frame.height))
        examples = _distinct([_fmt(v) if not isinstance(v, tuple) else _fmt_pair(v) for v in values])
        details = f"{count} of {total} rows failed, e.g. {descriptions[0]}" if descriptions else None
        return _result_row(suite, exp, name, False, count, examples, details), indices, reasons

    # Table-level expectations: missing columns, counts, and the like.
    missing = ((info.get("details") or {}).get("mismatched") or {}).get("missing")
    if missing:
        return _result_row(suite, exp, name, False, len(missing), missing, f"missing columns {missing}"), None, []
    observed = info.get("observed_value")
    details = f"observed {_fmt(observed)}" if observed is not None else "failed"
    return _result_row(suite, exp, name, False, 1, [], details), None, []


def _result_row(
    suite: str,
    exp: Mapping[str, Any],
    name: str,
    success: bool,
    unexpected_count: int | None,
    examples: Sequence[str],
    details: str | None,
) -> dict[str, Any]:
    columns = expectation_columns(exp)
    return {
        "suite": suite,
        "expectation": exp["type"],
        "column": ",".join(columns) if columns else None,
        "name": name,
        "success": success,
        "unexpected_count": unexpected_count,
        "severity": exp["meta"]["severity"],
        "scope": exp["meta"]["scope"],
        "example_values": list(examples[:_MAX_EXAMPLES]),
        "details": details,
    }


def _exception_message(info: Any) -> str | None:
    """GE nests exception info per metric when a metric fails; find the first message."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "unknown error")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "unknown error")
    return None


def _values_at(frame: pl.DataFrame, exp: Mapping[str, Any], indices: pl.Series) -> list[Any]:
    """The offending values, read back from the polars frame at the failing positions."""
    columns = [c for c in expectation_columns(exp) if c in frame.columns]
    if not columns:
        return [None] * len(indices)
    picked = frame.select(columns)[indices]
    if len(columns) == 1:
        return picked.to_series().to_list()
    return list(picked.iter_rows())


def _join_reasons(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=ROW_REASONS_SCHEMA)
    return (
        pl.concat(frames)
        .group_by("row_index", maintain_order=True)
        .agg(pl.col("reason").str.join("; "))
        .sort("row_index")
    )


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))[:_MAX_EXAMPLES]


def _fmt(value: Any) -> str:
    """A value as a person reads it in a reason: strings quoted and shortened."""
    if value is None or (isinstance(value, float) and value != value):
        return "null"
    if isinstance(value, str):
        text = value if len(value) <= _MAX_VALUE_CHARS else value[: _MAX_VALUE_CHARS - 1] + "…"
        return repr(text)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value) if not isinstance(value, int) else str(value)


def _fmt_pair(values: tuple[Any, ...]) -> str:
    return "(" + ", ".join(_fmt(v) for v in values) + ")"


def _out_of_range(kwargs: Mapping[str, Any]) -> str:
    """``not between 40 and 200000``, ``below the minimum 0``, ``above the maximum 500``."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and high is not None:
        return f"not between {_fmt(_as_bound(low))} and {_fmt(_as_bound(high))}"
    if low is not None:
        return f"{'not above' if kwargs.get('strict_min') else 'below the minimum'} {_fmt(_as_bound(low))}"
    return f"{'not below' if kwargs.get('strict_max') else 'above the maximum'} {_fmt(_as_bound(high))}"


def _as_bound(value: Any) -> Any:
    """Datetime bounds arrive as ISO strings or datetimes; show both the same way."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _describe(kind: str, kwargs: Mapping[str, Any], columns: Sequence[str], value: Any) -> str:
    """Why one value failed one expectation, in words."""
    v = _fmt(value)
    match kind:
        case "expect_column_values_to_not_be_null":
            return "value is null"
        case "expect_column_values_to_be_null":
            return f"value {v} is not null"
        case "expect_column_values_to_be_in_set":
            return f"value {v} not in {_fmt(list(kwargs['value_set']))}"
        case "expect_column_values_to_not_be_in_set":
            return f"value {v} is in the forbidden set {_fmt(list(kwargs['value_set']))}"
        case "expect_column_values_to_be_between":
            return f"value {v} {_out_of_range(kwargs)}"
        case "expect_column_value_lengths_to_be_between":
            length = len(value) if isinstance(value, str) else "null"
            return f"length {length} {_out_of_range(kwargs)} (value {v})"
        case "expect_column_values_to_match_regex":
            return f"value {v} does not match {kwargs['regex']!r}"
        case "expect_column_values_to_not_match_regex":
            return f"value {v} matches {kwargs['regex']!r}"
        case "expect_column_values_to_be_unique":
            return f"value {v} occurs more than once"
        case "expect_column_pair_values_a_to_be_greater_than_b":
            a, b = value
            relation = "greater than or equal to" if kwargs.get("or_equal") else "greater than"
            return f"{columns[0]} {_fmt(a)} not {relation} {columns[1]} {_fmt(b)}"
        case "expect_column_pair_values_to_be_equal":
            a, b = value
            return f"{columns[0]} {_fmt(a)} differs from {columns[1]} {_fmt(b)}"
    return f"unexpected value {_fmt_pair(value) if isinstance(value, tuple) else v}"
