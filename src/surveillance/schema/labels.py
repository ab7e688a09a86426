"""Labels live apart from events: keyed by event id and episode id.

A model, a feature or a scorer never reads these tables; they join events only in
evaluation and in the leakage audit.
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa


class Typology(StrEnum):
    SPOOFING = "spoofing"
    LAYERING = "layering"
    WASH_TRADING = "wash_trading"
    QUOTE_STUFFING = "quote_stuffing"
    MARKING_THE_CLOSE = "marking_the_close"
    MOMENTUM_IGNITION = "momentum_ignition"
    PUMP_AND_DUMP = "pump_and_dump"
    CIRCULAR_TRADING = "circular_trading"


SUPERVISED_TYPOLOGIES: tuple[Typology, ...] = (
    Typology.SPOOFING,
    Typology.LAYERING,
    Typology.WASH_TRADING,
)
"""The typologies a supervised model may train on."""

NOVEL_TYPOLOGIES: tuple[Typology, ...] = (
    Typology.QUOTE_STUFFING,
    Typology.MARKING_THE_CLOSE,
    Typology.MOMENTUM_IGNITION,
    Typology.PUMP_AND_DUMP,
    Typology.CIRCULAR_TRADING,
)
"""Held out of supervised training: novelty tests only."""

SEVERITIES: tuple[str, ...] = ("low", "medium", "high")

LABEL_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("episode_id", pa.string(), nullable=False),
        pa.field("typology", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
    ]
)

EPISODE_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("episode_id", pa.string(), nullable=False),
        pa.field("typology", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("instrument_id", pa.string(), nullable=False),
        pa.field("trader_ids", pa.list_(pa.string()), nullable=False),
        pa.field("start", pa.timestamp("ns", tz="UTC"), nullable=False),
        pa.field("end", pa.timestamp("ns", tz="UTC"), nullable=False),
        pa.field("n_events", pa.int64(), nullable=False),
        pa.field("supervised", pa.bool_(), nullable=False),
    ]
)
