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
    hands the same quantity round the ring; normal flow seldom does.) Edges are indexed
    by size, so a busy account's many trades of other sizes cost nothing."""

    w_ns: int
    out: dict[Hashable, dict[float, dict[Hashable, int]]] = field(default_factory=dict)

    def add_and_check(self, t: int, seller: Hashable, buyer: Hashable, qty: float) -> bool:
        limit = t - self.w_ns
        self.out.setdefault(seller, {}).setdefault(qty, {})[buyer] = t
        if seller == buyer:
            return False
        # a path buyer -> x -> seller (3 accounts) or buyer -> x -> y -> seller (4)
        out = self.out
        for x, tx in out.get(buyer, {}).get(qty, {}).items():
            if tx <= limit or x in (seller, buyer):
                continue
            second = out.get(x, {}).get(qty, {})
            if second.get(seller, limit) > limit:
                return True
            for y, ty in second.items():
                if ty <= limit or y in (seller, buyer, x):
                    continue
                if out.get(y, {}).get(qty, {}).get(seller, limit) > limit:
                    return True
        return False

    def prune(self, t: int) -> None:
        """Forget edges older than the window (bounds memory)."""
        limit = t - self.w_ns
        for a in list(self.out):
            by_qty = self.out[a]
            for q in list(by_qty):
                live = {b: s for b, s in by_qty[q].items() if s > limit}
                if live:
                    by_qty[q] = live
                else:
                    del by_qty[q]
            if not by_qty:
                del self.out[a]

    def to_data(self) -> list[object]:
        rows = [
            [a, [[q, [[b, t] for b, t in nb.items()]] for q, nb in by_qty.items()]]
            for a, by_qty in self.out.items()
        ]
        return [self.w_ns, rows]

    @classmethod
    def from_data(cls, data: list[object]) -> CycleGraph:
        w_ns, rows = data
        out = cls(int(w_ns))  # type: ignore[call-overload]
        for a, by_qty in rows:  # type: ignore[attr-defined]
            out.out[a] = {float(q): {b: int(t) for b, t in nb} for q, nb in by_qty}
        return out
