"""Per-instrument price path and top of book, one lane per (day, instrument).

The mid-price moves by ticks at random times whose rate follows the intraday
activity profile; the spread and the displayed sizes at the touch are redrawn at
each move. Episodes that move the price (ramping, momentum ignition, marking the
close) add their own jumps before the path is built, so the book every event sees
already carries their impact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from surveillance.sparse_table import sparse_table
from surveillance.synth.config import InstrumentConfig
from surveillance.synth.session import NS, FloatArray, IntArray, Session


@dataclass(frozen=True)
class Instruments:
    ids: tuple[str, ...]
    venues: tuple[str, ...]
    tick: FloatArray
    start_ticks: IntArray
    activity: FloatArray  # share of market activity, sums to 1
    moves_per_day: FloatArray
    depth_median: FloatArray  # displayed size at the touch


@dataclass(frozen=True)
class Impact:
    """Extra price jumps caused by an episode: at ``times_ns`` the bid moves by ``ticks``."""

    lane: int
    times_ns: IntArray
    ticks: IntArray


@dataclass(frozen=True)
class LanePath:
    times: IntArray  # change times, the first is the open
    bid: IntArray  # bid in ticks
    ask: IntArray
    bid_size: FloatArray
    ask_size: FloatArray
    ask_min: tuple[IntArray, ...]  # sparse table: ask_min[k][j] = min(ask[j : j + 2**k])
    bid_max: tuple[IntArray, ...]  # sparse table: bid_max[k][j] = max(bid[j : j + 2**k])


def lane_path(
    times: IntArray, bid: IntArray, ask: IntArray, bid_size: FloatArray, ask_size: FloatArray
) -> LanePath:
    return LanePath(
        times,
        bid,
        ask,
        bid_size,
        ask_size,
        sparse_table(ask, np.minimum),
        sparse_table(bid, np.maximum),
    )


def _isin(rng: np.random.Generator, n: int) -> tuple[str, ...]:
    """ISIN-shaped ids in the user-assigned 'ZZ' range, with a valid check digit."""
    out = []
    for digits in rng.choice(10**9, size=n, replace=False):
        body = f"ZZ{int(digits):09d}S"
        expanded = "".join(str(int(c, 36)) for c in body)
        total = 0
        for i, ch in enumerate(reversed(expanded)):
            d = int(ch) * (2 if i % 2 == 0 else 1)
            total += d // 10 + d % 10
        out.append(body + str((10 - total % 10) % 10))
    return tuple(out)


def build_instruments(
    cfg: InstrumentConfig, rng: np.random.Generator, median_order_size: float
) -> Instruments:
    n = cfg.count
    tick = rng.choice(np.asarray(cfg.tick_sizes, dtype=float), size=n)
    price = np.exp(rng.uniform(np.log(cfg.price.low), np.log(cfg.price.high), size=n))
    start_ticks = np.maximum(np.round(price / tick), 20).astype(np.int64)
    weights = 1.0 / np.arange(1, n + 1) ** cfg.activity_zipf
    weights = rng.permutation(weights)
    moves = rng.uniform(cfg.tick_moves_per_day.low, cfg.tick_moves_per_day.high, size=n)
    depth = median_order_size * rng.uniform(cfg.depth_multiple.low, cfg.depth_multiple.high, n)
    venues = tuple(str(v) for v in rng.choice(np.asarray(cfg.venues), size=n))
    return Instruments(
        ids=_isin(rng, n),
        venues=venues,
        tick=tick,
        start_ticks=start_ticks,
        activity=weights / weights.sum(),
        moves_per_day=moves,
        depth_median=depth,
    )


@dataclass(frozen=True)
class Book:
    """Top of book for every lane; lane = day * n_instruments + instrument."""

    session: Session
    instruments: Instruments
    paths: tuple[LanePath, ...]

    @property
    def n_instruments(self) -> int:
        return len(self.instruments.ids)

    def lane_day(self, lane: npt.NDArray[np.integer]) -> IntArray:
        return (np.asarray(lane) // self.n_instruments).astype(np.int64)

    def lane_instrument(self, lane: npt.NDArray[np.integer]) -> IntArray:
        return (np.asarray(lane) % self.n_instruments).astype(np.int64)

    def index(self, lane: npt.NDArray[np.integer], t: IntArray) -> IntArray:
        """Position, in each event's lane path, of the book state in force at ``t``."""
        out = np.zeros(len(t), dtype=np.int64)
        lane = np.asarray(lane)
        for k in np.unique(lane):
            sel = lane == k
            pos = np.searchsorted(self.paths[int(k)].times, t[sel], side="right") - 1
            out[sel] = np.maximum(pos, 0)
        return out

    def quote(
        self, lane: npt.NDArray[np.integer], t: IntArray
    ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
        """Bid and ask (ticks) and their displayed sizes in force at ``t``."""
        pos = self.index(lane, t)
        bid = np.empty(len(t), dtype=np.int64)
        ask = np.empty(len(t), dtype=np.int64)
        bsz = np.empty(len(t), dtype=np.float64)
        asz = np.empty(len(t), dtype=np.float64)
        lane = np.asarray(lane)
        for k in np.unique(lane):
            sel = lane == k
            path = self.paths[int(k)]
            p = pos[sel]
            bid[sel], ask[sel] = path.bid[p], path.ask[p]
            bsz[sel], asz[sel] = path.bid_size[p], path.ask_size[p]
        return bid, ask, bsz, asz

    def first_cross(
        self,
        lane: npt.NDArray[np.integer],
        buy: npt.NDArray[np.bool_],
        price: FloatArray,
        t_from: IntArray,
        t_to: IntArray,
    ) -> IntArray:
        """First book change in ``(t_from, t_to]`` that reaches a resting order's price.

        For a buy at ``price`` that is the first ask at or below it; for a sell the first
        bid at or above it. Returns the change time, or -1 where the book never gets
        there. A greedy descent over sparse min/max tables keeps it vectorised.
        """
        out = np.full(len(t_from), -1, dtype=np.int64)
        lane = np.asarray(lane)
        i0 = self.index(lane, t_from) + 1
        i1 = self.index(lane, t_to)
        for k in np.unique(lane):
            sel = np.flatnonzero(lane == k)
            path = self.paths[int(k)]
            b = buy[sel]
            p = price[sel]
            pos = i0[sel].copy()
            last = i1[sel]
            for level in range(len(path.ask_min) - 1, -1, -1):
                width = 1 << level
                ok = pos + width - 1 <= last
                j = np.minimum(pos, len(path.ask_min[level]) - 1)
                clear = np.where(b, path.ask_min[level][j] > p, path.bid_max[level][j] < p)
                pos = np.where(ok & clear, pos + width, pos)
            inside = pos <= last
            jj = np.minimum(pos, len(path.ask) - 1)
            hit = inside & np.where(b, path.ask[jj] <= p, path.bid[jj] >= p)
            out[sel[hit]] = path.times[jj[hit]]
        return out

    def last_change(self, lane: npt.NDArray[np.integer], t: IntArray) -> IntArray:
        """Time of the last book change at or before ``t`` (the state at ``t`` began then)."""
        pos = self.index(lane, t)
        out = np.empty(len(t), dtype=np.int64)
        lane = np.asarray(lane)
        for k in np.unique(lane):
            sel = lane == k
            out[sel] = self.paths[int(k)].times[pos[sel]]
        return out


def build_book(
    session: Session,
    instruments: Instruments,
    spread_probs: tuple[float, ...],
    impacts: list[Impact],
    rng: np.random.Generator,
) -> Book:
    n_instr = len(instruments.ids)
    probs = np.asarray(spread_probs, dtype=float)
    probs = probs / probs.sum()
    by_lane: dict[int, list[Impact]] = {}
    for imp in impacts:
        by_lane.setdefault(imp.lane, []).append(imp)
    paths: list[LanePath] = []
    last_bid = instruments.start_ticks.copy()
    for day in range(session.days):
        open_ns = int(session.open_ns(np.asarray([day]))[0])
        for i in range(n_instr):
            lane = day * n_instr + i
            n_moves = int(rng.poisson(instruments.moves_per_day[i]))
            secs = np.sort(session.intraday_seconds(rng, n_moves))
            times = open_ns + (secs * NS).astype(np.int64)
            steps = rng.choice(np.asarray([-2, -1, 1, 2]), size=n_moves, p=[0.05, 0.45, 0.45, 0.05])
            extra = by_lane.get(lane, [])
            if extra:
                times = np.concatenate([times, *[e.times_ns for e in extra]])
                steps = np.concatenate([steps, *[e.ticks for e in extra]])
                order = np.argsort(times, kind="stable")
                times, steps = times[order], steps[order]
            # overnight gap: a few ticks
            start = int(last_bid[i]) + int(rng.integers(-3, 4))
            bid = start + np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
            floor = max(10, int(instruments.start_ticks[i]) // 5)
            bid = np.maximum(bid, floor)  # reflect at a floor far below the start
            spread = 1 + rng.choice(len(probs), size=len(bid), p=probs)
            depth = instruments.depth_median[i]
            bsz = np.maximum(1.0, np.round(depth * rng.lognormal(0.0, 0.6, size=len(bid))))
            asz = np.maximum(1.0, np.round(depth * rng.lognormal(0.0, 0.6, size=len(bid))))
            all_times = np.concatenate([[open_ns], times]).astype(np.int64)
            paths.append(lane_path(all_times, bid, bid + spread, bsz, asz))
            last_bid[i] = bid[-1]
    return Book(session, instruments, tuple(paths))
