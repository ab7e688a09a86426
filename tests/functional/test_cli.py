"""The ``surveil`` command end to end, in-process, on a temporary workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from cli_support import Run, run_cli, run_summaries

from surveillance import __version__
from surveillance.cli import main

MARKET_FILES = ("events", "labels", "episodes", "accounts")
HEADER = (
    "event_id,timestamp,event_type,order_id,instrument_id,venue,side,price,quantity,"
    "order_type,trader_id,counterparty_id,trade_id,is_algo,is_hft"
)


def error_lines(err: str) -> list[str]:
    """The error messages on stderr (progress-bar redraws use carriage returns)."""
    segments = err.replace("\r", "\n").splitlines()
    return [s for s in segments if s.startswith("surveil: error:")]


def messages(err: str) -> str:
    """stderr without the progress-bar redraws: the lines a reader would see."""
    segments = err.replace("\r", "\n").splitlines()
    return "\n".join(s for s in segments if s.strip() and "step/s" not in s)


@dataclass(frozen=True)
class Generated:
    ws: Path
    run: Run

    @property
    def data(self) -> Path:
        return self.ws / "data" / "synthetic"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    ws = tmp_path_factory.mktemp("ws")
    run = run_cli("--workspace", str(ws), "generate", "--events", "20000", "--seed", "3")
    return Generated(ws, run)


# ---------------------------------------------------------------- generate


def test_generate_writes_the_market_its_summary_and_a_run_record(generated: Generated) -> None:
    """GIVEN an empty workspace
    WHEN `surveil generate --events 20000 --seed 3` runs
    THEN events, labels, episodes and accounts are written as Parquet with summary.json
    under data/synthetic, a run JSON lands under runs/, and the summary counts the
    events per type and the episodes per typology and carries the leakage audit."""
    data = generated.data
    for name in MARKET_FILES:
        assert (data / f"{name}.parquet").is_file(), name
    summary = json.loads((data / "summary.json").read_text())
    events = pq.read_table(data / "events.parquet")
    episodes = pq.read_table(data / "episodes.parquet").to_pandas()

    assert summary["seed"] == 3
    assert summary["events"] == events.num_rows
    assert abs(events.num_rows - 20_000) <= 400
    assert sum(summary["event_types"].values()) == events.num_rows
    assert set(summary["event_types"]) == {"NEW", "MODIFY", "CANCEL", "FILL"}
    per_typology = episodes.groupby("typology")["n_events"].agg(["count", "sum"])
    assert set(summary["typologies"]) == set(per_typology.index)
    for typ, row in per_typology.iterrows():
        assert summary["typologies"][typ]["episodes"] == row["count"]
        assert summary["typologies"][typ]["events"] == row["sum"]
    audit = summary["leakage_audit"]
    assert set(audit) >= {"passed", "bound", "failures", "typologies"}
    assert set(audit["typologies"]) == set(per_typology.index)

    runs = run_summaries(generated.ws, "generate")
    assert len(runs) == 1
    assert runs[0]["command"] == "generate"
    assert runs[0]["events"] == events.num_rows
    assert f"Generated {events.num_rows:,} events" in generated.run.out


def test_generate_exits_zero_on_a_clean_market(generated: Generated) -> None:
    """GIVEN the market generated with `--events 20000 --seed 3`
    WHEN the command's exit code is read
    THEN it is 0 (success), and the audit says it is inconclusive: with ~8-12 episodes
    per supervised typology the single-column AUCs are too noisy to judge.
    """
    assert generated.run.code == 0, messages(generated.run.err)
    assert "inconclusive" in generated.run.out


def test_shifted_preset_writes_to_its_own_folder(tmp_path: Path) -> None:
    """GIVEN an empty workspace
    WHEN `surveil generate --preset shifted --no-audit` runs
    THEN the market lands in data/synthetic_shifted (not data/synthetic), the
    summary names the shifted config and has no audit, and the exit code is 0."""
    run = run_cli(
        "--workspace",
        str(tmp_path),
        "generate",
        "--events",
        "20000",
        "--seed",
        "3",
        "--preset",
        "shifted",
        "--no-audit",
    )

    assert run.code == 0, run.err
    data = tmp_path / "data" / "synthetic_shifted"
    for name in MARKET_FILES:
        assert (data / f"{name}.parquet").is_file(), name
    assert not (tmp_path / "data" / "synthetic").exists()
    summary = json.loads((data / "summary.json").read_text())
    assert summary["config"] == "shifted"
    assert summary["leakage_audit"] is None


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"flow": {"sweep_p": -1}}, "flow.sweep_p"),
        ({"episodes": {"front_running": {"per_100k_events": 1}}}, "episodes.front_running"),
        ({"session": {"open": "8am"}}, "session.open"),
    ],
)
def test_bad_config_exits_2_with_one_line_error_naming_the_key(
    tmp_path: Path, config: dict[str, Any], key: str
) -> None:
    """GIVEN a config file with one bad key
    WHEN `surveil generate --config bad.json` runs
    THEN it exits 2 with one error line naming the key, no traceback, and no events."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(config))

    run = run_cli("--workspace", str(tmp_path / "ws"), "generate", "--config", str(bad))

    assert run.code == 2
    errors = error_lines(run.err)
    assert len(errors) == 1, run.err
    assert key in errors[0]
    assert "Traceback" not in run.err
    assert not list((tmp_path / "ws").rglob("events.parquet"))


@pytest.mark.parametrize("command", ["generate", "demo"])
def test_events_below_one_is_a_usage_error(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN `--events 0`
    WHEN generate or demo is parsed
    THEN argparse exits 2 with an error naming --events, and nothing is generated."""
    with pytest.raises(SystemExit) as caught:
        main(["--workspace", str(tmp_path), command, "--events", "0"])

    assert caught.value.code == 2
    assert "--events" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.parquet"))


# ---------------------------------------------------------------- validate


def test_validate_clean_generated_events_exits_0(generated: Generated, tmp_path: Path) -> None:
    """GIVEN the events Parquet written by generate
    WHEN `surveil validate` runs on it
    THEN it exits 0, every row is in the valid Parquet and the rejects file is empty."""
    source = generated.data / "events.parquet"

    run = run_cli("--workspace", str(tmp_path), "validate", str(source))

    assert run.code == 0, run.out + run.err
    out = tmp_path / "data" / "validated"
    assert pq.read_table(out / "events.valid.parquet").num_rows == pq.read_metadata(source).num_rows
    assert len(pd.read_csv(out / "events.rejects.csv")) == 0
    (summary,) = run_summaries(tmp_path, "validate")
    assert summary["n_rejected"] == 0


def good_rows() -> list[str]:
    """An order's life (NEW, MODIFY, FILL, CANCEL) that passes validation."""
    return [
        "g1,2026-03-02T09:00:00Z,NEW,o1,FR0000120271,XPAR,BUY,10.5,100,LIMIT,a1,,,false,false",
        "g2,2026-03-02T09:00:01Z,MODIFY,o1,FR0000120271,XPAR,BUY,10.4,80,LIMIT,a1,,,false,false",
        "g3,2026-03-02T09:00:02Z,FILL,o1,FR0000120271,XPAR,BUY,10.4,30,LIMIT,a1,b7,T1,false,false",
        "g4,2026-03-02T09:00:03Z,CANCEL,o1,FR0000120271,XPAR,BUY,10.4,50,LIMIT,a1,,,false,false",
    ]


BAD_ROWS: dict[str, tuple[str, str]] = {
    # event_id: (row, field its reason must name)
    "b_qty_text": (
        "b_qty_text,2026-03-02T09:01:00Z,NEW,o2,FR0000120271,XPAR,BUY,10.5,lots,LIMIT,a1,,,,",
        "quantity",
    ),
    "b_flag": (
        "b_flag,2026-03-02T09:01:01Z,NEW,o3,FR0000120271,XPAR,BUY,10.5,10,LIMIT,a1,,,maybe,",
        "is_algo",
    ),
    "b_negative": (
        "b_negative,2026-03-02T09:01:02Z,NEW,o4,FR0000120271,XPAR,SELL,10.5,-5,LIMIT,a1,,,,",
        "quantity",
    ),
    "b_type": (
        "b_type,2026-03-02T09:01:03Z,AMEND,o5,FR0000120271,XPAR,SELL,10.5,5,LIMIT,a1,,,,",
        "event_type",
    ),
    "b_time": (
        "b_time,yesterday noon,NEW,o6,FR0000120271,XPAR,SELL,10.5,5,LIMIT,a1,,,,",
        "timestamp",
    ),
}


def test_validate_csv_with_bad_rows_exits_3_and_splits_every_row(tmp_path: Path) -> None:
    """GIVEN a CSV of 4 good rows and 5 bad ones (text quantity, bad flag, negative
    quantity, unknown event type, unparseable timestamp)
    WHEN `surveil validate` runs on it
    THEN it exits 3; the rejects CSV holds exactly the bad rows, each with a reason
    naming its field; the good rows are in the valid Parquet; counts add up."""
    lines = good_rows()[:2] + [row for row, _ in BAD_ROWS.values()] + good_rows()[2:]
    source = tmp_path / "mixed.csv"
    source.write_text("\n".join([HEADER, *lines]) + "\n")

    run = run_cli("--workspace", str(tmp_path / "ws"), "validate", str(source))

    assert run.code == 3, run.out + run.err
    out = tmp_path / "ws" / "data" / "validated"
    rejects = pd.read_csv(out / "mixed.rejects.csv")
    valid = pq.read_table(out / "mixed.valid.parquet")
    assert set(rejects["event_id"]) == set(BAD_ROWS)
    for event_id, reasons in zip(rejects["event_id"], rejects["reasons"], strict=True):
        field = BAD_ROWS[event_id][1]
        assert f"{field}: " in reasons, (event_id, reasons)
    assert valid.column("event_id").to_pylist() == ["g1", "g2", "g3", "g4"]
    assert valid.num_rows + len(rejects) == len(lines)
    (summary,) = run_summaries(tmp_path / "ws", "validate")
    assert (summary["n_input"], summary["n_valid"], summary["n_rejected"]) == (9, 4, 5)
    assert "rejected: 5" in run.out


def test_validate_csv_missing_a_required_column_rejects_every_row(tmp_path: Path) -> None:
    """GIVEN a CSV of otherwise good rows without the required `side` column
    WHEN `surveil validate` runs on it
    THEN it exits 3 and every row is rejected with a reason naming `side`."""
    columns = HEADER.split(",")
    drop = columns.index("side")
    kept = [",".join(c for i, c in enumerate(r.split(",")) if i != drop) for r in good_rows()]
    source = tmp_path / "noside.csv"
    source.write_text("\n".join([",".join(columns[:drop] + columns[drop + 1 :]), *kept]) + "\n")

    run = run_cli("--workspace", str(tmp_path / "ws"), "validate", str(source))

    assert run.code == 3
    out = tmp_path / "ws" / "data" / "validated"
    rejects = pd.read_csv(out / "noside.rejects.csv")
    assert len(rejects) == len(kept)
    assert rejects["reasons"].str.contains("side: required column is missing").all()
    assert pq.read_table(out / "noside.valid.parquet").num_rows == 0


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("absent.csv", None, "no such file"),
        ("events.xlsx", "event_id\nx\n", "unknown file extension"),
    ],
)
def test_validate_unreadable_input_exits_2_with_a_clear_message(
    tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    """GIVEN a path that does not exist, or a file with an unknown extension
    WHEN `surveil validate` runs on it
    THEN it exits 2 with one error line naming the file and the reason."""
    path = tmp_path / name
    if content is not None:
        path.write_text(content)

    run = run_cli("--workspace", str(tmp_path / "ws"), "validate", str(path))

    assert run.code == 2
    errors = error_lines(run.err)
    assert len(errors) == 1, run.err
    assert expected in errors[0] and name in errors[0]
    assert "Traceback" not in run.err


# ---------------------------------------------------------------- demo and entry point


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    """GIVEN an empty workspace
    WHEN `surveil demo --events 20000` runs
    THEN it generates the market, validates it and computes its features, prints where
    to look, writes a demo run record, and exits 0.
    """
    run = run_cli("--workspace", str(tmp_path), "demo", "--events", "20000")

    assert "Where to look" in run.out
    assert (tmp_path / "data" / "synthetic" / "events.parquet").is_file()
    assert (tmp_path / "features" / "synthetic.features.parquet").is_file()
    (demo,) = run_summaries(tmp_path, "demo")
    assert demo["features"]["n_rejected"] == 0
    assert demo["features"]["n_supported"] == demo["features"]["n_features"]
    audit = [line for line in run.out.splitlines() if "AUC" in line]
    assert run.code == 0, "\n".join(audit) + messages(run.err)


def test_console_script_reports_the_version() -> None:
    """GIVEN the installed `surveil` console script next to the interpreter
    WHEN it runs with --version
    THEN it exits 0 and prints the package version."""
    script = Path(sys.executable).parent / "surveil"
    assert script.is_file(), script

    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"surveil {__version__}"
