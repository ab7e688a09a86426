"""Golden cases: hand-made events whose feature values are worked out by hand (ADR 0003).

Every case runs through both engines; both must give the hand-computed values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from surveillance.features.batch import compute_batch
from surveillance.features.catalog import DEFAULT_SPEC
from surveillance.features.stream import StreamEngine, records_of

NS = 1_000_000_000
T0 = 1_772_445_600 * NS  # 2026-03-02 10:00:00 UTC


def ev(i: int, t_s: float, etype: str, order: str, side: str = "BUY", qty: float = 100.0,
       price: float | None = 10.0, trader: str | None = "A", cpty: str | None = None,
       **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "event_id": f"e{i}",
        "timestamp": T0 + round(t_s * NS),
        "event_type": etype,
        "order_id": order,
        "instrument_id": "XYZ",
        "side": side,
        "price": price,
        "quantity": qty,
        "order_type": "LIMIT",
        "trader_id": trader,
        "counterparty_id": cpty,
        "bid_price": 9.99,
        "ask_price": 10.01,
        "bid_size": 500.0,
        "ask_size": 400.0,
        **extra,
    }


def both(rows: list[dict[str, Any]], owners: dict[str, str] | None = None) -> list[pd.DataFrame]:
    frame = pd.DataFrame(rows)
    batch = compute_batch(frame, DEFAULT_SPEC, owners=owners)
    engine = StreamEngine(DEFAULT_SPEC, owners=owners)
    stream = pd.concat([engine.process([r]) for r in records_of(frame)], ignore_index=True)
    single = StreamEngine(DEFAULT_SPEC, owners=owners)
    one = pd.DataFrame([single.process_one(r) for r in records_of(frame)], columns=batch.columns)
    return [batch, stream, one]


def values(rows: list[dict[str, Any]], name: str, **kw: Any) -> list[list[float]]:
    return [f[name].tolist() for f in both(rows, **kw)]


def check(rows: list[dict[str, Any]], name: str, expected: list[float], **kw: Any) -> None:
    for got in values(rows, name, **kw):
        assert np.allclose(got, expected, equal_nan=True), (name, got, expected)


def test_window_is_half_open_and_includes_the_event_itself() -> None:
    """(t - 1 s, t]: an event exactly one second earlier has left the window."""
    rows = [ev(0, 0.0, "NEW", "o1"), ev(1, 1.0, "NEW", "o2"), ev(2, 1.000000001, "NEW", "o3")]
    check(rows, "trader_msgs_1s", [1, 1, 2])


def test_equal_timestamps_count_in_arrival_order() -> None:
    """Events with one timestamp: each sees those that arrived before it, not after."""
    rows = [ev(0, 5.0, "NEW", "o1"), ev(1, 5.0, "NEW", "o2"), ev(2, 5.0, "NEW", "o3")]
    check(rows, "trader_msgs_1s", [1, 2, 3])
    check(rows, "quote_rate_1s", [1, 2, 3])


def test_a_late_event_counts_at_the_watermark() -> None:
    """A late event (earlier timestamp than one already seen) is placed at the latest time
    seen on its instrument: it neither reopens old windows nor ages out early."""
    rows = [ev(0, 0.0, "NEW", "o1"), ev(1, 10.0, "NEW", "o2"), ev(2, 9.5, "NEW", "o3")]
    check(rows, "trader_msgs_1s", [1, 1, 2])
    check(rows, "order_age_s", [0, 0, 0])


def test_lifecycle_of_a_fast_cancel() -> None:
    rows = [ev(0, 0.0, "NEW", "o1", qty=300), ev(1, 0.25, "CANCEL", "o1", qty=300)]
    check(rows, "time_to_cancel_s", [np.nan, 0.25])
    check(rows, "cancelled_unfilled", [np.nan, 1.0])
    check(rows, "trader_fast_cancels_1m", [0, 1])
    check(rows, "order_age_s", [0.0, 0.25])


def test_partial_fill_then_cancel() -> None:
    rows = [
        ev(0, 0.0, "NEW", "o1", qty=300),
        ev(1, 2.0, "FILL", "o1", qty=100, cpty="B"),
        ev(2, 3.0, "MODIFY", "o1", qty=250),
        ev(3, 4.0, "CANCEL", "o1", qty=150),
    ]
    check(rows, "order_filled_ratio", [0.0, 1 / 3, 100 / 250, 100 / 250])
    check(rows, "order_modifications", [0, 0, 1, 1])
    check(rows, "cancelled_unfilled", [np.nan, np.nan, np.nan, 0.0])
    check(rows, "resting_time_before_fill_s", [np.nan, 2.0, np.nan, np.nan])
    check(rows, "fill_completes_order", [np.nan, 0.0, np.nan, np.nan])
    check(rows, "open_orders_same_side", [1, 1, 1, 0])


def test_spoofing_signature_large_opposite_orders_at_a_fill() -> None:
    """A trader rests 2,000 to sell, buys 100, then cancels the 2,000."""
    rows = [
        ev(0, 0.0, "NEW", "spoof", side="SELL", qty=2_000, price=10.02),
        ev(1, 1.0, "NEW", "real", side="BUY", qty=100, price=10.01),
        ev(2, 1.5, "FILL", "real", side="BUY", qty=100, price=10.01, cpty="B"),
        ev(3, 2.0, "CANCEL", "spoof", side="SELL", qty=2_000, price=10.02),
    ]
    check(rows, "open_qty_opposite_side_ratio", [0.0, 20.0, 20.0, 0.0])
    check(rows, "opposite_fill_qty_ratio_10s", [0.0, 0.0, 0.0, 100 / 2_000])
    check(rows, "size_vs_touch_depth", [2_000 / 400, 100 / 500, 100 / 500, 2_000 / 400])


def test_layering_counts_price_levels_held_on_one_side() -> None:
    rows = [
        ev(0, 0.0, "NEW", "l1", price=10.00),
        ev(1, 0.1, "NEW", "l2", price=9.99),
        ev(2, 0.2, "NEW", "l3", price=9.98),
        ev(3, 0.3, "NEW", "l4", price=9.98),  # a second order on a level already held
        ev(4, 0.4, "CANCEL", "l3", price=9.98),
        ev(5, 0.5, "MODIFY", "l1", price=9.97),  # moves to a new level
    ]
    check(rows, "price_levels_same_side", [1, 2, 3, 3, 3, 3])
    check(rows, "open_orders_same_side", [1, 2, 3, 4, 3, 3])


def test_wash_trade_between_linked_accounts() -> None:
    rows = [
        ev(0, 0.0, "NEW", "s", side="SELL", trader="A", qty=500),
        ev(1, 0.5, "NEW", "b", side="BUY", trader="B", qty=500),
        ev(2, 0.500001, "FILL", "b", side="BUY", trader="B", qty=500, cpty="A"),
        ev(3, 0.500001, "FILL", "s", side="SELL", trader="A", qty=500, cpty="B"),
    ]
    owners = {"A": "owner-1", "B": "owner-1"}
    check(rows, "linked_trade", [np.nan, np.nan, 1.0, 1.0], owners=owners)
    check(rows, "self_trade", [np.nan, np.nan, 0.0, 0.0])
    check(rows, "fill_completes_order", [np.nan, np.nan, 1.0, 1.0])
    check(rows, "pair_trades_1h", [np.nan, np.nan, 1.0, 2.0])
    check(rows, "linked_trade", [np.nan, np.nan, np.nan, np.nan])  # no reference data


def test_circular_trading_closes_a_cycle() -> None:
    """A sells 300 to B, B to C, C back to A: the third trade closes the cycle."""
    legs = [("A", "B"), ("B", "C"), ("C", "A")]
    rows = []
    for k, (seller, buyer) in enumerate(legs):
        t = 10.0 * k
        rows.append(ev(2 * k, t, "FILL", f"s{k}", side="SELL", trader=seller, qty=300, cpty=buyer))
        rows.append(
            ev(2 * k + 1, t, "FILL", f"b{k}", side="BUY", trader=buyer, qty=300, cpty=seller)
        )
    check(rows, "closes_trade_cycle_10m", [0, 0, 0, 0, 1, 1])


@pytest.mark.parametrize("missing", ["trader_id", "counterparty_id", "bid_price"])
def test_missing_fields_give_nan_not_zero(missing: str) -> None:
    """Without a field, the features that need it are NaN and the availability flag says so."""
    rows = [ev(0, 0.0, "NEW", "o1"), ev(1, 1.0, "FILL", "o1", cpty="B")]
    for r in rows:
        r[missing] = None
    for frame in both(rows):
        if missing == "trader_id":
            assert frame["has_trader"].tolist() == [0.0, 0.0]
            assert frame["trader_msgs_1m"].isna().all()
            assert frame["self_trade"].isna().all()
        elif missing == "counterparty_id":
            assert frame["has_counterparty"].tolist() == [0.0, 0.0]
            assert frame["pair_trades_1h"].isna().all()
            assert frame["trader_msgs_1m"].tolist() == [1.0, 2.0]
        else:
            assert frame["has_book"].tolist() == [0.0, 0.0]
            assert frame["spread_bps"].isna().all()
            assert frame["distance_from_touch_bps"].isna().all()
