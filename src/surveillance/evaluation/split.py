"""Hold out by episode and time, never by row.

The timeline is cut into contiguous time blocks: one per trading day when the
events span at least ``min_days`` days, otherwise ``n_blocks`` blocks holding about
the same number of events each (events with the same timestamp always share a
block). Blocks are given, in time order, to train, then validation, then test
(forward chaining): the two cuts are the block edges whose cumulative share of
events is closest to the requested fractions, each part keeping at least one block.

An episode belongs wholly to the part where its first event falls. Its events that
lie after the cut move with it (the masks say so, and ``moved_events`` counts
them); normal events inside the time range of an episode of another part stay in
their own block. Episodes therefore never straddle two parts, and a model never
sees the tail of an episode whose start it is evaluated on.

The split is deterministic: forward chaining needs no randomness. ``seed`` is
accepted so every splitter of the project has the same signature; it changes
nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from surveillance.errors import ConfigError, SchemaError
from surveillance.schema.labels import SUPERVISED_TYPOLOGIES

PARTS: tuple[str, str, str] = ("train", "validation", "test")
MIN_EVAL_EPISODES = 5  # below this, a typology's validation or test metrics are noise
DEFAULT_MIN_DAYS = 3
DEFAULT_BLOCKS = 20


@dataclass(frozen=True, eq=False)
class Split:
    """Masks over the events' rows (read-only) and what landed in each part."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    train_episodes: tuple[str, ...]
    validation_episodes: tuple[str, ...]
    test_episodes: tuple[str, ...]
    validation_start: pd.Timestamp
    """First instant of the first validation block (events before it are train by time)."""
    test_start: pd.Timestamp
    """First instant of the first test block."""
    block_kind: str  # "trading day" or "equal-count block"
    n_blocks: int
    blocks_per_part: tuple[int, int, int]
    fractions: tuple[float, float, float]
    """Realised share of events in train, validation and test."""
    moved_events: int
    """Episode events that lie after their episode's cut and moved back with it."""
    episodes_per_typology: dict[str, dict[str, int]]
    """typology -> part -> number of episodes."""
    warnings: tuple[str, ...]

    def mask(self, part: str) -> np.ndarray:
        if part not in PARTS:
            raise ConfigError(f"part: {part!r} is not one of {list(PARTS)}")
        result: np.ndarray = getattr(self, part)
        return result

    def episodes(self, part: str) -> tuple[str, ...]:
        self.mask(part)  # validates the name
        result: tuple[str, ...] = getattr(self, f"{part}_episodes")
        return result

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (no masks, no episode ids)."""
        return {
            "rule": "forward chaining by time block; "
            "an episode belongs to the part where it starts",
            "block_kind": self.block_kind,
            "n_blocks": self.n_blocks,
            "blocks_per_part": dict(zip(PARTS, self.blocks_per_part, strict=True)),
            "validation_start": self.validation_start.isoformat(),
            "test_start": self.test_start.isoformat(),
            "events": {p: int(self.mask(p).sum()) for p in PARTS},
            "fractions": dict(zip(PARTS, (round(f, 4) for f in self.fractions), strict=True)),
            "episodes": {p: len(self.episodes(p)) for p in PARTS},
            "moved_events": self.moved_events,
            "episodes_per_typology": {k: dict(v) for k, v in self.episodes_per_typology.items()},
            "warnings": list(self.warnings),
        }


def _frame(table: pa.Table | pd.DataFrame, name: str, needed: tuple[str, ...]) -> pd.DataFrame:
    frame = table.to_pandas() if isinstance(table, pa.Table) else table
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"{name}: expected a pyarrow Table or a pandas DataFrame")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(f"{name}: columns {missing} are missing")
    return frame


def _label_column(
    events: pa.Table | pd.DataFrame, labels: pa.Table | pd.DataFrame, column: str
) -> np.ndarray:
    ev = _frame(events, "events", ("event_id",))
    lab = _frame(labels, "labels", ("event_id", column))
    lookup = lab.drop_duplicates("event_id").set_index("event_id")[column]
    values = ev["event_id"].map(lookup)
    out = np.array(values.astype(object).to_numpy(dtype=object), dtype=object, copy=True)
    out[values.isna().to_numpy()] = None
    return out


def episode_of(events: pa.Table | pd.DataFrame, labels: pa.Table | pd.DataFrame) -> np.ndarray:
    """The episode id of every event (object array), ``None`` for normal events."""
    return _label_column(events, labels, "episode_id")


def typology_of(events: pa.Table | pd.DataFrame, labels: pa.Table | pd.DataFrame) -> np.ndarray:
    """The typology of every event (object array), ``None`` for normal events."""
    return _label_column(events, labels, "typology")


def _check_fractions(fractions: tuple[float, float, float]) -> tuple[float, float, float]:
    values = tuple(float(f) for f in fractions)
    if len(values) != 3:
        raise ConfigError(
            f"fractions: expected three values (train, validation, test), got {values}"
        )
    if not all(np.isfinite(f) and f > 0 for f in values):
        raise ConfigError(f"fractions: every value must be positive, got {values}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ConfigError(f"fractions: must sum to 1, got {values} (sum {sum(values):.6f})")
    return values[0], values[1], values[2]


def _timestamps(ev: pd.DataFrame, tz: str) -> pd.Series:
    try:
        ts = pd.to_datetime(ev["timestamp"], utc=True)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"events: column 'timestamp' is not a time: {exc}") from exc
    if ts.isna().any():
        raise SchemaError(f"events: {int(ts.isna().sum())} events have no timestamp")
    return ts.dt.tz_convert(tz).dt.as_unit("ns")  # int64 views below are nanoseconds


def _blocks(ts: pd.Series, min_days: int, n_blocks: int) -> tuple[np.ndarray, str]:
    """A block number per event, contiguous in time and in time order."""
    days = ts.dt.tz_localize(None).dt.floor("D").to_numpy()  # local calendar day
    unique_days = np.unique(days)
    if len(unique_days) >= min_days:
        return np.searchsorted(unique_days, days), "trading day"
    ns = ts.astype("int64").to_numpy()
    ordered = np.sort(ns)
    positions = (np.arange(n_blocks) * len(ordered)) // n_blocks
    edges = np.unique(ordered[positions])  # equal timestamps never straddle a block edge
    return np.searchsorted(edges, ns, side="right") - 1, "equal-count block"


def _cuts(counts: np.ndarray, fractions: tuple[float, float, float]) -> tuple[int, int]:
    """Block indices where validation and test start, closest to the target shares."""
    n = len(counts)
    if n < 3:
        raise SchemaError(
            f"events: only {n} distinct time block(s); a forward split needs at least 3"
        )
    share = np.cumsum(counts) / counts.sum()  # share of events up to and including block i
    targets = (fractions[0], fractions[0] + fractions[1])
    best: tuple[float, int, int] | None = None
    for i in range(1, n - 1):  # validation starts at block i
        for j in range(i + 1, n):  # test starts at block j
            cost = abs(share[i - 1] - targets[0]) + abs(share[j - 1] - targets[1])
            if best is None or cost < best[0] - 1e-12:
                best = (cost, i, j)
    assert best is not None
    return best[1], best[2]


def split_by_episode_and_time(
    events: pa.Table | pd.DataFrame,
    labels: pa.Table | pd.DataFrame,
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
    seed: int = 0,
    *,
    min_days: int = DEFAULT_MIN_DAYS,
    n_blocks: int = DEFAULT_BLOCKS,
    min_episodes: int = MIN_EVAL_EPISODES,
    tz: str = "UTC",
) -> Split:
    """Forward-chained train/validation/test masks over ``events``; see the module doc."""
    del seed  # deterministic by construction
    wanted = _check_fractions(fractions)
    if min_days < 1 or n_blocks < 3:
        raise ConfigError(f"min_days must be >= 1 and n_blocks >= 3, got {min_days}, {n_blocks}")
    ev = _frame(events, "events", ("event_id", "timestamp"))
    lab = _frame(labels, "labels", ("event_id", "episode_id", "typology"))
    if len(ev) == 0:
        raise SchemaError("events: the table is empty")
    ts = _timestamps(ev, tz)
    block, kind = _blocks(ts, min_days, n_blocks)
    n = int(block.max()) + 1
    counts = np.bincount(block, minlength=n)
    val_block, test_block = _cuts(counts, wanted)

    part = np.where(block < val_block, 0, np.where(block < test_block, 1, 2))
    time_part = part.copy()
    episode = episode_of(ev, lab)
    typology = typology_of(ev, lab)
    labelled = np.flatnonzero(episode != None)  # noqa: E711 (object array)
    per_episode: dict[str, int] = {}
    episode_typology: dict[str, str] = {}
    if len(labelled):
        frame = pd.DataFrame(
            {
                "episode": episode[labelled].astype(str),
                "typology": typology[labelled].astype(str),
                "ns": ts.iloc[labelled].astype("int64").to_numpy(),
                "part": part[labelled],
            }
        )
        first = frame.sort_values(["ns"], kind="stable").drop_duplicates("episode")
        per_episode = dict(zip(first["episode"], first["part"].astype(int), strict=True))
        episode_typology = dict(zip(first["episode"], first["typology"], strict=True))
        part[labelled] = frame["episode"].map(per_episode).to_numpy(dtype=int)
    moved = int((part != time_part).sum())

    masks = [part == k for k in range(3)]
    for m in masks:
        m.setflags(write=False)
    episodes_in = [tuple(sorted(e for e, p in per_episode.items() if p == k)) for k in range(3)]
    tallies: dict[str, dict[str, int]] = {}
    for typ in sorted(set(episode_typology.values()) | {t.value for t in SUPERVISED_TYPOLOGIES}):
        tallies[typ] = {name: 0 for name in PARTS}
    for ep, p in per_episode.items():
        tallies[episode_typology[ep]][PARTS[p]] += 1
    notes = []
    for typ in (t.value for t in SUPERVISED_TYPOLOGIES):
        for name in PARTS[1:]:
            if tallies[typ][name] < min_episodes:
                notes.append(
                    f"{typ}: only {tallies[typ][name]} episode(s) in {name} "
                    f"(fewer than {min_episodes}); its {name} metrics are noise"
                )

    ns = ts.astype("int64").to_numpy()
    start_of = pd.Series(ns).groupby(block).min()
    shares = tuple(float(m.sum()) / len(ev) for m in masks)
    return Split(
        train=masks[0],
        validation=masks[1],
        test=masks[2],
        train_episodes=episodes_in[0],
        validation_episodes=episodes_in[1],
        test_episodes=episodes_in[2],
        validation_start=_block_start(start_of, val_block, kind, tz),
        test_start=_block_start(start_of, test_block, kind, tz),
        block_kind=kind,
        n_blocks=n,
        blocks_per_part=(val_block, test_block - val_block, n - test_block),
        fractions=(shares[0], shares[1], shares[2]),
        moved_events=moved,
        episodes_per_typology=tallies,
        warnings=tuple(notes),
    )


def _block_start(start_of: pd.Series, index: int, kind: str, tz: str) -> pd.Timestamp:
    first = pd.Timestamp(int(start_of.loc[index]), unit="ns", tz="UTC").tz_convert(tz)
    if kind == "trading day":
        return pd.Timestamp(first.tz_localize(None).floor("D")).tz_localize(tz)
    return first
