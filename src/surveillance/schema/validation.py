"""Validate a table of order events against the canonical schema, row by row.

``validate_events`` reports every problem at once, each naming the row (0-based
position in the input) and the field, and splits the input into the rows that pass
(``valid``, exactly ``EVENT_SCHEMA``) and the rows that do not (``rejected``, with
their reasons and their input values as read). Nothing is dropped silently: every
input row is either valid or rejected, and a bad row never takes a good one down.

Decisions worth knowing:

- Column names are matched to the schema after stripping whitespace and ignoring
  case; two input columns that match the same field are ambiguous and raise
  ``SchemaError``. Columns outside the schema give one warning each and are kept
  only in the rejected output.
- A missing required column is one table-level problem (``row=None``); every row is
  then rejected with that reason, but the problem is not repeated once per row.
- Timestamps: integer nanoseconds since the epoch (ints, integral floats, digit
  strings), ISO 8601 strings (naive means UTC, offsets are converted to UTC), and
  datetime values (tz-naive means UTC).
- Duplicate ``event_id``: the first occurrence that is otherwise valid is kept (the
  first occurrence at all when none is), every other occurrence is rejected as
  ``duplicate of row N`` where N is the kept row. So a bad first copy does not get
  a good later copy rejected.
- Warnings (lifecycle orphans, crossed book, counterparty/trade id on a non-FILL)
  concern the valid rows only. Each kind gives one count warning (``row=None``) and
  at most ``MAX_EXAMPLES`` examples naming their row.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from surveillance.errors import InputFormatError, SchemaError
from surveillance.schema.event import (
    EVENT_FIELDS,
    EVENT_SCHEMA,
    FIELD_BY_NAME,
    REQUIRED_FIELDS,
    EventType,
    OrderType,
    Side,
)

__all__ = [
    "MAX_EXAMPLES",
    "Problem",
    "ValidationResult",
    "arrow_to_pandas",
    "read_table",
    "validate_events",
]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MAX_EXAMPLES = 20
"""Examples per warning kind, and problems shown in ``ValidationResult.summary``."""

_INT64_MAX_DIGITS = str(np.iinfo(np.int64).max)
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_ENUMS: dict[str, tuple[str, ...]] = {
    "event_type": tuple(e.value for e in EventType),
    "side": tuple(s.value for s in Side),
    "order_type": tuple(o.value for o in OrderType),
}
_POSITIVE_QUANTITY = (EventType.NEW.value, EventType.MODIFY.value, EventType.FILL.value)
_PRICED_ORDER_TYPES = (OrderType.LIMIT.value, OrderType.STOP.value)
_STRICTLY_POSITIVE = ("price", "bid_price", "ask_price")
_NON_NEGATIVE = ("bid_size", "ask_size")

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_DELIMITERS = ",;\t|"
_FIELD_ORDER = {f.name: k for k, f in enumerate(EVENT_FIELDS)}


@dataclass(frozen=True)
class Problem:
    """One finding: the row (0-based input position, None for the table), the field, why."""

    row: int | None
    field: str
    message: str
    value: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class ValidationResult:
    """The input split into valid and rejected rows, with every problem and warning."""

    valid: pa.Table
    rejected: pd.DataFrame
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    n_input: int

    @property
    def n_valid(self) -> int:
        return int(self.valid.num_rows)

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)

    def summary(self) -> dict[str, object]:
        """JSON-able counts, problems and warnings per field, and the first problems."""
        per_field = Counter(p.field for p in self.problems)
        warn_field = Counter(p.field for p in self.warnings)
        return {
            "n_input": self.n_input,
            "n_valid": self.n_valid,
            "n_rejected": self.n_rejected,
            "n_problems": len(self.problems),
            "n_warnings": len(self.warnings),
            "problems_per_field": dict(sorted(per_field.items())),
            "warnings_per_field": dict(sorted(warn_field.items())),
            "first_problems": [p.as_dict() for p in self.problems[:MAX_EXAMPLES]],
            "first_warnings": [p.as_dict() for p in self.warnings[:MAX_EXAMPLES]],
        }


@dataclass(frozen=True)
class _Issue:
    """The rows failing one check on one field, with one message and raw value each."""

    field: str
    rows: IntArray
    messages: tuple[str, ...]
    values: tuple[str | None, ...]


@dataclass(frozen=True)
class _Parsed:
    """A parsed column: values, where the input was null, where it could not be parsed."""

    values: Any  # np.ndarray (numbers, ns, flags) or pd.Series of strings
    null: BoolArray
    bad: BoolArray


# --------------------------------------------------------------------------------------
# conversions


def _mask(values: Any) -> BoolArray:
    """A plain numpy bool array from a (possibly nullable) boolean Series or array."""
    if isinstance(values, pd.Series | pd.Index):
        return np.asarray(values.to_numpy(dtype=bool, na_value=False), dtype=np.bool_)
    return np.asarray(values, dtype=np.bool_)


def _text(series: pd.Series) -> pd.Series:
    """Values as nullable strings, stripped; empty strings become null."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    text = series.astype(pd.StringDtype()).str.strip()
    return text.mask(_mask(text == ""))


def _raw_values(series: pd.Series, rows: IntArray) -> tuple[str | None, ...]:
    """The raw input values at ``rows``, as text (None for null)."""
    if len(rows) == 0:
        return ()
    sub = series.iloc[rows]
    missing = _mask(sub.isna())
    out = sub.to_numpy(dtype=object)
    return tuple(None if gone else str(v) for v, gone in zip(out, missing, strict=True))


def _objects(series: pd.Series) -> npt.NDArray[np.object_]:
    """An object array of the values, None where null."""
    out = np.asarray(series.to_numpy(dtype=object), dtype=object)
    out[_mask(series.isna())] = None
    return out


def _one_of(allowed: tuple[str, ...]) -> Callable[[int, str | None], str]:
    def message(_row: int, value: str | None) -> str:
        return f"must be one of {', '.join(allowed)}, got {_quote(value)}"

    return message


def _set_on_non_fill(
    event_type: npt.NDArray[np.object_], values: npt.NDArray[np.object_]
) -> Callable[[int], tuple[str, str | None]]:
    def example(row: int) -> tuple[str, str | None]:
        return f"set on a {event_type[row]} event", str(values[row])

    return example


def _quote(value: str | None) -> str:
    return "null" if value is None else repr(value)


def _is_numeric(series: pd.Series) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    )


def _types_mapper(arrow_type: pa.DataType) -> Any:
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype() if pa.types.is_signed_integer(arrow_type) else pd.UInt64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow to pandas without losing integer precision (nullable ints and booleans)."""
    frame = table.to_pandas(types_mapper=_types_mapper)
    if not isinstance(frame, pd.DataFrame):  # pragma: no cover - pyarrow contract
        raise SchemaError("pyarrow did not return a DataFrame")
    return frame


def _to_frame(table: pa.Table | pd.DataFrame) -> pd.DataFrame:
    if isinstance(table, pa.Table):
        frame = arrow_to_pandas(table)
    elif isinstance(table, pd.DataFrame):
        frame = table
    else:
        raise SchemaError(
            f"expected a pyarrow Table or a pandas DataFrame, got {type(table).__name__}"
        )
    frame = frame.reset_index(drop=True)
    names = [str(c) for c in frame.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaError(f"duplicate column names in the input: {', '.join(dupes)}")
    frame.columns = pd.Index(names)
    return frame


def _match_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Schema field -> input column, matching names stripped and case-insensitively."""
    matched: dict[str, str] = {}
    for column in frame.columns:
        key = str(column).strip().lower()
        if key not in FIELD_BY_NAME:
            continue
        if key in matched:
            raise SchemaError(
                f"columns {matched[key]!r} and {column!r} both match the field {key!r}"
            )
        matched[key] = str(column)
    return matched


# --------------------------------------------------------------------------------------
# column parsers


def _to_float(text: pd.Series) -> FloatArray:
    """Strings to floats, NaN where null or unparseable (Arrow fast path, pandas fallback)."""
    try:
        parsed = pc.cast(pa.array(text, type=pa.large_string()), pa.float64())
        return np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        numbers = pd.to_numeric(text, errors="coerce")
        return np.asarray(numbers.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _parse_number(series: pd.Series) -> _Parsed:
    if _is_numeric(series):
        null = _mask(series.isna())
        values = series.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = _text(series)
        null = _mask(text.isna())
        values = _to_float(text)
    values = np.asarray(values, dtype=np.float64)
    bad = ~null & ~np.isfinite(values)
    values = np.where(bad, np.nan, values)
    return _Parsed(values, null, bad)


def _digits_to_ns(text: pd.Series) -> tuple[IntArray, BoolArray]:
    """Signed digit strings to int64; flags those outside the int64 range."""
    sign = text.str.startswith("-").to_numpy(dtype=bool, na_value=False)
    digits = text.str.lstrip("+-").str.lstrip("0")
    length = digits.str.len().to_numpy(dtype=np.int64, na_value=0)
    fits = (length < len(_INT64_MAX_DIGITS)) | (
        (length == len(_INT64_MAX_DIGITS))
        & _mask(digits <= _INT64_MAX_DIGITS)
        & ~(sign & _mask(digits == _INT64_MAX_DIGITS))  # int64 min is NaT
    )
    safe = digits.where(fits & (length > 0), "0")
    values = safe.astype("int64").to_numpy(dtype=np.int64)
    values = np.where(sign, -values, values)
    return np.asarray(values, dtype=np.int64), np.asarray(fits, dtype=np.bool_)


def _parse_timestamp(series: pd.Series) -> _Parsed:
    """To int64 nanoseconds since the epoch, UTC."""
    n = len(series)
    values = np.zeros(n, dtype=np.int64)
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        series.dtype
    ):
        stamps = pd.DatetimeIndex(series)
        stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
        null = np.asarray(stamps.isna(), dtype=np.bool_)
        ns = stamps.as_unit("ns").asi8
        values = np.where(null, 0, ns).astype(np.int64)
        return _Parsed(values, null, np.zeros(n, dtype=np.bool_))
    if _is_numeric(series):
        null = _mask(series.isna())
        if pd.api.types.is_integer_dtype(series.dtype):
            big = series.astype("Float64").to_numpy(dtype=np.float64, na_value=0.0)
            bad = ~null & (np.abs(big) >= 2.0**63)
            safe = series.where(pd.Series(~bad & ~null, index=series.index), 0)
            values = np.asarray(safe.astype("int64").to_numpy(dtype=np.int64), dtype=np.int64)
        else:
            floats = series.astype("Float64").to_numpy(dtype=np.float64, na_value=0.0)
            ok = np.isfinite(floats) & (np.abs(floats) < 2.0**63) & (np.floor(floats) == floats)
            bad = ~null & ~ok
            values = np.where(ok & ~null, floats, 0.0).astype(np.int64)
        return _Parsed(np.where(bad | null, 0, values), null, bad)
    text = _text(series)
    null = _mask(text.isna())
    bad = np.zeros(n, dtype=np.bool_)
    is_digits = _mask(text.str.fullmatch(r"[+-]?\d+"))
    if is_digits.any():
        parsed, fits = _digits_to_ns(text[is_digits])
        values[is_digits] = np.where(fits, parsed, 0)
        bad[is_digits] = ~fits
    others = ~null & ~is_digits
    if others.any():
        index = pd.DatetimeIndex(
            pd.to_datetime(text[others], utc=True, errors="coerce", format="ISO8601")
        )
        failed = np.asarray(index.isna(), dtype=np.bool_)
        values[others] = np.where(failed, 0, index.as_unit("ns").asi8)
        bad[others] = failed
    return _Parsed(values, null, bad)


def _parse_flag(series: pd.Series) -> _Parsed:
    null = _mask(series.isna())
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=bool, na_value=False)
        return _Parsed(np.asarray(values, dtype=np.bool_), null, np.zeros(len(series), np.bool_))
    if _is_numeric(series):
        numbers = series.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        values = numbers == 1.0
        bad = ~null & ~(values | (numbers == 0.0))
        return _Parsed(np.asarray(values, dtype=np.bool_), null, np.asarray(bad, np.bool_))
    text = _text(series).str.lower()
    null = _mask(text.isna())
    true = _mask(text.isin(_TRUE))
    false = _mask(text.isin(_FALSE))
    return _Parsed(true, null, ~null & ~true & ~false)


def _issue(
    field: str,
    mask: BoolArray,
    raw: pd.Series,
    message: Callable[[int, str | None], str],
) -> _Issue | None:
    rows = np.flatnonzero(mask).astype(np.int64)
    if len(rows) == 0:
        return None
    values = _raw_values(raw, rows)
    messages = tuple(message(int(r), v) for r, v in zip(rows, values, strict=True))
    return _Issue(field, rows, messages, values)


def _duplicate_issue(
    event_id: pd.Series, raw: pd.Series, otherwise_bad: BoolArray
) -> _Issue | None:
    present = ~_mask(event_id.isna())
    if not _mask(event_id[present].duplicated()).any():
        return None
    ids = pd.DataFrame(
        {
            "id": event_id[present].to_numpy(dtype=object),
            "bad": otherwise_bad[present],
            "pos": np.flatnonzero(present),
        }
    )
    keepers = ids.sort_values(["bad", "pos"], kind="stable").drop_duplicates("id")
    keeper_of = pd.Series(keepers["pos"].to_numpy(), index=keepers["id"].to_numpy())
    keeper = ids["id"].map(keeper_of).to_numpy(dtype=np.int64)
    position = ids["pos"].to_numpy(dtype=np.int64)
    mask = np.zeros(len(event_id), dtype=np.bool_)
    mask[position[keeper != position]] = True
    keeper_at = np.full(len(event_id), -1, dtype=np.int64)
    keeper_at[position] = keeper
    return _issue("event_id", mask, raw, lambda r, _v: f"duplicate of row {keeper_at[r]}")


# --------------------------------------------------------------------------------------
# warnings on valid rows


def _warning_group(
    field: str,
    rows: IntArray,
    count_message: str,
    example: Callable[[int], tuple[str, str | None]],
) -> list[Problem]:
    if len(rows) == 0:
        return []
    out = [Problem(None, field, count_message, None)]
    for r in rows[:MAX_EXAMPLES]:
        message, value = example(int(r))
        out.append(Problem(int(r), field, message, value))
    return out


def _lifecycle_warnings(
    valid: BoolArray, event_type: npt.NDArray[np.object_], order_id: pd.Series, ns: IntArray
) -> list[Problem]:
    """MODIFY/FILL/CANCEL whose order has no NEW at or before it (by timestamp)."""
    rows = np.flatnonzero(valid)
    if len(rows) == 0:
        return []
    codes, uniques = pd.factorize(order_id.iloc[rows], use_na_sentinel=True)
    first_new = np.full(len(uniques), np.iinfo(np.int64).max, dtype=np.int64)
    et = event_type[rows]
    is_new = (et == EventType.NEW.value) & (codes >= 0)
    np.minimum.at(first_new, codes[is_new], ns[rows][is_new])
    later = ~(et == EventType.NEW.value) & (codes >= 0)
    orphan = np.zeros(len(rows), dtype=np.bool_)
    orphan[later] = first_new[codes[later]] > ns[rows][later]
    orphan_rows = rows[orphan]
    if len(orphan_rows) == 0:
        return []
    ids = _objects(order_id)
    n_orders = len(set(ids[orphan_rows].tolist()))
    return _warning_group(
        "order_id",
        orphan_rows,
        f"{len(orphan_rows)} MODIFY/FILL/CANCEL event(s) on {n_orders} order(s) have no "
        "earlier NEW in the table (expected when a capture starts mid-day)",
        lambda r: (f"{event_type[r]} of order {ids[r]!r} has no earlier NEW", str(ids[r])),
    )


# --------------------------------------------------------------------------------------
# validation


def validate_events(table: pa.Table | pd.DataFrame) -> ValidationResult:
    """Check every row of ``table`` against the event schema; split valid from rejected.

    Raises ``SchemaError`` only when the input cannot be interpreted as a table of
    columns at all (not a table, duplicate or ambiguous column names).
    """
    frame = _to_frame(table)
    n = len(frame)
    matched = _match_columns(frame)
    used = set(matched.values())
    null_column = pd.Series([None] * n, dtype=object)
    raw = {
        f.name: frame[matched[f.name]] if f.name in matched else null_column for f in EVENT_FIELDS
    }

    table_problems = [
        Problem(None, name, "required column is missing", None)
        for name in REQUIRED_FIELDS
        if name not in matched
    ]
    warnings = [
        Problem(None, str(c), "column is not in the event schema; it is left out of valid", None)
        for c in frame.columns
        if c not in used
    ]

    issues: list[_Issue | None] = []
    strings: dict[str, pd.Series] = {}
    numbers: dict[str, FloatArray] = {}
    flags: dict[str, _Parsed] = {}
    null: dict[str, BoolArray] = {}
    ns = np.zeros(n, dtype=np.int64)

    for spec in EVENT_FIELDS:
        name, column = spec.name, raw[spec.name]
        if spec.kind == "time":
            parsed = _parse_timestamp(column)
            ns = parsed.values
            null[name] = parsed.null
            issues.append(
                _issue(
                    name,
                    parsed.bad,
                    column,
                    lambda _r, v: f"cannot parse as ISO 8601 or integer nanoseconds: {_quote(v)}",
                )
            )
        elif spec.kind == "number":
            parsed = _parse_number(column)
            numbers[name] = parsed.values
            null[name] = parsed.null
            issues.append(
                _issue(name, parsed.bad, column, lambda _r, v: f"not a finite number: {_quote(v)}")
            )
        elif spec.kind == "flag":
            parsed = _parse_flag(column)
            flags[name] = parsed
            null[name] = parsed.null
            issues.append(
                _issue(
                    name,
                    parsed.bad,
                    column,
                    lambda _r, v: f"not a boolean (true/false, 1/0, yes/no): {_quote(v)}",
                )
            )
        else:
            text = _text(column)
            null[name] = _mask(text.isna())
            if name in _ENUMS:
                allowed = _ENUMS[name]
                upper = text.str.upper()
                known = _mask(upper.isin(allowed))
                unknown = ~null[name] & ~known
                issues.append(
                    _issue(
                        name,
                        unknown,
                        column,
                        _one_of(allowed),
                    )
                )
                text = upper.where(known)
                if name == "order_type":
                    text = text.fillna(OrderType.UNKNOWN.value)
                    null[name] = np.zeros(n, dtype=np.bool_)
            strings[name] = text
        if spec.required and name in matched:
            issues.append(_issue(name, null[name], column, lambda _r, _v: "is required"))

    event_type = _objects(strings["event_type"])
    order_type = _objects(strings["order_type"])

    quantity = numbers["quantity"]
    must_be_positive = np.isin(event_type, _POSITIVE_QUANTITY)
    bad_quantity = (quantity < 0) | ((quantity == 0) & must_be_positive)

    def quantity_message(r: int, v: str | None) -> str:
        et = event_type[r]
        if et is None:
            return f"must be >= 0, got {v}"
        return f"must be {'> 0' if must_be_positive[r] else '>= 0'} for {et}, got {v}"

    issues.append(_issue("quantity", bad_quantity, raw["quantity"], quantity_message))

    for name in _STRICTLY_POSITIVE:
        issues.append(
            _issue(name, numbers[name] <= 0, raw[name], lambda _r, v: f"must be > 0, got {v}")
        )
    for name in _NON_NEGATIVE:
        issues.append(
            _issue(name, numbers[name] < 0, raw[name], lambda _r, v: f"must be >= 0, got {v}")
        )

    is_fill = event_type == EventType.FILL.value
    priced_order = np.isin(event_type, (EventType.NEW.value, EventType.MODIFY.value)) & np.isin(
        order_type, _PRICED_ORDER_TYPES
    )
    price_missing = null["price"] & (is_fill | priced_order)
    issues.append(
        _issue(
            "price",
            price_missing,
            raw["price"],
            lambda r, _v: (
                "is required for a FILL"
                if is_fill[r]
                else f"is required for a {order_type[r]} {event_type[r]}"
            ),
        )
    )

    found = [i for i in issues if i is not None]
    otherwise_bad = np.zeros(n, dtype=np.bool_)
    for issue in found:
        otherwise_bad[issue.rows] = True
    if table_problems:
        otherwise_bad[:] = True
    duplicate = _duplicate_issue(strings["event_id"], raw["event_id"], otherwise_bad)
    if duplicate is not None:
        found.append(duplicate)

    rejected_mask = otherwise_bad.copy()
    if duplicate is not None:
        rejected_mask[duplicate.rows] = True
    valid_mask = ~rejected_mask

    # warnings, on valid rows only
    for name in ("counterparty_id", "trade_id"):
        rows = np.flatnonzero(valid_mask & ~null[name] & ~is_fill).astype(np.int64)
        warnings += _warning_group(
            name,
            rows,
            f"{len(rows)} non-FILL event(s) carry a {name} (only a FILL has one)",
            _set_on_non_fill(event_type, _objects(strings[name])),
        )
    bid, ask = numbers["bid_price"], numbers["ask_price"]
    crossed = np.flatnonzero(valid_mask & (bid > ask)).astype(np.int64)
    warnings += _warning_group(
        "bid_price",
        crossed,
        f"{len(crossed)} event(s) have a crossed book (bid_price > ask_price)",
        lambda r: (f"crossed book: bid_price {bid[r]} > ask_price {ask[r]}", str(bid[r])),
    )
    warnings += _lifecycle_warnings(valid_mask, event_type, strings["order_id"], ns)

    problems = _row_problems(found)
    return ValidationResult(
        valid=_valid_table(valid_mask, strings, numbers, flags, ns),
        rejected=_rejected_frame(frame, rejected_mask, found, table_problems),
        problems=tuple(table_problems) + problems,
        warnings=tuple(warnings),
        n_input=n,
    )


def _flatten(found: Sequence[_Issue]) -> pd.DataFrame:
    """All row-level issues, one line each, ordered by row then by check order."""
    if not found:
        return pd.DataFrame({"row": [], "seq": [], "field": [], "message": [], "value": []})
    flat = pd.DataFrame(
        {
            "row": np.concatenate([i.rows for i in found]),
            "seq": np.concatenate(
                [np.full(len(i.rows), k, dtype=np.int64) for k, i in enumerate(found)]
            ),
            "field": np.concatenate([np.full(len(i.rows), i.field, dtype=object) for i in found]),
            "message": np.concatenate([np.asarray(i.messages, dtype=object) for i in found]),
            "value": np.concatenate([np.asarray(i.values, dtype=object) for i in found]),
        }
    )
    flat["order"] = flat["field"].map(_FIELD_ORDER).fillna(len(_FIELD_ORDER)).astype(np.int64)
    return flat.sort_values(["row", "order", "seq"], kind="stable").reset_index(drop=True)


def _row_problems(found: Sequence[_Issue]) -> tuple[Problem, ...]:
    flat = _flatten(found)
    return tuple(
        Problem(int(row), str(field), str(message), None if value is None else str(value))
        for row, field, message, value in zip(
            flat["row"].tolist(),
            flat["field"].tolist(),
            flat["message"].tolist(),
            flat["value"].tolist(),
            strict=True,
        )
    )


def _rejected_frame(
    frame: pd.DataFrame,
    rejected_mask: BoolArray,
    found: Sequence[_Issue],
    table_problems: Sequence[Problem],
) -> pd.DataFrame:
    rows = np.flatnonzero(rejected_mask).astype(np.int64)
    prefix = "; ".join(f"{p.field}: {p.message}" for p in table_problems)
    flat = _flatten(found)
    per_row: dict[int, str] = {}
    if len(flat):
        text = flat["field"].astype(object) + ": " + flat["message"].astype(object)
        joined = text.groupby(flat["row"].to_numpy(), sort=True).agg("; ".join)
        per_row = dict(zip(joined.index.tolist(), joined.astype(str).tolist(), strict=True))
    reasons = ["; ".join(x for x in (prefix, per_row.get(int(r), "")) if x) for r in rows]
    inputs = frame.iloc[rows].reset_index(drop=True)
    inputs.columns = pd.Index(
        [f"{c}_input" if c in ("row", "reasons") else str(c) for c in inputs.columns]
    )
    out = pd.DataFrame({"row": rows, "reasons": pd.Series(reasons, dtype=object)})
    return pd.concat([out, inputs], axis=1)


def _valid_table(
    valid_mask: BoolArray,
    strings: dict[str, pd.Series],
    numbers: dict[str, FloatArray],
    flags: dict[str, _Parsed],
    ns: IntArray,
) -> pa.Table:
    rows = np.flatnonzero(valid_mask)
    arrays: list[pa.Array] = []
    for spec in EVENT_FIELDS:
        if spec.kind == "time":
            arrays.append(pa.array(ns[rows], type=spec.type))
        elif spec.kind == "number":
            arrays.append(pa.array(numbers[spec.name][rows], type=spec.type, from_pandas=True))
        elif spec.kind == "flag":
            parsed = flags[spec.name]
            arrays.append(pa.array(parsed.values[rows], type=spec.type, mask=parsed.null[rows]))
        else:
            column = strings[spec.name]
            chosen = column if len(rows) == len(column) else column.iloc[rows]
            arrays.append(pa.array(chosen, type=spec.type))
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


# --------------------------------------------------------------------------------------
# reading files


def _open_text(path: Path, compressed: bool, encoding: str) -> IO[str]:
    if compressed:
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open("r", encoding=encoding, newline="")


def _sniff_delimiter(sample: str) -> str:
    """The delimiter most present in the header line; csv.Sniffer breaks ties."""
    header = sample.splitlines()[0] if sample.splitlines() else ""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts.values())
    leaders = [d for d, c in counts.items() if c == best and c > 0]
    if len(leaders) == 1:
        return leaders[0]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ","
    return sniffed if not leaders or sniffed in leaders else leaders[0]


def _read_csv(path: Path, compressed: bool) -> pd.DataFrame:
    try:
        with _open_text(path, compressed, "utf-8-sig") as handle:
            sample = handle.read(65536)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{path}: cannot read as UTF-8 CSV: {exc}") from exc
    if not sample.strip():
        raise InputFormatError(f"{path}: file is empty")
    try:
        return pd.read_csv(
            path,
            sep=_sniff_delimiter(sample),
            dtype=str,
            keep_default_na=True,
            compression="gzip" if compressed else None,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise InputFormatError(f"{path}: cannot parse as CSV: {exc}") from exc


def _read_jsonl(path: Path, compressed: bool) -> pd.DataFrame:
    records: list[dict[str, object]] = []
    try:
        with _open_text(path, compressed, "utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputFormatError(
                        f"{path}: line {lineno} is not valid JSON: {exc.msg}"
                    ) from exc
                if not isinstance(record, dict):
                    raise InputFormatError(f"{path}: line {lineno} is not a JSON object")
                records.append(record)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{path}: cannot read as UTF-8 JSON lines: {exc}") from exc
    if not records:
        raise InputFormatError(f"{path}: file has no JSON records")
    return pd.DataFrame(records, dtype=object)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputFormatError(f"{path}: cannot read as Parquet: {exc}") from exc
    if table.num_columns == 0:
        raise InputFormatError(f"{path}: Parquet file has no columns")
    return arrow_to_pandas(table)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (any delimiter, gzip ok), Parquet or JSON lines file (gzip ok).

    CSV cells are read as strings (empty cells and the usual NA markers are null), so
    validation sees the values exactly as written. Raises ``InputFormatError`` for an
    unknown extension, a missing, unreadable or empty file.
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    kinds = suffixes[:-1] if compressed else suffixes
    kind = kinds[-1] if kinds else ""
    known = _CSV_SUFFIXES + _JSONL_SUFFIXES + (() if compressed else _PARQUET_SUFFIXES)
    if kind not in known:
        shown = "".join(path.suffixes) or "(none)"
        raise InputFormatError(
            f"{path}: unknown file extension {shown}; expected .csv, .tsv, .txt, .jsonl, "
            ".ndjson (each optionally .gz), .parquet or .pq"
        )
    if not path.is_file():
        raise InputFormatError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputFormatError(f"{path}: file is empty")
    if kind in _PARQUET_SUFFIXES:
        return _read_parquet(path)
    if kind in _JSONL_SUFFIXES:
        return _read_jsonl(path, compressed)
    return _read_csv(path, compressed)
