"""``surveil features`` and ``surveil features-report`` end to end, in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from cli_support import Run, run_cli, run_summaries

from surveillance.features.catalog import DEFAULT_SPEC
from surveillance.schema.labels import Typology

N_EVENTS = 6_000
SUMMARY_FIELDS = {
    "input",
    "output",
    "engine",
    "n_events",
    "n_rejected",
    "feature_set_version",
    "seconds",
    "events_per_s",
    "features",
    "unsupported",
}
FAMILY_NEEDS_TRADER = ("trader", "counterparty")


@dataclass(frozen=True)
class Computed:
    ws: Path
    runs: dict[str, Run]

    @property
    def events(self) -> Path:
        return self.ws / "data" / "synthetic" / "events.parquet"

    def table(self, engine: str) -> Path:
        name = "events.features.parquet" if engine == "batch" else "stream.parquet"
        return self.ws / "features" / name

    def summary(self, engine: str) -> dict[str, Any]:
        path = self.table(engine)
        stem = path.name.removesuffix(".parquet")
        data: dict[str, Any] = json.loads(path.with_name(f"{stem}.summary.json").read_text())
        return data


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory) -> Computed:
    """A small generated market, its features by the batch engine (default --out, accounts
    found next to the events) and by the stream engine (explicit --out)."""
    ws = tmp_path_factory.mktemp("ws")
    gen = run_cli("--workspace", str(ws), "generate", "--events", str(N_EVENTS), "--seed", "4")
    assert (ws / "data" / "synthetic" / "events.parquet").is_file(), gen.err
    events = str(ws / "data" / "synthetic" / "events.parquet")
    batch = run_cli("--workspace", str(ws), "features", events)
    stream = run_cli(
        "--workspace",
        str(ws),
        "features",
        events,
        "--engine",
        "stream",
        "--out",
        str(ws / "features" / "stream.parquet"),
    )
    return Computed(ws, {"batch": batch, "stream": stream})


@pytest.mark.parametrize("engine", ["batch", "stream"])
def test_features_table_has_every_feature_the_version_and_a_summary(
    computed: Computed, engine: str
) -> None:
    """GIVEN a generated market with accounts.parquet next to its events
    WHEN `surveil features EVENTS [--engine stream --out FILE]` runs
    THEN it exits 0 and writes a Parquet with event_id then every DEFAULT_SPEC feature,
    one row per event in input order, the spec version in the schema metadata, and a
    summary (sidecar and run JSON) with the engine, counts, timing, availability and
    support per feature; the accounts are picked up, so every feature is supported."""
    run = computed.runs[engine]
    assert run.code == 0, run.out + run.err
    table = pq.read_table(computed.table(engine))
    events = pq.read_table(computed.events, columns=["event_id"])

    assert table.column_names == ["event_id", *DEFAULT_SPEC.names]
    assert table.column("event_id").to_pylist() == events.column("event_id").to_pylist()
    assert table.schema.metadata[b"feature_set_version"] == DEFAULT_SPEC.version.encode()
    summary = computed.summary(engine)
    assert set(summary) >= SUMMARY_FIELDS
    assert summary["engine"] == engine
    assert summary["n_events"] == table.num_rows == events.num_rows
    assert summary["feature_set_version"] == DEFAULT_SPEC.version
    assert summary["events_per_s"] > 0 and summary["seconds"] > 0
    assert summary["accounts"].endswith("accounts.parquet")
    assert set(summary["features"]) == set(DEFAULT_SPEC.names)
    assert summary["unsupported"] == {}
    frame = table.to_pandas()
    for name, entry in summary["features"].items():
        assert entry["supported"] is True
        assert entry["availability"] == pytest.approx(frame[name].notna().mean(), abs=1e-6)
    assert summary["features"]["linked_trade"]["availability"] > 0  # owners were used
    runs = [r for r in run_summaries(computed.ws, "features") if r["engine"] == engine]
    assert len(runs) == 1 and runs[0]["output"] == str(computed.table(engine))
    assert "supported: 47 of 47 features" in run.out


def test_batch_and_stream_outputs_agree(computed: Computed) -> None:
    """GIVEN the feature tables of one market by both engines
    WHEN they are compared column by column
    THEN values agree within rtol 1e-6 / atol 1e-6 and NaN sits in the same places."""
    batch = pq.read_table(computed.table("batch")).to_pandas()
    stream = pq.read_table(computed.table("stream")).to_pandas()

    assert list(batch["event_id"]) == list(stream["event_id"])
    differ = {}
    for name in DEFAULT_SPEC.names:
        a, b = batch[name].to_numpy(), stream[name].to_numpy()
        close = np.isclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True)
        if not close.all():
            differ[name] = int((~close).sum())
    assert differ == {}


@pytest.mark.parametrize("engine", ["batch", "stream"])
def test_without_trader_and_counterparty_those_features_are_unsupported_and_nan(
    computed: Computed, tmp_path: Path, engine: str
) -> None:
    """GIVEN the market's events without the trader_id and counterparty_id columns
    WHEN `surveil features` runs on them (with the accounts table given)
    THEN every trader and counterparty feature is reported unsupported with a reason
    naming the missing ids, and is NaN on every row, while lifecycle features still
    have values; the human summary lists them."""
    events = pq.read_table(computed.events).drop_columns(["trader_id", "counterparty_id"])
    source = tmp_path / "anonymous.parquet"
    pq.write_table(events, source)
    out = tmp_path / "anonymous.features.parquet"
    accounts = computed.events.parent / "accounts.parquet"

    run = run_cli(
        "--workspace",
        str(tmp_path / "ws"),
        "features",
        str(source),
        "--out",
        str(out),
        "--engine",
        engine,
        "--accounts",
        str(accounts),
    )

    assert run.code == 0, run.out + run.err
    frame = pq.read_table(out).to_pandas()
    summary = json.loads((tmp_path / "anonymous.features.summary.json").read_text())
    needing = [f for f in DEFAULT_SPEC.features if f.family in FAMILY_NEEDS_TRADER]
    assert needing
    for f in needing:
        assert f.name in summary["unsupported"], f.name
        assert any("trader_id" in r for r in summary["unsupported"][f.name]), f.name
        assert frame[f.name].isna().all(), f.name
        assert summary["features"][f.name]["availability"] == 0.0
    assert any("counterparty_id" in r for r in summary["unsupported"]["self_trade"])
    for name in ("order_age_s", "order_modifications", "order_filled_ratio", "time_to_cancel_s"):
        assert summary["features"][name]["supported"], name
        assert frame[name].notna().any(), name
    assert summary["features"]["has_trader"]["supported"]
    assert (frame["has_trader"] == 0).all()
    assert "unsupported on this data" in run.out and "trader_msgs_1s" in run.out


HEADER = (
    "event_id,timestamp,event_type,order_id,instrument_id,venue,side,price,quantity,"
    "order_type,trader_id,counterparty_id,trade_id,is_algo,is_hft"
)
GOOD = [
    "g1,2026-03-02T09:00:00Z,NEW,o1,FR0000120271,XPAR,BUY,10.5,100,LIMIT,a1,,,false,false",
    "g2,2026-03-02T09:00:01Z,MODIFY,o1,FR0000120271,XPAR,BUY,10.4,80,LIMIT,a1,,,false,false",
    "g3,2026-03-02T09:00:02Z,FILL,o1,FR0000120271,XPAR,BUY,10.4,30,LIMIT,a1,b7,T1,false,false",
    "g4,2026-03-02T09:00:03Z,CANCEL,o1,FR0000120271,XPAR,BUY,10.4,50,LIMIT,a1,,,false,false",
]
BAD = {
    "b_qty": "b_qty,2026-03-02T09:01:00Z,NEW,o2,FR0000120271,XPAR,BUY,10.5,lots,LIMIT,a1,,,,",
    "b_type": "b_type,2026-03-02T09:01:03Z,AMEND,o5,FR0000120271,XPAR,SELL,10.5,5,LIMIT,a1,,,,",
    "b_time": "b_time,yesterday noon,NEW,o6,FR0000120271,XPAR,SELL,10.5,5,LIMIT,a1,,,,",
}


def test_bad_csv_rows_go_to_the_rejects_file(tmp_path: Path) -> None:
    """GIVEN a CSV of 4 good rows and 3 bad ones (text quantity, unknown event type,
    unparseable timestamp)
    WHEN `surveil features` runs on it
    THEN it exits 3 (rows rejected); the rejects CSV next to the output holds exactly
    the bad rows with reasons; the feature table holds the good rows only; the summary
    counts them; book-dependent features are unsupported (no bid/ask columns)."""
    source = tmp_path / "mixed.csv"
    source.write_text("\n".join([HEADER, *GOOD[:2], *BAD.values(), *GOOD[2:]]) + "\n")
    ws = tmp_path / "ws"

    run = run_cli("--workspace", str(ws), "features", str(source))

    assert run.code == 3, run.out + run.err
    out = ws / "features" / "mixed.features.parquet"
    rejects = pd.read_csv(ws / "features" / "mixed.features.rejects.csv")
    assert set(rejects["event_id"]) == set(BAD)
    assert rejects["reasons"].notna().all()
    table = pq.read_table(out)
    assert table.column("event_id").to_pylist() == ["g1", "g2", "g3", "g4"]
    summary = json.loads((ws / "features" / "mixed.features.summary.json").read_text())
    assert (summary["n_input"], summary["n_events"], summary["n_rejected"]) == (7, 4, 3)
    assert summary["accounts"] is None
    assert "linked_trade" in summary["unsupported"]
    assert "spread_bps" in summary["unsupported"]
    features = table.to_pandas()
    assert features["order_age_s"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert "rejected: 3 of 7 rows" in run.out


def test_features_report_writes_the_page_and_the_json(tmp_path: Path) -> None:
    """GIVEN a small market size
    WHEN `surveil features-report --events 6000 --seed 2 --doc FILE` runs
    THEN the page has the preamble, a section per family, every feature, the PR-AUC
    table with one column per typology, and the command line; the JSON copy lands
    under the workspace reports folder."""
    doc = tmp_path / "features.md"
    ws = tmp_path / "ws"

    run = run_cli(
        "--workspace",
        str(ws),
        "features-report",
        "--events",
        "6000",
        "--seed",
        "2",
        "--doc",
        str(doc),
    )

    assert run.code == 0, run.out + run.err
    text = doc.read_text()
    assert "adr/0003-feature-window-semantics.md" in text
    for family in ("event", "lifecycle", "trader", "counterparty", "market"):
        assert f"### {family} (" in text
    for name in DEFAULT_SPEC.names:
        assert f"| `{name}` |" in text
    for typ in Typology:
        assert f"{typ.value}<br>base " in text
    assert "surveil features-report --events 6000 --seed 2" in text
    report = json.loads((ws / "reports" / "features_separation.json").read_text())
    assert report["feature_set_version"] == DEFAULT_SPEC.version
    assert set(report["features"]) == set(DEFAULT_SPEC.names)
