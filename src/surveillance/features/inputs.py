"""Event columns as plain arrays, in arrival order, ready for either engine.

Missing optional fields stay missing: ids become code -1, numbers NaN, and the
availability of each optional group (trader, counterparty, book) is explicit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from surveillance.errors import SchemaError
from surveillance.schema.event import REQUIRED_FIELDS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EVENT_CODES = {"NEW": 0, "MODIFY": 1, "CANCEL": 2, "FILL": 3}
NEW, MODIFY, CANCEL, FILL = 0, 1, 2, 3
NS = 1_000_000_000


@dataclass(frozen=True)
class FeatureConfig:
    """Engine parameters that are not part of the spec (they do not change its version)."""

    session_close: str | None = "16:30"  # HH:MM UTC; None when unknown
    fast_cancel_s: float = 1.0

    def close_seconds(self) -> float | None:
        if self.session_close is None:
            return None
        hours, minutes = self.session_close.split(":")
        return int(hours) * 3600.0 + int(minutes) * 60.0


@dataclass(frozen=True)
class EventArrays:
    n: int
    t: IntArray  # timestamp, ns
    eff_t: IntArray  # effective time: the instrument's watermark
    etype: npt.NDArray[np.int8]
    side: npt.NDArray[np.int8]  # +1 buy, -1 sell
    is_market: FloatArray  # 1, 0 or NaN (unknown)
    qty: FloatArray
    price: FloatArray
    bid: FloatArray
    ask: FloatArray
    bid_size: FloatArray
    ask_size: FloatArray
    inst: IntArray
    trader: IntArray  # -1 when missing
    cpty: IntArray  # -1 when missing
    order: IntArray  # code of (instrument, order_id)
    owner: IntArray  # owner code of the trader, -1 when unknown
    cpty_owner: IntArray
    trader_names: tuple[str, ...]


def _codes(values: pd.Series) -> IntArray:
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64)


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _num(frame: pd.DataFrame, name: str) -> FloatArray:
    return pd.to_numeric(_col(frame, name), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def watermark(t: IntArray, inst: IntArray) -> IntArray:
    """Running maximum of the timestamp per instrument, in arrival order."""
    frame = pd.DataFrame({"inst": inst, "t": t})
    return frame.groupby("inst", sort=False)["t"].cummax().to_numpy(dtype=np.int64)


def event_arrays(
    events: pa.Table | pd.DataFrame, owners: Mapping[str, str] | None = None
) -> EventArrays:
    frame = events.to_pandas() if isinstance(events, pa.Table) else events
    missing = [c for c in REQUIRED_FIELDS if c not in frame.columns]
    if missing:
        raise SchemaError(f"events: required column(s) missing: {missing}")
    frame = frame.reset_index(drop=True)
    ts = frame["timestamp"]
    if pd.api.types.is_datetime64_any_dtype(ts):
        t = np.asarray(pd.to_datetime(ts, utc=True).astype("int64").to_numpy(), dtype=np.int64)
    else:
        t = np.asarray(pd.to_numeric(ts, errors="raise").to_numpy(), dtype=np.int64)
    etype = frame["event_type"].map(EVENT_CODES)
    if etype.isna().any():
        row = int(np.flatnonzero(etype.isna().to_numpy())[0])
        raise SchemaError(f"row {row}, field event_type: unknown {frame['event_type'].iloc[row]!r}")
    side = frame["side"].map({"BUY": 1, "SELL": -1})
    if side.isna().any():
        row = int(np.flatnonzero(side.isna().to_numpy())[0])
        raise SchemaError(f"row {row}, field side: unknown {frame['side'].iloc[row]!r}")
    otype = _col(frame, "order_type").map({"MARKET": 1.0, "LIMIT": 0.0, "STOP": 0.0})
    inst = _codes(frame["instrument_id"])
    trader_col = _col(frame, "trader_id").astype("string")
    cpty_col = _col(frame, "counterparty_id").astype("string")
    # one code space for traders and counterparties, so self-trades compare by code
    lookup = {v: i for i, v in enumerate(pd.concat([trader_col, cpty_col]).dropna().unique())}
    trader = trader_col.map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    cpty = cpty_col.map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    trader_names = tuple(lookup)
    if owners:
        owner_codes = {o: i for i, o in enumerate(sorted(set(owners.values())))}
        per_trader = np.asarray(
            [owner_codes.get(owners.get(name, ""), -1) for name in trader_names] + [-1],
            dtype=np.int64,
        )
        owner = per_trader[trader]  # -1 indexes the trailing -1
        cpty_owner = per_trader[cpty]
    else:
        owner = np.full(len(frame), -1, dtype=np.int64)
        cpty_owner = owner.copy()
    order = _codes(frame["instrument_id"].astype(str) + "\x1f" + frame["order_id"].astype(str))
    return EventArrays(
        n=len(frame),
        t=t,
        eff_t=watermark(t, inst),
        etype=np.asarray(etype.to_numpy(), dtype=np.int8),
        side=np.asarray(side.to_numpy(), dtype=np.int8),
        is_market=np.asarray(otype.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64),
        qty=_num(frame, "quantity"),
        price=_num(frame, "price"),
        bid=_num(frame, "bid_price"),
        ask=_num(frame, "ask_price"),
        bid_size=_num(frame, "bid_size"),
        ask_size=_num(frame, "ask_size"),
        inst=inst,
        trader=trader,
        cpty=cpty,
        order=order,
        owner=owner,
        cpty_owner=cpty_owner,
        trader_names=trader_names,
    )
