"""Validation of order-event tables: every problem reported, nothing dropped silently."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveillance.errors import InputFormatError, SchemaError
from surveillance.schema.event import EVENT_SCHEMA, REQUIRED_FIELDS
from surveillance.schema.validation import (
    MAX_EXAMPLES,
    Problem,
    ValidationResult,
    read_table,
    validate_events,
)

T0 = "2024-01-02T10:00:00Z"
T0_NS = 1_704_189_600_000_000_000


def event(**overrides: Any) -> dict[str, Any]:
    """A valid NEW limit order as raw strings, with overrides."""
    row: dict[str, Any] = {
        "event_id": "e0",
        "timestamp": T0,
        "event_type": "NEW",
        "order_id": "o0",
        "instrument_id": "FR0000120271",
        "venue": "XPAR",
        "side": "BUY",
        "price": "10.5",
        "quantity": "100",
        "order_type": "LIMIT",
        "trader_id": "alice",
        "is_algo": "false",
    }
    row.update(overrides)
    return row


def clean_rows() -> list[dict[str, Any]]:
    """A small consistent order life: NEW, MODIFY, FILL (with trade), CANCEL, plus a market NEW."""
    return [
        event(event_id="e1", timestamp="2024-01-02T10:00:00Z", order_id="o1"),
        event(
            event_id="e2",
            timestamp="2024-01-02T10:00:01Z",
            event_type="MODIFY",
            order_id="o1",
            price="10.4",
            quantity="80",
        ),
        event(
            event_id="e3",
            timestamp="2024-01-02T10:00:02Z",
            event_type="FILL",
            order_id="o1",
            price="10.4",
            quantity="30",
            counterparty_id="bob",
            trade_id="T1",
            is_algo="true",
        ),
        event(
            event_id="e4",
            timestamp="2024-01-02T10:00:03Z",
            event_type="CANCEL",
            order_id="o1",
            quantity="50",
        ),
        event(
            event_id="e5",
            timestamp="2024-01-02T10:00:04Z",
            order_id="o2",
            side="SELL",
            price=None,
            order_type="MARKET",
            is_algo=None,
        ),
    ]


def three_rows_middle(**bad: Any) -> pd.DataFrame:
    """Rows 0 and 2 are valid NEWs; row 1 is a valid NEW with ``bad`` applied."""
    return pd.DataFrame(
        [
            event(event_id="a", order_id="oa"),
            event(**{"event_id": "b", "order_id": "ob", **bad}),
            event(event_id="c", order_id="oc"),
        ]
    )


def valid_ids(result: ValidationResult) -> list[str]:
    return [str(v) for v in result.valid.column("event_id").to_pylist()]


# --------------------------------------------------------------------------------------
# clean input


def test_clean_table_passes_entirely_and_has_the_event_schema() -> None:
    # GIVEN a table of valid events as strings (as read from a CSV)
    frame = pd.DataFrame(clean_rows())
    # WHEN it is validated
    result = validate_events(frame)
    # THEN every row is valid, nothing is rejected and the output is exactly EVENT_SCHEMA
    assert result.n_input == 5
    assert result.n_valid == 5
    assert result.n_rejected == 0
    assert result.problems == ()
    assert result.valid.schema.equals(EVENT_SCHEMA)
    assert valid_ids(result) == ["e1", "e2", "e3", "e4", "e5"]
    # AND values are parsed and normalised
    assert result.valid.column("timestamp")[0].value == T0_NS
    assert result.valid.column("quantity").to_pylist() == [100.0, 80.0, 30.0, 50.0, 100.0]
    assert result.valid.column("is_algo").to_pylist() == [False, False, True, False, None]
    assert result.valid.column("price").to_pylist()[4] is None
    assert result.valid.column("trade_id").to_pylist() == [None, None, "T1", None, None]
    # AND absent optional columns are all-null
    assert result.valid.column("bid_price").null_count == 5
    assert result.valid.column("is_hft").null_count == 5


def test_valid_output_round_trips_through_validation_unchanged() -> None:
    # GIVEN the valid output of a first validation
    first = validate_events(pd.DataFrame(clean_rows()))
    # WHEN that Arrow table is validated again
    second = validate_events(first.valid)
    # THEN it is entirely valid and identical
    assert second.n_rejected == 0
    assert second.valid.equals(first.valid)


def test_codes_are_case_and_space_insensitive_and_order_type_null_means_unknown() -> None:
    # GIVEN lower-case, padded codes and a null order type
    frame = pd.DataFrame(
        [event(event_type="  new ", side="sell", order_type=None, price=None, is_algo=" Y ")]
    )
    # WHEN validated
    result = validate_events(frame)
    # THEN they are normalised to the canonical upper-case codes, UNKNOWN for the type
    assert result.n_valid == 1
    row = result.valid.to_pylist()[0]
    assert (row["event_type"], row["side"], row["order_type"]) == ("NEW", "SELL", "UNKNOWN")
    assert row["is_algo"] is True


def test_string_ids_are_stripped() -> None:
    result = validate_events(pd.DataFrame([event(event_id="  e9 ", trader_id="  ")]))
    assert valid_ids(result) == ["e9"]
    assert result.valid.column("trader_id").to_pylist() == [None]


def test_cancel_with_zero_quantity_is_valid() -> None:
    frame = pd.DataFrame([event(event_type="CANCEL", quantity="0")])
    assert validate_events(frame).n_valid == 1


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("true", True),
        ("FALSE", False),
        ("1", True),
        ("0", False),
        ("yes", True),
        ("No", False),
        ("y", True),
        ("n", False),
        ("T", True),
        ("f", False),
        (True, True),
        (False, False),
        (None, None),
    ],
)
def test_flag_spellings(flag: object, expected: bool | None) -> None:
    result = validate_events(pd.DataFrame([event(is_hft=flag)]))
    assert result.n_valid == 1
    assert result.valid.column("is_hft").to_pylist() == [expected]


# --------------------------------------------------------------------------------------
# timestamps


def test_iso_integer_ns_and_offset_timestamps_are_the_same_instant() -> None:
    # GIVEN the same instant written five ways
    spellings = [
        "2024-01-02T10:00:00Z",
        "2024-01-02T10:00:00",  # naive means UTC
        "2024-01-02T11:00:00+01:00",
        "2024-01-02 05:00:00-05:00",
        str(T0_NS),
    ]
    frame = pd.DataFrame([event(event_id=f"e{i}", timestamp=t) for i, t in enumerate(spellings)])
    # WHEN validated
    result = validate_events(frame)
    # THEN all parse to the same UTC nanosecond
    assert result.n_valid == 5
    assert [t.value for t in result.valid.column("timestamp")] == [T0_NS] * 5


def test_integer_timestamp_keeps_nanosecond_precision() -> None:
    # GIVEN integer nanoseconds (int column and digit string) with a 1 ns component
    as_int = pd.DataFrame([event(timestamp=T0_NS + 123_456_789)])
    as_text = pd.DataFrame([event(timestamp=str(T0_NS + 1))])
    iso_ns = pd.DataFrame([event(timestamp="2024-01-02T10:00:00.000000001Z")])
    # WHEN validated, THEN no precision is lost
    assert validate_events(as_int).valid.column("timestamp")[0].value == T0_NS + 123_456_789
    assert validate_events(as_text).valid.column("timestamp")[0].value == T0_NS + 1
    assert validate_events(iso_ns).valid.column("timestamp")[0].value == T0_NS + 1


def test_negative_and_out_of_range_integer_timestamps() -> None:
    # GIVEN ns before the epoch, and a digit string beyond the int64 range
    frame = pd.DataFrame(
        [
            event(event_id="before", timestamp="-1"),
            event(event_id="huge", timestamp="99999999999999999999"),
        ]
    )
    # WHEN validated
    result = validate_events(frame)
    # THEN the negative one is 1 ns before the epoch, the huge one is rejected
    assert result.valid.column("timestamp")[0].value == -1
    assert result.rejected["row"].tolist() == [1]
    assert "timestamp: cannot parse" in str(result.rejected["reasons"].iloc[0])


def test_pandas_timestamps_naive_and_aware_are_utc() -> None:
    # GIVEN datetime columns, tz-naive (means UTC) and tz-aware (Paris)
    naive = pd.DataFrame([event(timestamp=pd.Timestamp("2024-01-02 10:00:00"))])
    paris = pd.DataFrame([event(timestamp=pd.Timestamp("2024-01-02 11:00:00", tz="Europe/Paris"))])
    naive["timestamp"] = pd.to_datetime(naive["timestamp"])
    # WHEN validated, THEN both give the same UTC instant
    assert validate_events(naive).valid.column("timestamp")[0].value == T0_NS
    assert validate_events(paris).valid.column("timestamp")[0].value == T0_NS


def test_arrow_table_with_typed_columns_is_accepted() -> None:
    # GIVEN an Arrow table with int64 ns timestamps, float quantities and bool flags
    table = pa.table(
        {
            "event_id": ["e1", "e2"],
            "timestamp": pa.array([T0_NS, T0_NS + 1], pa.int64()),
            "event_type": ["NEW", "CANCEL"],
            "order_id": ["o1", "o1"],
            "instrument_id": ["X", "X"],
            "side": ["BUY", "BUY"],
            "price": [10.0, None],
            "quantity": pa.array([5, 5], pa.int32()),
            "is_algo": pa.array([True, None], pa.bool_()),
        }
    )
    # WHEN validated
    result = validate_events(table)
    # THEN it is valid and typed
    assert result.n_valid == 2
    assert [t.value for t in result.valid.column("timestamp")] == [T0_NS, T0_NS + 1]
    assert result.valid.column("is_algo").to_pylist() == [True, None]


# --------------------------------------------------------------------------------------
# each bad-input kind, alone, in the middle of good rows

BAD_KINDS = [
    pytest.param({"quantity": "abc"}, "quantity", "not a finite number", id="unparseable-number"),
    pytest.param({"quantity": "inf"}, "quantity", "not a finite number", id="infinite-number"),
    pytest.param({"quantity": "-5"}, "quantity", "must be > 0 for NEW, got -5", id="negative-qty"),
    pytest.param({"quantity": "0"}, "quantity", "must be > 0 for NEW", id="zero-qty-new"),
    pytest.param(
        {"event_type": "CANCEL", "quantity": "-1"}, "quantity", ">= 0 for CANCEL", id="neg-cancel"
    ),
    pytest.param({"event_type": "AMEND"}, "event_type", "must be one of", id="unknown-type"),
    pytest.param({"side": "LONG"}, "side", "BUY, SELL", id="unknown-side"),
    pytest.param({"order_type": "ICEBERG"}, "order_type", "LIMIT", id="unknown-order-type"),
    pytest.param({"timestamp": "yesterday"}, "timestamp", "'yesterday'", id="bad-timestamp"),
    pytest.param({"timestamp": "2024-13-45T10:00:00"}, "timestamp", "cannot parse", id="bad-date"),
    pytest.param({"is_algo": "maybe"}, "is_algo", "not a boolean", id="bad-flag"),
    pytest.param({"is_hft": "2"}, "is_hft", "not a boolean", id="bad-flag-number"),
    pytest.param({"price": "-3"}, "price", "must be > 0, got -3", id="negative-price"),
    pytest.param({"price": "ten"}, "price", "not a finite number: 'ten'", id="unparseable-price"),
    pytest.param({"price": None}, "price", "is required for a LIMIT NEW", id="limit-no-price"),
    pytest.param(
        {"event_type": "FILL", "price": None}, "price", "is required for a FILL", id="fill-no-price"
    ),
    pytest.param({"bid_size": "-1"}, "bid_size", "must be >= 0", id="negative-size"),
    pytest.param({"ask_price": "0"}, "ask_price", "must be > 0", id="zero-ask"),
    pytest.param({"order_id": ""}, "order_id", "is required", id="empty-required-id"),
    pytest.param({"instrument_id": None}, "instrument_id", "is required", id="null-required"),
    pytest.param({"event_id": "a"}, "event_id", "duplicate of row 0", id="duplicate-event-id"),
]


@pytest.mark.parametrize(("bad", "field", "fragment"), BAD_KINDS)
def test_each_bad_kind_rejects_only_its_row(bad: dict[str, Any], field: str, fragment: str) -> None:
    # GIVEN three rows, the middle one bad in exactly one way
    frame = three_rows_middle(**bad)
    # WHEN validated
    result = validate_events(frame)
    # THEN only row 1 is rejected, and its reason names the field and the problem
    assert result.n_rejected == 1
    assert result.rejected["row"].tolist() == [1]
    reasons = str(result.rejected["reasons"].iloc[0])
    assert reasons.startswith(f"{field}: ")
    assert fragment in reasons
    # AND the problem is recorded with the row and the field
    assert [(p.row, p.field) for p in result.problems] == [(1, field)]
    assert fragment in result.problems[0].message
    # AND the good rows on either side stay valid
    assert valid_ids(result) == ["a", "c"]
    assert result.n_valid + result.n_rejected == result.n_input == 3


def test_rejected_rows_keep_their_input_values() -> None:
    # GIVEN a bad row with an unparseable quantity
    result = validate_events(three_rows_middle(quantity="12,5"))
    # THEN the rejected output shows the raw input as it was read
    rejected = result.rejected
    assert list(rejected.columns[:2]) == ["row", "reasons"]
    assert rejected["quantity"].iloc[0] == "12,5"
    assert rejected["event_id"].iloc[0] == "b"
    assert result.problems[0].value == "12,5"


def test_missing_required_column_rejects_every_row_with_a_table_level_problem() -> None:
    # GIVEN a table without the quantity column
    frame = pd.DataFrame(clean_rows()).drop(columns=["quantity"])
    # WHEN validated
    result = validate_events(frame)
    # THEN a table-level problem names the column, first among the problems
    assert result.problems[0] == Problem(None, "quantity", "required column is missing", None)
    # AND every row is rejected with that reason, nothing is valid
    assert result.n_valid == 0
    assert result.rejected["row"].tolist() == [0, 1, 2, 3, 4]
    assert all("quantity: required column is missing" in r for r in result.rejected["reasons"])
    assert result.valid.schema.equals(EVENT_SCHEMA)


@pytest.mark.parametrize("column", REQUIRED_FIELDS)
def test_every_required_column_is_enforced(column: str) -> None:
    frame = pd.DataFrame(clean_rows()).drop(columns=[column])
    result = validate_events(frame)
    assert result.n_valid == 0
    assert (None, column) in [(p.row, p.field) for p in result.problems]


def test_missing_optional_columns_are_fine() -> None:
    # GIVEN only the required columns (a market order needs no price)
    frame = pd.DataFrame([event(order_type="MARKET")])[list(REQUIRED_FIELDS)]
    # WHEN validated, THEN it is valid with nulls for the rest
    result = validate_events(frame)
    assert result.n_valid == 1
    assert result.valid.column("venue").to_pylist() == [None]
    assert result.valid.column("order_type").to_pylist() == ["UNKNOWN"]


def test_several_problems_in_one_row_are_all_reported() -> None:
    # GIVEN one row with four distinct problems next to a good row
    frame = pd.DataFrame(
        [
            event(event_id="ok"),
            event(
                event_id="bad",
                timestamp="not a time",
                side="UP",
                quantity="-5",
                is_hft="perhaps",
            ),
        ]
    )
    # WHEN validated
    result = validate_events(frame)
    # THEN all four are problems on row 1 and all four appear in its reasons
    fields = {p.field for p in result.problems if p.row == 1}
    assert fields == {"timestamp", "side", "quantity", "is_hft"}
    reasons = str(result.rejected["reasons"].iloc[0])
    for field in ("timestamp", "side", "quantity", "is_hft"):
        assert f"{field}: " in reasons
    assert reasons.count("; ") == 3
    assert valid_ids(result) == ["ok"]


def test_duplicate_event_id_rejects_later_occurrences_only() -> None:
    # GIVEN event id "x" at rows 0, 2 and 3
    frame = pd.DataFrame(
        [
            event(event_id="x"),
            event(event_id="y"),
            event(event_id="x", order_id="o2"),
            event(event_id="x", order_id="o3"),
        ]
    )
    # WHEN validated
    result = validate_events(frame)
    # THEN rows 2 and 3 are rejected as duplicates of row 0, row 0 is kept
    assert result.rejected["row"].tolist() == [2, 3]
    assert result.rejected["reasons"].tolist() == ["event_id: duplicate of row 0"] * 2
    assert valid_ids(result) == ["x", "y"]


def test_a_bad_first_copy_does_not_take_a_good_duplicate_down() -> None:
    # GIVEN a bad row 0 and a good row 1 sharing the event id
    frame = pd.DataFrame([event(event_id="x", quantity="oops"), event(event_id="x")])
    # WHEN validated
    result = validate_events(frame)
    # THEN the good row 1 is the kept copy; row 0 is rejected for its own problem too
    assert valid_ids(result) == ["x"]
    assert result.rejected["row"].tolist() == [0]
    reasons = str(result.rejected["reasons"].iloc[0])
    assert "quantity: not a finite number" in reasons
    assert "event_id: duplicate of row 1" in reasons


def test_extra_columns_warn_and_stay_out_of_valid() -> None:
    # GIVEN an unknown column next to the schema
    frame = three_rows_middle(quantity="-1")
    frame["desk"] = ["d1", "d2", "d3"]
    # WHEN validated
    result = validate_events(frame)
    # THEN one warning names it, it is not in valid but is in the rejected output
    assert Problem(None, "desk", result.warnings[0].message, None) == result.warnings[0]
    assert "desk" not in result.valid.column_names
    assert result.rejected["desk"].tolist() == ["d2"]


def test_column_names_match_case_and_space_insensitively() -> None:
    frame = pd.DataFrame(clean_rows()).rename(columns={"event_id": " Event_ID ", "side": "SIDE"})
    result = validate_events(frame)
    assert result.n_valid == 5
    assert result.warnings == ()


def test_ambiguous_columns_raise_schema_error() -> None:
    frame = pd.DataFrame(clean_rows())
    frame["Side"] = frame["side"]
    with pytest.raises(SchemaError, match="side"):
        validate_events(frame)


def test_non_table_input_raises_schema_error() -> None:
    with pytest.raises(SchemaError, match="list"):
        validate_events([1, 2, 3])  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# warnings


def test_lifecycle_orphans_are_warnings_not_rejections() -> None:
    # GIVEN a FILL of an order never opened, a CANCEL before its NEW, and a normal life
    frame = pd.DataFrame(
        [
            event(event_id="f", event_type="FILL", order_id="ghost", trade_id="T9"),
            event(event_id="c", event_type="CANCEL", order_id="late", timestamp="2024-01-02T09"),
            event(event_id="n", order_id="late", timestamp="2024-01-02T10:00:00Z"),
            *clean_rows(),
        ]
    )
    # WHEN validated
    result = validate_events(frame)
    # THEN nothing is rejected
    assert result.n_rejected == 0
    # AND a count warning and one example per orphan name the order_id field
    orphans = [w for w in result.warnings if w.field == "order_id"]
    assert orphans[0].row is None
    assert orphans[0].message.startswith("2 MODIFY/FILL/CANCEL event(s) on 2 order(s)")
    assert sorted(w.row for w in orphans[1:] if w.row is not None) == [0, 1]
    assert {w.value for w in orphans[1:]} == {"ghost", "late"}


def test_lifecycle_examples_are_capped() -> None:
    frame = pd.DataFrame(
        [event(event_id=f"e{i}", order_id=f"o{i}", event_type="CANCEL") for i in range(30)]
    )
    warnings = validate_events(frame).warnings
    assert len(warnings) == 1 + MAX_EXAMPLES
    assert warnings[0].message.startswith("30 ")


def test_counterparty_on_non_fill_and_crossed_book_warn_only() -> None:
    # GIVEN a NEW carrying a counterparty and a crossed book quote
    frame = pd.DataFrame(
        [event(counterparty_id="bob", bid_price="10.2", ask_price="10.1", bid_size="1")]
    )
    # WHEN validated
    result = validate_events(frame)
    # THEN the row is valid and each finding is a warning naming its field and row
    assert result.n_valid == 1
    assert {(w.field, w.row) for w in result.warnings} == {
        ("counterparty_id", None),
        ("counterparty_id", 0),
        ("bid_price", None),
        ("bid_price", 0),
    }
    assert any("crossed book" in w.message for w in result.warnings)


def test_summary_is_json_able_with_counts() -> None:
    frame = three_rows_middle(quantity="-5", side="UP")
    summary = validate_events(frame).summary()
    decoded = json.loads(json.dumps(summary))
    assert decoded["n_input"] == 3
    assert decoded["n_valid"] == 2
    assert decoded["n_rejected"] == 1
    assert decoded["problems_per_field"] == {"quantity": 1, "side": 1}
    assert decoded["first_problems"][0]["row"] == 1


def test_a_large_table_validates_quickly() -> None:
    # GIVEN 200k string rows (a scaled-down stand-in for a day), 1 % with a bad quantity
    n = 200_000
    quantity = np.full(n, "10", dtype=object)
    quantity[::100] = "-1"
    frame = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "timestamp": (T0_NS + np.arange(n)).astype(str),
            "event_type": "NEW",
            "order_id": [f"o{i}" for i in range(n)],
            "instrument_id": "X",
            "side": "BUY",
            "price": "10",
            "quantity": quantity,
        }
    )
    import time

    start = time.perf_counter()
    result = validate_events(frame)
    elapsed = time.perf_counter() - start
    # THEN the bad rows, and only them, are rejected, within a generous budget
    assert result.n_rejected == n // 100
    assert result.n_valid == n - n // 100
    assert elapsed < 10.0


# --------------------------------------------------------------------------------------
# reading files


def write_csv(path: Path, rows: list[dict[str, Any]], sep: str) -> None:
    pd.DataFrame(rows).to_csv(path, sep=sep, index=False)


def test_read_csv_with_semicolons_reads_strings(tmp_path: Path) -> None:
    # GIVEN a ';'-separated CSV with a leading-zero id and an empty cell
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id;timestamp;quantity;trader_id\n007;2024-01-02T10:00:00Z;1,5;\n",
        encoding="utf-8",
    )
    # WHEN read
    frame = read_table(path)
    # THEN columns are split on ';', values stay strings and empty is null
    assert list(frame.columns) == ["event_id", "timestamp", "quantity", "trader_id"]
    assert frame["event_id"].iloc[0] == "007"
    assert frame["quantity"].iloc[0] == "1,5"
    assert pd.isna(frame["trader_id"].iloc[0])


def test_read_gzip_csv_and_validate(tmp_path: Path) -> None:
    # GIVEN a gzip-compressed tab-separated CSV of clean events
    path = tmp_path / "events.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        pd.DataFrame(clean_rows()).to_csv(handle, sep="\t", index=False)
    # WHEN read and validated
    result = validate_events(read_table(path))
    # THEN every row is valid
    assert result.n_valid == 5
    assert valid_ids(result) == ["e1", "e2", "e3", "e4", "e5"]


@pytest.mark.parametrize("name", ["events.jsonl", "events.ndjson", "events.jsonl.gz"])
def test_read_json_lines(tmp_path: Path, name: str) -> None:
    # GIVEN JSON lines with native ints (ns timestamps) and booleans, one key absent
    records = [
        {**event(event_id="e1"), "timestamp": T0_NS + 1, "quantity": 5, "is_algo": True},
        {k: v for k, v in event(event_id="e2").items() if k != "venue"},
    ]
    text = "\n".join(json.dumps(r) for r in records) + "\n\n"
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    # WHEN read and validated
    result = validate_events(read_table(path))
    # THEN both rows are valid, the big integer exact, the absent key null
    assert result.n_valid == 2
    assert result.valid.column("timestamp")[0].value == T0_NS + 1
    assert result.valid.column("venue").to_pylist() == ["XPAR", None]
    assert result.valid.column("is_algo").to_pylist() == [True, False]


def test_read_parquet(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(validate_events(pd.DataFrame(clean_rows())).valid, path)
    result = validate_events(read_table(path))
    assert result.n_valid == 5
    assert result.valid.schema.equals(EVENT_SCHEMA)


def test_read_unknown_extension_raises(tmp_path: Path) -> None:
    path = tmp_path / "events.xlsx"
    path.write_bytes(b"not really")
    with pytest.raises(InputFormatError, match=r"unknown file extension \.xlsx"):
        read_table(path)


@pytest.mark.parametrize("name", ["events.csv", "events.jsonl", "events.parquet"])
def test_read_empty_file_raises(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(InputFormatError, match="empty"):
        read_table(path)


def test_read_missing_or_unreadable_files_raise(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    broken_gzip = tmp_path / "events.csv.gz"
    broken_gzip.write_bytes(b"plain text, not gzip")
    with pytest.raises(InputFormatError, match="cannot read"):
        read_table(broken_gzip)
    not_parquet = tmp_path / "events.parquet"
    not_parquet.write_text("a,b\n1,2\n")
    with pytest.raises(InputFormatError, match="Parquet"):
        read_table(not_parquet)
    bad_json = tmp_path / "events.jsonl"
    bad_json.write_text('{"event_id": "e1"}\n{oops\n')
    with pytest.raises(InputFormatError, match="line 2"):
        read_table(bad_json)


# --------------------------------------------------------------------------------------
# property: every row is valid or rejected, and the rejected are exactly the bad ones

CORRUPTIONS: dict[str, dict[str, Any]] = {
    "negative_quantity": {"quantity": "-7"},
    "text_quantity": {"quantity": "seven"},
    "unknown_type": {"event_type": "REPLACE"},
    "bad_timestamp": {"timestamp": "10:00 tomorrow"},
    "bad_flag": {"is_algo": "sometimes"},
    "fill_without_price": {"event_type": "FILL", "price": ""},
    "missing_order_id": {"order_id": None},
    "bad_side": {"side": "BOTH"},
    "zero_price": {"price": "0"},
    "duplicate_id": {},  # filled in with the id of an earlier good row
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(sorted(CORRUPTIONS))),
        min_size=1,
        max_size=25,
    )
)
def test_property_rows_split_into_valid_and_exactly_the_bad_ones(
    plan: list[str | None],
) -> None:
    # GIVEN a random mix of good rows (None) and rows with one corruption each
    rows: list[dict[str, Any]] = []
    bad: set[int] = set()
    good_ids: list[str] = []
    for i, corruption in enumerate(plan):
        kinds = ["NEW", "MODIFY", "CANCEL", "FILL"]
        row = event(
            event_id=f"e{i}",
            order_id=f"o{i % 4}",
            event_type=kinds[i % 4],
            timestamp=str(T0_NS + i),
        )
        if corruption is None or (corruption == "duplicate_id" and not good_ids):
            rows.append(row)
            good_ids.append(row["event_id"])
            continue
        if corruption == "duplicate_id":
            row["event_id"] = good_ids[0]
        else:
            row.update(CORRUPTIONS[corruption])
        rows.append(row)
        bad.add(i)
    # WHEN validated
    result = validate_events(pd.DataFrame(rows))
    # THEN every input row is accounted for exactly once
    assert result.n_valid + result.n_rejected == result.n_input == len(plan)
    # AND the rejected rows are exactly the corrupted ones, each with a reason
    assert set(result.rejected["row"].tolist()) == bad
    assert all(result.rejected["reasons"].str.len() > 0)
    assert {p.row for p in result.problems} == bad
    assert valid_ids(result) == good_ids
