"""The traders: classes with their own habits, accounts grouped under owners.

Manipulators are ordinary accounts of the prop and HFT classes: they trade
normally most of the time, so an account id alone reveals nothing. They are grouped
in pairs under one owner (for wash trades between linked accounts), as many normal
owners also hold several accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from surveillance.synth.config import MarketConfig, TraderClass
from surveillance.synth.session import FloatArray, IntArray

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Population:
    classes: tuple[TraderClass, ...]
    klass: IntArray  # class index of each account
    account_ids: tuple[str, ...]
    owner_ids: tuple[str, ...]
    hft: BoolArray
    manipulators: IntArray  # account indices, consecutive pairs share an owner

    @property
    def size(self) -> int:
        return len(self.klass)

    def members(self, class_index: int) -> IntArray:
        return np.flatnonzero(self.klass == class_index).astype(np.int64)

    def param(self, name: str, accounts: IntArray) -> FloatArray:
        values = np.asarray([float(getattr(c, name)) for c in self.classes])
        return values[self.klass[accounts]]

    def sizes(self, rng: np.random.Generator, accounts: IntArray) -> FloatArray:
        """Order sizes in each account's habits: lognormal, occasional blocks, round lots."""
        median = self.param("size_median", accounts)
        sigma = self.param("size_sigma", accounts)
        q = median * rng.lognormal(0.0, 1.0, len(accounts)) ** sigma
        block = rng.random(len(accounts)) < self.param("block_prob", accounts)
        if block.any():
            lo = np.asarray([c.block_multiple.low for c in self.classes])[self.klass[accounts]]
            hi = np.asarray([c.block_multiple.high for c in self.classes])[self.klass[accounts]]
            q = np.where(block, q * rng.uniform(lo, hi), q)
        return round_lots(rng, q, self.param("round_lot_prob", accounts))

    def pick(self, rng: np.random.Generator, weight: str, activity: FloatArray, n: int) -> IntArray:
        """Accounts for a role: the class's share of the role, then activity within the class."""
        class_w = np.asarray([float(getattr(c, weight)) for c in self.classes])
        per_class = np.bincount(self.klass, weights=activity, minlength=len(self.classes))
        p = class_w[self.klass] * activity / np.where(per_class > 0, per_class, 1.0)[self.klass]
        return rng.choice(self.size, size=n, p=p / p.sum()).astype(np.int64)

    def algo(self, rng: np.random.Generator, accounts: IntArray) -> BoolArray:
        out: BoolArray = rng.random(len(accounts)) < self.param("algo_prob", accounts)
        return out


def round_lots(rng: np.random.Generator, q: FloatArray, round_prob: FloatArray) -> FloatArray:
    """Whole units; a share of orders in round lots of 100 (or 10 when small)."""
    q = np.maximum(1.0, np.round(q))
    lot = np.where(q >= 100, 100.0, 10.0)
    rounded = np.maximum(lot, np.round(q / lot) * lot)
    return np.where(rng.random(len(q)) < round_prob, rounded, q)


def build_population(cfg: MarketConfig, rng: np.random.Generator) -> Population:
    classes = cfg.traders
    klass = np.concatenate([np.full(c.count, i, dtype=np.int64) for i, c in enumerate(classes)])
    n = len(klass)
    hft = rng.random(n) < np.asarray([c.hft_share for c in classes])[klass]

    # manipulators: professional accounts (not retail), half of them flagged HFT, half not,
    # as in enforcement cases (HFT firms and manual bank traders alike); in owner pairs
    names = [c.name for c in classes]
    pro = ~np.isin(klass, [names.index(x) for x in ("retail",) if x in names])
    half = cfg.manipulators // 2
    fast = np.flatnonzero(pro & hft)
    slow = np.flatnonzero(pro & ~hft)
    if len(fast) >= half and len(slow) >= cfg.manipulators - half:
        manip = np.concatenate(
            [
                rng.choice(fast, size=half, replace=False),
                rng.choice(slow, size=cfg.manipulators - half, replace=False),
            ]
        )
        manip = rng.permutation(manip).astype(np.int64)
    else:
        manip = rng.choice(n, size=cfg.manipulators, replace=False).astype(np.int64)

    # owners: one per account, then merge some into multi-account owners
    owner = np.arange(n, dtype=np.int64)
    for a, b in zip(manip[0::2], manip[1::2], strict=False):
        owner[b] = owner[a]
    multi = np.asarray([c.multi_account_share for c in classes])[klass]
    free = np.setdiff1d(np.arange(n), manip)
    for acc in free[rng.random(len(free)) < multi[free] / 2]:
        same_class = free[klass[free] == klass[acc]]
        owner[acc] = owner[int(rng.choice(same_class))]

    # ids: random numbers, so no id range or ordering reveals a class or a manipulator
    acc_numbers = rng.choice(90_000, size=n, replace=False) + 10_000
    owner_numbers = rng.choice(90_000, size=n, replace=False) + 10_000
    account_ids = tuple(f"ACC{v:05d}" for v in acc_numbers)
    owner_ids = tuple(f"OWN{owner_numbers[o]:05d}" for o in owner)
    return Population(classes, klass, account_ids, owner_ids, hft, manip)
