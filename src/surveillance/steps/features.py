"""Step: compute the feature table of an event file with the batch or the streaming engine.

Every input row is validated first (Parquet, CSV or JSON lines alike): rows that fail
go to ``<out stem>.rejects.csv`` next to the output with their reasons and are counted
in the summary; features are computed on the valid rows, in input (arrival) order.

The output Parquet holds ``event_id`` then one float column per feature of the spec,
with the feature-set version in its schema metadata (``feature_set_version``). The
summary (also written as ``<out stem>.summary.json``) says, per feature, the share of
events with a value (availability) and whether this data set can support it at all:
a feature whose ``needs`` the data lacks (no trader ids, no counterparties, no book,
no prices, no account reference data, no session close, no NEW events) is NaN by
design and reported as unsupported, with the reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from surveillance.errors import InputFormatError, SchemaError
from surveillance.features.batch import compute_batch
from surveillance.features.catalog import DEFAULT_SPEC
from surveillance.features.inputs import FeatureConfig
from surveillance.features.spec import FeatureSpec, Need
from surveillance.features.stream import StreamEngine, records_of
from surveillance.schema.validation import read_table, validate_events

ENGINES = ("batch", "stream")
MICRO_BATCH = 1_000
VERSION_KEY = b"feature_set_version"
SPEC_KEY = b"feature_names"


def _out_stem(out_path: Path) -> str:
    name = out_path.name
    return name.removesuffix(".parquet").removesuffix(".pq")


def sidecar_paths(out_path: Path) -> dict[str, Path]:
    """Where the summary and the rejects of a feature table live: next to it."""
    stem = _out_stem(out_path)
    return {
        "summary": out_path.with_name(f"{stem}.summary.json"),
        "rejects": out_path.with_name(f"{stem}.rejects.csv"),
    }


def read_owners(path: Path) -> dict[str, str]:
    """Account reference data (``trader_id``, ``owner_id``) as trader -> owner."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pq.read_table(path).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise InputFormatError(f"{path}: cannot read as Parquet: {exc}") from exc
    else:
        frame = read_table(path)
    columns = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("trader_id", "owner_id") if c not in columns]
    if missing:
        raise SchemaError(f"{path}: accounts table lacks column(s) {missing}")
    pairs = frame[[columns["trader_id"], columns["owner_id"]]].dropna()
    return {str(t): str(o) for t, o in pairs.itertuples(index=False, name=None)}


def data_coverage(
    events: pa.Table, owners: Mapping[str, str] | None, config: FeatureConfig
) -> dict[Need, str | None]:
    """For each need: None when the data provides it, else the reason it does not."""

    def present(name: str) -> pa.ChunkedArray | None:
        if name not in events.column_names:
            return None
        return events.column(name)

    def any_value(name: str) -> bool:
        col = present(name)
        return col is not None and col.null_count < len(col)

    reasons: dict[Need, str | None] = {}
    reasons[Need.TRADER] = None if any_value("trader_id") else "no trader_id values"
    reasons[Need.COUNTERPARTY] = (
        None if any_value("counterparty_id") else "no counterparty_id values"
    )
    bid, ask = present("bid_price"), present("ask_price")
    has_book = False
    if bid is not None and ask is not None:
        both = pc.and_(pc.is_valid(bid), pc.is_valid(ask))
        has_book = bool(pc.any(both).as_py())
    reasons[Need.BOOK] = None if has_book else "no rows with both bid_price and ask_price"
    reasons[Need.PRICE] = None if any_value("price") else "no price values"
    if not owners:
        reasons[Need.OWNERS] = "no accounts table given (trader_id -> owner_id)"
    else:
        traders = present("trader_id")
        known = traders is not None and bool(
            pc.any(pc.is_in(traders, value_set=pa.array(list(owners), pa.string()))).as_py()
        )
        reasons[Need.OWNERS] = None if known else "no trader of the events is in the accounts table"
    reasons[Need.SESSION] = (
        None if config.session_close is not None else "session close not configured"
    )
    etype = present("event_type")
    has_new = etype is not None and bool(pc.any(pc.equal(etype, "NEW")).as_py())
    reasons[Need.LIFECYCLE] = None if has_new else "no NEW events (order lifecycles unseen)"
    return reasons


def feature_support(
    spec: FeatureSpec, coverage: Mapping[Need, str | None]
) -> dict[str, dict[str, Any]]:
    """Per feature: supported, and the reasons when it is not."""
    out: dict[str, dict[str, Any]] = {}
    for f in spec.features:
        reasons = [f"{need.value}: {coverage[need]}" for need in f.needs if coverage[need]]
        out[f.name] = {
            "supported": not reasons,
            "needs": [n.value for n in f.needs],
            "reasons": reasons,
        }
    return out


def compute_stream(
    events: pa.Table,
    spec: FeatureSpec,
    config: FeatureConfig,
    owners: Mapping[str, str] | None,
    micro_batch: int = MICRO_BATCH,
) -> pd.DataFrame:
    """The streaming engine over a table, fed in micro-batches (a progress bar on stderr)."""
    records = records_of(events.to_pandas())
    engine = StreamEngine(spec, config, owners)
    parts: list[pd.DataFrame] = []
    with tqdm(
        total=len(records), desc="stream features", unit="ev", leave=False, disable=None
    ) as bar:
        for start in range(0, len(records), micro_batch):
            chunk = records[start : start + micro_batch]
            part = engine.process(chunk)
            if len(part) != len(chunk):  # no sequences given: nothing may be skipped
                raise AssertionError(f"stream engine returned {len(part)} rows for {len(chunk)}")
            parts.append(part.reset_index(drop=True))
            bar.update(len(chunk))
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=np.float64) for name in spec.names})
    return pd.concat(parts, ignore_index=True)


def feature_table(
    event_ids: pa.ChunkedArray | pa.Array, features: pd.DataFrame, spec: FeatureSpec
) -> pa.Table:
    """``event_id`` first, then every feature (float64), with the spec version as metadata."""
    arrays: list[pa.Array | pa.ChunkedArray] = [event_ids]
    fields = [pa.field("event_id", pa.string(), nullable=False)]
    for name in spec.names:
        values = features[name].to_numpy(dtype=np.float64, na_value=np.nan)
        arrays.append(pa.array(values, type=pa.float64(), from_pandas=True))
        fields.append(pa.field(name, pa.float64()))
    metadata = {VERSION_KEY: spec.version.encode(), SPEC_KEY: json.dumps(spec.names).encode()}
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))


def build_features(
    events_path: Path,
    out_path: Path,
    engine: str = "batch",
    accounts_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
    spec: FeatureSpec = DEFAULT_SPEC,
    config: FeatureConfig | None = None,
) -> dict[str, Any]:
    """Validate, compute and write the feature table of ``events_path``; returns the summary."""
    if engine not in ENGINES:
        raise SchemaError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    say = progress or (lambda _msg: None)
    cfg = config or FeatureConfig()
    events_path, out_path = Path(events_path), Path(out_path)
    started = time.perf_counter()

    say("reading events")
    frame = read_table(events_path)
    say("validating events")
    result = validate_events(frame)
    del frame
    valid = result.valid
    read_done = time.perf_counter()

    out_path.parent.mkdir(parents=True, exist_ok=True)
    side = sidecar_paths(out_path)
    result.rejected.to_csv(side["rejects"], index=False)
    if valid.num_rows == 0:
        raise SchemaError(
            f"{events_path}: no valid events (all {result.n_input:,} rows rejected; "
            f"reasons in {side['rejects']})"
        )

    owners: dict[str, str] | None = None
    if accounts_path is not None:
        say("reading accounts")
        owners = read_owners(Path(accounts_path))

    say(f"computing features ({engine})")
    computed = time.perf_counter()
    if engine == "batch":
        features = compute_batch(valid, spec, cfg, owners)
    else:
        features = compute_stream(valid, spec, cfg, owners)
    compute_s = time.perf_counter() - computed

    say("writing parquet")
    written = time.perf_counter()
    table = feature_table(valid.column("event_id"), features, spec)
    pq.write_table(table, out_path)
    write_s = time.perf_counter() - written

    coverage = data_coverage(valid, owners, cfg)
    support = feature_support(spec, coverage)
    n = valid.num_rows
    per_feature: dict[str, dict[str, Any]] = {}
    for f in spec.features:
        values = features[f.name].to_numpy(dtype=np.float64, na_value=np.nan)
        per_feature[f.name] = {
            "family": f.family,
            "availability": round(float(np.isfinite(values).mean()) if n else 0.0, 6),
            **support[f.name],
        }
    seconds = time.perf_counter() - started
    unsupported = {k: v["reasons"] for k, v in per_feature.items() if not v["supported"]}
    summary: dict[str, Any] = {
        "input": str(events_path),
        "output": str(out_path),
        "engine": engine,
        "accounts": None if accounts_path is None else str(accounts_path),
        "n_input": result.n_input,
        "n_events": n,
        "n_rejected": result.n_rejected,
        "n_warnings": len(result.warnings),
        "first_problems": [p.as_dict() for p in result.problems[:10]],
        "feature_set_version": spec.version,
        "n_features": len(spec.features),
        "seconds": round(seconds, 3),
        "events_per_s": round(n / max(seconds, 1e-9)),
        "compute_events_per_s": round(n / max(compute_s, 1e-9)),
        "timings_s": {
            "read_and_validate": round(read_done - started, 3),
            "compute": round(compute_s, 3),
            "write": round(write_s, 3),
        },
        "data_coverage": {need.value: reason for need, reason in coverage.items()},
        "n_supported": len(spec.features) - len(unsupported),
        "unsupported": unsupported,
        "features": per_feature,
        "outputs": {
            "features": str(out_path),
            "summary": str(side["summary"]),
            "rejects": str(side["rejects"]),
        },
    }
    side["summary"].write_text(json.dumps(summary, indent=2, default=str))
    return summary
