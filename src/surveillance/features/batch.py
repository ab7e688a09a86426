"""Batch engine: the whole spec over a whole table, vectorised.

Order life and windows are computed with group-wise cumulative sums and binary
searches over (key, arrival) and (key, time) orderings; min and max with sparse
tables; distinct counts and trade cycles with the shared sequential kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from surveillance.features.derive import VAR_EPS, derive, primitives
from surveillance.features.inputs import (
    CANCEL,
    FILL,
    MODIFY,
    NEW,
    NS,
    EventArrays,
    FeatureConfig,
    FloatArray,
    IntArray,
    event_arrays,
)
from surveillance.features.kernels import CycleGraph, DistinctWindow
from surveillance.features.spec import Agg, FeatureSpec, GaugeKind, Key, When
from surveillance.sparse_table import sparse_table

INFINITE_NS = np.int64(2**62)
BoolArray = npt.NDArray[np.bool_]


def _group_cumsum(group: IntArray, values: FloatArray) -> FloatArray:
    out = pd.Series(values).groupby(group, sort=False).cumsum()
    return np.asarray(out.to_numpy(), dtype=np.float64)


def _group_ffill(group: IntArray, values: FloatArray) -> FloatArray:
    out = pd.Series(values).groupby(group, sort=False).ffill()
    return np.asarray(out.to_numpy(), dtype=np.float64)


def _group_shift(group: IntArray, values: FloatArray, fill: float) -> FloatArray:
    out = pd.Series(values).groupby(group, sort=False).shift(1).fillna(fill)
    return np.asarray(out.to_numpy(), dtype=np.float64)


def order_state(ea: EventArrays, fast_cancel_s: float) -> dict[str, FloatArray]:
    """Each order's life after each of its events: age, modifications, fills, open quantity."""
    o = ea.order
    et = ea.etype
    is_new = et == NEW
    t_new = _group_ffill(o, np.where(is_new, ea.eff_t.astype(np.float64), np.nan))
    age = (ea.eff_t - t_new) / NS
    mods = _group_cumsum(o, (et == MODIFY).astype(np.float64))
    filled = _group_cumsum(o, np.where(et == FILL, ea.qty, 0.0))
    # total and limit come from the order's latest NEW or MODIFY, even where that is NaN
    sets_total = is_new | (et == MODIFY)
    latest = _group_ffill(o, np.where(sets_total, np.arange(ea.n, dtype=np.float64), np.nan))
    known = ~np.isnan(latest)
    at = np.where(known, latest, 0).astype(np.int64)
    total = np.where(known, ea.qty[at], np.nan)
    limit = np.where(known & ~np.isnan(total), ea.price[at], np.nan)
    cancelled = _group_cumsum(o, (et == CANCEL).astype(np.float64)) > 0
    leaves = np.where(cancelled, 0.0, total - filled)
    return {
        "order_age_s": age,
        "order_mods": mods,
        "order_filled": filled,
        "order_total": total,
        "order_leaves": leaves,
        "order_limit": limit,
        "fast_cancel": ((et == CANCEL) & (age < fast_cancel_s)).astype(np.float64),
    }


def _enter_mask(ea: EventArrays, when: When) -> BoolArray:
    et = ea.etype
    if when is When.ANY:
        return np.ones(ea.n, dtype=bool)
    if when is When.QUOTE:
        return np.asarray(et != FILL, dtype=bool)
    code = {When.NEW: NEW, When.MODIFY: MODIFY, When.CANCEL: CANCEL, When.FILL: FILL}[when]
    return np.asarray(et == code, dtype=bool)


class _Keys:
    """Dense codes of every key kind, in one code space per kind."""

    def __init__(self, ea: EventArrays) -> None:
        self.ea = ea
        n_tr = int(max(ea.trader.max(initial=-1), ea.cpty.max(initial=-1))) + 2
        has_t = ea.trader >= 0
        base = ea.inst * n_tr
        self.inst = ea.inst
        self.trader = np.where(has_t, base + ea.trader, -1)
        side01 = (ea.side > 0).astype(np.int64)
        raw_side = (base + ea.trader) * 2 + side01
        raw_opp = (base + ea.trader) * 2 + (1 - side01)
        self.side = np.where(has_t, raw_side, -1)
        self.opp = np.where(has_t, raw_opp, -1)
        has_pair = has_t & (ea.cpty >= 0)
        lo = np.minimum(ea.trader, ea.cpty)
        hi = np.maximum(ea.trader, ea.cpty)
        self.pair = np.where(has_pair, (base + lo) * n_tr + hi, -1)

    def enter_and_query(self, key: Key) -> tuple[IntArray, IntArray]:
        if key is Key.INSTRUMENT:
            return self.inst, self.inst
        if key is Key.TRADER:
            return self.trader, self.trader
        if key is Key.TRADER_SIDE:
            return self.side, self.side
        if key is Key.TRADER_OPPOSITE:
            return self.side, self.opp
        return self.pair, self.pair


class _Windows:
    """Window queries: for every event, its key's entering events in ``(t - w, t]``.

    Entering events are sorted by (key, arrival); queries are answered with binary
    searches of sorted needles (sorted by query key then arrival, which within a key is
    also time order), cached per entering set and per query key.
    """

    def __init__(self, ea: EventArrays, keys: _Keys) -> None:
        self.ea = ea
        self.keys = keys
        self.times = np.unique(ea.eff_t)
        self.rank = np.searchsorted(self.times, ea.eff_t)
        self.idx = np.arange(ea.n, dtype=np.int64)
        self._entering: dict[str, tuple[IntArray, IntArray, IntArray]] = {}
        self._queries: dict[str, tuple[IntArray, IntArray, BoolArray]] = {}
        self._thresholds: dict[int, IntArray] = {}

    def _enter(
        self, name: str, enter_key: IntArray, enter: BoolArray
    ) -> tuple[IntArray, IntArray, IntArray]:
        got = self._entering.get(name)
        if got is None:
            sel = np.flatnonzero(enter & (enter_key >= 0))
            g = enter_key[sel]
            order = np.argsort(g, kind="stable")  # sel is ascending: (key, arrival) order
            sel, g = sel[order], g[order]
            comp_i = g * np.int64(self.ea.n + 1) + sel
            comp_t = g * np.int64(len(self.times) + 1) + self.rank[sel]
            got = self._entering[name] = (sel, comp_i, comp_t)
        return got

    def _query(self, name: str, query_key: IntArray) -> tuple[IntArray, IntArray, BoolArray]:
        got = self._queries.get(name)
        if got is None:
            valid = query_key >= 0
            q = np.where(valid, query_key, 0)
            order = np.argsort(q, kind="stable")
            got = self._queries[name] = (order, q[order], valid)
        return got

    def _threshold(self, w_ns: int) -> IntArray:
        got = self._thresholds.get(w_ns)
        if got is None:
            got = np.searchsorted(self.times, self.ea.eff_t - w_ns, side="right") - 1
            self._thresholds[w_ns] = got
        return got

    def ranges(
        self,
        names: tuple[str, str],
        enter_key: IntArray,
        query_key: IntArray,
        enter: BoolArray,
        w_ns: int,
    ) -> tuple[IntArray, IntArray, IntArray]:
        """Sorted positions of entering events, and each query's window [lo, hi) in them."""
        sel, comp_i, comp_t = self._enter(names[0], enter_key, enter)
        order, q_sorted, valid = self._query(names[1], query_key)
        n1 = np.int64(self.ea.n + 1)
        r1 = np.int64(len(self.times) + 1)
        hi = np.empty(self.ea.n, dtype=np.int64)
        lo = np.empty(self.ea.n, dtype=np.int64)
        hi[order] = np.searchsorted(comp_i, q_sorted * n1 + order, side="right")
        thr = self._threshold(w_ns)[order]
        lo[order] = np.searchsorted(comp_t, q_sorted * r1 + thr, side="right")
        hi = np.where(valid, hi, 0)
        lo = np.where(valid, np.minimum(lo, hi), 0)
        return sel, lo, hi

    def aggregate(
        self,
        names: tuple[str, str],
        enter_key: IntArray,
        query_key: IntArray,
        enter: BoolArray,
        w_ns: int,
        agg: Agg,
        values: FloatArray | None,
    ) -> FloatArray:
        sel, lo, hi = self.ranges(names, enter_key, query_key, enter, w_ns)
        valid = query_key >= 0
        count = (hi - lo).astype(np.float64)
        if agg is Agg.COUNT:
            return np.where(valid, count, np.nan)
        assert values is not None
        v = values[sel]
        nonempty = valid & (hi > lo)
        if agg in (Agg.SUM, Agg.MEAN, Agg.VAR):
            cs = np.concatenate([[0.0], np.cumsum(v.astype(np.longdouble))])
            total = (cs[hi] - cs[lo]).astype(np.float64)
            if agg is Agg.SUM:
                return np.where(valid, total, np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / count
            if agg is Agg.MEAN:
                return np.where(nonempty, mean, np.nan)
            cs2 = np.concatenate([[0.0], np.cumsum(v.astype(np.longdouble) ** 2)])
            sq = (cs2[hi] - cs2[lo]).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                var = sq / count - mean * mean
            var = np.where(var <= VAR_EPS * mean * mean, 0.0, var)
            return np.where(nonempty, var, np.nan)
        if agg in (Agg.MIN, Agg.MAX):
            if len(v) == 0:
                return np.full(self.ea.n, np.nan)
            table = sparse_table(v, np.minimum if agg is Agg.MIN else np.maximum)
            length = np.maximum(hi - lo, 1)
            level = np.floor(np.log2(length)).astype(np.int64)
            out = np.full(self.ea.n, np.nan)
            for k in np.unique(level[nonempty]):
                m = nonempty & (level == k)
                arr = table[int(k)]
                a = arr[lo[m]]
                b = arr[hi[m] - (1 << int(k))]
                out[m] = np.minimum(a, b) if agg is Agg.MIN else np.maximum(a, b)
            return out
        if agg is Agg.LAST:
            last = np.where(nonempty, hi - 1, 0)
            return np.where(nonempty, v[last] if len(v) else np.nan, np.nan)
        raise AssertionError(agg)


def _distinct(
    ea: EventArrays, enter_key: IntArray, enter: BoolArray, w_ns: int, values: IntArray
) -> FloatArray:
    """Distinct values in the key's window, on the events that enter it (NaN elsewhere)."""
    out = np.full(ea.n, np.nan)
    states: dict[int, DistinctWindow] = {}
    t = ea.eff_t
    for i in np.flatnonzero(enter & (enter_key >= 0) & (values >= 0)).tolist():
        state = states.get(int(enter_key[i]))
        if state is None:
            state = states[int(enter_key[i])] = DistinctWindow(w_ns)
        state.add(int(t[i]), int(values[i]))
        out[i] = state.query(int(t[i]))
    return out


def _cycles(ea: EventArrays, w_ns: int) -> FloatArray:
    out = np.full(ea.n, np.nan)
    fills = np.flatnonzero((ea.etype == FILL) & (ea.trader >= 0) & (ea.cpty >= 0))
    graphs: dict[int, CycleGraph] = {}
    for i in fills.tolist():
        graph = graphs.setdefault(int(ea.inst[i]), CycleGraph(w_ns))
        me, other = int(ea.trader[i]), int(ea.cpty[i])
        seller, buyer = (other, me) if ea.side[i] > 0 else (me, other)
        hit = graph.add_and_check(int(ea.eff_t[i]), seller, buyer, float(ea.qty[i]))
        out[i] = 1.0 if hit else 0.0
    return out


def _gauge_deltas(
    ea: EventArrays, state: Mapping[str, FloatArray], keys: _Keys
) -> tuple[IntArray, dict[GaugeKind, FloatArray]]:
    """Per-event change of each (instrument, trader, side) gauge."""
    o = ea.order
    leaves = np.nan_to_num(state["order_leaves"], nan=0.0)
    before = _group_shift(o, leaves, 0.0)
    open_after = (leaves > 0).astype(np.float64)
    open_before = _group_shift(o, open_after, 0.0)
    limit = state["order_limit"]
    limit_before = _group_shift(o, limit, np.nan)
    # an order belongs to the (trader, side) of its first event, whatever later events say
    owner_key = pd.Series(keys.side).groupby(o, sort=False).transform("first").to_numpy()
    owner_key = np.asarray(owner_key, dtype=np.int64)
    # price levels: remove the order from its old level, add it at its new one
    has = owner_key >= 0
    rem = has & (open_before > 0) & np.isfinite(limit_before)
    add = has & (open_after > 0) & np.isfinite(limit)
    ev = np.concatenate([np.flatnonzero(rem), np.flatnonzero(add)])
    sub = np.concatenate([np.zeros(rem.sum(), np.int64), np.ones(add.sum(), np.int64)])
    delta = np.concatenate([-np.ones(rem.sum()), np.ones(add.sum())])
    px = np.concatenate([limit_before[rem], limit[add]])
    _, px_code = np.unique(px, return_inverse=True)
    level_key = owner_key[ev] * np.int64(len(px) + 1) + px_code
    order = np.lexsort((sub, ev, level_key))
    lk, d, e = level_key[order], delta[order], ev[order]
    count_after = _group_cumsum(lk, d)
    count_before = count_after - d
    trans = np.where((count_before == 0) & (count_after > 0), 1.0, 0.0) - np.where(
        (count_before > 0) & (count_after == 0), 1.0, 0.0
    )
    levels = np.bincount(e, weights=trans, minlength=ea.n)
    return owner_key, {
        GaugeKind.OPEN_QTY: np.where(has, leaves - before, 0.0),
        GaugeKind.OPEN_ORDERS: np.where(has, open_after - open_before, 0.0),
        GaugeKind.OPEN_LEVELS: levels,
    }


def compute_batch(
    events: pa.Table | pd.DataFrame,
    spec: FeatureSpec,
    config: FeatureConfig | None = None,
    owners: Mapping[str, str] | None = None,
    max_rows: int = 250_000,
) -> pd.DataFrame:
    """Every feature of ``spec`` for every event, in the input's row order.

    All state is per instrument, so a large table is computed a group of instruments at
    a time (at most ``max_rows`` events per group, or one instrument when it alone is
    larger): memory follows the largest group, not the table.
    """
    table = (
        events
        if isinstance(events, pa.Table)
        else pa.Table.from_pandas(events, preserve_index=False)
    )
    if table.num_rows <= max_rows or "instrument_id" not in table.column_names:
        return _compute(table, spec, config, owners)
    counts = pc.value_counts(table.column("instrument_id")).to_pylist()
    groups: list[list[object]] = [[]]
    size = 0
    for item in sorted(counts, key=lambda d: -int(d["counts"])):
        if size and size + int(item["counts"]) > max_rows:
            groups.append([])
            size = 0
        groups[-1].append(item["values"])
        size += int(item["counts"])
    out = np.full((table.num_rows, len(spec.names)), np.nan)
    for group in groups:
        rows = np.flatnonzero(
            pc.is_in(table.column("instrument_id"), value_set=pa.array(group)).to_numpy(
                zero_copy_only=False
            )
        )
        part = _compute(table.take(pa.array(rows)), spec, config, owners)
        out[rows] = part.to_numpy(dtype=np.float64)
    return pd.DataFrame(out, columns=list(spec.names))


def _compute(
    events: pa.Table,
    spec: FeatureSpec,
    config: FeatureConfig | None,
    owners: Mapping[str, str] | None,
) -> pd.DataFrame:
    cfg = config or FeatureConfig()
    ea = event_arrays(events, owners)
    state = order_state(ea, cfg.fast_cancel_s)
    cols: dict[str, npt.NDArray[Any]] = {
        "etype": ea.etype,
        "side": ea.side,
        "is_market": ea.is_market,
        "qty": ea.qty,
        "price": ea.price,
        "bid": ea.bid,
        "ask": ea.ask,
        "bid_size": ea.bid_size,
        "ask_size": ea.ask_size,
        "t": ea.t,
        "trader": ea.trader,
        "cpty": ea.cpty,
        **state,
    }
    prims = primitives(cols, cfg.close_seconds())
    prims["fast_cancel"] = state["fast_cancel"]
    keys = _Keys(ea)
    windows = _Windows(ea, keys)
    aggs: dict[str, FloatArray] = {}
    for w in spec.windows:
        enter_key, query_key = keys.enter_and_query(w.key)
        enter = _enter_mask(ea, w.when)
        w_ns = int(w.seconds * NS)
        if w.agg is Agg.DISTINCT:
            values = ea.cpty if w.value == "counterparty" else ea.trader
            aggs[w.name] = _distinct(ea, enter_key, enter, w_ns, values)
            continue
        v = None if w.value is None else prims[w.value]
        if v is not None:
            enter = enter & np.isfinite(v)
        enter_kind = "side" if w.key is Key.TRADER_OPPOSITE else w.key.value
        names = (f"{enter_kind}|{w.when.value}|{w.value}", w.key.value)
        aggs[w.name] = windows.aggregate(names, enter_key, query_key, enter, w_ns, w.agg, v)
    if spec.gauges:
        owner_key, deltas = _gauge_deltas(ea, state, keys)
        everyone = np.ones(ea.n, dtype=bool)
        for gauge in spec.gauges:
            query = keys.side if gauge.key is Key.TRADER_SIDE else keys.opp
            names = ("order-key", gauge.key.value)
            aggs[gauge.name] = windows.aggregate(
                names, owner_key, query, everyone, int(INFINITE_NS), Agg.SUM, deltas[gauge.kind]
            )
    for cycle in spec.cycles:
        aggs[cycle.name] = _cycles(ea, int(cycle.seconds * NS))
    ids = {"trader": ea.trader, "cpty": ea.cpty, "owner": ea.owner, "cpty_owner": ea.cpty_owner}
    features = derive(spec, prims, aggs, ids)
    # column-major, so each feature is one contiguous write and pandas takes it as is
    matrix = np.empty((ea.n, len(spec.names)), dtype=np.float64, order="F")
    for j, name in enumerate(spec.names):
        matrix[:, j] = features[name]
    return pd.DataFrame(matrix, columns=list(spec.names), copy=False)
