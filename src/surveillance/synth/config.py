"""Generator configuration: frozen dataclasses loaded from JSON presets or a user file.

A user file is merged over the ``default`` preset, so it only needs the keys it
changes. Every range is ``[low, high]``; an episode draws one intensity ``u`` in
``[0, 1]`` and takes ``low + u * (high - low)`` of each of its ranges, so severity
(low / medium / high) follows from ``u`` and the ranges say how blatant "high" is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from surveillance.errors import ConfigError
from surveillance.schema.labels import Typology

PRESETS: tuple[str, ...] = ("default", "shifted")


@dataclass(frozen=True)
class Span:
    """A closed range ``[low, high]`` of a parameter."""

    low: float
    high: float

    def at(self, u: float) -> float:
        return self.low + u * (self.high - self.low)


@dataclass(frozen=True)
class SessionConfig:
    start_date: str
    days: int
    open: str
    close: str
    open_boost: float
    open_decay_min: float
    close_boost: float
    close_decay_min: float
    lunch_dip: float
    lunch_center: str
    lunch_width_min: float


@dataclass(frozen=True)
class InstrumentConfig:
    count: int
    venues: tuple[str, ...]
    price: Span
    tick_sizes: tuple[float, ...]
    tick_moves_per_day: Span
    activity_zipf: float
    depth_multiple: Span  # displayed size at the touch, in multiples of the median order size
    spread_ticks_probs: tuple[float, ...]  # P(spread = 1, 2, 3, ... ticks)


@dataclass(frozen=True)
class TraderClass:
    name: str
    count: int
    passive_weight: float  # share of resting sides of trades
    aggressive_weight: float  # share of aggressor sides of trades
    posted_weight: float  # share of orders that rest and are cancelled
    size_median: float
    size_sigma: float
    block_prob: float
    block_multiple: Span
    round_lot_prob: float
    lifetime_median_s: float
    lifetime_sigma: float
    modify_prob: float
    distance_p: float  # geometric parameter of ticks away from the touch
    algo_prob: float
    hft_share: float  # share of this class's accounts flagged HFT
    multi_account_share: float  # share of owners holding two or more accounts


@dataclass(frozen=True)
class FlowConfig:
    trade_event_share: (
        float  # share of normal events that belong to trades (rest: posted, cancelled)
    )
    sweep_p: float  # geometric parameter of the number of resting orders one aggressor takes
    market_order_prob: float
    aggressor_leftover_prob: float
    resting_partial_prob: float
    resting_modify_prob: float
    resting_time_median_s: float
    resting_time_sigma: float
    expire_at_close_prob: float
    burst_event_share: float  # share of normal events in re-quoting bursts of fast accounts
    burst_orders: Span  # orders in one burst
    burst_ms: Span  # how long a burst lasts


@dataclass(frozen=True)
class EpisodeConfig:
    typology: Typology
    per_100k_events: float
    params: tuple[tuple[str, Span], ...]

    def span(self, key: str) -> Span:
        for name, value in self.params:
            if name == key:
                return value
        raise ConfigError(f"episodes.{self.typology.value}.{key}: missing parameter")


@dataclass(frozen=True)
class MarketConfig:
    name: str
    session: SessionConfig
    instruments: InstrumentConfig
    traders: tuple[TraderClass, ...]
    flow: FlowConfig
    manipulators: int  # accounts that manipulate (they also trade normally)
    episodes: tuple[EpisodeConfig, ...]

    def episode(self, typology: Typology) -> EpisodeConfig:
        for ep in self.episodes:
            if ep.typology is typology:
                return ep
        raise ConfigError(f"episodes.{typology.value}: missing")


# ---------------------------------------------------------------- loading


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _span(path: str, value: Any) -> Span:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) for v in value)
    ):
        raise ConfigError(f"{path}: expected [low, high] numbers, got {value!r}")
    low, high = float(value[0]), float(value[1])
    if high < low:
        raise ConfigError(f"{path}: high {high} is below low {low}")
    return Span(low, high)


def _build(cls: type[Any], path: str, raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected an object, got {raw!r}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        key = f"{path}.{f.name}"
        if f.name not in raw:
            raise ConfigError(f"{key}: missing")
        value = raw[f.name]
        ftype = str(f.type)
        if ftype == "Span":
            kwargs[f.name] = _span(key, value)
        elif ftype.startswith("tuple["):
            if not isinstance(value, list):
                raise ConfigError(f"{key}: expected a list, got {value!r}")
            kwargs[f.name] = tuple(value)
        elif ftype in ("int", "float"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{key}: expected a number, got {value!r}")
            if value < 0:
                raise ConfigError(f"{key}: must be >= 0, got {value!r}")
            kwargs[f.name] = int(value) if ftype == "int" else float(value)
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{key}: expected text, got {value!r}")
            kwargs[f.name] = value
    return cls(**kwargs)


def config_from_dict(raw: Mapping[str, Any]) -> MarketConfig:
    """Build and check a config; every error names the key path and the value."""
    allowed = {"name", "session", "instruments", "traders", "flow", "manipulators", "episodes"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"config: unknown key(s) {unknown}")
    try:
        traders_raw = raw["traders"]
        episodes_raw = raw["episodes"]
        session = _build(SessionConfig, "session", raw["session"])
        instruments = _build(InstrumentConfig, "instruments", raw["instruments"])
        flow = _build(FlowConfig, "flow", raw["flow"])
    except KeyError as exc:
        raise ConfigError(f"config: missing key {exc.args[0]!r}") from exc
    if not isinstance(traders_raw, Mapping) or not traders_raw:
        raise ConfigError("traders: expected a non-empty object of trader classes")
    traders = tuple(
        _build(TraderClass, f"traders.{name}", {"name": name, **body})
        for name, body in traders_raw.items()
    )
    if not isinstance(episodes_raw, Mapping):
        raise ConfigError("episodes: expected an object keyed by typology")
    episodes = []
    for name, body in episodes_raw.items():
        try:
            typology = Typology(name)
        except ValueError as exc:
            allowed_t = [t.value for t in Typology]
            raise ConfigError(f"episodes.{name}: unknown typology (allowed: {allowed_t})") from exc
        if not isinstance(body, Mapping) or "per_100k_events" not in body:
            raise ConfigError(f"episodes.{name}.per_100k_events: missing")
        rate = body["per_100k_events"]
        if not isinstance(rate, int | float) or rate < 0:
            raise ConfigError(f"episodes.{name}.per_100k_events: must be >= 0, got {rate!r}")
        params = tuple(
            (key, _span(f"episodes.{name}.{key}", value))
            for key, value in body.items()
            if key != "per_100k_events"
        )
        episodes.append(EpisodeConfig(typology, float(rate), params))
    manipulators = raw.get("manipulators")
    if not isinstance(manipulators, int) or manipulators < 3:
        raise ConfigError(f"manipulators: expected an integer >= 3, got {manipulators!r}")
    if session.days < 1:
        raise ConfigError(f"session.days: must be >= 1, got {session.days}")
    # check the session's clock times and start date now, not first at generation
    from surveillance.synth.session import build_session  # session imports this module

    build_session(session)
    if instruments.count < 1 or not instruments.venues or not instruments.tick_sizes:
        raise ConfigError("instruments: need count >= 1, at least one venue and one tick size")
    if not all(isinstance(v, str) and v for v in instruments.venues):
        raise ConfigError(f"instruments.venues: expected MIC codes, got {instruments.venues!r}")
    for key in ("tick_sizes", "spread_ticks_probs"):
        values = getattr(instruments, key)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values) or (
            min(values, default=0) < 0 or sum(values) <= 0
        ):
            raise ConfigError(f"instruments.{key}: expected non-negative numbers, got {values!r}")
    if min(instruments.tick_sizes) <= 0 or instruments.price.low <= 0:
        raise ConfigError("instruments: tick sizes and prices must be > 0")
    for c in traders:
        if c.count < 1:
            raise ConfigError(f"traders.{c.name}.count: must be >= 1, got {c.count}")
        for key in ("distance_p", "size_median", "lifetime_median_s"):
            if getattr(c, key) <= 0:
                raise ConfigError(f"traders.{c.name}.{key}: must be > 0, got {getattr(c, key)}")
    for path, obj in [*((f"traders.{c.name}", c) for c in traders), ("flow", flow)]:
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.name.endswith(("_prob", "_share", "_p")) and not 0 <= value <= 1:
                raise ConfigError(f"{path}.{f.name}: must be within [0, 1], got {value}")
    if not 0 < flow.sweep_p <= 1:
        raise ConfigError(f"flow.sweep_p: must be in (0, 1], got {flow.sweep_p}")
    return MarketConfig(
        name=str(raw.get("name", "custom")),
        session=session,
        instruments=instruments,
        traders=traders,
        flow=flow,
        manipulators=manipulators,
        episodes=tuple(episodes),
    )


def preset_dict(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise ConfigError(f"preset: unknown preset {name!r} (allowed: {list(PRESETS)})")
    text = resources.files("surveillance.synth").joinpath(f"presets/{name}.json").read_text()
    data: dict[str, Any] = json.loads(text)
    if name != "default":
        data = _merge(preset_dict("default"), data)
    return data


def load_config(preset: str = "default", path: Path | None = None) -> MarketConfig:
    """The preset, with the user's JSON file (if any) merged over it."""
    raw = preset_dict(preset)
    if path is not None:
        try:
            user = json.loads(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"config file {path}: cannot read ({exc.strerror})") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"config file {path}: not JSON ({exc.msg} at line {exc.lineno})"
            ) from exc
        if not isinstance(user, Mapping):
            raise ConfigError(f"config file {path}: expected a JSON object")
        raw = _merge(raw, user)
        raw["name"] = str(user.get("name") or f"{preset}+{Path(path).stem}")
    return config_from_dict(raw)
