"""The default feature set: 47 surveillance features in five families.

Each feature says what it measures, which typologies it serves and which optional
data it needs; ``docs/features.md`` is written from this list.
"""

from __future__ import annotations

from surveillance.errors import ConfigError
from surveillance.features.spec import (
    PRIMITIVES,
    Agg,
    Cycle,
    Feature,
    FeatureSpec,
    Gauge,
    GaugeKind,
    Key,
    Need,
    Op,
    When,
    Window,
)

Input = str | Window | Gauge | Cycle

SPOOF = ("spoofing",)
LAYER = ("layering",)
WASH = ("wash_trading",)
SPOOF_LAYER = ("spoofing", "layering")


def build_spec(
    features: list[
        tuple[
            str,
            str,
            Op,
            tuple[Input, ...],
            tuple[Need, ...],
            str,
            tuple[str, ...],
            tuple[float, ...],
        ]
    ],
) -> FeatureSpec:
    windows: dict[str, Window] = {}
    gauges: dict[str, Gauge] = {}
    cycles: dict[str, Cycle] = {}
    out = []
    for name, family, op, inputs, needs, desc, typ, params in features:
        names = []
        for item in inputs:
            if isinstance(item, Window):
                windows.setdefault(item.name, item)
                names.append(item.name)
            elif isinstance(item, Gauge):
                gauges.setdefault(item.name, item)
                names.append(item.name)
            elif isinstance(item, Cycle):
                cycles.setdefault(item.name, item)
                names.append(item.name)
            else:
                names.append(item)
        out.append(Feature(name, family, op, tuple(names), needs, desc, typ, params))
    spec = FeatureSpec(
        tuple(windows.values()), tuple(gauges.values()), tuple(cycles.values()), tuple(out)
    )
    known = set(PRIMITIVES) | set(windows) | set(gauges) | set(cycles) | {"trader", "counterparty"}
    for feature in spec.features:
        unknown = [name for name in feature.inputs if name not in known]
        if unknown:
            raise ConfigError(f"feature {feature.name}: unknown input(s) {unknown}")
    if len(set(spec.names)) != len(spec.names):
        raise ConfigError("features: two features share a name")
    return spec


T, B, P, L, C, OWN, S = (
    Need.TRADER,
    Need.BOOK,
    Need.PRICE,
    Need.LIFECYCLE,
    Need.COUNTERPARTY,
    Need.OWNERS,
    Need.SESSION,
)
ALL = ()


def _w(key: Key, agg: Agg, secs: float, when: When = When.ANY, value: str | None = None) -> Window:
    return Window(key, agg, secs, when, value)


DEFAULT_FEATURES = [
    # ---- event: the message itself
    ("is_new", "event", Op.COPY, ("is_new",), (), "1 for a NEW order", (), ()),
    ("is_modify", "event", Op.COPY, ("is_modify",), (), "1 for a MODIFY", (), ()),
    ("is_cancel", "event", Op.COPY, ("is_cancel",), (), "1 for a CANCEL", (), ()),
    ("is_fill", "event", Op.COPY, ("is_fill",), (), "1 for a FILL", (), ()),
    ("side_sign", "event", Op.COPY, ("side_sign",), (), "+1 buy, -1 sell", (), ()),
    (
        "is_market_order",
        "event",
        Op.COPY,
        ("is_market",),
        (),
        "market order (NaN if the order type is unknown)",
        (),
        (),
    ),
    ("log_quantity", "event", Op.COPY, ("log_qty",), (), "log(1 + quantity)", SPOOF_LAYER, ()),
    (
        "has_trader",
        "event",
        Op.COPY,
        ("has_trader",),
        (),
        "availability: the trader id is present",
        (),
        (),
    ),
    (
        "has_counterparty",
        "event",
        Op.COPY,
        ("has_counterparty",),
        (),
        "availability: the counterparty id is present (fills)",
        (),
        (),
    ),
    (
        "has_book",
        "event",
        Op.COPY,
        ("has_book",),
        (),
        "availability: the best bid and ask are present",
        (),
        (),
    ),
    # ---- order lifecycle
    (
        "order_age_s",
        "lifecycle",
        Op.COPY,
        ("order_age_s",),
        (L,),
        "seconds since the order was placed",
        SPOOF_LAYER,
        (),
    ),
    (
        "time_to_cancel_s",
        "lifecycle",
        Op.ONLY_CANCEL,
        ("order_age_s",),
        (L,),
        "on a CANCEL: how long the order lived",
        SPOOF_LAYER,
        (),
    ),
    (
        "cancelled_unfilled",
        "lifecycle",
        Op.ONLY_CANCEL,
        ("order_unfilled",),
        (),
        "on a CANCEL: the order never traded",
        SPOOF_LAYER,
        (),
    ),
    (
        "order_modifications",
        "lifecycle",
        Op.COPY,
        ("order_mods",),
        (),
        "modifications of the order so far",
        SPOOF_LAYER,
        (),
    ),
    (
        "order_filled_ratio",
        "lifecycle",
        Op.RATIO,
        ("order_filled", "order_total"),
        (),
        "share of the order filled so far",
        SPOOF_LAYER,
        (),
    ),
    (
        "resting_time_before_fill_s",
        "lifecycle",
        Op.ONLY_FILL,
        ("order_age_s",),
        (L,),
        "on a FILL: how long the order rested",
        WASH,
        (),
    ),
    (
        "fill_completes_order",
        "lifecycle",
        Op.FILL_COMPLETES,
        ("order_leaves",),
        (),
        "on a FILL: nothing of the order is left (matched sizes)",
        WASH,
        (),
    ),
    (
        "size_vs_touch_depth",
        "lifecycle",
        Op.RATIO,
        ("qty", "same_touch_size"),
        (B,),
        "quantity against the displayed size at its touch",
        SPOOF_LAYER,
        (),
    ),
    (
        "distance_from_touch_bps",
        "lifecycle",
        Op.COPY,
        ("distance_bps",),
        (B, P),
        "how far behind its touch the order sits (bps)",
        SPOOF_LAYER,
        (),
    ),
    # ---- trader behaviour, keyed by (instrument, trader)
    (
        "trader_msgs_1s",
        "trader",
        Op.COPY,
        (_w(Key.TRADER, Agg.COUNT, 1),),
        (T,),
        "messages of the trader in the last second",
        ("quote_stuffing",),
        (),
    ),
    (
        "trader_msgs_1m",
        "trader",
        Op.COPY,
        (_w(Key.TRADER, Agg.COUNT, 60),),
        (T,),
        "messages of the trader in the last minute",
        ("quote_stuffing", "momentum_ignition"),
        (),
    ),
    (
        "trader_msgs_1h",
        "trader",
        Op.COPY,
        (_w(Key.TRADER, Agg.COUNT, 3600),),
        (T,),
        "messages of the trader in the last hour",
        (),
        (),
    ),
    (
        "trader_cancel_ratio_5m",
        "trader",
        Op.RATIO1,
        (_w(Key.TRADER, Agg.COUNT, 300, When.CANCEL), _w(Key.TRADER, Agg.COUNT, 300, When.NEW)),
        (T,),
        "cancels per new order, last 5 minutes",
        SPOOF_LAYER,
        (),
    ),
    (
        "trader_order_to_trade_1h",
        "trader",
        Op.RATIO1,
        (_w(Key.TRADER, Agg.COUNT, 3600, When.NEW), _w(Key.TRADER, Agg.COUNT, 3600, When.FILL)),
        (T,),
        "orders per fill, last hour",
        SPOOF_LAYER,
        (),
    ),
    (
        "trader_qty_zscore_1h",
        "trader",
        Op.ZSCORE,
        (
            "qty",
            _w(Key.TRADER, Agg.MEAN, 3600, When.NEW, "qty"),
            _w(Key.TRADER, Agg.VAR, 3600, When.NEW, "qty"),
        ),
        (T,),
        "quantity against the trader's new orders of the last hour (z-score)",
        SPOOF_LAYER,
        (),
    ),
    (
        "trader_qty_vs_max_1h",
        "trader",
        Op.RATIO,
        ("qty", _w(Key.TRADER, Agg.MAX, 3600, When.FILL, "qty")),
        (T,),
        "quantity against the trader's largest fill of the last hour",
        SPOOF,
        (),
    ),
    (
        "trader_buy_sell_imbalance_5m",
        "trader",
        Op.RATIO,
        (
            _w(Key.TRADER, Agg.SUM, 300, When.NEW, "signed_qty"),
            _w(Key.TRADER, Agg.SUM, 300, When.NEW, "qty"),
        ),
        (T,),
        "net buy share of new order quantity, last 5 minutes",
        ("pump_and_dump", "momentum_ignition", "marking_the_close"),
        (),
    ),
    (
        "trader_fast_cancels_1m",
        "trader",
        Op.COPY,
        (_w(Key.TRADER, Agg.SUM, 60, When.CANCEL, "fast_cancel"),),
        (T,),
        "cancels within a second of placement, last minute",
        ("spoofing", "quote_stuffing"),
        (),
    ),
    (
        "opposite_cancel_qty_ratio_10s",
        "trader",
        Op.RATIO,
        (_w(Key.TRADER_OPPOSITE, Agg.SUM, 10, When.CANCEL, "qty"), "qty"),
        (T,),
        "quantity the trader cancelled on the other side in the last 10 s, against this quantity",
        SPOOF_LAYER,
        (),
    ),
    (
        "opposite_fill_qty_ratio_10s",
        "trader",
        Op.RATIO,
        (_w(Key.TRADER_OPPOSITE, Agg.SUM, 10, When.FILL, "qty"), "qty"),
        (T,),
        "quantity the trader executed on the other side in the last 10 s, against this quantity",
        SPOOF_LAYER,
        (),
    ),
    (
        "open_qty_same_side_ratio",
        "trader",
        Op.RATIO,
        (Gauge(Key.TRADER_SIDE, GaugeKind.OPEN_QTY), "qty"),
        (T,),
        "the trader's open quantity on this side, against this quantity",
        LAYER,
        (),
    ),
    (
        "open_qty_opposite_side_ratio",
        "trader",
        Op.RATIO,
        (Gauge(Key.TRADER_OPPOSITE, GaugeKind.OPEN_QTY), "qty"),
        (T,),
        "the trader's open quantity on the other side, against this quantity "
        "(spoofing: large resting orders opposite a fill)",
        SPOOF_LAYER,
        (),
    ),
    (
        "open_orders_same_side",
        "trader",
        Op.COPY,
        (Gauge(Key.TRADER_SIDE, GaugeKind.OPEN_ORDERS),),
        (T,),
        "the trader's open orders on this side",
        LAYER,
        (),
    ),
    (
        "price_levels_same_side",
        "trader",
        Op.COPY,
        (Gauge(Key.TRADER_SIDE, GaugeKind.OPEN_LEVELS),),
        (T,),
        "distinct price levels the trader holds on this side (layering)",
        LAYER,
        (),
    ),
    # ---- counterparty network
    (
        "self_trade",
        "counterparty",
        Op.EQUAL,
        ("trader", "counterparty"),
        (T, C),
        "on a FILL: the account traded with itself",
        WASH,
        (),
    ),
    (
        "linked_trade",
        "counterparty",
        Op.LINKED,
        ("trader", "counterparty"),
        (T, C, OWN),
        "on a FILL: both accounts have one owner",
        WASH,
        (),
    ),
    (
        "pair_trades_1h",
        "counterparty",
        Op.ONLY_FILL,
        (_w(Key.PAIR, Agg.COUNT, 3600, When.FILL),),
        (T, C),
        "fills between this pair of accounts in the last hour",
        ("wash_trading", "circular_trading"),
        (),
    ),
    (
        "distinct_counterparties_1h",
        "counterparty",
        Op.ONLY_FILL,
        (_w(Key.TRADER, Agg.DISTINCT, 3600, When.FILL, "counterparty"),),
        (T, C),
        "distinct counterparties of the trader's fills in the last hour",
        ("wash_trading", "circular_trading"),
        (),
    ),
    (
        "closes_trade_cycle_10m",
        "counterparty",
        Op.ONLY_FILL,
        (Cycle(600),),
        (T, C),
        "on a FILL: closes a cycle of same-size trades among 3 or 4 accounts, last 10 minutes",
        ("circular_trading",),
        (),
    ),
    # ---- market, keyed by instrument
    (
        "quote_rate_1s",
        "market",
        Op.COPY,
        (_w(Key.INSTRUMENT, Agg.COUNT, 1, When.QUOTE),),
        (),
        "new, modify and cancel messages on the instrument in the last second",
        ("quote_stuffing",),
        (),
    ),
    (
        "volume_spike_1m",
        "market",
        Op.RATE_RATIO,
        (
            _w(Key.INSTRUMENT, Agg.SUM, 60, When.FILL, "qty"),
            _w(Key.INSTRUMENT, Agg.SUM, 3600, When.FILL, "qty"),
        ),
        (),
        "traded volume of the last minute against the hour's rate",
        ("momentum_ignition", "pump_and_dump"),
        (60.0, 3600.0),
    ),
    (
        "vwap_deviation_bps_5m",
        "market",
        Op.BPS_DIFF,
        ("price", _w(Key.INSTRUMENT, Agg.MEAN, 300, When.FILL, "price")),
        (P,),
        "price against the mean fill price of the last 5 minutes (bps)",
        ("marking_the_close", "pump_and_dump"),
        (),
    ),
    (
        "mid_range_bps_1m",
        "market",
        Op.RANGE_BPS,
        (
            _w(Key.INSTRUMENT, Agg.MAX, 60, When.ANY, "mid"),
            _w(Key.INSTRUMENT, Agg.MIN, 60, When.ANY, "mid"),
            "mid",
        ),
        (B,),
        "high-low range of the mid in the last minute (bps)",
        ("momentum_ignition",),
        (),
    ),
    (
        "mid_move_since_last_fill_bps",
        "market",
        Op.BPS_DIFF,
        ("mid", _w(Key.TRADER, Agg.LAST, 3600, When.FILL, "mid")),
        (T, B),
        "mid now against the mid at the trader's last fill (bps): the price move after it",
        ("momentum_ignition", "pump_and_dump", "spoofing"),
        (),
    ),
    ("spread_bps", "market", Op.COPY, ("spread_bps",), (B,), "bid-ask spread (bps)", (), ()),
    (
        "touch_imbalance",
        "market",
        Op.COPY,
        ("touch_imbalance",),
        (B,),
        "displayed size imbalance at the touch",
        SPOOF_LAYER,
        (),
    ),
    (
        "seconds_to_close",
        "market",
        Op.COPY,
        ("seconds_to_close",),
        (S,),
        "seconds until the session close",
        ("marking_the_close",),
        (),
    ),
]

DEFAULT_SPEC: FeatureSpec = build_spec(DEFAULT_FEATURES)
