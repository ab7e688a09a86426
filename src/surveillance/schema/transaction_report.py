"""A MiFIR-style (RTS 22) transaction-report view, derived from FILL events.

One report per executed trade. Columns are named after the RTS 22 Annex I Table 2
fields they stand for (field number in brackets):

- ``report_status`` (1): always ``"NEWT"``; cancellations of reports do not exist here.
- ``transaction_reference_number`` (2): unique per report and stable for the same
  events: ``"T-<trade_id>-<k>"`` for the k-th (0-based) pairing of a venue trade
  id, ``"E-<event_id>"`` for a FILL without a trade id. The rank suffix is always
  present, so two different trades can never share a number.
- ``trading_venue_transaction_id`` (3): the venue ``trade_id``; null without one.
- ``executing_entity_id`` (4): null; the event record holds no LEI.
- ``buyer_id`` (7) / ``seller_id`` (16): the ``trader_id`` of the BUY / SELL fill;
  when that fill is absent or has no trader, the other fill's ``counterparty_id``
  (it names the same account); null when neither is known.
- ``trading_date_time`` (28): UTC; the earlier of the two fills' timestamps.
- ``trading_capacity`` (29): null. RTS 22 only allows ``DEAL``, ``MTCH`` and
  ``AOTC`` and has no "unknown" code; the event record does not say in which
  capacity a firm acted, and writing ``DEAL`` (or any code) would state a fact we do
  not have. Null is an explicit "not known", easy to fill from a client register.
- ``quantity`` (30), ``price`` (33): of the BUY fill when present, else the SELL
  fill (the two fills of one trade normally agree).
- ``venue`` (36), ``instrument_id`` (41): as for quantity and price.
- ``buy_execution_within_firm_algo`` / ``sell_execution_within_firm_algo`` (59):
  field 59 "Execution within firm" holds an algorithm's code when an algorithm
  executed; the event only says whether it did (``is_algo``), so each side carries
  that flag; null when the side is absent or the flag unknown. Both sides are kept
  because a report here covers both executing firms.
- ``buy_order_id``, ``sell_order_id``, ``buy_event_id``, ``sell_event_id``: links back
  to the events (not RTS 22 fields).

Pairing: FILL events sharing a ``trade_id`` are paired BUY with SELL, the k-th BUY
(by timestamp, then event id) with the k-th SELL, so a malformed trade with extra
fills still yields one report per fill and loses none. A FILL without a trade id,
or without a fill on the other side, is a report on its own with the other side's
order and event ids null. NEW, MODIFY and CANCEL events never appear.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from surveillance.errors import SchemaError
from surveillance.schema.event import EventType, Side
from surveillance.schema.validation import arrow_to_pandas

__all__ = ["REPORT_COLUMNS", "transaction_reports"]

REPORT_COLUMNS: tuple[str, ...] = (
    "report_status",
    "transaction_reference_number",
    "trading_venue_transaction_id",
    "executing_entity_id",
    "buyer_id",
    "seller_id",
    "trading_date_time",
    "trading_capacity",
    "quantity",
    "price",
    "venue",
    "instrument_id",
    "buy_execution_within_firm_algo",
    "sell_execution_within_firm_algo",
    "buy_order_id",
    "sell_order_id",
    "buy_event_id",
    "sell_event_id",
)

_NEEDED = ("event_id", "timestamp", "event_type", "side", "quantity")
_OPTIONAL_TEXT = (
    "order_id",
    "trade_id",
    "trader_id",
    "counterparty_id",
    "venue",
    "instrument_id",
)
_PER_FILL = (
    "event_id",
    "order_id",
    "trader_id",
    "counterparty_id",
    "timestamp",
    "quantity",
    "price",
    "venue",
    "instrument_id",
    "is_algo",
)
_STRING = pd.StringDtype()


def _text(series: pd.Series) -> pd.Series:
    text = series.astype(_STRING).str.strip()
    return text.mask((text == "").fillna(False))


def _fills(events: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """The FILL events, normalised, in a deterministic order."""
    if isinstance(events, pa.Table):
        frame = arrow_to_pandas(events)
    elif isinstance(events, pd.DataFrame):
        frame = events.reset_index(drop=True)
    else:
        raise SchemaError(
            f"expected a pyarrow Table or a pandas DataFrame, got {type(events).__name__}"
        )
    missing = [c for c in _NEEDED if c not in frame.columns]
    if missing:
        raise SchemaError(f"cannot derive transaction reports: missing column(s) {missing}")
    is_fill = (_text(frame["event_type"]).str.upper() == EventType.FILL.value).fillna(False)
    fills = frame[is_fill.to_numpy(dtype=bool)]
    out = pd.DataFrame(index=fills.index)
    out["event_id"] = _text(fills["event_id"])
    for name in _OPTIONAL_TEXT:
        source = fills[name] if name in fills.columns else pd.Series(None, index=fills.index)
        out[name] = _text(source)
    side = _text(fills["side"]).str.upper()
    bad_side = ~side.isin([Side.BUY.value, Side.SELL.value]).fillna(False)
    if bad_side.any():
        first = fills.index[bad_side.to_numpy(dtype=bool)][0]
        raise SchemaError(
            f"FILL at row {first} has side {fills['side'].loc[first]!r}; "
            "validate the events first (validate_events)"
        )
    out["side"] = side
    try:
        out["timestamp"] = pd.to_datetime(fills["timestamp"], utc=True).dt.as_unit("ns")
        out["quantity"] = pd.to_numeric(fills["quantity"]).astype(np.float64)
        out["price"] = (
            pd.to_numeric(fills["price"]).astype(np.float64) if "price" in fills.columns else np.nan
        )
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"cannot derive transaction reports: {exc}; validate the events first"
        ) from exc
    algo = fills["is_algo"] if "is_algo" in fills.columns else pd.Series(None, index=fills.index)
    out["is_algo"] = algo.astype("boolean")
    out = out.sort_values(["timestamp", "event_id"], kind="stable").reset_index(drop=True)
    with_trade = out["trade_id"].notna().to_numpy(dtype=bool)
    out["rank"] = 0
    out.loc[with_trade, "rank"] = (
        out[with_trade].groupby(["trade_id", "side"], sort=False).cumcount().to_numpy()
    )
    return out


def _side(fills: pd.DataFrame, side: Side, prefix: str) -> pd.DataFrame:
    chosen = fills[(fills["side"] == side.value).to_numpy(dtype=bool)]
    keyed = chosen[["trade_id", "rank", *_PER_FILL]].copy()
    return keyed.rename(columns={c: f"{prefix}{c}" for c in _PER_FILL})


def _empty() -> pd.DataFrame:
    columns: dict[str, pd.Series] = {}
    for name in REPORT_COLUMNS:
        if name == "trading_date_time":
            columns[name] = pd.Series([], dtype="datetime64[ns, UTC]")
        elif name in ("quantity", "price"):
            columns[name] = pd.Series([], dtype=np.float64)
        elif name.endswith("_algo"):
            columns[name] = pd.Series([], dtype="boolean")
        else:
            columns[name] = pd.Series([], dtype=_STRING)
    return pd.DataFrame(columns)


def transaction_reports(events: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """One RTS 22-style report per trade, from the FILL events of ``events``.

    ``events`` should be valid canonical events (``validate_events(...).valid``);
    raises ``SchemaError`` when a column needed to build a report is missing or a
    FILL cannot be interpreted. See the module docstring for every field's meaning.
    """
    fills = _fills(events)
    if fills.empty:
        return _empty()
    traded = fills[fills["trade_id"].notna().to_numpy(dtype=bool)]
    lone = fills[fills["trade_id"].isna().to_numpy(dtype=bool)]
    paired = pd.merge(
        _side(traded, Side.BUY, "buy_"),
        _side(traded, Side.SELL, "sell_"),
        on=["trade_id", "rank"],
        how="outer",
        sort=False,
    )
    paired["trn"] = "T-" + paired["trade_id"].astype(_STRING) + "-" + paired["rank"].astype(str)
    singles: list[pd.DataFrame] = []
    for side, prefix in ((Side.BUY, "buy_"), (Side.SELL, "sell_")):
        single = _side(lone, side, prefix)
        single["trn"] = "E-" + single[f"{prefix}event_id"].astype(_STRING)
        singles.append(single)
    rows = pd.concat([paired, *singles], ignore_index=True)
    for name in _PER_FILL:
        for prefix in ("buy_", "sell_"):
            if f"{prefix}{name}" not in rows.columns:
                rows[f"{prefix}{name}"] = None
    has_buy = rows["buy_event_id"].notna().to_numpy(dtype=bool)

    def primary(name: str) -> pd.Series:
        return rows[f"buy_{name}"].where(has_buy, rows[f"sell_{name}"])

    stamps = pd.concat(
        [
            pd.to_datetime(rows["buy_timestamp"], utc=True),
            pd.to_datetime(rows["sell_timestamp"], utc=True),
        ],
        axis=1,
    ).min(axis=1)
    report = pd.DataFrame(
        {
            "report_status": pd.Series("NEWT", index=rows.index, dtype=_STRING),
            "transaction_reference_number": rows["trn"].astype(_STRING),
            "trading_venue_transaction_id": rows["trade_id"].astype(_STRING),
            "executing_entity_id": pd.Series(pd.NA, index=rows.index, dtype=_STRING),
            "buyer_id": rows["buy_trader_id"]
            .astype(_STRING)
            .fillna(rows["sell_counterparty_id"].astype(_STRING)),
            "seller_id": rows["sell_trader_id"]
            .astype(_STRING)
            .fillna(rows["buy_counterparty_id"].astype(_STRING)),
            "trading_date_time": pd.to_datetime(stamps, utc=True).dt.as_unit("ns"),
            "trading_capacity": pd.Series(pd.NA, index=rows.index, dtype=_STRING),
            "quantity": primary("quantity").astype(np.float64),
            "price": primary("price").astype(np.float64),
            "venue": primary("venue").astype(_STRING),
            "instrument_id": primary("instrument_id").astype(_STRING),
            "buy_execution_within_firm_algo": rows["buy_is_algo"].astype("boolean"),
            "sell_execution_within_firm_algo": rows["sell_is_algo"].astype("boolean"),
            "buy_order_id": rows["buy_order_id"].astype(_STRING),
            "sell_order_id": rows["sell_order_id"].astype(_STRING),
            "buy_event_id": rows["buy_event_id"].astype(_STRING),
            "sell_event_id": rows["sell_event_id"].astype(_STRING),
        }
    )
    report = report.sort_values(
        ["trading_date_time", "transaction_reference_number"], kind="stable"
    ).reset_index(drop=True)
    return report.loc[:, list(REPORT_COLUMNS)]
