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
import pyarrow.compute as pc

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


def _column(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return table.column(name).combine_chunks()
    return pa.nulls(table.num_rows)


def _floats(table: pa.Table, name: str) -> FloatArray:
    col = _column(table, name)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.float64(), safe=False)
    col = pc.cast(col, pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _index_in(table: pa.Table, name: str, values: list[str]) -> npt.NDArray[np.float64]:
    """Position of each value in ``values`` (NaN where absent or null)."""
    col = pc.cast(_column(table, name), pa.string())
    idx = pc.index_in(col, value_set=pa.array(values))
    return np.asarray(pc.cast(idx, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _first_bad(table: pa.Table, name: str, codes: FloatArray) -> None:
    bad = np.flatnonzero(np.isnan(codes))
    if len(bad):
        row = int(bad[0])
        raise SchemaError(f"row {row}, field {name}: unknown {_column(table, name)[row].as_py()!r}")


def watermark(t: IntArray, inst: IntArray) -> IntArray:
    """Running maximum of the timestamp per instrument, in arrival order."""
    frame = pd.DataFrame({"inst": inst, "t": t})
    return np.asarray(frame.groupby("inst", sort=False)["t"].cummax().to_numpy(), dtype=np.int64)


def _encode(arr: pa.Array) -> tuple[IntArray, list[str]]:
    enc = pc.dictionary_encode(pc.cast(arr, pa.string()))
    idx = pc.fill_null(pc.cast(enc.indices, pa.int64()), -1)
    return np.asarray(
        idx.to_numpy(zero_copy_only=False), dtype=np.int64
    ), enc.dictionary.to_pylist()


def event_arrays(
    events: pa.Table | pd.DataFrame, owners: Mapping[str, str] | None = None
) -> EventArrays:
    """Columns of a canonical event table as arrays (validated events are assumed; the
    required fields and the codes of event type and side are still checked)."""
    table = (
        events
        if isinstance(events, pa.Table)
        else pa.Table.from_pandas(events, preserve_index=False)
    )
    missing = [c for c in REQUIRED_FIELDS if c not in table.column_names]
    if missing:
        raise SchemaError(f"events: required column(s) missing: {missing}")
    n = table.num_rows
    ts = _column(table, "timestamp")
    if pa.types.is_timestamp(ts.type):
        ts = pc.cast(pc.cast(ts, pa.timestamp("ns", tz=ts.type.tz)), pa.int64())
    t = np.asarray(pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    etype = _index_in(table, "event_type", ["NEW", "MODIFY", "CANCEL", "FILL"])
    _first_bad(table, "event_type", etype)
    side = _index_in(table, "side", ["BUY", "SELL"])
    _first_bad(table, "side", side)
    otype = _index_in(table, "order_type", ["MARKET", "LIMIT", "STOP"])
    is_market = np.where(np.isnan(otype), np.nan, (otype == 0).astype(np.float64))
    inst, _ = _encode(_column(table, "instrument_id"))
    # one code space for traders and counterparties, so self-trades compare by code
    both = pa.concat_arrays(
        [
            pc.cast(_column(table, "trader_id"), pa.string()),
            pc.cast(_column(table, "counterparty_id"), pa.string()),
        ]
    )
    people, names = _encode(both)
    trader, cpty = people[:n], people[n:]
    if owners:
        owner_codes = {o: i for i, o in enumerate(sorted(set(owners.values())))}
        per_trader = np.asarray(
            [owner_codes.get(owners.get(name, ""), -1) for name in names] + [-1], dtype=np.int64
        )
        owner = per_trader[trader]  # code -1 picks the trailing -1
        cpty_owner = per_trader[cpty]
    else:
        owner = np.full(n, -1, dtype=np.int64)
        cpty_owner = owner.copy()
    oid, odict = _encode(_column(table, "order_id"))
    order = inst * np.int64(len(odict) + 1) + oid
    return EventArrays(
        n=n,
        t=t,
        eff_t=watermark(t, inst),
        etype=etype.astype(np.int8),
        side=np.where(side == 0, 1, -1).astype(np.int8),
        is_market=is_market,
        qty=_floats(table, "quantity"),
        price=_floats(table, "price"),
        bid=_floats(table, "bid_price"),
        ask=_floats(table, "ask_price"),
        bid_size=_floats(table, "bid_size"),
        ask_size=_floats(table, "ask_size"),
        inst=inst,
        trader=trader,
        cpty=cpty,
        order=order,
        owner=owner,
        cpty_owner=cpty_owner,
        trader_names=tuple(names),
    )
