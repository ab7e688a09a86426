"""Recent history of each event as a sequence, for the sequence autoencoder.

The history of an event is the last ``length`` events of its key, itself included, in
arrival order: the key is (instrument, trader), or the instrument alone where the
trader is unknown. Short histories are padded at the front (index -1). Sequences are
kept as an index matrix and gathered batch by batch, so a million events never become
a dense (events x length x features) array.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from surveillance.errors import ModelError

IndexMatrix = npt.NDArray[np.int64]
FloatMatrix = npt.NDArray[np.float32]


def history_keys(events: pa.Table | pd.DataFrame) -> npt.NDArray[np.int64]:
    """One integer key per event: (instrument, trader), or the instrument alone."""
    frame = events.to_pandas() if isinstance(events, pa.Table) else events
    inst = frame["instrument_id"].astype("string")
    trader = frame["trader_id"].astype("string") if "trader_id" in frame else None
    # events without a trader share their instrument's history
    key = inst if trader is None else inst + "\x1f" + trader.fillna("\x1e")
    codes, _ = pd.factorize(key)
    return np.asarray(codes, dtype=np.int64)


def sequence_index(keys: npt.NDArray[np.int64], length: int) -> IndexMatrix:
    """Row ``i``: the positions of the last ``length`` events of ``keys[i]`` up to ``i``."""
    if length < 1:
        raise ModelError(f"sequence length must be at least 1, got {length}")
    n = len(keys)
    order = np.lexsort((np.arange(n), keys))
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    pos = np.arange(n)
    out = np.full((n, length), -1, dtype=np.int64)
    for k in range(length):
        back = length - 1 - k
        ok = pos - back >= group_start
        out[order[ok], k] = order[pos[ok] - back]
    return out


@dataclass(frozen=True)
class RobustScaler:
    """Median and inter-quartile range per feature; NaN becomes 0 after scaling."""

    median: tuple[float, ...]
    scale: tuple[float, ...]
    clip: float = 10.0

    @classmethod
    def fit(cls, x: npt.NDArray[np.float64]) -> RobustScaler:
        with warnings.catch_warnings():  # all-NaN columns are expected (absent fields)
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(x, axis=0)
            q75, q25 = np.nanpercentile(x, [75, 25], axis=0)
            fallback = np.nanstd(x, axis=0)
        iqr = q75 - q25
        scale = np.where(np.isfinite(iqr) & (iqr > 0), iqr, np.where(fallback > 0, fallback, 1.0))
        med = np.where(np.isfinite(med), med, 0.0)
        return cls(tuple(float(v) for v in med), tuple(float(v) for v in scale))

    def transform(self, x: npt.NDArray[np.float64]) -> FloatMatrix:
        z = (x - np.asarray(self.median)) / np.asarray(self.scale)
        z = np.clip(
            np.nan_to_num(z, nan=0.0, posinf=self.clip, neginf=-self.clip), -self.clip, self.clip
        )
        return np.asarray(z, dtype=np.float32)


def gather(scaled: FloatMatrix, index: IndexMatrix) -> FloatMatrix:
    """Sequences (rows x length x features) for some rows of the index; padding is 0."""
    out = scaled[np.maximum(index, 0)]
    out[index < 0] = 0.0
    return out
