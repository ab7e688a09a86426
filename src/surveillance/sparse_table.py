"""Sparse tables: O(1) range minimum or maximum after O(n log n) preparation."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

A = TypeVar("A", bound=npt.NDArray[np.generic])


def sparse_table(values: A, op: np.ufunc) -> tuple[A, ...]:
    """Levels ``t[k][j] = op(values[j : j + 2**k])`` (``op``: np.minimum or np.maximum).

    The op of any range ``[lo, hi)`` is then ``op(t[k][lo], t[k][hi - 2**k])`` with
    ``k = floor(log2(hi - lo))``.
    """
    levels = [values]
    width = 1
    while 2 * width <= len(values):
        prev = levels[-1]
        levels.append(op(prev[: len(prev) - width], prev[width:]))
        width *= 2
    return tuple(levels)
