"""The RTS 22-style transaction-report view, derived from FILL events only."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from surveillance.errors import SchemaError
from surveillance.schema.transaction_report import REPORT_COLUMNS, transaction_reports
from surveillance.schema.validation import validate_events


def event(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": "e0",
        "timestamp": "2024-01-02T10:00:00Z",
        "event_type": "NEW",
        "order_id": "o0",
        "instrument_id": "FR0000120271",
        "venue": "XPAR",
        "side": "BUY",
        "price": "10.5",
        "quantity": "100",
        "order_type": "LIMIT",
        "trader_id": "alice",
    }
    row.update(overrides)
    return row


def events(rows: list[dict[str, Any]]) -> pa.Table:
    """Valid canonical events from raw rows (fails loudly if a fixture is invalid)."""
    result = validate_events(pd.DataFrame(rows))
    assert result.n_rejected == 0, result.rejected["reasons"].tolist()
    return result.valid


def one_trade() -> list[dict[str, Any]]:
    """alice buys 40 from bob at 10.5 in trade T1, around the two orders' lives."""
    return [
        event(event_id="n1", order_id="buy-1", trader_id="alice", timestamp="2024-01-02T10:00:00Z"),
        event(
            event_id="n2",
            order_id="sell-1",
            side="SELL",
            trader_id="bob",
            timestamp="2024-01-02T10:00:01Z",
        ),
        event(
            event_id="m1",
            event_type="MODIFY",
            order_id="sell-1",
            side="SELL",
            trader_id="bob",
            quantity="60",
            timestamp="2024-01-02T10:00:02Z",
        ),
        event(
            event_id="f-sell",
            event_type="FILL",
            order_id="sell-1",
            side="SELL",
            trader_id="bob",
            counterparty_id="alice",
            trade_id="T1",
            quantity="40",
            is_algo="false",
            timestamp="2024-01-02T10:00:03Z",
        ),
        event(
            event_id="f-buy",
            event_type="FILL",
            order_id="buy-1",
            trader_id="alice",
            counterparty_id="bob",
            trade_id="T1",
            quantity="40",
            is_algo="true",
            timestamp="2024-01-02T10:00:03Z",
        ),
        event(
            event_id="c1",
            event_type="CANCEL",
            order_id="sell-1",
            side="SELL",
            trader_id="bob",
            quantity="20",
            timestamp="2024-01-02T10:00:04Z",
        ),
    ]


def test_buy_and_sell_fills_of_one_trade_make_one_report() -> None:
    # GIVEN a buy fill and a sell fill sharing trade id T1, among NEW/MODIFY/CANCEL
    table = events(one_trade())
    # WHEN transaction reports are derived
    reports = transaction_reports(table)
    # THEN there is exactly one report, with the buyer and the seller
    assert list(reports.columns) == list(REPORT_COLUMNS)
    assert len(reports) == 1
    report = reports.iloc[0]
    assert report["trading_venue_transaction_id"] == "T1"
    assert report["transaction_reference_number"] == "T-T1-0"
    assert (report["buyer_id"], report["seller_id"]) == ("alice", "bob")
    assert (report["buy_order_id"], report["sell_order_id"]) == ("buy-1", "sell-1")
    assert (report["buy_event_id"], report["sell_event_id"]) == ("f-buy", "f-sell")
    assert report["quantity"] == 40.0
    assert report["price"] == 10.5
    assert report["venue"] == "XPAR"
    assert report["instrument_id"] == "FR0000120271"
    assert report["trading_date_time"] == pd.Timestamp("2024-01-02T10:00:03Z")
    assert str(reports["trading_date_time"].dtype) == "datetime64[ns, UTC]"
    # AND the algo indicator (field 59) is per side
    assert bool(report["buy_execution_within_firm_algo"]) is True
    assert bool(report["sell_execution_within_firm_algo"]) is False
    # AND what the events cannot tell is null, not invented
    assert report["report_status"] == "NEWT"
    assert pd.isna(report["trading_capacity"])
    assert pd.isna(report["executing_entity_id"])


def test_non_fill_events_never_appear() -> None:
    # GIVEN only NEW, MODIFY and CANCEL events
    rows = [r for r in one_trade() if r["event_type"] != "FILL"]
    # WHEN reports are derived
    reports = transaction_reports(events(rows))
    # THEN there are none, with the report columns all the same
    assert reports.empty
    assert list(reports.columns) == list(REPORT_COLUMNS)
    # AND in a mixed table only FILL event ids are referenced
    mixed = transaction_reports(events(one_trade()))
    referenced = set(mixed["buy_event_id"].dropna()) | set(mixed["sell_event_id"].dropna())
    assert referenced == {"f-buy", "f-sell"}


def test_fill_without_trade_id_is_its_own_report() -> None:
    # GIVEN a lone SELL fill without trade id, its counterparty known
    rows = [
        event(
            event_id="f1",
            event_type="FILL",
            side="SELL",
            trader_id="carol",
            counterparty_id="dave",
            order_id="s9",
        )
    ]
    # WHEN reports are derived
    report = transaction_reports(events(rows)).iloc[0]
    # THEN the report has the seller's side, the buyer from the counterparty, no buy ids
    assert report["transaction_reference_number"] == "E-f1"
    assert pd.isna(report["trading_venue_transaction_id"])
    assert (report["seller_id"], report["buyer_id"]) == ("carol", "dave")
    assert report["sell_order_id"] == "s9"
    assert pd.isna(report["buy_order_id"])
    assert pd.isna(report["buy_event_id"])
    assert pd.isna(report["buy_execution_within_firm_algo"])


def test_trade_with_one_side_only_keeps_the_other_side_null() -> None:
    # GIVEN only the buy fills of trades T7 (counterparty unknown) and T8 (counterparty erin)
    rows = [
        event(event_id="fb", event_type="FILL", trade_id="T7", trader_id="alice"),
        event(
            event_id="fc",
            event_type="FILL",
            trade_id="T8",
            trader_id="alice",
            counterparty_id="erin",
            timestamp="2024-01-02T10:00:01Z",
        ),
    ]
    # WHEN reports are derived
    reports = transaction_reports(events(rows))
    # THEN one report each, buyer known, the sell side's ids null
    assert reports["trading_venue_transaction_id"].tolist() == ["T7", "T8"]
    assert reports["buyer_id"].tolist() == ["alice", "alice"]
    assert reports["sell_event_id"].isna().all()
    # AND the seller is null when unknown, the counterparty when the buy fill names one
    assert pd.isna(reports["seller_id"].iloc[0])
    assert reports["seller_id"].iloc[1] == "erin"


def test_every_fill_is_in_exactly_one_report() -> None:
    # GIVEN a malformed trade with two buy fills and one sell fill, plus unrelated fills
    rows = [
        event(event_id="b1", event_type="FILL", trade_id="T1", timestamp="2024-01-02T10:00:01"),
        event(event_id="b2", event_type="FILL", trade_id="T1", timestamp="2024-01-02T10:00:02"),
        event(event_id="s1", event_type="FILL", trade_id="T1", side="SELL", trader_id="bob"),
        event(event_id="x1", event_type="FILL", side="SELL"),
        event(event_id="x2", event_type="FILL"),
    ]
    # WHEN reports are derived
    reports = transaction_reports(events(rows))
    # THEN no fill is lost or counted twice, and reference numbers are unique
    referenced = (
        reports["buy_event_id"].dropna().tolist() + reports["sell_event_id"].dropna().tolist()
    )
    assert sorted(referenced) == ["b1", "b2", "s1", "x1", "x2"]
    assert reports["transaction_reference_number"].is_unique
    # AND the earliest buy pairs with the sell
    paired = reports[reports["sell_event_id"] == "s1"].iloc[0]
    assert paired["buy_event_id"] == "b1"
    assert len(reports) == 4


def test_trading_date_time_is_the_earlier_fill_in_utc() -> None:
    # GIVEN the two fills of a trade stamped one microsecond apart, one with an offset
    rows = [
        event(
            event_id="b", event_type="FILL", trade_id="T1", timestamp="2024-01-02T11:00:00+01:00"
        ),
        event(
            event_id="s",
            event_type="FILL",
            trade_id="T1",
            side="SELL",
            timestamp="2024-01-02T10:00:00.000001Z",
        ),
    ]
    # WHEN reports are derived, THEN the time is the earlier one, in UTC
    report = transaction_reports(events(rows)).iloc[0]
    assert report["trading_date_time"] == pd.Timestamp("2024-01-02T10:00:00Z")


def test_accepts_a_dataframe_of_events() -> None:
    frame = events(one_trade()).to_pandas()
    reports = transaction_reports(frame)
    assert reports["trading_venue_transaction_id"].tolist() == ["T1"]


def test_missing_column_raises_schema_error() -> None:
    frame = events(one_trade()).to_pandas().drop(columns=["side"])
    with pytest.raises(SchemaError, match="side"):
        transaction_reports(frame)
