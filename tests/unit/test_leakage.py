"""Leakage audit: passes on generated markets, catches deliberate single-column shortcuts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from surveillance.errors import LeakageError, SchemaError
from surveillance.evaluation.leakage import LeakageReport, audit_leakage
from surveillance.schema.labels import NOVEL_TYPOLOGIES, SUPERVISED_TYPOLOGIES
from surveillance.synth.config import load_config
from surveillance.synth.market import SyntheticMarket, generate_market

N_EVENTS = 150_000
ENFORCED = tuple(t.value for t in SUPERVISED_TYPOLOGIES)
HELD_OUT = tuple(t.value for t in NOVEL_TYPOLOGIES)
AUDITED_COLUMNS = (
    "quantity",
    "timestamp",
    "event_type",
    "order_type",
    "is_algo",
    "is_hft",
    "price",
    "trader_id",
)


@pytest.fixture(scope="module")
def default_market() -> SyntheticMarket:
    return generate_market(load_config("default"), N_EVENTS, seed=11)


@pytest.fixture(scope="module")
def shifted_market() -> SyntheticMarket:
    return generate_market(load_config("shifted"), N_EVENTS, seed=12)


@pytest.fixture(scope="module")
def default_report(default_market: SyntheticMarket) -> LeakageReport:
    return audit_leakage(default_market.events, default_market.labels)


@pytest.fixture(scope="module")
def shifted_report(shifted_market: SyntheticMarket) -> LeakageReport:
    return audit_leakage(shifted_market.events, shifted_market.labels)


def labels_of(market: SyntheticMarket, *typologies: str) -> pa.Table:
    return market.labels.filter(pc.is_in(market.labels["typology"], pa.array(typologies)))


def manipulative(events: pa.Table, labels: pa.Table) -> np.ndarray:
    """Boolean mask of the events that ``labels`` names."""
    return np.asarray(pc.is_in(events["event_id"], labels["event_id"]).to_numpy(), dtype=bool)


def replace_column(
    table: pa.Table, name: str, change: Callable[[pa.ChunkedArray], pa.Array | pa.ChunkedArray]
) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(name), change(table[name]))


def failed_columns(report: LeakageReport) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for check in report.failures:
        out.setdefault(check.typology, set()).add(check.column)
    return out


# ---------------------------------------------------------------- (a) clean markets pass


@pytest.mark.parametrize("which", ["default", "shifted"])
def test_audit_passes_on_generated_markets_and_checks_every_column(
    which: str, request: pytest.FixtureRequest
) -> None:
    """GIVEN a freshly generated market of 150k events (default, then shifted preset)
    WHEN it is audited for leakage
    THEN the report passes, and every supervised typology has enforced checks of
    quantity, timestamp, event type, order type, algo and HFT flags, price and trader."""
    report: LeakageReport = request.getfixturevalue(f"{which}_report")

    assert report.passed, [c.note for c in report.failures]
    for typ in ENFORCED:
        checked = {c.column for c in report.checks if c.typology == typ and c.enforced}
        missing = set(AUDITED_COLUMNS) - checked
        assert not missing, (typ, missing)
        n_pos = {c.n_pos for c in report.checks if c.typology == typ}
        assert len(n_pos) == 1 and n_pos.pop() > 100


def test_report_serialises_per_typology(default_report: LeakageReport) -> None:
    """GIVEN the audit of a clean market
    WHEN the report is turned into a dict
    THEN it says it passed, lists no failures, and covers every typology with its
    worst column and whether it is enforced."""
    data = default_report.to_dict()

    assert data["passed"] is True
    assert data["failures"] == []
    typologies = data["typologies"]
    assert isinstance(typologies, dict)
    assert set(typologies) == set(ENFORCED) | set(HELD_OUT)
    for typ in ENFORCED:
        assert typologies[typ]["enforced"] is True
    for typ in HELD_OUT:
        assert typologies[typ]["enforced"] is False


# ---------------------------------------------------------------- (b) leaks are caught


def test_spoof_quantities_times_1000_are_caught(default_market: SyntheticMarket) -> None:
    """GIVEN a generated market whose spoofing events have their quantity multiplied
    by 1000 (labels restricted to spoofing, to audit that typology alone)
    WHEN it is audited
    THEN the report fails on spoofing/quantity and on nothing else."""
    labels = labels_of(default_market, "spoofing")
    spoof = manipulative(default_market.events, labels)
    events = replace_column(
        default_market.events,
        "quantity",
        lambda q: pa.array(np.where(spoof, q.to_numpy() * 1000.0, q.to_numpy())),
    )

    report = audit_leakage(events, labels)

    assert not report.passed
    assert failed_columns(report) == {"spoofing": {"quantity"}}


def test_stop_order_type_on_layering_is_caught(default_market: SyntheticMarket) -> None:
    """GIVEN a generated market whose layering events all have order_type STOP
    WHEN it is audited (labels restricted to layering)
    THEN the report fails on layering/order_type, both its AUC and its coverage (STOP
    never occurs in normal flow), and on nothing else."""
    labels = labels_of(default_market, "layering")
    layer = manipulative(default_market.events, labels)
    events = replace_column(
        default_market.events,
        "order_type",
        lambda o: pc.if_else(pa.array(layer), pa.scalar("STOP"), o),
    )

    report = audit_leakage(events, labels)

    assert failed_columns(report) == {"layering": {"order_type", "order_type:coverage"}}


def test_wash_trade_event_ids_sorting_last_are_caught(default_market: SyntheticMarket) -> None:
    """GIVEN a generated market whose wash-trading event ids are renamed 'ZZ...' so
    they sort after every other id (in the events and in the labels alike)
    WHEN it is audited (labels restricted to wash trading)
    THEN the report fails on wash_trading/event_id and on nothing else."""
    labels = labels_of(default_market, "wash_trading")
    wash = manipulative(default_market.events, labels)
    renamed = pc.binary_join_element_wise(pa.scalar("ZZ"), labels["event_id"], "")
    labels = labels.set_column(0, labels.schema.field("event_id"), renamed)
    events = replace_column(
        default_market.events,
        "event_id",
        lambda e: pc.if_else(
            pa.array(wash), pc.binary_join_element_wise(pa.scalar("ZZ"), e, ""), e
        ),
    )
    assert manipulative(events, labels).sum() == wash.sum() > 0

    report = audit_leakage(events, labels)

    assert failed_columns(report) == {"wash_trading": {"event_id"}}


@pytest.fixture(scope="module")
def hft_leak_report(default_market: SyntheticMarket) -> LeakageReport:
    """Every manipulative event flagged HFT, every normal one not; all labels audited."""
    bad = manipulative(default_market.events, default_market.labels)
    events = replace_column(default_market.events, "is_hft", lambda _f: pa.array(bad))
    return audit_leakage(events, default_market.labels)


def test_hft_flag_on_manipulation_only_is_caught(hft_leak_report: LeakageReport) -> None:
    """GIVEN a generated market with is_hft True on every manipulative event and False
    on every other
    WHEN it is audited
    THEN every supervised typology fails on is_hft (and only on is_hft checks)."""
    failed = failed_columns(hft_leak_report)

    assert set(failed) == set(ENFORCED)
    for typ in ENFORCED:
        assert "is_hft" in failed[typ]
        assert failed[typ] <= {"is_hft", "is_hft:coverage"}
    hft = {c.typology: c for c in hft_leak_report.checks if c.column == "is_hft"}
    assert all(hft[t].auc > 0.99 for t in ENFORCED)


# ---------------------------------------------------------------- (c) held-out typologies


def test_held_out_typologies_are_reported_not_enforced(default_report: LeakageReport) -> None:
    """GIVEN the audit of a clean market
    WHEN the checks of held-out typologies are read
    THEN they are present but not enforced; marking the close's time of day lies far
    outside the bound (it defines the typology) and yet the report passes."""
    for typ in HELD_OUT:
        checks = [c for c in default_report.checks if c.typology == typ]
        assert checks, typ
        assert not any(c.enforced for c in checks), typ

    mtc = next(
        c
        for c in default_report.checks
        if c.typology == "marking_the_close" and c.column == "timestamp:time_of_day"
    )
    assert not mtc.passed
    assert mtc.auc > default_report.bound[1]
    assert "defines the typology" in mtc.note
    assert default_report.passed
    assert mtc not in default_report.failures


def test_held_out_leaks_are_reported_but_do_not_fail(hft_leak_report: LeakageReport) -> None:
    """GIVEN the HFT-flag leak, which also touches every held-out typology
    WHEN the report is read
    THEN the held-out typologies' is_hft checks fail but are not enforced, so they
    are absent from the failures."""
    for typ in HELD_OUT:
        check = next(
            c for c in hft_leak_report.checks if c.typology == typ and c.column == "is_hft"
        )
        assert not check.passed and not check.enforced, typ
        assert check not in hft_leak_report.failures


# ---------------------------------------------------------------- (d) raising


def test_raise_if_failed_names_the_typology_and_column(hft_leak_report: LeakageReport) -> None:
    """GIVEN a failing report
    WHEN raise_if_failed is called
    THEN LeakageError is raised naming each failing typology/column."""
    with pytest.raises(LeakageError) as caught:
        hft_leak_report.raise_if_failed()

    message = str(caught.value)
    for typ in ENFORCED:
        assert f"{typ}/is_hft" in message
    assert "marking_the_close" not in message


def test_raise_if_failed_is_silent_on_a_passing_report(default_report: LeakageReport) -> None:
    """GIVEN a passing report
    WHEN raise_if_failed is called
    THEN nothing is raised."""
    default_report.raise_if_failed()


# ---------------------------------------------------------------- (e) schema errors


def test_events_without_event_id_raise_schema_error(default_market: SyntheticMarket) -> None:
    """GIVEN events without an event_id column
    WHEN they are audited
    THEN SchemaError names the missing column."""
    events = default_market.events.slice(0, 1000).drop_columns(["event_id"])

    with pytest.raises(SchemaError, match="event_id"):
        audit_leakage(events, default_market.labels)


def test_labels_without_typology_raise_schema_error(default_market: SyntheticMarket) -> None:
    """GIVEN labels without a typology column
    WHEN they are audited
    THEN SchemaError names the missing column."""
    labels = default_market.labels.drop_columns(["typology"])

    with pytest.raises(SchemaError, match="typology"):
        audit_leakage(default_market.events.slice(0, 1000), labels)


def test_small_market_is_reported_but_not_judged() -> None:
    """GIVEN a market so small that each supervised typology has only a few episodes
    WHEN it is audited
    THEN no typology is enforced, the report says it is inconclusive and why,
    AND lowering min_episodes makes the same market's checks enforced again."""
    small = generate_market(load_config("default"), 20_000, seed=3)
    report = audit_leakage(small.events, small.labels)
    assert not report.conclusive
    assert report.passed
    summary = report.to_dict()
    for typ in ENFORCED:
        entry = summary["typologies"][typ]  # type: ignore[index]
        assert entry["status"].startswith("not enforced")
        assert entry["episodes"] < 30
    strict = audit_leakage(small.events, small.labels, min_episodes=1)
    assert strict.conclusive
    assert {c.typology for c in strict.checks if c.enforced} == set(ENFORCED)


def test_enforced_typologies_report_their_episode_count(default_report: LeakageReport) -> None:
    """GIVEN the 150,000-event default market
    WHEN its report is summarised
    THEN every supervised typology has enough episodes to be enforced, and says so."""
    summary = default_report.to_dict()
    assert summary["conclusive"] is True
    for typ in ENFORCED:
        entry = summary["typologies"][typ]  # type: ignore[index]
        assert entry["status"] == "enforced"
        assert entry["episodes"] >= 30
