"""The book's crossing search agrees with a brute-force scan of the path."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from surveillance.synth.book import Book, lane_path
from surveillance.synth.config import load_config
from surveillance.synth.session import build_session


def _book(times: np.ndarray, bid: np.ndarray, spread: np.ndarray) -> Book:
    n = len(times)
    path = lane_path(times, bid, bid + spread, np.ones(n), np.ones(n))
    session = build_session(load_config().session)
    return Book(session, instruments=None, paths=(path,))  # type: ignore[arg-type]


def _brute(times, bid, ask, buy, price, t0, t1) -> int:  # type: ignore[no-untyped-def]
    for j in range(len(times)):
        if t0 < times[j] <= t1 and (ask[j] <= price if buy else bid[j] >= price):
            return int(times[j])
    return -1


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80))
def test_first_cross_matches_brute_force(seed: int, n: int) -> None:
    """GIVEN a random tick path and random resting orders
    WHEN first_cross searches each order's life for the first touch of its price
    THEN it returns exactly what a linear scan finds (or -1 when the book never gets there)."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.choice(100_000, n, replace=False)).astype(np.int64)
    times[0] = 0  # the first state is the open: every query starts inside the path
    bid = (1_000 + np.cumsum(rng.choice([-2, -1, 1, 2], n))).astype(np.int64)
    spread = rng.integers(1, 4, n).astype(np.int64)
    book = _book(times, bid, spread)
    m = 40
    buy = rng.random(m) < 0.5
    price = rng.integers(980, 1_021, m).astype(float)
    t0 = rng.integers(0, 100_000, m).astype(np.int64)
    t1 = t0 + rng.integers(0, 60_000, m)
    got = book.first_cross(np.zeros(m, dtype=np.int64), buy, price, t0, t1)
    ask = bid + spread
    want = [_brute(times, bid, ask, buy[i], price[i], t0[i], t1[i]) for i in range(m)]
    assert got.tolist() == want
