"""Streaming engine: the same spec, one event at a time, from keyed state.

All state for an event lives under its instrument (the stream's partition key):
its orders, its windows (per instrument, trader, trader and side, pair), gauges of
open orders, and the kernels. Each instrument's state snapshots to bytes and
restores, remembers the last sequence number it applied per shard (a replayed
Kinesis record is skipped, never counted twice), evicts window entries as time
passes, drops empty keys, forgets closed orders (cancelled or filled) idle for longer
than ``closed_order_ttl_s`` (default 5 minutes) and open orders idle for longer than
``order_ttl_s`` (default one day). An event for an order forgotten this way is read as an
order never seen: the one place where the streaming engine may differ from the batch
engine, which never forgets.

Per-event work is plain Python on the keyed state; the final step (primitives and
features from the collected inputs) is the shared vectorised ``derive``, run once
per micro-batch (a batch of one is the event-by-event path).
"""

from __future__ import annotations

import json
import math
import zlib
from collections import deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveillance.errors import SchemaError
from surveillance.features.derive import (
    VAR_EPS,
    compile_one,
    derive,
    primitives,
    primitives_one,
)
from surveillance.features.inputs import CANCEL, EVENT_CODES, FILL, MODIFY, NEW, NS, FeatureConfig
from surveillance.features.kernels import CycleGraph, DistinctWindow
from surveillance.features.spec import Agg, FeatureSpec, GaugeKind, Key, When

SNAPSHOT_VERSION = 1
NAN = float("nan")

_ENTERS: dict[When, frozenset[int]] = {
    When.ANY: frozenset({NEW, MODIFY, CANCEL, FILL}),
    When.QUOTE: frozenset({NEW, MODIFY, CANCEL}),
    When.NEW: frozenset({NEW}),
    When.MODIFY: frozenset({MODIFY}),
    When.CANCEL: frozenset({CANCEL}),
    When.FILL: frozenset({FILL}),
}


@dataclass(frozen=True)
class _Group:
    """Windows that share entering events: same key kind, length, filter and value."""

    kind: str  # "inst", "trader", "side", "pair"
    w_ns: int
    enters: frozenset[int]
    value: str | None
    members: tuple[tuple[str, Agg, bool], ...]  # (window name, aggregate, query the opposite side)
    sums: bool = False  # keep running sums (sum, mean, variance)
    mins: bool = False
    maxs: bool = False
    own: bool = False  # some member reads the event's own key
    opp: bool = False  # some member reads the opposite side's key
    plain: bool = False  # every member counts: entries need no sums and no min/max


def _groups(spec: FeatureSpec) -> tuple[_Group, ...]:
    buckets: dict[tuple[str, int, When, str | None], list[tuple[str, Agg, bool]]] = {}
    for w in spec.windows:
        if w.agg is Agg.DISTINCT:
            continue
        kind = "side" if w.key in (Key.TRADER_SIDE, Key.TRADER_OPPOSITE) else w.key.value
        bucket = (kind, int(w.seconds * NS), w.when, w.value)
        buckets.setdefault(bucket, []).append((w.name, w.agg, w.key is Key.TRADER_OPPOSITE))
    return tuple(
        _Group(
            kind,
            w_ns,
            _ENTERS[when],
            value,
            tuple(members),
            sums=any(a in (Agg.SUM, Agg.MEAN, Agg.VAR) for _, a, _ in members),
            mins=any(a is Agg.MIN for _, a, _ in members),
            maxs=any(a is Agg.MAX for _, a, _ in members),
            own=any(not o for _, _, o in members),
            opp=any(o for _, _, o in members),
            plain=all(a is Agg.COUNT for _, a, _ in members),
        )
        for (kind, w_ns, when, value), members in buckets.items()
    )


@dataclass
class _Win:
    """One key's window: entries, running count and sums, monotonic deques for min/max."""

    entries: deque[tuple[int, float]] = field(default_factory=deque)
    total: float = 0.0
    total_sq: float = 0.0
    mins: deque[tuple[int, float]] | None = None  # made on first use: most windows only count
    maxs: deque[tuple[int, float]] | None = None
    seq: int = 0  # entries ever added (positions for the monotonic deques)

    def add(self, t: int, v: float, track_sums: bool, track_min: bool, track_max: bool) -> None:
        self.entries.append((t, v))
        self.seq += 1
        if track_sums:
            self.total += v
            self.total_sq += v * v
        if track_min:
            mins = self.mins
            if mins is None:
                mins = self.mins = deque()
            while mins and mins[-1][1] >= v:
                mins.pop()
            mins.append((self.seq, v))
        if track_max:
            maxs = self.maxs
            if maxs is None:
                maxs = self.maxs = deque()
            while maxs and maxs[-1][1] <= v:
                maxs.pop()
            maxs.append((self.seq, v))

    def evict(self, limit: int, track_sums: bool) -> None:
        entries = self.entries
        while entries and entries[0][0] <= limit:
            _, v = entries.popleft()
            if track_sums:
                self.total -= v
                self.total_sq -= v * v
        first = self.seq - len(entries) + 1  # sequence number of the oldest entry left
        while self.mins and self.mins[0][0] < first:
            self.mins.popleft()
        while self.maxs and self.maxs[0][0] < first:
            self.maxs.popleft()
        if not entries:
            self.total = 0.0  # exact reset: no drift carried across quiet spells
            self.total_sq = 0.0

    def value(self, agg: Agg) -> float:
        n = len(self.entries)
        if agg is Agg.COUNT:
            return float(n)
        if agg is Agg.SUM:
            return self.total if n else 0.0
        if n == 0:
            return NAN
        if agg is Agg.MEAN:
            return self.total / n
        if agg is Agg.VAR:
            mean = self.total / n
            var = self.total_sq / n - mean * mean
            return 0.0 if var <= VAR_EPS * mean * mean else var
        if agg is Agg.MIN:
            assert self.mins is not None
            return self.mins[0][1]
        if agg is Agg.MAX:
            assert self.maxs is not None
            return self.maxs[0][1]
        if agg is Agg.LAST:
            return self.entries[-1][1]
        raise AssertionError(agg)

    def to_data(self) -> list[Any]:
        return [
            [list(e) for e in self.entries],
            self.total,
            self.total_sq,
            [list(e) for e in self.mins or ()],
            [list(e) for e in self.maxs or ()],
            self.seq,
        ]

    @classmethod
    def from_data(cls, data: list[Any]) -> _Win:
        entries, total, total_sq, mins, maxs, seq = data
        return cls(
            deque((int(t), float(v)) for t, v in entries),
            float(total),
            float(total_sq),
            deque((int(s), float(v)) for s, v in mins) if mins else None,
            deque((int(s), float(v)) for s, v in maxs) if maxs else None,
            int(seq),
        )


@dataclass
class _Order:
    t_new: float = NAN
    total: float = NAN
    filled: float = 0.0
    mods: float = 0.0
    cancelled: bool = False
    limit: float = NAN
    leaves: float = 0.0  # open quantity after the last event (0 when unknown)
    open: bool = False
    last_t: int = 0
    key: tuple[str, int] | None = None  # (trader, side) of the order's first event


@dataclass
class InstrumentState:
    watermark: int = -(2**62)
    orders: dict[str, _Order] = field(default_factory=dict)
    windows: dict[int, dict[Hashable, _Win]] = field(default_factory=dict)
    gauges: dict[Hashable, list[float]] = field(
        default_factory=dict
    )  # (trader, side) -> qty, orders, levels
    levels: dict[Hashable, int] = field(
        default_factory=dict
    )  # (trader, side, price) -> open orders
    distinct: dict[str, dict[Hashable, DistinctWindow]] = field(default_factory=dict)
    cycles: dict[str, CycleGraph] = field(default_factory=dict)
    last_sequence: dict[str, int] = field(default_factory=dict)
    events: int = 0


def _f(x: Any) -> float:
    if x is None:
        return NAN
    try:
        v = float(x)
    except (TypeError, ValueError):
        return NAN
    return v


def _s(x: Any) -> str | None:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return None
    text = str(x)
    return text or None


def _plain(key: Hashable) -> Any:
    return list(key) if isinstance(key, tuple) else key


def _order_key(data: Any) -> tuple[str, int] | None:
    return None if data is None else (str(data[0]), int(data[1]))


def _t(x: Any) -> int:
    if isinstance(x, pd.Timestamp):
        return int(x.value)
    if isinstance(x, np.datetime64):
        return int(x.astype("datetime64[ns]").astype(np.int64))
    return int(x)


COLUMNS = (
    "etype", "side", "is_market", "qty", "price", "bid", "ask", "bid_size", "ask_size", "t",
    "order_age_s", "order_mods", "order_filled", "order_total", "order_leaves",
)  # fmt: skip


class StreamEngine:
    """Keyed streaming evaluation of a feature spec."""

    def __init__(
        self,
        spec: FeatureSpec,
        config: FeatureConfig | None = None,
        owners: Mapping[str, str] | None = None,
        order_ttl_s: float = 86_400.0,
        closed_order_ttl_s: float | None = 300.0,
        maintenance_every: int = 5_000,
    ) -> None:
        self.spec = spec
        self.config = config or FeatureConfig()
        self.owners = dict(owners or {})
        self.order_ttl_ns = int(order_ttl_s * NS)
        self.closed_ttl_ns = None if closed_order_ttl_s is None else int(closed_order_ttl_s * NS)
        self.maintenance_every = maintenance_every
        self.groups = _groups(spec)
        self.distincts = tuple(w for w in spec.windows if w.agg is Agg.DISTINCT)
        slots = {GaugeKind.OPEN_QTY: 0, GaugeKind.OPEN_ORDERS: 1, GaugeKind.OPEN_LEVELS: 2}
        self._gauges = tuple((g.name, g.key is Key.TRADER_SIDE, slots[g.kind]) for g in spec.gauges)
        self._cycles = tuple((c.name, int(c.seconds * NS)) for c in spec.cycles)
        self._distincts = tuple(
            (
                w.name,
                w.key is Key.TRADER,
                w.value == "counterparty",
                _ENTERS[w.when],
                int(w.seconds * NS),
            )
            for w in self.distincts
        )
        self._agg_names = (
            [name for g in self.groups for name, _, _ in g.members]
            + [d[0] for d in self._distincts]
            + [c[0] for c in self._cycles]
            + [g[0] for g in self._gauges]
        )
        self.states: dict[str, InstrumentState] = {}
        self._close_s = self.config.close_seconds()
        self._derive_one = compile_one(spec)
        self._fast_ns = self.config.fast_cancel_s * NS

    # ------------------------------------------------------------ public

    def process(
        self,
        records: Iterable[Mapping[str, Any]],
        shard: str | None = None,
        sequences: Sequence[str | int] | None = None,
    ) -> pd.DataFrame:
        """Apply records in order; return one feature row per newly applied record.

        The index of the result is the record's position in ``records``. Records whose
        sequence number is at or below the last one applied for their instrument and
        shard are skipped (a Kinesis retry), so they never count twice.
        """
        cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        aggs: dict[str, list[float]] = {name: [] for name in self._agg_names}
        ids: dict[str, list[int]] = {"trader": [], "cpty": [], "owner": [], "cpty_owner": []}
        codes: dict[Hashable, int] = {}
        positions: list[int] = []
        for pos, rec in enumerate(records):
            seq = None if sequences is None else int(sequences[pos])
            row = self._apply(rec, shard, seq, pos)
            if row is None:
                continue
            positions.append(pos)
            ev, agg = row
            for c in COLUMNS:
                cols[c].append(ev[c])
            for name, value in agg.items():
                aggs[name].append(value)
            trader, cpty = ev["trader"], ev["cpty"]
            ids["trader"].append(-1 if trader is None else codes.setdefault(trader, len(codes)))
            ids["cpty"].append(-1 if cpty is None else codes.setdefault(cpty, len(codes)))
            for key, who in (("owner", trader), ("cpty_owner", cpty)):
                owner = self.owners.get(who) if who is not None else None
                ids[key].append(
                    -1 if owner is None else codes.setdefault(("owner", owner), len(codes))
                )
        if not positions:
            return pd.DataFrame(columns=list(self.spec.names), dtype=np.float64)
        arrays = {c: np.asarray(v) for c, v in cols.items()}
        for c in COLUMNS:
            if c not in ("etype", "side", "t"):
                arrays[c] = arrays[c].astype(np.float64)
        arrays["t"] = arrays["t"].astype(np.int64)
        arrays["trader"] = np.asarray(ids["trader"], dtype=np.int64)
        arrays["cpty"] = np.asarray(ids["cpty"], dtype=np.int64)
        prims = primitives(arrays, self._close_s)
        agg_arrays = {k: np.asarray(v, dtype=np.float64) for k, v in aggs.items()}
        id_arrays = {k: np.asarray(v, dtype=np.int64) for k, v in ids.items()}
        out = derive(self.spec, prims, agg_arrays, id_arrays)
        return pd.DataFrame(out, index=pd.Index(positions))

    def process_one(
        self, record: Mapping[str, Any], shard: str | None = None, sequence: str | int | None = None
    ) -> dict[str, float] | None:
        """The event-by-event path: apply one record and return its features (None when the
        record is a replay), with no numpy or pandas on the way."""
        row = self._apply(record, shard, None if sequence is None else int(sequence), 0)
        if row is None:
            return None
        ev, aggs = row
        trader, cpty = ev["trader"], ev["cpty"]
        ev["trader"] = -1 if trader is None else 0
        ev["cpty"] = -1 if cpty is None else (0 if cpty == trader else 1)
        own = self.owners.get(trader) if trader is not None else None
        other = self.owners.get(cpty) if cpty is not None else None
        ids = {
            "trader": ev["trader"],
            "cpty": ev["cpty"],
            "owner": -1 if own is None else 0,
            "cpty_owner": -1 if other is None else (0 if other == own else 1),
        }
        prims = primitives_one(ev, self._close_s)
        result: dict[str, float] = self._derive_one(prims, aggs, ids)
        return result

    def snapshot(self, instrument: str) -> bytes:
        """The instrument's whole state as bytes (JSON, compressed): no code, only data."""
        st = self.states.get(instrument, InstrumentState())
        data = {
            "version": SNAPSHOT_VERSION,
            "spec": self.spec.version,
            "watermark": st.watermark,
            "events": st.events,
            "last_sequence": {k: str(v) for k, v in st.last_sequence.items()},
            "orders": {
                k: [
                    o.t_new,
                    o.total,
                    o.filled,
                    o.mods,
                    o.cancelled,
                    o.limit,
                    o.leaves,
                    o.open,
                    o.last_t,
                    _plain(o.key),
                ]
                for k, o in st.orders.items()
            },
            "windows": {
                str(g): [
                    [list(k) if isinstance(k, tuple) else k, w.to_data()] for k, w in wins.items()
                ]
                for g, wins in st.windows.items()
            },
            "gauges": [[_plain(k), v] for k, v in st.gauges.items()],
            "levels": [[_plain(k), v] for k, v in st.levels.items()],
            "distinct": {
                name: [
                    [list(k) if isinstance(k, tuple) else k, d.to_data()] for k, d in per.items()
                ]
                for name, per in st.distinct.items()
            },
            "cycles": {name: g.to_data() for name, g in st.cycles.items()},
        }
        return zlib.compress(json.dumps(data, separators=(",", ":")).encode())

    def restore(self, instrument: str, blob: bytes) -> None:
        """Replace the instrument's state with a snapshot taken by an engine of the same spec."""
        try:
            data = json.loads(zlib.decompress(blob))
        except (zlib.error, ValueError) as exc:
            raise SchemaError(f"state snapshot for {instrument!r} is unreadable: {exc}") from exc
        if data.get("version") != SNAPSHOT_VERSION or data.get("spec") != self.spec.version:
            raise SchemaError(
                f"state snapshot for {instrument!r} is of version {data.get('version')} and "
                f"feature set {data.get('spec')}; this engine needs {SNAPSHOT_VERSION} and "
                f"{self.spec.version}"
            )

        def key(k: Any) -> Hashable:
            return tuple(k) if isinstance(k, list) else k

        st = InstrumentState(watermark=int(data["watermark"]), events=int(data["events"]))
        st.last_sequence = {k: int(v) for k, v in data["last_sequence"].items()}
        for k, v in data["orders"].items():
            st.orders[k] = _Order(
                float(v[0]), float(v[1]), float(v[2]), float(v[3]), bool(v[4]), float(v[5]),
                float(v[6]), bool(v[7]), int(v[8]), _order_key(v[9]),
            )  # fmt: skip
        st.windows = {
            int(g): {key(k): _Win.from_data(w) for k, w in rows}
            for g, rows in data["windows"].items()
        }
        st.gauges = {key(k): [float(x) for x in v] for k, v in data["gauges"]}
        st.levels = {key(k): int(v) for k, v in data["levels"]}
        st.distinct = {
            name: {key(k): DistinctWindow.from_data(d) for k, d in rows}
            for name, rows in data["distinct"].items()
        }
        st.cycles = {name: CycleGraph.from_data(g) for name, g in data["cycles"].items()}
        self.states[instrument] = st

    def state_size(self) -> dict[str, int]:
        """Keys held, for memory accounting: orders, window keys, entries."""
        orders = sum(len(s.orders) for s in self.states.values())
        keys = sum(len(w) for s in self.states.values() for w in s.windows.values())
        entries = sum(
            len(x.entries)
            for s in self.states.values()
            for w in s.windows.values()
            for x in w.values()
        )
        return {
            "instruments": len(self.states),
            "orders": orders,
            "window_keys": keys,
            "entries": entries,
        }

    # ------------------------------------------------------------ one event

    def _apply(
        self, rec: Mapping[str, Any], shard: str | None, seq: int | None, pos: int
    ) -> tuple[dict[str, Any], dict[str, float]] | None:
        instrument = _s(rec.get("instrument_id"))
        etype = EVENT_CODES.get(str(rec.get("event_type")))
        side_text = rec.get("side")
        if instrument is None or etype is None or side_text not in ("BUY", "SELL"):
            raise SchemaError(
                f"record {pos}: instrument_id, event_type and side are required "
                f"(got {instrument!r}, {rec.get('event_type')!r}, {side_text!r})"
            )
        st = self.states.get(instrument)
        if st is None:
            st = self.states[instrument] = InstrumentState()
        if seq is not None and shard is not None:
            if seq <= st.last_sequence.get(shard, -1):
                return None
            st.last_sequence[shard] = seq
        t = _t(rec["timestamp"])
        if t > st.watermark:
            st.watermark = t
        now = st.watermark
        side = 1 if side_text == "BUY" else -1
        qty = _f(rec.get("quantity"))
        price = _f(rec.get("price"))
        trader = _s(rec.get("trader_id"))
        cpty = _s(rec.get("counterparty_id"))
        otype = rec.get("order_type")
        is_market = 1.0 if otype == "MARKET" else 0.0 if otype in ("LIMIT", "STOP") else NAN

        # the order's life
        oid = str(rec.get("order_id"))
        order = st.orders.get(oid)
        if order is None:
            order = st.orders[oid] = _Order(key=None if trader is None else (trader, side))
        leaves_before, open_before, limit_before = order.leaves, order.open, order.limit
        if etype == NEW:
            order.t_new = float(now)
        if etype == MODIFY:
            order.mods += 1.0
        if etype == FILL:
            order.filled += qty
        if etype in (NEW, MODIFY):
            order.total = qty
            order.limit = price
        if etype == CANCEL:
            order.cancelled = True
        if math.isnan(order.total):
            order.limit = NAN
        leaves = 0.0 if order.cancelled else order.total - order.filled
        order.leaves = 0.0 if math.isnan(leaves) else leaves
        order.open = order.leaves > 0
        order.last_t = now
        age = (now - order.t_new) / NS
        fast = 1.0 if (etype == CANCEL and age < self.config.fast_cancel_s) else 0.0

        bid, ask = _f(rec.get("bid_price")), _f(rec.get("ask_price"))
        values = {
            "qty": qty,
            "signed_qty": qty * side,
            "price": price,
            "fast_cancel": fast,
            "mid": (bid + ask) / 2.0 if (bid > 0 and ask > 0) else NAN,
        }

        # gauges of the trader's open orders on this side (the order's own trader and side)
        gkey = order.key
        if gkey is not None:
            gauge = st.gauges.get(gkey)
            if gauge is None:
                gauge = st.gauges[gkey] = [0.0, 0.0, 0.0]
            gauge[0] += order.leaves - leaves_before
            gauge[1] += float(order.open) - float(open_before)
            if open_before and not math.isnan(limit_before):
                lk = (*gkey, limit_before)
                left = st.levels[lk] - 1
                if left:
                    st.levels[lk] = left
                else:
                    del st.levels[lk]
                    gauge[2] -= 1.0
            if order.open and not math.isnan(order.limit):
                lk = (*gkey, order.limit)
                count = st.levels.get(lk, 0)
                st.levels[lk] = count + 1
                if count == 0:
                    gauge[2] += 1.0

        aggs: dict[str, float] = {}
        keys = {
            "inst": instrument,
            "trader": trader,
            "side": None if trader is None else (trader, side),
            "pair": None
            if trader is None or cpty is None
            else (min(trader, cpty), max(trader, cpty)),
        }
        opposite = None if trader is None else (trader, -side)
        for gi, g in enumerate(self.groups):
            wins = st.windows.get(gi)
            if wins is None:
                wins = st.windows[gi] = {}
            k = keys[g.kind]
            limit = now - g.w_ns
            if k is not None and etype in g.enters:
                v = 1.0 if g.value is None else values[g.value]
                if v == v:  # not NaN
                    win = wins.get(k)
                    if win is None:
                        win = wins[k] = _Win()
                    if g.plain:  # count-only windows: no sums, no min/max
                        win.entries.append((now, v))
                        win.seq += 1
                    else:
                        win.add(now, v, g.sums, g.mins, g.maxs)
            own_win = opp_win = None
            if g.own and k is not None:
                own_win = wins.get(k)
                if own_win is not None and own_win.entries and own_win.entries[0][0] <= limit:
                    if g.plain:
                        entries = own_win.entries
                        while entries and entries[0][0] <= limit:
                            entries.popleft()
                    else:
                        own_win.evict(limit, g.sums)
            if g.opp and opposite is not None:
                opp_win = wins.get(opposite)
                if opp_win is not None and opp_win.entries and opp_win.entries[0][0] <= limit:
                    opp_win.evict(limit, g.sums)
            for name, agg, opp in g.members:
                if (opposite if opp else k) is None:
                    aggs[name] = NAN
                    continue
                win = opp_win if opp else own_win
                if win is None or not win.entries:
                    aggs[name] = 0.0 if agg is Agg.COUNT or agg is Agg.SUM else NAN
                elif agg is Agg.COUNT:
                    aggs[name] = float(len(win.entries))
                else:
                    aggs[name] = win.value(agg)
            if own_win is not None and not own_win.entries:
                del wins[k]
            if opp_win is not None and not opp_win.entries:
                del wins[opposite]

        for dname, by_trader, of_cpty, enters, d_ns in self._distincts:
            per = st.distinct.get(dname)
            if per is None:
                per = st.distinct[dname] = {}
            k = keys["trader"] if by_trader else keys["inst"]
            value = cpty if of_cpty else trader
            if k is not None and etype in enters and value is not None:
                d = per.get(k)
                if d is None:
                    d = per[k] = DistinctWindow(d_ns)
                d.add(now, value)
                aggs[dname] = float(d.query(now))
            else:
                aggs[dname] = NAN  # distinct counts are read on entering events only

        for cname, c_ns in self._cycles:
            hit = NAN
            if etype == FILL and trader is not None and cpty is not None:
                graph = st.cycles.get(cname)
                if graph is None:
                    graph = st.cycles[cname] = CycleGraph(c_ns)
                seller, buyer = (cpty, trader) if side > 0 else (trader, cpty)
                hit = 1.0 if graph.add_and_check(now, seller, buyer, qty) else 0.0
            aggs[cname] = hit

        for name, same, slot in self._gauges:
            gk = keys["side"] if same else opposite
            if gk is None:
                aggs[name] = NAN
            else:
                g3 = st.gauges.get(gk)
                aggs[name] = 0.0 if g3 is None else g3[slot]

        st.events += 1
        if st.events % self.maintenance_every == 0:
            self._maintain(st, now)
        ev = {
            "etype": etype,
            "side": side,
            "is_market": is_market,
            "qty": qty,
            "price": price,
            "bid": bid,
            "ask": ask,
            "bid_size": _f(rec.get("bid_size")),
            "ask_size": _f(rec.get("ask_size")),
            "t": t,
            "order_age_s": age,
            "order_mods": order.mods,
            "order_filled": order.filled,
            "order_total": order.total,
            "order_leaves": leaves,
            "trader": trader,
            "cpty": cpty,
        }
        return ev, aggs

    def _maintain(self, st: InstrumentState, now: int) -> None:
        """Bound memory: forget idle orders, evict every window, prune kernels."""
        limit = now - self.order_ttl_ns
        closed = limit if self.closed_ttl_ns is None else now - self.closed_ttl_ns
        st.orders = {
            k: o
            for k, o in st.orders.items()
            if o.last_t > (closed if (o.cancelled or (o.filled > 0 and not o.open)) else limit)
        }
        for gi, g in enumerate(self.groups):
            wins = st.windows.get(gi, {})
            for k in list(wins):
                wins[k].evict(now - g.w_ns, g.sums)
                if not wins[k].entries:
                    del wins[k]
        for per in st.distinct.values():
            for k in list(per):
                per[k].query(now)
                if not per[k].entries:
                    del per[k]
        for graph in st.cycles.values():
            graph.prune(now)


def records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of an event table as records (what a decoded Kinesis payload looks like)."""
    out = frame.copy()
    if "timestamp" in out.columns and pd.api.types.is_datetime64_any_dtype(out["timestamp"]):
        out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True).astype("int64")
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")  # type: ignore[return-value]
