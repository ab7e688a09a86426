"""Assemble a synthetic market: events, labels, episodes and account reference data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from surveillance.schema.event import EVENT_SCHEMA, EventType, OrderType, Side
from surveillance.schema.labels import EPISODE_SCHEMA, LABEL_SCHEMA, SUPERVISED_TYPOLOGIES
from surveillance.synth.blocks import EventBuffer
from surveillance.synth.book import build_book, build_instruments
from surveillance.synth.config import MarketConfig
from surveillance.synth.episodes import Plan, build_episodes, plan_episodes
from surveillance.synth.flow import normal_flow
from surveillance.synth.population import build_population
from surveillance.synth.session import build_session

ACCOUNT_SCHEMA = pa.schema(
    [
        pa.field("trader_id", pa.string(), nullable=False),
        pa.field("owner_id", pa.string(), nullable=False),
    ]
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SyntheticMarket:
    events: pa.Table  # EVENT_SCHEMA, sorted by timestamp
    labels: pa.Table  # LABEL_SCHEMA: one row per manipulative event
    episodes: pa.Table  # EPISODE_SCHEMA
    accounts: pa.Table  # reference data: account -> owner (linked accounts share an owner)
    config_name: str
    seed: int


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    fmt = np.char.zfill(numbers.astype(str), width)
    return pa.array(np.char.add(prefix, fmt).astype(object), type=pa.string())


def generate_market(
    cfg: MarketConfig, n_events: int, seed: int, progress: Progress | None = None
) -> SyntheticMarket:
    """Generate about ``n_events`` events; the same seed and config give the same market."""
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    session = build_session(cfg.session)
    pop = build_population(cfg, rng)
    median_size = float(np.median([c.size_median for c in cfg.traders]))
    instruments = build_instruments(cfg.instruments, rng, median_size)
    activity = rng.lognormal(0.0, 1.0, pop.size)
    say("planning episodes")
    plans = plan_episodes(
        cfg, session, len(instruments.ids), instruments.activity, pop, n_events, rng
    )
    say("building price paths")
    impacts = [p.impact for p in plans if p.impact is not None]
    book = build_book(session, instruments, cfg.instruments.spread_ticks_probs, impacts, rng)
    buf = EventBuffer()
    say("building manipulation episodes")
    build_episodes(buf, book, pop, activity, cfg, plans)
    say("building normal order flow")
    # the flow is sized from expected events per order; top up until within 1% of the target
    # (orders that the book reaches are filled, which adds events: ask for 90% first)
    for attempt in range(5):
        missing = n_events - sum(len(p["t"]) for p in buf.parts)
        if missing <= max(10, n_events // 200):
            break
        normal_flow(
            buf, book, pop, cfg.flow, activity, rng, int(missing * (0.9 if attempt == 0 else 0.97))
        )
    say("assembling tables")
    cols = buf.columns()
    return _assemble(cols, book, pop, plans, rng, cfg.name, seed)


def _assemble(
    cols: dict[str, np.ndarray],
    book: object,
    pop: object,
    plans: list[Plan],
    rng: np.random.Generator,
    config_name: str,
    seed: int,
) -> SyntheticMarket:
    from surveillance.synth.book import Book
    from surveillance.synth.population import Population

    assert isinstance(book, Book) and isinstance(pop, Population)
    n = len(cols["t"])
    order = np.lexsort((rng.random(n), cols["t"]))
    c = {k: v[order] for k, v in cols.items()}
    lane = c["lane"]
    instr = book.lane_instrument(lane)
    tick = book.instruments.tick[instr]
    bid, ask, bsz, asz = book.quote(lane, c["t"])

    # ids: sequence numbers in time order, so no id range or ordering reveals an episode
    _, first_seen = np.unique(c["okey"], return_index=True)
    okeys_by_time = c["okey"][np.sort(first_seen)]
    order_no = np.empty(okeys_by_time.max() + 1, dtype=np.int64)
    order_no[okeys_by_time] = np.arange(len(okeys_by_time))
    trade_no = np.full(max(int(c["tkey"].max()) + 1, 1), -1, dtype=np.int64)
    has_trade = c["tkey"] >= 0
    tk = c["tkey"][has_trade]
    _, first_trade = np.unique(tk, return_index=True)
    tkeys_by_time = tk[np.sort(first_trade)]
    trade_no[tkeys_by_time] = np.arange(len(tkeys_by_time))

    accounts = np.asarray(pop.account_ids, dtype=object)
    event_types = np.asarray([e.value for e in EventType], dtype=object)
    sides = np.asarray([Side.BUY.value, Side.SELL.value], dtype=object)
    otypes = np.asarray([OrderType.LIMIT.value, OrderType.MARKET.value], dtype=object)
    trade_ids = _ids("TRD", trade_no[np.maximum(c["tkey"], 0)], 9)
    trade_ids = pc.if_else(pa.array(has_trade), trade_ids, pa.scalar(None, pa.string()))
    has_cpty = c["cpty"] >= 0
    cpty = pa.array(np.where(has_cpty, accounts[np.maximum(c["cpty"], 0)], None), type=pa.string())
    price = np.round(c["price"] * tick, 8)
    event_ids = _ids("EV", np.arange(n), 10)
    events = pa.Table.from_arrays(
        [
            event_ids,
            pa.array(c["t"], type=pa.int64()).cast(EVENT_SCHEMA.field("timestamp").type),
            pa.array(event_types[c["etype"]], type=pa.string()),
            _ids("ORD", order_no[c["okey"]], 9),
            pa.array(np.asarray(book.instruments.ids, dtype=object)[instr], type=pa.string()),
            pa.array(np.asarray(book.instruments.venues, dtype=object)[instr], type=pa.string()),
            pa.array(sides[c["side"]], type=pa.string()),
            pa.array(price, type=pa.float64(), from_pandas=True),
            pa.array(c["qty"], type=pa.float64()),
            pa.array(otypes[c["otype"]], type=pa.string()),
            pa.array(accounts[c["trader"]], type=pa.string()),
            cpty,
            trade_ids,
            pa.array(c["algo"], type=pa.bool_()),
            pa.array(pop.hft[c["trader"]], type=pa.bool_()),
            pa.array(np.round(bid * tick, 8), type=pa.float64()),
            pa.array(np.round(ask * tick, 8), type=pa.float64()),
            pa.array(bsz, type=pa.float64()),
            pa.array(asz, type=pa.float64()),
        ],
        schema=EVENT_SCHEMA,
    )

    labelled = np.flatnonzero(c["episode"] >= 0)
    ep = c["episode"][labelled]
    typ = np.asarray([p.typology.value for p in plans], dtype=object)
    sev = np.asarray([p.severity for p in plans], dtype=object)
    ep_ids = np.asarray([f"EP{p.index:06d}" for p in plans], dtype=object)
    labels = pa.Table.from_arrays(
        [
            event_ids.take(pa.array(labelled)),
            pa.array(ep_ids[ep], type=pa.string()) if len(ep) else pa.array([], pa.string()),
            pa.array(typ[ep], type=pa.string()) if len(ep) else pa.array([], pa.string()),
            pa.array(sev[ep], type=pa.string()) if len(ep) else pa.array([], pa.string()),
        ],
        schema=LABEL_SCHEMA,
    )

    rows = []
    t = c["t"]
    for p in plans:
        sel = labelled[ep == p.index]
        if len(sel) == 0:
            continue
        rows.append(
            {
                "episode_id": ep_ids[p.index],
                "typology": p.typology.value,
                "severity": p.severity,
                "instrument_id": book.instruments.ids[
                    int(book.lane_instrument(np.asarray([p.lane]))[0])
                ],
                "trader_ids": sorted({pop.account_ids[x] for x in p.traders}),
                "start": int(t[sel].min()),
                "end": int(t[sel].max()),
                "n_events": len(sel),
                "supervised": p.typology in SUPERVISED_TYPOLOGIES,
            }
        )
    episodes = (
        pa.Table.from_pylist(rows, schema=EPISODE_SCHEMA) if rows else EPISODE_SCHEMA.empty_table()
    )
    account_table = pa.Table.from_arrays(
        [pa.array(list(pop.account_ids)), pa.array(list(pop.owner_ids))], schema=ACCOUNT_SCHEMA
    )
    return SyntheticMarket(events, labels, episodes, account_table, config_name, seed)
