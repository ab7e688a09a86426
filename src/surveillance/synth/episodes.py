"""Labelled manipulation episodes, built from the same blocks as normal flow.

Each episode is planned first (where, when, who, how blatant, and any price impact
it causes, so the book can carry that impact), then built into events once the
book exists. Every event of the manipulating accounts' orders in an episode carries
the episode index; innocent counterparties' orders do not.

Calibration (default preset), from public enforcement cases and the literature:
spoof orders several to many times the trader's genuine size, placed at or near the
touch, cancelled within seconds after the genuine order on the other side executes;
layering keeps several price levels on one side at once; wash trades match linked
accounts (or one account) at the same price and size; quote stuffing sends hundreds
of short-lived orders in a second or two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from surveillance.schema.labels import Typology
from surveillance.synth.blocks import BUY, Crowd, EventBuffer, TradeSpec, posted, trades
from surveillance.synth.book import Book, Impact
from surveillance.synth.config import EpisodeConfig, MarketConfig
from surveillance.synth.flow import lognormal_ns
from surveillance.synth.population import Population
from surveillance.synth.session import NS, FloatArray, IntArray, Session

US = 1_000


@dataclass(frozen=True)
class Plan:
    index: int
    typology: Typology
    u: float  # intensity in [0, 1]; severity follows from it
    lane: int
    t0: int
    traders: tuple[int, ...]
    side: int  # the side that the manipulation pushes or fakes
    marks: tuple[int, ...]  # planned times (ns) of price-moving orders, if any
    impact: Impact | None
    seed: int

    @property
    def severity(self) -> str:
        return "low" if self.u < 1 / 3 else "medium" if self.u < 2 / 3 else "high"


@dataclass(frozen=True)
class Context:
    buf: EventBuffer
    book: Book
    pop: Population
    activity: FloatArray
    cfg: EpisodeConfig


def _pick(span_lo: float, span_hi: float, rng: np.random.Generator) -> float:
    return float(rng.uniform(span_lo, span_hi))


def _draw(cfg: EpisodeConfig, key: str, rng: np.random.Generator) -> float:
    s = cfg.span(key)
    return _pick(s.low, s.high, rng)


def _count(cfg: EpisodeConfig, key: str, u: float) -> int:
    return max(1, round(cfg.span(key).at(u)))


def _one(x: float | int, dtype: type = np.int64) -> np.ndarray:
    return np.asarray([x], dtype=dtype)


# ---------------------------------------------------------------- planning


def _duration_s(typ: Typology, cfg: EpisodeConfig, u: float) -> float:
    """Upper bound of an episode's length, so that it fits in the session."""
    spans = dict(cfg.params)
    if typ is Typology.WASH_TRADING:
        return spans["trade_gap_s"].high * _count(cfg, "n_trades", u) + 60
    if typ is Typology.CIRCULAR_TRADING:
        legs = _count(cfg, "n_accounts", u) * _count(cfg, "n_cycles", u)
        return spans["leg_gap_s"].high * legs + 60
    if typ is Typology.PUMP_AND_DUMP:
        return spans["duration_min"].high * 60 + 60
    if typ is Typology.MOMENTUM_IGNITION:
        return spans["burst_s"].high + spans["exit_delay_s"].high + 400
    return 120.0


def plan_episodes(
    cfg: MarketConfig,
    session: Session,
    n_instruments: int,
    activity: FloatArray,
    pop: Population,
    n_events: int,
    rng: np.random.Generator,
) -> list[Plan]:
    plans: list[Plan] = []
    manip = pop.manipulators
    for ep_cfg in cfg.episodes:
        if ep_cfg.per_100k_events <= 0:
            continue
        n = max(1, round(ep_cfg.per_100k_events * n_events / 100_000))
        typ = ep_cfg.typology
        for _ in range(n):
            u = float(rng.random())
            instr = int(rng.choice(n_instruments, p=activity))
            day = int(rng.integers(0, session.days))
            lane = day * n_instruments + instr
            length = session.length_s
            dur = min(_duration_s(typ, ep_cfg, u), length * 0.8)
            if typ is Typology.MARKING_THE_CLOSE:
                window = ep_cfg.span("window_min").at(float(rng.random())) * 60
                secs = length - window
            else:
                secs = float(session.intraday_seconds(rng, 1)[0])
                secs = float(np.clip(secs, 1.0, length - dur))
            t0 = int(session.to_ns(np.asarray([day]), np.asarray([secs]))[0])
            if typ is Typology.WASH_TRADING:
                pair = int(rng.integers(0, len(manip) // 2))
                a, b = int(manip[2 * pair]), int(manip[2 * pair + 1])
                self_trade = rng.random() < ep_cfg.span("self_trade_prob").at(0.5)
                traders: tuple[int, ...] = (a, a) if self_trade else (a, b)
            elif typ is Typology.CIRCULAR_TRADING:
                k = min(_count(ep_cfg, "n_accounts", u), len(manip))
                traders = tuple(int(x) for x in rng.choice(manip, size=k, replace=False))
            else:
                traders = (int(rng.choice(manip)),)
            side = BUY if rng.random() < 0.5 else 1 - BUY
            marks, impact = _plan_impact(typ, ep_cfg, u, lane, t0, side, session, day, rng)
            plans.append(
                Plan(
                    index=len(plans),
                    typology=typ,
                    u=u,
                    lane=lane,
                    t0=t0,
                    traders=traders,
                    side=side,
                    marks=marks,
                    impact=impact,
                    seed=int(rng.integers(0, 2**63)),
                )
            )
    return plans


def _plan_impact(
    typ: Typology,
    cfg: EpisodeConfig,
    u: float,
    lane: int,
    t0: int,
    side: int,
    session: Session,
    day: int,
    rng: np.random.Generator,
) -> tuple[tuple[int, ...], Impact | None]:
    """Times of the price-moving orders and the jumps they cause (in the pushed direction)."""
    sign = 1 if side == BUY else -1
    close = int(session.close_ns(np.asarray([day]))[0])
    if typ is Typology.MARKING_THE_CLOSE:
        n = _count(cfg, "n_orders", u)
        times = np.sort(rng.integers(t0, close - NS, size=n))
        ticks = _count(cfg, "impact_ticks", u)
        jumps = np.sort(rng.choice(times, size=min(ticks, n), replace=False)) + 2 * US * 5
        return tuple(int(x) for x in times), Impact(lane, jumps, np.full(len(jumps), sign))
    if typ is Typology.MOMENTUM_IGNITION:
        n = _count(cfg, "n_orders", u)
        burst = _draw(cfg, "burst_s", rng) * NS
        times = np.sort(t0 + rng.integers(0, int(burst), size=n))
        ticks = _count(cfg, "impact_ticks", u)
        up = np.sort(rng.choice(times, size=min(ticks, n), replace=False)) + 10 * US
        exit_t = int(times[-1] + _draw(cfg, "exit_delay_s", rng) * NS)
        down = np.sort(exit_t + rng.integers(NS, 300 * NS, size=len(up)))
        jumps = np.concatenate([up, down])
        steps = np.concatenate([np.full(len(up), sign), np.full(len(down), -sign)])
        marks = (*[int(x) for x in times], exit_t)
        return marks, Impact(lane, jumps, steps)
    if typ is Typology.PUMP_AND_DUMP:
        dur = _draw(cfg, "duration_min", rng) * 60 * NS
        n_buys = _count(cfg, "n_buys", u)
        n_sells = _count(cfg, "n_sells", u)
        acc = np.sort(t0 + rng.integers(0, int(0.4 * dur), size=n_buys // 2 + 1))
        pump = np.sort(
            t0 + rng.integers(int(0.4 * dur), int(0.7 * dur), size=n_buys - len(acc) + 1)
        )
        dump = np.sort(t0 + rng.integers(int(0.7 * dur), int(dur), size=n_sells))
        ticks = _count(cfg, "impact_ticks", u)
        up = np.sort(rng.choice(pump, size=ticks, replace=True)) + 10 * US
        down = np.sort(t0 + rng.integers(int(0.75 * dur), int(1.3 * dur), size=ticks))
        jumps = np.concatenate([up, down])
        steps = np.concatenate([np.full(ticks, sign), np.full(ticks, -sign)])
        marks = (*[int(x) for x in acc], -1, *[int(x) for x in pump], -1, *[int(x) for x in dump])
        return marks, Impact(lane, jumps, steps)
    return (), None


# ---------------------------------------------------------------- building


def _counterparties(
    ctx: Context, rng: np.random.Generator, weight: str, n: int, plan: Plan
) -> IntArray:
    acc = ctx.pop.pick(rng, weight, ctx.activity, n)
    bad = np.isin(acc, ctx.pop.manipulators)
    while bad.any():
        acc[bad] = ctx.pop.pick(rng, weight, ctx.activity, int(bad.sum()))
        bad = np.isin(acc, ctx.pop.manipulators)
    return acc


def _single_trades(
    ctx: Context,
    rng: np.random.Generator,
    plan: Plan,
    *,
    t: IntArray,
    agg_side: IntArray,
    agg: IntArray,
    rest: IntArray,
    qty: FloatArray,
    agg_labelled: bool,
    rest_labelled: bool,
    rest_time_ns: IntArray | None = None,
    rest_extra: FloatArray | None = None,
) -> None:
    n = len(t)
    lane = np.full(n, plan.lane, dtype=np.int64)
    ep = np.full(n, plan.index, dtype=np.int64)
    none = np.full(n, -1, dtype=np.int64)
    pop = ctx.pop
    spec = TradeSpec(
        t=t,
        lane=lane,
        agg_side=agg_side,
        agg_trader=agg,
        agg_algo=pop.algo(rng, agg),
        agg_market=rng.random(n) < 0.35,
        agg_leftover=np.zeros(n),
        agg_leftover_life_ns=np.full(n, NS, dtype=np.int64),
        agg_episode=ep if agg_labelled else none,
        fill_trade=np.arange(n, dtype=np.int64),
        fill_qty=qty,
        rest_trader=rest,
        rest_algo=pop.algo(rng, rest),
        rest_time_ns=(
            rest_time_ns
            if rest_time_ns is not None
            else lognormal_ns(rng, np.full(n, 8.0), np.full(n, 1.5))
        ),
        rest_extra=rest_extra if rest_extra is not None else np.zeros(n),
        rest_cancel_delay_ns=lognormal_ns(
            rng, pop.param("lifetime_median_s", rest), pop.param("lifetime_sigma", rest)
        ),
        rest_modify=rng.random(n) < 0.1,
        rest_episode=ep if rest_labelled else none,
    )
    trades(ctx.buf, ctx.book, rng, Crowd(pop, ctx.activity, pop.manipulators), spec)


def _base_size(ctx: Context, rng: np.random.Generator, trader: int) -> float:
    """The manipulator's genuine order: in its own habits, often smaller than usual
    (the spoofer wants a small fill at a better price)."""
    median = float(ctx.pop.param("size_median", _one(trader))[0])
    return max(1.0, round(median * rng.lognormal(0.0, 0.5) * rng.uniform(0.25, 0.8)))


def _post(
    ctx: Context,
    rng: np.random.Generator,
    plan: Plan,
    *,
    t: IntArray,
    side: IntArray,
    trader: IntArray,
    ticks_away: FloatArray,
    qty: FloatArray,
    end: IntArray,
    n_modify: IntArray | None = None,
) -> None:
    n = len(t)
    lane = np.full(n, plan.lane, dtype=np.int64)
    bid, ask, _, _ = ctx.book.quote(lane, t)
    price = np.where(side == BUY, bid - ticks_away, ask + ticks_away).astype(np.float64)
    posted(
        ctx.buf,
        ctx.book,
        rng,
        Crowd(ctx.pop, ctx.activity, ctx.pop.manipulators),
        t_new=t,
        lane=lane,
        side=side,
        trader=trader,
        price=np.maximum(price, 1.0),
        qty=np.maximum(1.0, np.round(qty)),
        lifetime_ns=np.maximum(end - t, 2 * US),
        n_modify=n_modify if n_modify is not None else np.zeros(n, dtype=np.int64),
        algo=ctx.pop.algo(rng, trader),
        episode=np.full(n, plan.index, dtype=np.int64),
    )


def _genuine(
    ctx: Context, rng: np.random.Generator, plan: Plan, t: int, side: int, qty: float
) -> None:
    """The manipulator's real order on the other side, aggressive or resting, that executes."""
    m = plan.traders[0]
    if rng.random() < ctx.cfg.span("genuine_aggressive_prob").at(0.5):
        rest = _counterparties(ctx, rng, "passive_weight", 1, plan)
        _single_trades(
            ctx,
            rng,
            plan,
            t=_one(t),
            agg_side=_one(side),
            agg=_one(m),
            rest=rest,
            qty=_one(qty, float),
            agg_labelled=True,
            rest_labelled=False,
        )
    else:
        agg = _counterparties(ctx, rng, "aggressive_weight", 1, plan)
        wait = int(rng.uniform(0.2, 3.0) * NS)
        _single_trades(
            ctx,
            rng,
            plan,
            t=_one(t + wait),
            agg_side=_one(1 - side),
            agg=agg,
            rest=_one(m),
            qty=_one(qty, float),
            agg_labelled=False,
            rest_labelled=True,
            rest_time_ns=_one(wait),
        )


def _spoofing(ctx: Context, plan: Plan, rng: np.random.Generator) -> None:
    cfg = ctx.cfg
    m, side = plan.traders[0], plan.side
    n = max(1, round(_draw(cfg, "n_orders", rng)))
    genuine = _base_size(ctx, rng, m)
    # the spoof volume (a multiple of the genuine order) is split over the spoof orders
    share = rng.uniform(0.7, 1.3, n)
    mult = cfg.span("size_multiple").at(plan.u) * share / share.sum()
    gaps = rng.uniform(cfg.span("placement_gap_s").low, cfg.span("placement_gap_s").high, n) * NS
    t = plan.t0 + np.cumsum(gaps).astype(np.int64) - int(gaps[0])
    t_gen = int(t[-1] + _draw(cfg, "genuine_delay_s", rng) * NS)
    _genuine(ctx, rng, plan, t_gen, 1 - side, genuine)
    end = t_gen + 3 * NS + (rng.uniform(*_lohi(cfg, "cancel_delay_s"), n) * NS).astype(np.int64)
    away = np.round(rng.uniform(*_lohi(cfg, "ticks_from_touch"), n))
    _post(
        ctx,
        rng,
        plan,
        t=t,
        side=np.full(n, side),
        trader=np.full(n, m),
        ticks_away=away,
        qty=genuine * mult,
        end=end,
        n_modify=(rng.random(n) < 0.1).astype(np.int64),
    )


def _lohi(cfg: EpisodeConfig, key: str) -> tuple[float, float]:
    s = cfg.span(key)
    return s.low, s.high


def _layering(ctx: Context, plan: Plan, rng: np.random.Generator) -> None:
    cfg = ctx.cfg
    m, side = plan.traders[0], plan.side
    n = _count(cfg, "n_levels", plan.u)
    genuine = _base_size(ctx, rng, m)
    gaps = rng.uniform(*_lohi(cfg, "level_gap_s"), n) * NS
    t = plan.t0 + np.cumsum(gaps).astype(np.int64) - int(gaps[0])
    first = int(rng.integers(0, 2))
    away = np.arange(first, first + n, dtype=np.float64)
    mult = cfg.span("size_multiple").at(plan.u) * rng.uniform(0.7, 1.3, n)
    t_gen = int(t[-1] + _draw(cfg, "genuine_delay_s", rng) * NS)
    _genuine(ctx, rng, plan, t_gen, 1 - side, genuine)
    cancel = t_gen + 3 * NS + int(_draw(cfg, "cancel_delay_s", rng) * NS)
    end = cancel + (rng.uniform(0, 0.2, n) * NS).astype(np.int64)
    _post(
        ctx,
        rng,
        plan,
        t=t,
        side=np.full(n, side),
        trader=np.full(n, m),
        ticks_away=away,
        qty=genuine * mult,
        end=end,
    )


def _matched_trades(
    ctx: Context,
    rng: np.random.Generator,
    plan: Plan,
    times: IntArray,
    sellers: IntArray,
    buyers: IntArray,
    qty: FloatArray,
    jitter: float,
) -> None:
    """Pre-arranged trades: a seller rests, the linked buyer crosses it at the same size."""
    n = len(times)
    delay = (rng.uniform(*_lohi(ctx.cfg, "cross_delay_s"), n) * NS).astype(np.int64)
    extra = np.round(qty * jitter * rng.random(n))
    _single_trades(
        ctx,
        rng,
        plan,
        t=times,
        agg_side=np.full(n, BUY, dtype=np.int64),
        agg=buyers,
        rest=sellers,
        qty=qty,
        agg_labelled=True,
        rest_labelled=True,
        rest_time_ns=delay,
        rest_extra=extra,
    )


def _wash_trading(ctx: Context, plan: Plan, rng: np.random.Generator) -> None:
    cfg = ctx.cfg
    a, b = plan.traders
    n = _count(cfg, "n_trades", plan.u)
    gaps = rng.uniform(*_lohi(cfg, "trade_gap_s"), n) * NS
    times = plan.t0 + np.cumsum(gaps).astype(np.int64)
    flip = rng.random(n) < 0.5
    sellers = np.where(flip, a, b).astype(np.int64)
    buyers = np.where(flip, b, a).astype(np.int64)
    qty = ctx.pop.sizes(rng, sellers)
    jitter = _draw(cfg, "size_jitter", rng)
    _matched_trades(ctx, rng, plan, times, sellers, buyers, qty, jitter)
    decoy = rng.random(n) < cfg.span("decoy_prob").at(0.5)
    k = int(decoy.sum())
    if k:
        td = times[decoy] - (rng.uniform(0.5, 10, k) * NS).astype(np.int64)
        who = np.where(rng.random(k) < 0.5, a, b).astype(np.int64)
        _post(
            ctx,
            rng,
            plan,
            t=td,
            side=np.where(rng.random(k) < 0.5, BUY, 1 - BUY),
            trader=who,
            ticks_away=np.round(rng.uniform(0, 3, k)),
            qty=qty[decoy],
            end=td + (rng.uniform(1, 20, k) * NS).astype(np.int64),
        )


def _circular_trading(ctx: Context, plan: Plan, rng: np.random.Generator) -> None:
    cfg = ctx.cfg
    ring = np.asarray(plan.traders, dtype=np.int64)
    cycles = _count(cfg, "n_cycles", plan.u)
    legs = len(ring) * cycles
    gaps = rng.uniform(*_lohi(cfg, "leg_gap_s"), legs) * NS
    times = plan.t0 + np.cumsum(gaps).astype(np.int64)
    idx = np.arange(legs) % len(ring)
    sellers, buyers = ring[idx], ring[(idx + 1) % len(ring)]
    qty = np.full(legs, ctx.pop.sizes(rng, ring[:1])[0])
    _matched_trades(ctx, rng, plan, times, sellers, buyers, qty, 0.0)


def _quote_stuffing(ctx: Context, plan: Plan, rng: np.random.Generator) -> None:
    cfg = ctx.cfg
    m = plan.traders[0]
    n = _count(cfg, "n_orders", plan.u)
    burst = _draw(cfg, "burst_s", rng) * NS
    t = np.sort(plan.t0 + rng.integers(0, int(burst), size=n))
    life = (rng.uniform(*_lohi(cfg, "lifetime_ms"), n) * 1e6).astype(np.int64)
    side = np.where(rng.random(n) < 0.5, BUY, 1 - BUY)
    away = np.round(rng.uniform(*_lohi(cfg, "ticks_from_touch"), n))
    qty = ctx.pop.sizes(rng, np.full(n, m, dtype=np.int64))
    _post(
        ctx, rng, plan, t=t, side=side, trader=np.full(n, m), ticks_away=away, qty=qty, end=t + life
    )


def _aggressive_run(
    ctx: Context, rng: np.random.Generator, plan: Plan, times: IntArray, side: int
) -> None:
    n = len(times)
    m = plan.traders[0]
    rest = _counterparties(ctx, rng, "passive_weight", n, plan)
    qty = ctx.pop.sizes(rng, np.full(n, m, dtype=np.int64))
    _single_trades(
        ctx,
        rng,
        plan,
        t=times,
        agg_side=np.full(n, side, dtype=np.int64),
        agg=np.full(n, m, dtype=np.int64),
        rest=rest,
        qty=qty,
        agg_labelled=True,
        rest_labelled=False,
    )


def _passive_run(
    ctx: Context, rng: np.random.Generator, plan: Plan, times: IntArray, side: int
) -> None:
    n = len(times)
    m = plan.traders[0]
    agg = _counterparties(ctx, rng, "aggressive_weight", n, plan)
    qty = ctx.pop.sizes(rng, np.full(n, m, dtype=np.int64))
    wait = (rng.uniform(0.5, 20, n) * NS).astype(np.int64)
    _single_trades(
        ctx,
        rng,
        plan,
        t=times,
        agg_side=np.full(n, 1 - side, dtype=np.int64),
        agg=agg,
        rest=np.full(n, m, dtype=np.int64),
        qty=qty,
        agg_labelled=False,
        rest_labelled=True,
        rest_time_ns=wait,
    )


def _marking_the_close(ctx: Context, plan: Plan, rng: np.random.Generator) -> None:
    _aggressive_run(ctx, rng, plan, np.asarray(plan.marks, dtype=np.int64), plan.side)


def _momentum_ignition(ctx: Context, plan: Plan, rng: np.random.Generator) -> None:
    *burst, exit_t = plan.marks
    _aggressive_run(ctx, rng, plan, np.asarray(burst, dtype=np.int64), plan.side)
    k = int(rng.integers(2, 5))
    exits = exit_t + np.sort(rng.integers(0, 30 * NS, size=k))
    _passive_run(ctx, rng, plan, exits.astype(np.int64), 1 - plan.side)


def _pump_and_dump(ctx: Context, plan: Plan, rng: np.random.Generator) -> None:
    marks = np.asarray(plan.marks, dtype=np.int64)
    cuts = np.flatnonzero(marks == -1)
    acc, pump, dump = marks[: cuts[0]], marks[cuts[0] + 1 : cuts[1]], marks[cuts[1] + 1 :]
    _passive_run(ctx, rng, plan, acc, plan.side)
    _aggressive_run(ctx, rng, plan, pump, plan.side)
    half = len(dump) // 2
    _aggressive_run(ctx, rng, plan, dump[:half], 1 - plan.side)
    _passive_run(ctx, rng, plan, dump[half:], 1 - plan.side)


BUILDERS: dict[Typology, Callable[[Context, Plan, np.random.Generator], None]] = {
    Typology.SPOOFING: _spoofing,
    Typology.LAYERING: _layering,
    Typology.WASH_TRADING: _wash_trading,
    Typology.QUOTE_STUFFING: _quote_stuffing,
    Typology.MARKING_THE_CLOSE: _marking_the_close,
    Typology.MOMENTUM_IGNITION: _momentum_ignition,
    Typology.PUMP_AND_DUMP: _pump_and_dump,
    Typology.CIRCULAR_TRADING: _circular_trading,
}


def build_episodes(
    buf: EventBuffer,
    book: Book,
    pop: Population,
    activity: FloatArray,
    cfg: MarketConfig,
    plans: list[Plan],
) -> None:
    for plan in plans:
        ctx = Context(buf, book, pop, activity, cfg.episode(plan.typology))
        BUILDERS[plan.typology](ctx, plan, np.random.default_rng(plan.seed))
