"""Property tests: every generated market is a consistent book of order lives.

Each property draws a seed, a size and a preset, generates the market and checks
one family of invariants on ``market.events`` (in row order, which is the
generator's time order) and on the labels and episodes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from surveillance.schema.event import EVENT_SCHEMA, EventType
from surveillance.schema.labels import Typology
from surveillance.schema.validation import validate_events
from surveillance.synth.config import PRESETS, load_config
from surveillance.synth.market import SyntheticMarket, generate_market

NS_PER_DAY = 86_400 * 10**9
MAX_REPORTED = 10

seeds = st.integers(min_value=0, max_value=2**32)
sizes = st.integers(min_value=2_000, max_value=20_000)
presets = st.sampled_from(PRESETS)
examples = settings(max_examples=10, deadline=None)


@lru_cache(maxsize=4)
def market_for(preset: str, n_events: int, seed: int) -> SyntheticMarket:
    return generate_market(load_config(preset), n_events, seed)


def columns(table: pa.Table, *names: str) -> list[list[Any]]:
    """Python lists of the columns; timestamps as integer nanoseconds."""
    out = []
    for name in names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        out.append(col.to_pylist())
    return out


@dataclass
class OrderState:
    last_ts: int
    quantity: float  # of the latest NEW or MODIFY
    max_quantity: float
    filled: float = 0.0
    cancelled: bool = False


def lifecycle_violations(events: pa.Table) -> list[str]:
    """Walk the events in row order and report every broken rule of an order's life."""
    found: list[str] = []
    orders: dict[str, OrderState] = {}
    rows = zip(*columns(events, "order_id", "event_type", "timestamp", "quantity"), strict=True)
    for row, (oid, etype, ts, qty) in enumerate(rows):
        state = orders.get(oid)
        if etype == EventType.NEW:
            if state is not None:
                found.append(f"row {row}: second NEW of {oid}")
            orders[oid] = OrderState(ts, qty, qty)
            continue
        if state is None:
            found.append(f"row {row}: {etype} of {oid} before any NEW")
            continue
        if state.cancelled:
            found.append(f"row {row}: {etype} of {oid} after its CANCEL")
        if ts < state.last_ts:
            found.append(f"row {row}: {etype} of {oid} earlier than the order's previous event")
        state.last_ts = ts
        if etype == EventType.MODIFY:
            state.quantity = qty
            state.max_quantity = max(state.max_quantity, qty)
        elif etype == EventType.FILL:
            state.filled += qty
            if state.filled > state.quantity + 1e-9:
                found.append(
                    f"row {row}: {oid} filled {state.filled} > its quantity {state.quantity}"
                )
        elif etype == EventType.CANCEL:
            state.cancelled = True
        else:
            found.append(f"row {row}: unknown event type {etype!r}")
    for oid, state in orders.items():
        if state.filled > state.max_quantity + 1e-9:
            found.append(f"{oid}: fills {state.filled} exceed its largest quantity")
    return found[:MAX_REPORTED]


def trade_violations(events: pa.Table) -> list[str]:
    """Every trade is one BUY fill and one SELL fill that mirror each other."""
    found: list[str] = []
    fills: dict[str, list[tuple[str, float, float, str, str]]] = defaultdict(list)
    names = ("event_type", "trade_id", "counterparty_id", "side", "price", "quantity", "trader_id")
    for row, (etype, tid, cpty, side, price, qty, trader) in enumerate(
        zip(*columns(events, *names), strict=True)
    ):
        if etype != EventType.FILL:
            if tid is not None or cpty is not None:
                found.append(f"row {row}: {etype} carries a trade or counterparty id")
            continue
        if tid is None:
            found.append(f"row {row}: FILL without trade_id")
            continue
        fills[tid].append((side, price, qty, trader, cpty))
    for tid, pair in fills.items():
        if len(pair) != 2:
            found.append(f"{tid}: {len(pair)} fills, expected 2")
            continue
        (side_a, px_a, q_a, tr_a, cp_a), (side_b, px_b, q_b, tr_b, cp_b) = pair
        if {side_a, side_b} != {"BUY", "SELL"}:
            found.append(f"{tid}: sides {side_a}/{side_b}")
        if px_a != px_b or q_a != q_b:
            found.append(f"{tid}: price/quantity {px_a}x{q_a} vs {px_b}x{q_b}")
        if cp_a != tr_b or cp_b != tr_a:
            found.append(f"{tid}: counterparties {tr_a}->{cp_a}, {tr_b}->{cp_b} do not mirror")
    return found[:MAX_REPORTED]


def clock_s(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


# ---------------------------------------------------------------- properties


@examples
@given(seed=seeds, n_events=sizes, preset=presets)
def test_every_order_lives_a_consistent_life(seed: int, n_events: int, preset: str) -> None:
    """GIVEN any seed, size and preset
    WHEN a market is generated
    THEN each order has exactly one NEW, first in row order; every MODIFY, FILL and
    CANCEL follows it (row order and time) while the order is live (nothing after a
    CANCEL); and at each fill the cumulative filled quantity is at most the quantity
    of the latest NEW/MODIFY (so fills never exceed the largest quantity)."""
    market = market_for(preset, n_events, seed)

    assert lifecycle_violations(market.events) == []


@examples
@given(seed=seeds, n_events=sizes, preset=presets)
def test_trades_are_mirrored_pairs_of_fills(seed: int, n_events: int, preset: str) -> None:
    """GIVEN any seed, size and preset
    WHEN a market is generated
    THEN every trade_id has exactly two FILL events, one BUY and one SELL, at the same
    price and quantity, each naming the other's trader as its counterparty; and only
    FILL events carry a trade or counterparty id."""
    market = market_for(preset, n_events, seed)

    assert market.events.num_rows > 0
    assert trade_violations(market.events) == []


@examples
@given(seed=seeds, n_events=sizes, preset=presets)
def test_values_ids_and_times_are_sound(seed: int, n_events: int, preset: str) -> None:
    """GIVEN any seed, size and preset
    WHEN a market is generated
    THEN the table has the canonical schema and about the asked size, event ids are
    unique, timestamps are sorted, quantities are positive (CANCEL may be 0), every
    LIMIT event and every FILL has a positive price, and every event falls inside the
    session hours of a business day of the configured calendar."""
    cfg = load_config(preset)
    events = market_for(preset, n_events, seed).events
    ids, ts, etype, qty, price, otype = columns(
        events, "event_id", "timestamp", "event_type", "quantity", "price", "order_type"
    )

    assert events.schema == EVENT_SCHEMA
    assert abs(events.num_rows - n_events) <= 0.05 * n_events + 10
    assert len(set(ids)) == len(ids)
    assert all(a <= b for a, b in itertools.pairwise(ts))
    for e, q in zip(etype, qty, strict=True):
        assert q >= 0 if e == EventType.CANCEL else q > 0, (e, q)
    for e, o, p in zip(etype, otype, price, strict=True):
        if o == "LIMIT" or e == EventType.FILL:
            assert p is not None and p > 0, (e, o, p)

    stamps = np.asarray(ts, dtype=np.int64)
    seconds = (stamps % NS_PER_DAY) / 1e9
    assert seconds.min() >= clock_s(cfg.session.open)
    assert seconds.max() <= clock_s(cfg.session.close)
    days = {datetime.fromtimestamp(int(d) * 86_400, UTC).date() for d in stamps // NS_PER_DAY}
    assert all(d.weekday() < 5 for d in days)
    assert min(days) >= date.fromisoformat(cfg.session.start_date)
    assert len(days) <= cfg.session.days


@examples
@given(seed=seeds, n_events=sizes, preset=presets)
def test_labels_and_episodes_agree_with_events(seed: int, n_events: int, preset: str) -> None:
    """GIVEN any seed, size and preset
    WHEN a market is generated
    THEN labels refer only to existing events (once each) and use the 8 typologies;
    every episode's n_events equals its label rows, its typology matches its labels,
    start <= end and both are the times of its first and last labelled event."""
    market = market_for(preset, n_events, seed)
    event_ts = dict(zip(*columns(market.events, "event_id", "timestamp"), strict=True))
    lab_ids, lab_eps, lab_typ = columns(market.labels, "event_id", "episode_id", "typology")

    assert len(lab_ids) > 0
    assert set(lab_ids) <= set(event_ts)
    assert len(set(lab_ids)) == len(lab_ids)
    assert set(lab_typ) <= {t.value for t in Typology}

    per_episode: dict[str, list[int]] = defaultdict(list)
    typ_of: dict[str, set[str]] = defaultdict(set)
    for eid, ep, typ in zip(lab_ids, lab_eps, lab_typ, strict=True):
        per_episode[ep].append(event_ts[eid])
        typ_of[ep].add(typ)
    episodes = list(
        zip(
            *columns(market.episodes, "episode_id", "typology", "start", "end", "n_events"),
            strict=True,
        )
    )
    assert {e[0] for e in episodes} == set(per_episode)
    for ep, typ, start, end, n in episodes:
        times = per_episode[ep]
        assert n == len(times), ep
        assert typ_of[ep] == {typ}, ep
        assert start <= end, ep
        assert (start, end) == (min(times), max(times)), ep


@examples
@given(seed=seeds, n_events=sizes, preset=presets)
def test_generated_events_pass_schema_validation(seed: int, n_events: int, preset: str) -> None:
    """GIVEN any seed, size and preset
    WHEN the generated events are validated against the canonical schema
    THEN no row is rejected and no problem is reported."""
    events = market_for(preset, n_events, seed).events

    result = validate_events(events)

    assert result.problems == ()
    assert result.n_rejected == 0
    assert result.n_valid == events.num_rows


@examples
@given(seed=seeds, n_events=sizes, preset=presets)
def test_generation_is_deterministic_in_the_seed(seed: int, n_events: int, preset: str) -> None:
    """GIVEN any seed, size and preset
    WHEN the market is generated twice with that seed, and once with another seed
    THEN the two same-seed markets are identical table by table, and the other seed
    gives different events."""
    cfg = load_config(preset)

    first = generate_market(cfg, n_events, seed)
    again = generate_market(cfg, n_events, seed)
    other = generate_market(cfg, n_events, (seed + 1) % 2**32)

    for name in ("events", "labels", "episodes", "accounts"):
        assert getattr(first, name).equals(getattr(again, name)), name
    assert not first.events.equals(other.events)
