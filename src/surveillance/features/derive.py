"""The last step, shared by both engines: primitives from columns, features from inputs.

Both engines hand this module the same named arrays (event columns, the order's
life so far, aggregates); it computes every feature with one vectorised function,
so the two engines cannot disagree here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from surveillance.features.inputs import CANCEL, FILL, MODIFY, NEW, NS, FloatArray
from surveillance.features.spec import PRIMITIVES, FeatureSpec, Op

VAR_EPS = 1e-12  # a variance below this share of the squared mean counts as zero


def _where(mask: np.ndarray, value: np.ndarray | float) -> FloatArray:
    return np.where(mask, value, np.nan).astype(np.float64)


def _div(a: FloatArray, b: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)
    return out.astype(np.float64)


def primitives(c: Mapping[str, np.ndarray], close_s: float | None) -> dict[str, FloatArray]:
    """Per-event values from the event columns and its order's state (after the event)."""
    et = c["etype"]
    side = c["side"].astype(np.float64)
    qty = c["qty"]
    bid, ask = c["bid"], c["ask"]
    has_book = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask > 0)
    mid = _where(has_book, (bid + ask) / 2.0)
    same_touch = np.where(side > 0, bid, ask)
    same_size = np.where(side > 0, c["bid_size"], c["ask_size"])
    priced = np.isfinite(c["price"])
    dist = _where(has_book & priced, (same_touch - c["price"]) * side / mid * 1e4)
    total_size = c["bid_size"] + c["ask_size"]
    if close_s is None:
        to_close = np.full(len(et), np.nan)
    else:
        seconds = (c["t"] % (86_400 * NS)) / NS
        to_close = close_s - seconds
    age = c["order_age_s"]
    return {
        "is_new": (et == NEW).astype(np.float64),
        "is_modify": (et == MODIFY).astype(np.float64),
        "is_cancel": (et == CANCEL).astype(np.float64),
        "is_fill": (et == FILL).astype(np.float64),
        "side_sign": side,
        "is_market": c["is_market"],
        "qty": qty,
        "signed_qty": qty * side,
        "log_qty": np.log1p(np.maximum(qty, 0.0)),
        "price": c["price"],
        "mid": mid,
        "spread_bps": _where(has_book, (ask - bid) / mid * 1e4),
        "touch_imbalance": _div(c["bid_size"] - c["ask_size"], total_size),
        "same_touch_size": same_size,
        "distance_bps": dist,
        "seconds_to_close": to_close,
        "order_age_s": age,
        "order_mods": c["order_mods"],
        "order_filled": c["order_filled"],
        "order_total": c["order_total"],
        "order_leaves": c["order_leaves"],
        "order_unfilled": (c["order_filled"] == 0).astype(np.float64),
        "has_trader": (c["trader"] >= 0).astype(np.float64),
        "has_counterparty": (c["cpty"] >= 0).astype(np.float64),
        "has_book": has_book.astype(np.float64),
    }


def derive(
    spec: FeatureSpec,
    prims: Mapping[str, FloatArray],
    aggs: Mapping[str, FloatArray],
    ids: Mapping[str, np.ndarray],
) -> dict[str, FloatArray]:
    """Every feature of the spec, from primitives, aggregates and the id codes."""
    et_fill = prims["is_fill"] == 1.0
    et_cancel = prims["is_cancel"] == 1.0

    def get(name: str) -> FloatArray:
        return prims[name] if name in prims else aggs[name]

    out: dict[str, FloatArray] = {}
    for f in spec.features:
        if f.op in (Op.EQUAL, Op.LINKED):
            if f.op is Op.EQUAL:
                a, b = ids["trader"], ids["cpty"]
            else:
                a, b = ids["owner"], ids["cpty_owner"]
            known = (a >= 0) & (b >= 0) & et_fill
            out[f.name] = _where(known, (a == b).astype(np.float64))
            continue
        x = [get(name) for name in f.inputs]
        if f.op is Op.COPY:
            value = x[0].astype(np.float64, copy=True)
        elif f.op is Op.RATIO:
            value = _div(x[0], x[1])
        elif f.op is Op.RATIO1:
            value = _div(x[0], x[1] + 1.0)
        elif f.op is Op.ZSCORE:
            a, mean, var = x
            flat = var <= VAR_EPS * mean * mean
            with np.errstate(invalid="ignore", divide="ignore"):
                z = (a - mean) / np.sqrt(np.where(flat, 1.0, var))
            value = np.where(flat & np.isfinite(var), 0.0, z)
            value = np.where(np.isfinite(mean) & np.isfinite(a), value, np.nan)
        elif f.op is Op.BPS_DIFF:
            value = _div(x[0] - x[1], x[1]) * 1e4
        elif f.op is Op.RANGE_BPS:
            value = _div(x[0] - x[1], x[2]) * 1e4
        elif f.op is Op.RATE_RATIO:
            wa, wb = f.params
            value = _div(x[0] / wa, x[1] / wb)
        elif f.op is Op.ONLY_CANCEL:
            value = _where(et_cancel, x[0])
        elif f.op is Op.ONLY_FILL:
            value = _where(et_fill, x[0])
        elif f.op is Op.FILL_COMPLETES:
            value = _where(et_fill & np.isfinite(x[0]), (x[0] <= 0).astype(np.float64))
        else:  # pragma: no cover - every Op is handled above
            raise AssertionError(f.op)
        out[f.name] = value.astype(np.float64)
    return out


# ---------------------------------------------------------------- one event, no numpy
#
# The event-by-event path: the same formulas as ``primitives`` and ``derive`` on Python
# floats, in the same order of operations (so the same IEEE results), without the
# per-call cost of numpy on arrays of one. The parity tests run both paths.

_NAN = float("nan")


def _div1(a: float, b: float) -> float:
    return a / b if b != 0 else _NAN


def primitives_one(c: Mapping[str, Any], close_s: float | None) -> dict[str, float]:
    et = c["etype"]
    side = float(c["side"])
    qty = c["qty"]
    bid, ask = c["bid"], c["ask"]
    has_book = math.isfinite(bid) and math.isfinite(ask) and bid > 0 and ask > 0
    mid = (bid + ask) / 2.0 if has_book else _NAN
    same_touch = bid if side > 0 else ask
    price = c["price"]
    dist = (same_touch - price) * side / mid * 1e4 if has_book and math.isfinite(price) else _NAN
    to_close = _NAN if close_s is None else close_s - (c["t"] % (86_400 * NS)) / NS
    return {
        "is_new": float(et == NEW),
        "is_modify": float(et == MODIFY),
        "is_cancel": float(et == CANCEL),
        "is_fill": float(et == FILL),
        "side_sign": side,
        "is_market": c["is_market"],
        "qty": qty,
        "signed_qty": qty * side,
        "log_qty": math.log1p(max(qty, 0.0)) if qty == qty else _NAN,
        "price": price,
        "mid": mid,
        "spread_bps": (ask - bid) / mid * 1e4 if has_book else _NAN,
        "touch_imbalance": _div1(c["bid_size"] - c["ask_size"], c["bid_size"] + c["ask_size"]),
        "same_touch_size": c["bid_size"] if side > 0 else c["ask_size"],
        "distance_bps": dist,
        "seconds_to_close": to_close,
        "order_age_s": c["order_age_s"],
        "order_mods": c["order_mods"],
        "order_filled": c["order_filled"],
        "order_total": c["order_total"],
        "order_leaves": c["order_leaves"],
        "order_unfilled": float(c["order_filled"] == 0),
        "has_trader": float(c["trader"] >= 0),
        "has_counterparty": float(c["cpty"] >= 0),
        "has_book": float(has_book),
    }


def compile_one(spec: FeatureSpec) -> Any:
    """``derive`` for one event, compiled for one spec: the spec becomes one Python function with
    the features as straight-line expressions (the same formulas, evaluated the same
    way), which is several times faster than walking the spec for every event."""
    lines = [
        "def derived(p, g, ids):",
        "    nan = _NAN",
        "    fill = p['is_fill'] == 1.0",
        "    cancel = p['is_cancel'] == 1.0",
        "    out = {}",
    ]
    prim_names = set(PRIMITIVES)

    def ref(name: str) -> str:
        return f"p[{name!r}]" if name in prim_names else f"g[{name!r}]"

    for f in spec.features:
        x = [ref(n) for n in f.inputs]
        target = f"out[{f.name!r}]"
        if f.op is Op.EQUAL or f.op is Op.LINKED:
            a, b = ("'trader'", "'cpty'") if f.op is Op.EQUAL else ("'owner'", "'cpty_owner'")
            lines.append(
                f"    {target} = float(ids[{a}] == ids[{b}]) "
                f"if (ids[{a}] >= 0 and ids[{b}] >= 0 and fill) else nan"
            )
        elif f.op is Op.COPY:
            lines.append(f"    {target} = float({x[0]})")
        elif f.op is Op.RATIO:
            lines.append(f"    {target} = _div1({x[0]}, {x[1]})")
        elif f.op is Op.RATIO1:
            lines.append(f"    {target} = _div1({x[0]}, {x[1]} + 1.0)")
        elif f.op is Op.ZSCORE:
            lines.append(f"    {target} = _zscore1({x[0]}, {x[1]}, {x[2]})")
        elif f.op is Op.BPS_DIFF:
            lines.append(f"    {target} = _div1({x[0]} - {x[1]}, {x[1]}) * 1e4")
        elif f.op is Op.RANGE_BPS:
            lines.append(f"    {target} = _div1({x[0]} - {x[1]}, {x[2]}) * 1e4")
        elif f.op is Op.RATE_RATIO:
            wa, wb = f.params
            lines.append(f"    {target} = _div1({x[0]} / {wa!r}, {x[1]} / {wb!r})")
        elif f.op is Op.ONLY_CANCEL:
            lines.append(f"    {target} = float({x[0]}) if cancel else nan")
        elif f.op is Op.ONLY_FILL:
            lines.append(f"    {target} = float({x[0]}) if fill else nan")
        elif f.op is Op.FILL_COMPLETES:
            lines.append(
                f"    {target} = float({x[0]} <= 0) if (fill and _isfinite({x[0]})) else nan"
            )
        else:  # pragma: no cover - every Op is handled above
            raise AssertionError(f.op)
    lines.append("    return out")
    namespace: dict[str, Any] = {
        "_NAN": _NAN,
        "_div1": _div1,
        "_zscore1": _zscore1,
        "_isfinite": math.isfinite,
    }
    exec(compile("\n".join(lines), f"<features {spec.version}>", "exec"), namespace)
    return namespace["derived"]


def _zscore1(xa: float, mean: float, var: float) -> float:
    flat = var <= VAR_EPS * mean * mean
    if not (math.isfinite(mean) and math.isfinite(xa)):
        return _NAN
    if flat and math.isfinite(var):
        return 0.0
    return (xa - mean) / math.sqrt(1.0 if flat else var)
