"""Normal order flow: trades and posted-then-cancelled orders from every trader class."""

from __future__ import annotations

import numpy as np

from surveillance.synth.blocks import BUY, Crowd, EventBuffer, TradeSpec, posted, trades
from surveillance.synth.book import Book
from surveillance.synth.config import FlowConfig
from surveillance.synth.population import Population
from surveillance.synth.session import NS, FloatArray, IntArray

MAX_SWEEP = 5


def draw_lanes_and_times(book: Book, rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray]:
    """Lanes weighted by instrument activity, times from the intraday profile."""
    n_instr = book.n_instruments
    instr = rng.choice(n_instr, size=n, p=book.instruments.activity)
    day = rng.integers(0, book.session.days, size=n)
    secs = book.session.intraday_seconds(rng, n)
    secs = np.clip(secs, 0.5, book.session.length_s - 0.5)
    return (day * n_instr + instr).astype(np.int64), book.session.to_ns(day, secs)


def lognormal_ns(rng: np.random.Generator, median_s: FloatArray, sigma: FloatArray) -> IntArray:
    return (median_s * np.exp(sigma * rng.standard_normal(len(median_s))) * NS).astype(np.int64)


def expected_events(flow: FlowConfig, modify_prob: float) -> tuple[float, float]:
    """Expected events per normal trade and per posted order (to size the flow to N events)."""
    k = min(1.0 / flow.sweep_p, MAX_SWEEP)
    agg = 1 + k + flow.aggressor_leftover_prob * (1 - flow.market_order_prob)
    rest = k * (2 + flow.resting_modify_prob + flow.resting_partial_prob)
    return agg + rest, 2 + modify_prob * (1 + modify_prob)


def normal_flow(
    buf: EventBuffer,
    book: Book,
    pop: Population,
    flow: FlowConfig,
    activity: FloatArray,
    rng: np.random.Generator,
    n_events: int,
) -> None:
    mean_modify = float(np.mean([c.modify_prob for c in pop.classes]))
    per_trade, per_posted = expected_events(flow, mean_modify)
    n_burst_events = n_events * flow.burst_event_share
    n_bursts = round(n_burst_events / (2 * (flow.burst_orders.low + flow.burst_orders.high) / 2))
    rest = n_events - n_burst_events
    n_trades = round(rest * flow.trade_event_share / per_trade)
    n_posted = round(rest * (1 - flow.trade_event_share) / per_posted)
    _normal_trades(buf, book, pop, flow, activity, rng, n_trades)
    _normal_posted(buf, book, pop, activity, rng, n_posted)
    _requote_bursts(buf, book, pop, flow, activity, rng, n_bursts)


def _requote_bursts(
    buf: EventBuffer,
    book: Book,
    pop: Population,
    flow: FlowConfig,
    activity: FloatArray,
    rng: np.random.Generator,
    n: int,
) -> None:
    """Fast accounts re-quote in bursts: many short-lived orders near the touch within a
    second or two (market makers repricing after a move). Normal flow has bursts too, so
    a message rate alone does not make quote stuffing."""
    fast = np.flatnonzero(pop.hft)
    if n <= 0 or len(fast) == 0:
        return
    lane, t0 = draw_lanes_and_times(book, rng, n)
    weights = activity[fast] / activity[fast].sum()
    who = rng.choice(fast, size=n, p=weights).astype(np.int64)
    size = np.round(rng.uniform(flow.burst_orders.low, flow.burst_orders.high, n)).astype(np.int64)
    size = np.maximum(size, 1)
    dur_ns = (rng.uniform(flow.burst_ms.low, flow.burst_ms.high, n) * 1e6).astype(np.int64)
    b = np.repeat(np.arange(n), size)
    m = len(b)
    t = t0[b] + (rng.random(m) * dur_ns[b]).astype(np.int64)
    side = np.where(rng.random(m) < 0.5, BUY, 1 - BUY).astype(np.int64)
    bid, ask, _, _ = book.quote(lane[b], t)
    away = rng.geometric(0.5, m) - 1
    price = np.where(side == BUY, bid - away, ask + away).astype(np.float64)
    trader = who[b]
    posted(
        buf,
        book,
        rng,
        Crowd(pop, activity, np.empty(0, dtype=np.int64)),
        t_new=t,
        lane=lane[b],
        side=side,
        trader=trader,
        price=np.maximum(price, 1.0),
        qty=pop.sizes(rng, trader),
        lifetime_ns=lognormal_ns(rng, np.full(m, 0.05), np.full(m, 1.0)),
        n_modify=np.zeros(m, dtype=np.int64),
        algo=np.ones(m, dtype=bool),
        episode=np.full(m, -1, dtype=np.int64),
    )


def _normal_trades(
    buf: EventBuffer,
    book: Book,
    pop: Population,
    flow: FlowConfig,
    activity: FloatArray,
    rng: np.random.Generator,
    n: int,
) -> None:
    lane, t = draw_lanes_and_times(book, rng, n)
    agg = pop.pick(rng, "aggressive_weight", activity, n)
    k = np.minimum(rng.geometric(flow.sweep_p, size=n), MAX_SWEEP)
    want = pop.sizes(rng, agg)
    f = np.repeat(np.arange(n), k)
    rest = pop.pick(rng, "passive_weight", activity, len(f))
    clash = rest == agg[f]
    while clash.any():
        rest[clash] = pop.pick(rng, "passive_weight", activity, int(clash.sum()))
        clash = rest == agg[f]
    rest_size = pop.sizes(rng, rest)
    # fill sequentially: each resting order gives what it has, until the aggressor is done
    # (f is sorted by trade, so a trade's fills are contiguous)
    cum_excl = np.concatenate([[0.0], np.cumsum(rest_size)])[:-1]
    starts = np.searchsorted(f, np.arange(n))
    cum_before = cum_excl - cum_excl[starts[f]]
    fill = np.clip(want[f] - cum_before, 0.0, rest_size)
    first = cum_before == 0
    fill = np.where(first & (fill <= 0), rest_size, fill)  # every trade fills at least once
    keep = fill > 0
    f, rest, rest_size, fill = f[keep], rest[keep], rest_size[keep], fill[keep]
    partial_left = rest_size - fill
    extra = np.where(
        partial_left > 0,
        partial_left,
        np.where(
            rng.random(len(f)) < flow.resting_partial_prob,
            np.maximum(1.0, np.round(fill * rng.uniform(0.2, 2.0, len(f)))),
            0.0,
        ),
    )
    filled = np.bincount(f, weights=fill, minlength=n)
    market = rng.random(n) < flow.market_order_prob
    leftover_draw = rng.random(n) < flow.aggressor_leftover_prob
    leftover = np.where(
        leftover_draw, np.maximum(1.0, np.round(filled * rng.uniform(0.1, 1.0, n))), 0.0
    )
    rest_time = lognormal_ns(
        rng, np.full(len(f), flow.resting_time_median_s), np.full(len(f), flow.resting_time_sigma)
    )
    expire = rng.random(len(f)) < flow.expire_at_close_prob
    cancel_delay = np.where(
        expire,
        np.int64(10**15),
        lognormal_ns(rng, pop.param("lifetime_median_s", rest), pop.param("lifetime_sigma", rest)),
    )
    spec = TradeSpec(
        t=t,
        lane=lane,
        agg_side=np.where(rng.random(n) < 0.5, BUY, 1 - BUY).astype(np.int64),
        agg_trader=agg,
        agg_algo=pop.algo(rng, agg),
        agg_market=market,
        agg_leftover=leftover,
        # a marketable limit order's unfilled rest is cancelled at once (IOC-like)
        agg_leftover_life_ns=lognormal_ns(rng, np.full(n, 0.05), np.full(n, 1.0)),
        agg_episode=np.full(n, -1, dtype=np.int64),
        fill_trade=f,
        fill_qty=fill,
        rest_trader=rest,
        rest_algo=pop.algo(rng, rest),
        rest_time_ns=rest_time,
        rest_extra=extra,
        rest_cancel_delay_ns=cancel_delay,
        rest_modify=rng.random(len(f)) < flow.resting_modify_prob,
        rest_episode=np.full(len(f), -1, dtype=np.int64),
    )
    trades(buf, book, rng, Crowd(pop, activity, np.empty(0, dtype=np.int64)), spec)


def _normal_posted(
    buf: EventBuffer,
    book: Book,
    pop: Population,
    activity: FloatArray,
    rng: np.random.Generator,
    n: int,
) -> None:
    lane, t = draw_lanes_and_times(book, rng, n)
    acc = pop.pick(rng, "posted_weight", activity, n)
    side = np.where(rng.random(n) < 0.5, BUY, 1 - BUY).astype(np.int64)
    bid, ask, _, _ = book.quote(lane, t)
    distance = rng.geometric(pop.param("distance_p", acc)) - 1
    price = np.where(side == BUY, bid - distance, ask + distance).astype(np.float64)
    price = np.maximum(price, 1.0)
    modify_p = pop.param("modify_prob", acc)
    n_mod = (rng.random(n) < modify_p).astype(np.int64)
    n_mod += (n_mod > 0) & (rng.random(n) < modify_p)
    posted(
        buf,
        book,
        rng,
        Crowd(pop, activity, np.empty(0, dtype=np.int64)),
        t_new=t,
        lane=lane,
        side=side,
        trader=acc,
        price=price,
        qty=pop.sizes(rng, acc),
        lifetime_ns=lognormal_ns(
            rng, pop.param("lifetime_median_s", acc), pop.param("lifetime_sigma", acc)
        ),
        n_modify=n_mod,
        algo=pop.algo(rng, acc),
        episode=np.full(n, -1, dtype=np.int64),
    )
