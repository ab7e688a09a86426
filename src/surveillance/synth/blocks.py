"""Building blocks of order lifecycles, shared by normal flow and manipulation episodes.

Every order in the market is made by one of two blocks: ``posted`` (an order that
rests, may be modified, and is cancelled) and ``trades`` (an aggressor order
matched against one or more resting orders, with partial fills, modifications and
cancelled remainders). Manipulation episodes use the same blocks with their own
parameters, so the shape of their events cannot give them away; only the behaviour
(sizes, timings, placement, who trades with whom) differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from surveillance.synth.book import Book
from surveillance.synth.population import Population
from surveillance.synth.session import NS, FloatArray, IntArray

BoolArray = npt.NDArray[np.bool_]

NEW, MODIFY, CANCEL, FILL = 0, 1, 2, 3
BUY, SELL = 0, 1
LIMIT, MARKET = 0, 1
US = 1_000  # one microsecond in ns

COLUMNS = (
    "t",
    "lane",
    "etype",
    "okey",
    "side",
    "price",
    "qty",
    "otype",
    "trader",
    "cpty",
    "tkey",
    "algo",
    "episode",
)


@dataclass
class EventBuffer:
    """Column parts of generated events plus the order and trade key counters.

    One buffer is created per generation run and passed explicitly: no global state.
    """

    parts: list[dict[str, npt.NDArray[np.generic]]] = field(default_factory=list)
    next_order: int = 0
    next_trade: int = 0

    def order_keys(self, n: int) -> IntArray:
        keys = np.arange(self.next_order, self.next_order + n, dtype=np.int64)
        self.next_order += n
        return keys

    def trade_keys(self, n: int) -> IntArray:
        keys = np.arange(self.next_trade, self.next_trade + n, dtype=np.int64)
        self.next_trade += n
        return keys

    def add(
        self,
        *,
        t: IntArray,
        lane: IntArray,
        etype: int,
        okey: IntArray,
        side: IntArray,
        price: FloatArray,
        qty: FloatArray,
        otype: IntArray,
        trader: IntArray,
        algo: BoolArray,
        episode: IntArray,
        cpty: IntArray | None = None,
        tkey: IntArray | None = None,
    ) -> None:
        n = len(t)
        if n == 0:
            return
        minus = np.full(n, -1, dtype=np.int64)
        self.parts.append(
            {
                "t": np.asarray(t, dtype=np.int64),
                "lane": np.asarray(lane, dtype=np.int64),
                "etype": np.full(n, etype, dtype=np.int8),
                "okey": np.asarray(okey, dtype=np.int64),
                "side": np.asarray(side, dtype=np.int8),
                "price": np.asarray(price, dtype=np.float64),
                "qty": np.asarray(qty, dtype=np.float64),
                "otype": np.asarray(otype, dtype=np.int8),
                "trader": np.asarray(trader, dtype=np.int64),
                "cpty": minus if cpty is None else np.asarray(cpty, dtype=np.int64),
                "tkey": minus if tkey is None else np.asarray(tkey, dtype=np.int64),
                "algo": np.asarray(algo, dtype=bool),
                "episode": np.asarray(episode, dtype=np.int64),
            }
        )

    def columns(self) -> dict[str, npt.NDArray[np.generic]]:
        return {c: np.concatenate([p[c] for p in self.parts]) for c in COLUMNS}


def _close(book: Book, lane: IntArray) -> IntArray:
    return book.session.close_ns(book.lane_day(lane))


def _open(book: Book, lane: IntArray) -> IntArray:
    return book.session.open_ns(book.lane_day(lane))


@dataclass(frozen=True)
class Crowd:
    """Where counterparties come from: accounts picked by role, never the excluded ones."""

    pop: Population
    activity: FloatArray
    exclude: IntArray

    def aggressors(self, rng: np.random.Generator, avoid: IntArray) -> tuple[IntArray, BoolArray]:
        """One aggressor account per entry of ``avoid`` (never that account), and its algo flag."""
        acc = self.pop.pick(rng, "aggressive_weight", self.activity, len(avoid))
        bad = (acc == avoid) | np.isin(acc, self.exclude)
        for _ in range(50):
            if not bad.any():
                break
            acc[bad] = self.pop.pick(rng, "aggressive_weight", self.activity, int(bad.sum()))
            bad = (acc == avoid) | np.isin(acc, self.exclude)
        return acc, self.pop.algo(rng, acc)


def posted(
    buf: EventBuffer,
    book: Book,
    rng: np.random.Generator,
    crowd: Crowd,
    *,
    t_new: IntArray,
    lane: IntArray,
    side: IntArray,
    trader: IntArray,
    price: FloatArray,
    qty: FloatArray,
    lifetime_ns: IntArray,
    n_modify: IntArray,
    algo: BoolArray,
    episode: IntArray,
) -> IntArray:
    """Limit orders that rest, are modified ``n_modify`` (0-2) times, and are cancelled.

    Where the book reaches an order's price during its life, the order does not
    survive it: it is filled there, in full, by an aggressor from ``crowd``, and its
    later events never happen. Lives end at the close at the latest. Returns the keys.
    """
    n = len(t_new)
    keys = buf.order_keys(n)
    close = _close(book, lane)
    t_new = np.minimum(t_new, close - 2 * NS // 1000)
    t_end = np.maximum(np.minimum(t_new + lifetime_ns, close), t_new + 3 * US)
    otype = np.full(n, LIMIT, dtype=np.int64)
    buy = side == BUY

    # the plan of each order's life: up to two modifications, then the cancel
    fractions = np.sort(rng.uniform(0.05, 0.95, size=(n, 2)), axis=1)
    toward = np.where(buy, 1.0, -1.0)
    seg_start = [t_new]
    seg_price = [price.astype(np.float64)]
    seg_qty = [qty.astype(np.float64)]
    mods: list[tuple[BoolArray, IntArray]] = []
    for m in (0, 1):
        sel = n_modify > m
        reprice = rng.random(n) < 0.5
        step = np.where(rng.random(n) < 0.6, toward, -toward)
        tm = t_new + ((t_end - t_new) * fractions[:, m]).astype(np.int64)
        tm = np.clip(tm, t_new + US, t_end - US)
        # never reprice through the touch: stay at least a tick off the other side
        bid_m, ask_m, _, _ = book.quote(lane, tm)
        new_price = np.where(reprice, seg_price[-1] + step, seg_price[-1])
        new_price = np.where(
            buy, np.minimum(new_price, ask_m - 1), np.maximum(new_price, bid_m + 1)
        )
        new_price = np.maximum(new_price, 1.0)
        new_qty = np.where(
            reprice, seg_qty[-1], np.maximum(1.0, np.round(seg_qty[-1] * rng.uniform(0.5, 1.5, n)))
        )
        seg_start.append(np.where(sel, tm, t_end))
        seg_price.append(np.where(sel, new_price, seg_price[-1]))
        seg_qty.append(np.where(sel, new_qty, seg_qty[-1]))
        mods.append((sel, tm))
    seg_start.append(t_end)

    # where does the book first reach the order, segment by segment?
    cross = np.full(n, -1, dtype=np.int64)
    cross_seg = np.full(n, -1, dtype=np.int64)
    for k in range(3):
        todo = (cross < 0) & (seg_start[k + 1] > seg_start[k])
        if not todo.any():
            continue
        idx = np.flatnonzero(todo)
        hit = book.first_cross(
            lane[idx], buy[idx], seg_price[k][idx], seg_start[k][idx], seg_start[k + 1][idx]
        )
        found = hit >= 0
        cross[idx[found]] = hit[found]
        cross_seg[idx[found]] = k

    def emit(sel: BoolArray, t: IntArray, etype: int, px: FloatArray, q: FloatArray) -> None:
        buf.add(
            t=t[sel],
            lane=lane[sel],
            etype=etype,
            okey=keys[sel],
            side=side[sel],
            price=px[sel],
            qty=q[sel],
            otype=otype[sel],
            trader=trader[sel],
            algo=algo[sel],
            episode=episode[sel],
        )

    everyone = np.ones(n, dtype=bool)
    emit(everyone, t_new, NEW, seg_price[0], seg_qty[0])
    crossed = cross >= 0
    for m, (sel, tm) in enumerate(mods):
        emit(sel & (~crossed | (cross_seg > m)), tm, MODIFY, seg_price[m + 1], seg_qty[m + 1])
    emit(~crossed, t_end, CANCEL, seg_price[2], seg_qty[2])

    if crossed.any():
        c = np.flatnonzero(crossed)
        seg = cross_seg[c]
        last_event = np.choose(seg, [seg_start[0][c], seg_start[1][c], seg_start[2][c]])
        _filled_by_crowd(
            buf,
            rng,
            crowd,
            t_fill=np.maximum(cross[c] - 1, last_event + 2),
            lane=lane[c],
            okey=keys[c],
            side=side[c],
            price=np.choose(seg, [seg_price[0][c], seg_price[1][c], seg_price[2][c]]),
            qty=np.choose(seg, [seg_qty[0][c], seg_qty[1][c], seg_qty[2][c]]),
            otype=otype[c],
            trader=trader[c],
            algo=algo[c],
            episode=episode[c],
        )
    return keys


def _filled_by_crowd(
    buf: EventBuffer,
    rng: np.random.Generator,
    crowd: Crowd,
    *,
    t_fill: IntArray,
    lane: IntArray,
    okey: IntArray,
    side: IntArray,
    price: FloatArray,
    qty: FloatArray,
    otype: IntArray,
    trader: IntArray,
    algo: BoolArray,
    episode: IntArray,
) -> None:
    """Resting orders the book reached: a market order from the crowd fills each in full."""
    n = len(t_fill)
    agg, agg_algo = crowd.aggressors(rng, trader)
    agg_keys = buf.order_keys(n)
    tkeys = buf.trade_keys(n)
    agg_side = 1 - side
    market = np.full(n, MARKET, dtype=np.int64)
    none = np.full(n, -1, dtype=np.int64)
    buf.add(
        t=t_fill - 1,
        lane=lane,
        etype=NEW,
        okey=agg_keys,
        side=agg_side,
        price=np.full(n, np.nan),
        qty=qty,
        otype=market,
        trader=agg,
        algo=agg_algo,
        episode=none,
    )
    buf.add(
        t=t_fill,
        lane=lane,
        etype=FILL,
        okey=agg_keys,
        side=agg_side,
        price=price,
        qty=qty,
        otype=market,
        trader=agg,
        algo=agg_algo,
        episode=none,
        cpty=trader,
        tkey=tkeys,
    )
    buf.add(
        t=t_fill,
        lane=lane,
        etype=FILL,
        okey=okey,
        side=side,
        price=price,
        qty=qty,
        otype=otype,
        trader=trader,
        algo=algo,
        episode=episode,
        cpty=agg,
        tkey=tkeys,
    )


@dataclass(frozen=True)
class TradeSpec:
    """Trades to make: one row per trade (aggressor), and one row per fill (resting order)."""

    t: IntArray
    lane: IntArray
    agg_side: IntArray
    agg_trader: IntArray
    agg_algo: BoolArray
    agg_market: BoolArray
    agg_leftover: FloatArray  # quantity left after the fills (limit orders only), then cancelled
    agg_leftover_life_ns: IntArray
    agg_episode: IntArray
    fill_trade: IntArray  # per fill: index of its trade
    fill_qty: FloatArray
    rest_trader: IntArray
    rest_algo: BoolArray
    rest_time_ns: IntArray  # how long the resting order rested before its fill
    rest_extra: FloatArray  # quantity left on the resting order after the fill, then cancelled
    rest_cancel_delay_ns: IntArray
    rest_modify: BoolArray
    rest_episode: IntArray


def trades(
    buf: EventBuffer, book: Book, rng: np.random.Generator, crowd: Crowd, spec: TradeSpec
) -> IntArray:
    """Aggressor orders matched at the touch against resting orders; returns the trade keys.

    The trade price is the touch the aggressor takes (the ask for a buy). A resting
    order was placed before its fill at that price; where that price would have
    crossed the book at placement, the placement moves after the last book change.
    """
    n_tr = len(spec.t)
    bid, ask, _, _ = book.quote(spec.lane, spec.t)
    px = np.where(spec.agg_side == BUY, ask, bid).astype(np.float64)
    close = _close(book, spec.lane)

    # aggressor orders
    agg_keys = buf.order_keys(n_tr)
    filled = np.bincount(spec.fill_trade, weights=spec.fill_qty, minlength=n_tr)
    leftover = np.where(spec.agg_market, 0.0, spec.agg_leftover).astype(np.float64)
    agg_qty = (filled + leftover).astype(np.float64)
    agg_price = np.where(spec.agg_market, np.nan, px)
    otype = np.where(spec.agg_market, MARKET, LIMIT).astype(np.int64)
    buf.add(
        t=spec.t,
        lane=spec.lane,
        etype=NEW,
        okey=agg_keys,
        side=spec.agg_side,
        price=agg_price,
        qty=agg_qty,
        otype=otype,
        trader=spec.agg_trader,
        algo=spec.agg_algo,
        episode=spec.agg_episode,
    )

    # fills: the j-th fill of a trade happens j+1 microseconds after the aggressor arrives
    f = spec.fill_trade
    order = np.argsort(f, kind="stable")
    rank = np.empty(len(f), dtype=np.int64)
    starts = np.searchsorted(f[order], np.arange(n_tr))
    rank[order] = np.arange(len(f)) - starts[f[order]]
    t_fill = spec.t[f] + (rank + 1) * US
    tkeys = buf.trade_keys(len(f))
    lane_f = spec.lane[f]
    rest_side = 1 - spec.agg_side[f]
    buf.add(
        t=t_fill,
        lane=lane_f,
        etype=FILL,
        okey=agg_keys[f],
        side=spec.agg_side[f],
        price=px[f],
        qty=spec.fill_qty,
        otype=otype[f],
        trader=spec.agg_trader[f],
        algo=spec.agg_algo[f],
        episode=spec.agg_episode[f],
        cpty=spec.rest_trader,
        tkey=tkeys,
    )
    has_left = leftover > 0
    if has_left.any():
        t_end = np.minimum(spec.t + spec.agg_leftover_life_ns, close)
        t_end = np.maximum(t_end, spec.t + (np.bincount(f, minlength=n_tr) + 2) * US)
        s = has_left
        buf.add(
            t=t_end[s],
            lane=spec.lane[s],
            etype=CANCEL,
            okey=agg_keys[s],
            side=spec.agg_side[s],
            price=agg_price[s],
            qty=leftover[s],
            otype=otype[s],
            trader=spec.agg_trader[s],
            algo=spec.agg_algo[s],
            episode=spec.agg_episode[s],
        )

    # resting orders
    n_f = len(f)
    rest_keys = buf.order_keys(n_f)
    open_ = _open(book, lane_f)
    t_new = t_fill - spec.rest_time_ns
    early = t_new <= open_
    t_new = np.where(early, open_ + ((t_fill - open_) * rng.random(n_f)).astype(np.int64), t_new)
    _, ask_new, _, _ = book.quote(lane_f, t_new)
    bid_new, _, _, _ = book.quote(lane_f, t_new)
    price_f = px[f]
    crossing = np.where(rest_side == BUY, price_f >= ask_new, price_f <= bid_new)
    if crossing.any():
        since = book.last_change(lane_f, spec.t[f])
        moved = since + ((spec.t[f] - since) * rng.random(n_f)).astype(np.int64)
        t_new = np.where(crossing, moved, t_new)
    t_new = np.minimum(t_new, spec.t[f] - US)
    rest_qty = spec.fill_qty + spec.rest_extra
    first_qty = np.where(
        spec.rest_modify,
        np.maximum(1.0, np.round(rest_qty * rng.uniform(0.5, 1.5, n_f))),
        rest_qty,
    )
    limit = np.full(n_f, LIMIT, dtype=np.int64)
    buf.add(
        t=t_new,
        lane=lane_f,
        etype=NEW,
        okey=rest_keys,
        side=rest_side,
        price=price_f,
        qty=first_qty,
        otype=limit,
        trader=spec.rest_trader,
        algo=spec.rest_algo,
        episode=spec.rest_episode,
    )
    m = spec.rest_modify
    if m.any():
        t_mod = t_new + ((t_fill - t_new) * rng.uniform(0.1, 0.9, n_f)).astype(np.int64)
        t_mod = np.clip(t_mod, t_new + 1, t_fill - 1)
        buf.add(
            t=t_mod[m],
            lane=lane_f[m],
            etype=MODIFY,
            okey=rest_keys[m],
            side=rest_side[m],
            price=price_f[m],
            qty=rest_qty[m],
            otype=limit[m],
            trader=spec.rest_trader[m],
            algo=spec.rest_algo[m],
            episode=spec.rest_episode[m],
        )
    buf.add(
        t=t_fill,
        lane=lane_f,
        etype=FILL,
        okey=rest_keys,
        side=rest_side,
        price=price_f,
        qty=spec.fill_qty,
        otype=limit,
        trader=spec.rest_trader,
        algo=spec.rest_algo,
        episode=spec.rest_episode,
        cpty=spec.agg_trader[f],
        tkey=tkeys,
    )
    # what is left on a resting order rests on: cancelled later, or filled if the book gets there
    e = np.flatnonzero(spec.rest_extra > 0)
    if len(e):
        t_c = np.minimum(t_fill[e] + spec.rest_cancel_delay_ns[e], close[f][e])
        t_c = np.maximum(t_c, t_fill[e] + US)
        cross = book.first_cross(lane_f[e], rest_side[e] == BUY, price_f[e], t_fill[e], t_c)
        hit = cross >= 0
        k, h = e[~hit], e[hit]
        buf.add(
            t=t_c[~hit],
            lane=lane_f[k],
            etype=CANCEL,
            okey=rest_keys[k],
            side=rest_side[k],
            price=price_f[k],
            qty=spec.rest_extra[k],
            otype=limit[k],
            trader=spec.rest_trader[k],
            algo=spec.rest_algo[k],
            episode=spec.rest_episode[k],
        )
        if len(h):
            _filled_by_crowd(
                buf,
                rng,
                crowd,
                t_fill=np.maximum(cross[hit] - 1, t_fill[h] + 2),
                lane=lane_f[h],
                okey=rest_keys[h],
                side=rest_side[h],
                price=price_f[h],
                qty=spec.rest_extra[h],
                otype=limit[h],
                trader=spec.rest_trader[h],
                algo=spec.rest_algo[h],
                episode=spec.rest_episode[h],
            )
    return tkeys
