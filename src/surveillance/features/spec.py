"""Features declared once, as data.

Three layers, each evaluated by both engines (``batch`` and ``stream``):

1. **Primitives**, per event, from the event and its order's life so far
   (``Primitive``): the event's own fields, order-lifecycle state (age, fills,
   modifications), and availability of optional fields.
2. **Aggregates** over keyed state: time windows (``Window``: count, sum, mean,
   variance, min, max, distinct count, last over ``(t - w, t]``), gauges of open
   orders (``Gauge``: open quantity, open orders, distinct price levels), and graph
   checks (``Cycle``).
3. **Features** (``Feature``): a named combination of primitives and aggregates
   (``ratio``, ``zscore``, ``bps_diff`` ...) evaluated by one shared function, so the
   last step is the same code in both engines.

Window semantics (ADR 0003): events are processed in arrival order; an event's
effective time is the latest timestamp seen so far on its instrument (a late event
counts as arriving at that watermark); a window holds the entering events of its key
with effective time in ``(t - w, t]`` that arrived up to and including the current
event. Every value is read after the event has been applied to the state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from enum import StrEnum


class Key(StrEnum):
    """What state a window or gauge is kept under; all within the event's instrument."""

    INSTRUMENT = "inst"
    TRADER = "trader"  # (instrument, trader)
    TRADER_SIDE = "side"  # (instrument, trader, side of the event)
    TRADER_OPPOSITE = "opp"  # (instrument, trader, the other side): read-only view of TRADER_SIDE
    PAIR = "pair"  # (instrument, {trader, counterparty}) on fills


class Agg(StrEnum):
    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    VAR = "var"
    MIN = "min"
    MAX = "max"
    DISTINCT = "distinct"  # read on the events that enter the window only (NaN elsewhere)
    LAST = "last"


class When(StrEnum):
    """Which events enter a window."""

    ANY = "any"
    NEW = "new"
    MODIFY = "modify"
    CANCEL = "cancel"
    FILL = "fill"
    QUOTE = "quote"  # NEW, MODIFY or CANCEL: messages that change the book


class GaugeKind(StrEnum):
    OPEN_QTY = "open_qty"
    OPEN_ORDERS = "open_orders"
    OPEN_LEVELS = "open_levels"


class Need(StrEnum):
    """Optional data a feature depends on; without it the feature is NaN by design."""

    TRADER = "trader"
    COUNTERPARTY = "counterparty"
    BOOK = "book"
    PRICE = "price"
    LIFECYCLE = "lifecycle"  # the order's NEW was seen
    OWNERS = "owners"  # account reference data (linked accounts)
    SESSION = "session"  # the session close time is configured


PRIMITIVES: dict[str, str] = {
    # the event
    "is_new": "1 for NEW",
    "is_modify": "1 for MODIFY",
    "is_cancel": "1 for CANCEL",
    "is_fill": "1 for FILL",
    "side_sign": "+1 BUY, -1 SELL",
    "is_market": "1 for a market order, 0 for limit or stop, NaN when unknown",
    "qty": "quantity",
    "signed_qty": "quantity signed by side",
    "log_qty": "log(1 + quantity)",
    "price": "price (NaN for market orders)",
    "mid": "mid of the best bid and ask",
    "spread_bps": "(ask - bid) / mid, basis points",
    "touch_imbalance": "(bid size - ask size) / (bid size + ask size)",
    "same_touch_size": "displayed size at the touch on the event's side",
    "distance_bps": "how far behind its own touch the order sits, basis points (negative: inside)",
    "seconds_to_close": "seconds until the configured session close",
    "notional": "price x quantity of a fill",
    # the order's life so far (after this event)
    "order_age_s": "seconds since the order's NEW",
    "order_mods": "modifications so far",
    "order_filled": "quantity filled so far",
    "order_total": "current order quantity (NEW or latest MODIFY)",
    "order_leaves": "quantity still open after this event",
    "order_unfilled": "1 while nothing of the order has traded",
    "fast_cancel": "1 for a CANCEL less than a second after the NEW",
    "has_trader": "trader id present",
    "has_counterparty": "counterparty id present",
    "has_book": "best bid and ask present",
}


@dataclass(frozen=True)
class Window:
    key: Key
    agg: Agg
    seconds: float
    when: When = When.ANY
    value: str | None = None  # a primitive (or, for DISTINCT, "counterparty" / "price")

    @property
    def name(self) -> str:
        value = f"_{self.value}" if self.value else ""
        secs = f"{self.seconds:g}s"
        return f"w_{self.key.value}_{self.agg.value}{value}_{self.when.value}_{secs}"


@dataclass(frozen=True)
class Gauge:
    key: Key  # TRADER_SIDE or TRADER_OPPOSITE
    kind: GaugeKind

    @property
    def name(self) -> str:
        return f"g_{self.key.value}_{self.kind.value}"


@dataclass(frozen=True)
class Cycle:
    """A fill that closes a cycle of trades A->B->...->A among 3+ accounts in a window."""

    seconds: float

    @property
    def name(self) -> str:
        return f"cycle_{self.seconds:g}s"


class Op(StrEnum):
    COPY = "copy"  # a
    RATIO = "ratio"  # a / b, NaN when b == 0
    RATIO1 = "ratio1"  # a / (b + 1)
    ZSCORE = "zscore"  # (a - mean) / sqrt(var) with inputs (a, mean, var); 0 when var ~ 0
    BPS_DIFF = "bps_diff"  # (a - b) / b * 1e4
    RANGE_BPS = "range_bps"  # (a - b) / c * 1e4
    RATE_RATIO = "rate_ratio"  # (a / wa) / (b / wb): inputs a, b; params wa, wb
    ONLY_CANCEL = "only_cancel"  # a on CANCEL events, NaN otherwise
    ONLY_FILL = "only_fill"  # a on FILL events, NaN otherwise
    EQUAL = "equal"  # 1.0 when a == b (ids), NaN when either is missing; FILL only
    LINKED = "linked"  # 1.0 when the owners of trader and counterparty agree; FILL only
    FILL_COMPLETES = "fill_completes"  # 1.0 when a FILL leaves nothing open


@dataclass(frozen=True)
class Feature:
    name: str
    family: str  # lifecycle, trader, counterparty, market, event
    op: Op
    inputs: tuple[str, ...]  # primitive names or aggregate names
    needs: tuple[Need, ...]
    description: str
    typologies: tuple[str, ...] = ()
    params: tuple[float, ...] = ()


@dataclass(frozen=True)
class FeatureSpec:
    windows: tuple[Window, ...]
    gauges: tuple[Gauge, ...]
    cycles: tuple[Cycle, ...]
    features: tuple[Feature, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def version(self) -> str:
        """A hash of the whole spec: a model never runs on features of another version."""
        body = json.dumps(
            {
                "windows": [asdict(w) for w in self.windows],
                "gauges": [asdict(g) for g in self.gauges],
                "cycles": [asdict(c) for c in self.cycles],
                "features": [asdict(f) for f in self.features],
            },
            sort_keys=True,
            default=str,
        )
        return "fs-" + hashlib.sha256(body.encode()).hexdigest()[:12]
