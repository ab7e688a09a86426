"""Sequential kernels: state machines that both engines run event by event.

Distinct counts over a sliding window and trade cycles are not vectorisable
without giving up exactness; both engines call these same classes, in arrival
order, so they agree by construction. Their state is plain data (snapshot-able).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass
class DistinctWindow:
    """Distinct values among the entries of the last ``w_ns`` (window ``(t - w, t]``)."""

    w_ns: int
    entries: deque[tuple[int, Hashable]] = field(default_factory=deque)
    counts: dict[Hashable, int] = field(default_factory=dict)

    def add(self, t: int, value: Hashable) -> None:
        self.entries.append((t, value))
        self.counts[value] = self.counts.get(value, 0) + 1

    def query(self, t: int) -> int:
        limit = t - self.w_ns
        entries, counts = self.entries, self.counts
        while entries and entries[0][0] <= limit:
            _, v = entries.popleft()
            left = counts[v] - 1
            if left:
                counts[v] = left
            else:
                del counts[v]
        return len(counts)

    def to_data(self) -> list[object]:
        return [self.w_ns, [list(e) for e in self.entries]]

    @classmethod
    def from_data(cls, data: list[object]) -> DistinctWindow:
        w_ns, entries = data
        out = cls(int(w_ns))  # type: ignore[call-overload]
        for t, v in entries:  # type: ignore[attr-defined]
            out.add(int(t), v)
        return out


@dataclass
class CycleGraph:
    """Trades as edges seller -> buyer with their size. Does a new trade close a cycle of
    3 or 4 accounts, every leg of the same size, within the window? (Circular trading
    hands the same quantity round the ring; normal flow seldom does.)"""

    w_ns: int
    out: dict[Hashable, dict[Hashable, tuple[int, float]]] = field(default_factory=dict)

    def _edge(self, a: Hashable, b: Hashable, limit: int, qty: float) -> bool:
        e = self.out.get(a, {}).get(b)
        return e is not None and e[0] > limit and e[1] == qty

    def add_and_check(self, t: int, seller: Hashable, buyer: Hashable, qty: float) -> bool:
        limit = t - self.w_ns
        self.out.setdefault(seller, {})[buyer] = (t, qty)
        if seller == buyer:
            return False
        # a path buyer -> x -> seller (3 accounts) or buyer -> x -> y -> seller (4)
        for x, (tx, qx) in self.out.get(buyer, {}).items():
            if tx <= limit or qx != qty or x in (seller, buyer):
                continue
            if self._edge(x, seller, limit, qty):
                return True
            for y, (ty, qy) in self.out.get(x, {}).items():
                if ty <= limit or qy != qty or y in (seller, buyer, x):
                    continue
                if self._edge(y, seller, limit, qty):
                    return True
        return False

    def prune(self, t: int) -> None:
        """Forget edges older than the window (bounds memory)."""
        limit = t - self.w_ns
        for a in list(self.out):
            live = {b: e for b, e in self.out[a].items() if e[0] > limit}
            if live:
                self.out[a] = live
            else:
                del self.out[a]

    def to_data(self) -> list[object]:
        rows = [[a, [[b, t, q] for b, (t, q) in nb.items()]] for a, nb in self.out.items()]
        return [self.w_ns, rows]

    @classmethod
    def from_data(cls, data: list[object]) -> CycleGraph:
        w_ns, rows = data
        out = cls(int(w_ns))  # type: ignore[call-overload]
        for a, nbrs in rows:  # type: ignore[attr-defined]
            out.out[a] = {b: (int(t), float(q)) for b, t, q in nbrs}
        return out
