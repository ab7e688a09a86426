"""How well does each feature, alone, separate each typology from normal flow?

For every feature and every typology, the single-feature PR-AUC (average precision)
of that typology's events against normal (unlabelled) events; events of the other
typologies are left out. Missing values (NaN) rank lowest, whichever direction is
scored. Both directions are tried, the feature and its negation, and the better is
reported with its direction. The base rate (share of positives) is what a feature
without information scores.

``surveil features-report`` runs this on a generated market and writes
``docs/features.md``: the catalogue of the default feature set (from the spec itself)
and the table of single-feature PR-AUCs. Labels are joined here, in evaluation only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from surveillance.features.inputs import FloatArray
from surveillance.features.spec import Feature, FeatureSpec, Need

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

FAMILIES: dict[str, str] = {
    "event": "The message itself: its type, side, size and order type, and whether the "
    "optional fields (trader, counterparty, book) are present.",
    "lifecycle": "The order's life so far, from its NEW: age, modifications, fills, how it "
    "ends, and where it sits against the touch.",
    "trader": "Behaviour of the trader on the instrument, keyed by (instrument, trader): "
    "message counts, cancel and order-to-trade ratios and size statistics over time "
    "windows, and gauges of the trader's open orders on each side.",
    "counterparty": "Who trades with whom, on fills: self-trades, trades between accounts of "
    "one owner, repeated pairs, distinct counterparties, trade cycles among accounts.",
    "market": "The instrument's state around the event: quote rate, volume against its "
    "hourly rate, price against recent fills, range of the mid, spread, touch imbalance and "
    "time to the session close.",
}

NEEDS: dict[Need, str] = {
    Need.TRADER: "trader_id",
    Need.COUNTERPARTY: "counterparty_id on fills",
    Need.BOOK: "best bid and ask (and sizes)",
    Need.PRICE: "price",
    Need.LIFECYCLE: "the order's NEW in the data",
    Need.OWNERS: "accounts table (trader_id -> owner_id)",
    Need.SESSION: "session close configured",
}

NEGATED = " (neg)"  # marks a feature scored negated: lower values flag the typology


@dataclass(frozen=True)
class Separation:
    """The better direction's PR-AUC of one feature for one typology."""

    pr_auc: float
    direction: int  # +1: higher values flag the typology; -1: lower values do
    pr_auc_other: float  # the other direction's PR-AUC
    base_rate: float
    n_pos: int
    n_neg: int
    availability_pos: float  # share of the typology's events where the feature has a value

    @property
    def marker(self) -> str:
        return "" if self.direction > 0 else NEGATED

    @property
    def lift(self) -> float:
        return self.pr_auc / self.base_rate if self.base_rate > 0 else float("nan")


# ---------------------------------------------------------------- PR-AUC


def _ranking(values: FloatArray, descending: bool) -> tuple[IntArray, IntArray]:
    """Positions from highest to lowest score (NaN last) and each position's tie group."""
    v = np.asarray(values, dtype=np.float64)
    missing = np.isnan(v)
    key = np.where(missing, 0.0, -v if descending else v)
    order = np.lexsort((key, missing)).astype(np.int64)
    k, m = key[order], missing[order]
    new_group = np.empty(len(order), dtype=bool)
    if len(order):
        new_group[0] = True
        new_group[1:] = (k[1:] != k[:-1]) | (m[1:] != m[:-1])
    return order, np.cumsum(new_group).astype(np.int64)


def _ap_ranked(y: BoolArray, group: IntArray) -> float:
    """Average precision of labels already in score order, ties given as group ids."""
    n_pos = int(y.sum())
    if n_pos == 0 or len(y) == 0:
        return float("nan")
    tps = np.cumsum(y)
    last = np.empty(len(y), dtype=bool)
    last[-1] = True
    last[:-1] = group[1:] != group[:-1]
    ends = np.flatnonzero(last)
    tp = tps[ends].astype(np.float64)
    precision = tp / (ends + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def average_precision(scores: npt.ArrayLike, positive: npt.ArrayLike) -> float:
    """PR-AUC as average precision (sklearn's step definition); NaN scores rank lowest.

    Tied scores form one threshold. Returns NaN when there is no positive.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in shape: {s.shape} vs {y.shape}")
    order, group = _ranking(s, descending=True)
    return _ap_ranked(y[order], group)


def separation(scores: npt.ArrayLike, positive: npt.ArrayLike) -> Separation:
    """The feature and its negation scored; the better one, with its direction."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    up = average_precision(s, y)
    down = average_precision(-s, y)
    return _pick(up, down, y, s)


def _pick(up: float, down: float, y: BoolArray, s: FloatArray) -> Separation:
    n_pos = int(y.sum())
    n = len(y)
    avail = float(np.isfinite(s[y]).mean()) if n_pos else float("nan")
    base = n_pos / n if n else float("nan")
    # a tie (e.g. a constant feature) keeps the natural direction
    if np.isnan(down) or (not np.isnan(up) and up >= down - 1e-12):
        return Separation(up, 1, down, base, n_pos, n - n_pos, avail)
    return Separation(down, -1, up, base, n_pos, n - n_pos, avail)


def separation_by_typology(
    values: FloatArray, typology: npt.NDArray[np.object_], typologies: Sequence[str]
) -> dict[str, Separation]:
    """One feature against each typology: its events vs normal (``typology`` None) events.

    The feature is ranked once per direction over all events; each typology's ranking
    is that order restricted to its events and the normal ones.
    """
    normal = pd.isna(typology)
    ranked = {d: _ranking(values, descending=d > 0) for d in (1, -1)}
    out: dict[str, Separation] = {}
    for typ in typologies:
        pos = np.asarray(typology == typ, dtype=bool)
        keep = pos | normal
        aps = {}
        for d, (order, group) in ranked.items():
            sel = order[keep[order]]
            aps[d] = _ap_ranked(pos[sel], group[keep[order]])
        out[typ] = _pick(aps[1], aps[-1], pos[keep], values[keep])
    return out


# ---------------------------------------------------------------- the report


@dataclass
class SeparationReport:
    spec: FeatureSpec
    n_events: int
    seed: int
    preset: str
    seconds: float
    typologies: tuple[str, ...]
    base_rates: dict[str, float]
    n_positive: dict[str, int]
    table: dict[str, dict[str, Separation]]  # feature -> typology -> separation
    availability: dict[str, float]  # feature -> share of all events with a value
    command: str = ""
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.spec.version

    def best_per_typology(self, k: int = 3) -> dict[str, list[tuple[str, float, str]]]:
        out: dict[str, list[tuple[str, float, str]]] = {}
        for typ in self.typologies:
            ranked = sorted(
                ((name, row[typ]) for name, row in self.table.items()),
                key=lambda item: -np.nan_to_num(item[1].pr_auc, nan=-1.0),
            )
            out[typ] = [(name, s.pr_auc, s.marker) for name, s in ranked[:k]]
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "n_events": self.n_events,
            "seed": self.seed,
            "preset": self.preset,
            "feature_set_version": self.version,
            "seconds": round(self.seconds, 3),
            "timings_s": self.timings_s,
            "base_rates": self.base_rates,
            "n_positive": self.n_positive,
            "best_per_typology": {
                typ: [{"feature": n, "pr_auc": round(a, 4), "negated": bool(m)} for n, a, m in b]
                for typ, b in self.best_per_typology(3).items()
            },
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "availability": self.availability,
            "features": {
                name: {
                    "family": f.family,
                    "typologies": list(f.typologies),
                    "needs": [n.value for n in f.needs],
                    "separation": {
                        typ: {
                            "pr_auc": _r(s.pr_auc),
                            "direction": s.direction,
                            "pr_auc_other_direction": _r(s.pr_auc_other),
                            "lift": _r(s.lift),
                            "availability_in_typology": _r(s.availability_pos),
                        }
                        for typ, s in self.table[name].items()
                    },
                }
                for name, f in ((f.name, f) for f in self.spec.features)
            },
        }


def _r(x: float, digits: int = 6) -> float | None:
    return None if np.isnan(x) else round(float(x), digits)


def report_command(n_events: int, seed: int, preset: str) -> str:
    extra = "" if preset == "default" else f" --preset {preset}"
    return f"surveil features-report --events {n_events} --seed {seed}{extra}"


def separation_report(
    features: pd.DataFrame,
    typology: npt.NDArray[np.object_],
    spec: FeatureSpec,
    typologies: Sequence[str],
) -> tuple[dict[str, dict[str, Separation]], dict[str, float], dict[str, int]]:
    """Per feature and typology separations; base rates and positive counts per typology."""
    normal = pd.isna(typology)
    table: dict[str, dict[str, Separation]] = {}
    for name in spec.names:
        values = features[name].to_numpy(dtype=np.float64, na_value=np.nan)
        table[name] = separation_by_typology(values, typology, typologies)
    n_pos = {t: int((typology == t).sum()) for t in typologies}
    n_neg = int(normal.sum())
    base = {t: (n_pos[t] / (n_pos[t] + n_neg) if n_pos[t] + n_neg else 0.0) for t in typologies}
    return table, base, n_pos


def build_report(
    n_events: int,
    seed: int,
    preset: str = "default",
    progress: Callable[[str], None] | None = None,
    spec: FeatureSpec | None = None,
) -> SeparationReport:
    """Generate a market, compute batch features (owners from its accounts), score them."""
    from surveillance.features.batch import compute_batch
    from surveillance.features.catalog import DEFAULT_SPEC
    from surveillance.schema.labels import Typology
    from surveillance.synth.config import load_config
    from surveillance.synth.market import generate_market

    say = progress or (lambda _msg: None)
    spec = spec or DEFAULT_SPEC
    started = time.perf_counter()
    say("generating the market")
    market = generate_market(load_config(preset), n_events, seed)
    generated = time.perf_counter()
    say("computing batch features")
    acc = market.accounts
    owners = dict(
        zip(
            acc.column("trader_id").to_pylist(),
            acc.column("owner_id").to_pylist(),
            strict=True,
        )
    )
    features = compute_batch(market.events, spec, owners=owners)
    computed = time.perf_counter()
    say("scoring single features")
    labels = market.labels.to_pandas().drop_duplicates("event_id").set_index("event_id")
    event_ids = pd.Index(market.events.column("event_id").to_pylist())
    typology = labels["typology"].reindex(event_ids).to_numpy(dtype=object)
    typologies = tuple(t.value for t in Typology)
    table, base, n_pos = separation_report(features, typology, spec, typologies)
    scored = time.perf_counter()
    availability = {name: round(float(features[name].notna().mean()), 6) for name in spec.names}
    return SeparationReport(
        spec=spec,
        n_events=market.events.num_rows,
        seed=seed,
        preset=preset,
        seconds=scored - started,
        typologies=typologies,
        base_rates=base,
        n_positive=n_pos,
        table=table,
        availability=availability,
        command=report_command(n_events, seed, preset),
        timings_s={
            "generate": round(generated - started, 3),
            "features": round(computed - generated, 3),
            "score": round(scored - computed, 3),
        },
    )


# ---------------------------------------------------------------- markdown

PREAMBLE = """\
# Features

This page is generated: do not edit it by hand. Regenerate it from the repository root
with

    surveil features-report --events 300000 --seed 5

(`.venv/bin/surveil` inside the virtual environment). The catalogue below comes from the
feature spec itself (`src/surveillance/features/catalog.py`, `DEFAULT_SPEC`); the table
at the end is measured on a generated market by that command, which also writes a JSON
copy to `<workspace>/reports/features_separation.json`.

## Families

Features are declared once, as data (`src/surveillance/features/spec.py`), and computed
by two engines that agree: `batch` over a whole table and `stream` event by event from
keyed state (`surveil features EVENTS --engine batch|stream`). Every feature is a float
per event, in one of five families:

- **event**: the message itself (type, side, size, order type) and availability flags
  for the optional fields.
- **lifecycle**: the order's life so far, from its NEW: age, modifications, fills, how it
  ends, where it sits against the touch.
- **trader**: the trader's behaviour on the instrument, keyed by (instrument, trader):
  counts, ratios and size statistics over time windows, and gauges of open orders per side.
- **counterparty**: who trades with whom, on fills: self-trades, linked accounts (one
  owner), repeated pairs, distinct counterparties, trade cycles.
- **market**: the instrument around the event: quote rate, volume, price against recent
  fills, mid range, spread, touch imbalance, time to the close.

## Missing data: NaN plus availability

A feature that cannot be computed for an event is NaN, never a made-up zero: a
lifecycle feature when the order's NEW is not in the data, a fill feature on a
non-fill, a trader feature without a trader id, a ratio with a zero denominator.
Models see NaN as missing, and the availability flags (`has_trader`,
`has_counterparty`, `has_book`) say which optional data an event carried. Each feature
lists what it **needs** from the data; `surveil features` reports, per data set, the
share of events with a value for each feature (availability) and which features the
data cannot support at all, with the reason (no trader ids, no counterparties, no book,
no prices, no accounts table, no session close, no NEW events).

## Window semantics

Events are processed in arrival order. An event's effective time is the latest
timestamp seen so far on its instrument (a late event counts as arriving at that
watermark); a window of length `w` holds the entering events of its key with effective
time in `(t - w, t]` that arrived up to and including the current event, and every value
is read after the event has been applied to the state. So a feature never looks ahead,
and the batch and streaming engines give the same value for the same event. The full
decision, with the alternatives considered, is in
[ADR 0003](adr/0003-feature-window-semantics.md).
"""

TABLE_INTRO = """\
## Single-feature separation

For each feature and each typology: the PR-AUC (average precision) of the feature
alone, ranking that typology's events against normal events (events of the other
typologies are left out). NaN ranks lowest. Both the feature and its negation are
scored and the better is shown; `(neg)` marks the negated one (lower values flag the
typology). The header gives each typology's base rate, the PR-AUC of a feature without
information; the best feature per typology is in bold. A single feature is not a model:
this table shows which signals carry information, and flags any that carry suspiciously
much (a shortcut in the synthetic market, or a label leaking into a feature).
"""


def _needs_text(f: Feature) -> str:
    return ", ".join(NEEDS[n] for n in f.needs) or "core fields only"


def _cell(s: Separation, best: bool) -> str:
    if np.isnan(s.pr_auc):
        return "n/a"
    text = f"{s.pr_auc:.3f}"
    return (f"**{text}**" if best else text) + s.marker


def render_markdown(report: SeparationReport) -> str:
    spec = report.spec
    lines = [PREAMBLE]
    lines.append(f"## Catalogue ({len(spec.features)} features, feature set `{spec.version}`)\n")
    families = list(dict.fromkeys(f.family for f in spec.features))
    for fam in families:
        members = [f for f in spec.features if f.family == fam]
        lines.append(f"### {fam} ({len(members)})\n")
        if fam in FAMILIES:
            lines.append(FAMILIES[fam] + "\n")
        lines.append("| feature | what it measures | typologies | needs |")
        lines.append("|---|---|---|---|")
        for f in members:
            serves = ", ".join(f.typologies) or "-"
            lines.append(f"| `{f.name}` | {f.description} | {serves} | {_needs_text(f)} |")
        lines.append("")
    lines.append(TABLE_INTRO)
    lines.append(
        f"Produced by `{report.command}`: seed {report.seed}, {report.preset} preset, "
        f"{report.n_events:,} events generated, feature set `{report.version}`, batch "
        "engine with owners from the generated accounts table.\n"
    )
    typs = report.typologies
    best = {typ: top[0][0] for typ, top in report.best_per_typology(1).items()}
    header = ["feature", *(f"{t}<br>base {report.base_rates[t]:.4f}" for t in typs)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|---|" + "---:|" * len(typs))
    for name in spec.names:
        row = report.table[name]
        cells = [_cell(row[t], best[t] == name) for t in typs]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines.append("")
    counts = ", ".join(f"{t} {report.n_positive[t]:,}" for t in typs)
    lines.append(f"Events per typology: {counts}.\n")
    lines.append("Best three single features per typology:\n")
    for typ, top in report.best_per_typology(3).items():
        shown = ", ".join(f"`{n}` {a:.3f}{m}" for n, a, m in top)
        lift = top[0][1] / report.base_rates[typ] if report.base_rates[typ] else float("nan")
        lines.append(f"- **{typ}** (base {report.base_rates[typ]:.4f}, best {lift:.0f}x): {shown}")
    lines.append("")
    return "\n".join(lines)


def write_report(report: SeparationReport, doc: Path, json_path: Path) -> None:
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(render_markdown(report))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report.to_dict(), indent=2, default=str))
