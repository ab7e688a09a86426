"""Canonical order-event schema, validation and derived views."""

from surveillance.schema.event import (
    EVENT_FIELDS,
    EVENT_SCHEMA,
    EventType,
    FieldSpec,
    OrderType,
    Side,
)
from surveillance.schema.labels import EPISODE_SCHEMA, LABEL_SCHEMA, Typology

__all__ = [
    "EPISODE_SCHEMA",
    "EVENT_FIELDS",
    "EVENT_SCHEMA",
    "LABEL_SCHEMA",
    "EventType",
    "FieldSpec",
    "OrderType",
    "Side",
    "Typology",
]
