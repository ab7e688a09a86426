"""Trading calendar and the intraday activity profile (open burst, lunch lull, close ramp)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from surveillance.errors import ConfigError
from surveillance.synth.config import SessionConfig

NS = 1_000_000_000
DAY_NS = 86_400 * NS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _clock(path: str, text: str) -> float:
    try:
        hours, minutes = text.split(":")
        value = int(hours) * 3600 + int(minutes) * 60
    except ValueError as exc:
        raise ConfigError(f"{path}: expected HH:MM, got {text!r}") from exc
    if not 0 <= value < 86_400:
        raise ConfigError(f"{path}: outside the day, got {text!r}")
    return float(value)


@dataclass(frozen=True)
class Session:
    """Business days, session hours and the cumulative intraday intensity."""

    day_start_ns: IntArray  # midnight UTC of each business day
    open_s: float
    close_s: float
    grid_s: FloatArray  # seconds since the open, one point a second
    cdf: FloatArray  # cumulative activity on the grid, 0 at the open, 1 at the close

    @property
    def days(self) -> int:
        return len(self.day_start_ns)

    @property
    def length_s(self) -> float:
        return self.close_s - self.open_s

    def open_ns(self, day: npt.NDArray[np.integer]) -> IntArray:
        out: IntArray = self.day_start_ns[day] + np.int64(self.open_s * NS)
        return out

    def close_ns(self, day: npt.NDArray[np.integer]) -> IntArray:
        out: IntArray = self.day_start_ns[day] + np.int64(self.close_s * NS)
        return out

    def intraday_seconds(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Seconds since the open, drawn from the activity profile."""
        return np.interp(rng.random(n), self.cdf, self.grid_s)

    def intensity_at(self, seconds: FloatArray) -> FloatArray:
        """Relative activity (mean 1 over the session) at given seconds since the open."""
        density = np.gradient(self.cdf, self.grid_s) * self.length_s
        return np.interp(seconds, self.grid_s, density)

    def to_ns(self, day: npt.NDArray[np.integer], seconds: FloatArray) -> IntArray:
        return self.open_ns(day) + (seconds * NS).astype(np.int64)


def build_session(cfg: SessionConfig) -> Session:
    open_s = _clock("session.open", cfg.open)
    close_s = _clock("session.close", cfg.close)
    lunch_s = _clock("session.lunch_center", cfg.lunch_center)
    if close_s <= open_s:
        raise ConfigError(f"session.close: {cfg.close} is not after the open {cfg.open}")
    try:
        first = np.datetime64(cfg.start_date, "D")
    except ValueError as exc:
        raise ConfigError(
            f"session.start_date: expected YYYY-MM-DD, got {cfg.start_date!r}"
        ) from exc
    days = np.busday_offset(first, np.arange(cfg.days), roll="forward")
    day_start_ns = days.astype("datetime64[ns]").astype(np.int64)

    length = close_s - open_s
    grid = np.arange(0.0, length + 1.0, 1.0)
    grid[-1] = length
    shape = (
        1.0
        + cfg.open_boost * np.exp(-grid / (cfg.open_decay_min * 60.0))
        + cfg.close_boost * np.exp(-(length - grid) / (cfg.close_decay_min * 60.0))
        - cfg.lunch_dip
        * np.exp(-0.5 * ((grid - (lunch_s - open_s)) / (cfg.lunch_width_min * 60.0)) ** 2)
    )
    shape = np.clip(shape, 0.05, None)
    cdf = np.concatenate([[0.0], np.cumsum((shape[1:] + shape[:-1]) / 2.0 * np.diff(grid))])
    cdf /= cdf[-1]
    return Session(day_start_ns, open_s, close_s, grid, cdf)
