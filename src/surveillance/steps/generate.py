"""Step: generate a labelled synthetic market and audit it for leakage."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from surveillance.evaluation.leakage import LeakageReport, audit_leakage
from surveillance.synth.config import load_config
from surveillance.synth.market import SyntheticMarket, generate_market

FILES = {
    "events": "events.parquet",
    "labels": "labels.parquet",
    "episodes": "episodes.parquet",
    "accounts": "accounts.parquet",
    "summary": "summary.json",
}


@dataclass(frozen=True)
class GenerateParams:
    n_events: int = 100_000
    seed: int = 0
    preset: str = "default"
    config_path: Path | None = None
    audit: bool = True


def _counts(values: Any) -> dict[str, int]:
    vc = pc.value_counts(values).to_pylist()
    return {str(d["values"]): int(d["counts"]) for d in sorted(vc, key=lambda d: str(d["values"]))}


def summarise(market: SyntheticMarket, audit: LeakageReport | None) -> dict[str, Any]:
    ev, lab, eps = market.events, market.labels, market.episodes
    per_typology: dict[str, dict[str, Any]] = {}
    for row in eps.to_pylist():
        entry = per_typology.setdefault(
            row["typology"],
            {"episodes": 0, "events": 0, "supervised": row["supervised"], "severity": {}},
        )
        entry["episodes"] += 1
        entry["events"] += row["n_events"]
        entry["severity"][row["severity"]] = entry["severity"].get(row["severity"], 0) + 1
    ts = ev.column("timestamp")
    return {
        "config": market.config_name,
        "seed": market.seed,
        "events": ev.num_rows,
        "orders": pc.count_distinct(ev.column("order_id")).as_py(),
        "trades": pc.count_distinct(ev.column("trade_id")).as_py(),
        "instruments": pc.count_distinct(ev.column("instrument_id")).as_py(),
        "accounts": market.accounts.num_rows,
        "first_event": str(pc.min(ts).as_py()),
        "last_event": str(pc.max(ts).as_py()),
        "event_types": _counts(ev.column("event_type")),
        "manipulative_events": lab.num_rows,
        "manipulative_share": round(lab.num_rows / max(ev.num_rows, 1), 5),
        "episodes": eps.num_rows,
        "typologies": dict(sorted(per_typology.items())),
        "leakage_audit": audit.to_dict() if audit is not None else None,
    }


def generate(
    out_dir: Path,
    params: GenerateParams,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Generate, audit and write a market to ``out_dir``; returns the summary."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    cfg = load_config(params.preset, params.config_path)
    market = generate_market(cfg, params.n_events, params.seed, say)
    generated = time.perf_counter()
    audit = None
    if params.audit:
        say("auditing for leakage")
        audit = audit_leakage(market.events, market.labels, seed=params.seed)
    audited = time.perf_counter()
    say("writing parquet")
    out_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(market.events, out_dir / FILES["events"])
    pq.write_table(market.labels, out_dir / FILES["labels"])
    pq.write_table(market.episodes, out_dir / FILES["episodes"])
    pq.write_table(market.accounts, out_dir / FILES["accounts"])
    summary = summarise(market, audit)
    summary["timings_s"] = {
        "generate": round(generated - started, 3),
        "audit": round(audited - generated, 3),
        "write": round(time.perf_counter() - audited, 3),
    }
    summary["outputs"] = {k: str(out_dir / v) for k, v in FILES.items()}
    (out_dir / FILES["summary"]).write_text(json.dumps(summary, indent=2, default=str))
    return summary
