"""Benchmark: feature engines' throughput, peak memory and streaming state per key.

Targets (issue 3): batch >= 500,000 events/s; stream >= 50,000 events/s event by
event; streaming state < 1 KB per active (instrument, trader) key. Run it pinned to
one core:

    taskset -c 0 .venv/bin/python benchmarks/features_benchmark.py --events 1000000

It generates a market (not timed), writes it to a temporary folder, then runs each
measurement in a fresh subprocess so that peak RSS (``resource.getrusage``) belongs to
that measurement alone; the RSS after loading the input is reported too, so the delta
is what the engine added. Measurements:

- batch: ``compute_batch`` over the whole table, owners from the accounts table;
- stream, micro-batches: ``StreamEngine.process`` on batches of 500 records, all
  events (``records_of`` conversion is done first and not timed: a decoded Kinesis
  payload is already a record);
- stream, event by event: ``process([record])`` one record at a time, on the first
  ``--one-by-one`` records only (100,000 by default), from an empty state; and the
  same with ``process_one(record)``, the engine's dedicated event-by-event path, when
  the engine has one;
- state per key, at the end of the micro-batch run: the sum over instruments of
  ``snapshot()`` sizes (zlib-compressed JSON, as it would be checkpointed) divided by
  the (instrument, trader) keys held; also the uncompressed JSON by part, and the
  Python heap of the same state rebuilt from the snapshots, measured by tracemalloc.

It asserts nothing: the figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from surveillance.features.batch import compute_batch
from surveillance.features.catalog import DEFAULT_SPEC
from surveillance.features.stream import StreamEngine, records_of
from surveillance.synth.config import load_config
from surveillance.synth.market import generate_market

TARGETS = {"batch": 500_000, "stream_one": 50_000, "state_bytes_per_key": 1024}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _load(data: Path) -> tuple[Any, dict[str, str]]:
    events = pq.read_table(data / "events.parquet")
    acc = pq.read_table(data / "accounts.parquet")
    owners = dict(
        zip(acc.column("trader_id").to_pylist(), acc.column("owner_id").to_pylist(), strict=True)
    )
    return events, owners


def _held_keys(engine: StreamEngine) -> dict[str, int]:
    """Distinct (instrument, trader) keys the engine holds state for."""
    held: set[tuple[str, Hashable]] = set()
    active: set[tuple[str, Hashable]] = set()
    for inst, st in engine.states.items():
        for gi, wins in st.windows.items():
            kind = engine.groups[gi].kind
            for key, win in wins.items():
                if kind == "trader":
                    traders: tuple[Hashable, ...] = (key,)
                elif kind == "side":
                    traders = (key[0],)  # type: ignore[index]
                elif kind == "pair":
                    traders = tuple(key)  # type: ignore[arg-type]
                else:
                    continue
                for t in traders:
                    held.add((inst, t))
                    if win.entries:
                        active.add((inst, t))
        for per in st.distinct.values():
            for key, d in per.items():
                trader = key[0] if isinstance(key, tuple) else key
                held.add((inst, trader))
                if d.entries:
                    active.add((inst, trader))
        for (trader, _side), gauge in st.gauges.items():
            held.add((inst, trader))
            if gauge[1] > 0:  # open orders
                active.add((inst, trader))
    return {"held": len(held), "active": len(active)}


def _state_figures(engine: StreamEngine) -> dict[str, Any]:
    blobs = {inst: engine.snapshot(inst) for inst in engine.states}
    compressed = sum(len(b) for b in blobs.values())
    parts: dict[str, int] = {}
    raw = 0
    for blob in blobs.values():
        text = zlib.decompress(blob)
        raw += len(text)
        data = json.loads(text)
        for part in ("orders", "windows", "gauges", "levels", "distinct", "cycles"):
            parts[part] = parts.get(part, 0) + len(json.dumps(data[part], separators=(",", ":")))
    keys = _held_keys(engine)
    sizes = engine.state_size()
    # the Python heap of the same state: rebuild it from the snapshots under tracemalloc
    fresh = StreamEngine(engine.spec, engine.config, engine.owners)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for inst, blob in blobs.items():
        fresh.restore(inst, blob)
    gc.collect()
    heap = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    per = max(keys["held"], 1)
    return {
        **sizes,
        "keys_held": keys["held"],
        "keys_active": keys["active"],
        "snapshot_bytes": compressed,
        "snapshot_bytes_per_key": round(compressed / per, 1),
        "json_bytes": raw,
        "json_bytes_per_key": round(raw / per, 1),
        "json_bytes_by_part": parts,
        "heap_bytes_tracemalloc": heap,
        "heap_bytes_per_key": round(heap / per, 1),
        "orders_share_of_json": round(parts.get("orders", 0) / max(raw, 1), 3),
        "json_bytes_per_key_without_orders": round((raw - parts.get("orders", 0)) / per, 1),
    }


def worker(mode: str, data: Path, micro: int, one_by_one: int) -> dict[str, Any]:
    events, owners = _load(data)
    out: dict[str, Any] = {"mode": mode}
    if mode == "batch":
        gc.collect()
        out["rss_before_mib"] = round(_rss_mib())
        started = time.perf_counter()
        frame = compute_batch(events, DEFAULT_SPEC, owners=owners)
        seconds = time.perf_counter() - started
        n = len(frame)
    else:
        if mode in ("stream_one", "stream_process_one"):
            events = events.slice(0, one_by_one)
        started = time.perf_counter()
        records = records_of(events.to_pandas())
        out["records_of_s"] = round(time.perf_counter() - started, 2)
        del events
        gc.collect()
        out["rss_before_mib"] = round(_rss_mib())
        engine = StreamEngine(DEFAULT_SPEC, owners=owners)
        started = time.perf_counter()
        n = 0
        if mode == "stream_micro":
            for i in range(0, len(records), micro):
                n += len(engine.process(records[i : i + micro]))
        elif mode == "stream_one":
            for rec in records:
                n += len(engine.process([rec]))
        else:  # the engine's dedicated event-by-event path, where it has one
            for rec in records:
                n += engine.process_one(rec) is not None
        seconds = time.perf_counter() - started
        if mode == "stream_micro":
            out["state"] = _state_figures(engine)
    out.update(
        events=n,
        seconds=round(seconds, 3),
        events_per_s=round(n / seconds),
        peak_rss_mib=round(_rss_mib()),
    )
    out["rss_delta_mib"] = out["peak_rss_mib"] - out["rss_before_mib"]
    return out


def _run_worker(mode: str, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--data",
        str(data),
        "--micro-batch",
        str(args.micro_batch),
        "--one-by-one",
        str(args.one_by_one),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker {mode} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--micro-batch", type=int, default=500)
    parser.add_argument(
        "--one-by-one", type=int, default=100_000, help="records timed event by event"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.micro_batch, args.one_by_one)))
        return

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        market = generate_market(load_config(args.preset), args.events, args.seed)
        pq.write_table(market.events, data / "events.parquet")
        pq.write_table(market.accounts, data / "accounts.parquet")
        n = market.events.num_rows
        instruments = len(set(market.events.column("instrument_id").to_pylist()))
        del market
        results = {mode: _run_worker(mode, data, args) for mode in ("batch", "stream_micro")}
        results["stream_one"] = _run_worker("stream_one", data, args)
        if hasattr(StreamEngine, "process_one"):
            results["stream_process_one"] = _run_worker("stream_process_one", data, args)

    b, m, o = results["batch"], results["stream_micro"], results["stream_one"]
    st = m["state"]
    figures = {
        "events": n,
        "instruments": instruments,
        "preset": args.preset,
        "seed": args.seed,
        "feature_set_version": DEFAULT_SPEC.version,
        "cores_available": cores,
        "python": platform.python_version(),
        "targets": TARGETS,
        **results,
    }
    print(
        f"features benchmark: {n:,} events ({args.preset} preset, seed {args.seed}, "
        f"{instruments} instruments), {cores} core(s), Python {platform.python_version()}, "
        f"feature set {DEFAULT_SPEC.version}"
    )
    header = f"  {'engine':<40} {'events':>10} {'seconds':>8} {'events/s':>10} {'target':>10}"
    print(header + f" {'met':>4} {'peak RSS MiB (+engine)':>23}")
    rows = [
        ("batch", b, TARGETS["batch"]),
        (f"stream, micro-batches of {args.micro_batch}", m, None),
        (f"stream, process([r]) (first {o['events']:,})", o, TARGETS["stream_one"]),
    ]
    if "stream_process_one" in results:
        p1 = results["stream_process_one"]
        rows.append((f"stream, process_one(r) (first {p1['events']:,})", p1, TARGETS["stream_one"]))
    for label, r, target in rows:
        tgt = f">={target:,}" if target else "-"
        met = _verdict(r["events_per_s"] >= target) if target else "-"
        rss = f"{r['peak_rss_mib']:,} (+{r['rss_delta_mib']:,})"
        print(
            f"  {label:<40} {r['events']:>10,} {r['seconds']:>8.2f} {r['events_per_s']:>10,} "
            f"{tgt:>10} {met:>4} {rss:>23}"
        )
    print(f"  (records_of conversion before the stream runs, not timed: {m['records_of_s']} s)")
    print("streaming state at the end of the micro-batch run:")
    print(
        f"  {st['instruments']} instruments, {st['orders']:,} orders, "
        f"{st['window_keys']:,} window keys, {st['entries']:,} window entries"
    )
    print(
        f"  (instrument, trader) keys held: {st['keys_held']:,} "
        f"(with window entries or open orders: {st['keys_active']:,})"
    )
    ok = st["snapshot_bytes_per_key"] < TARGETS["state_bytes_per_key"]
    print(
        f"  snapshot() bytes (zlib JSON), summed:  {st['snapshot_bytes']:>12,}  "
        f"per key {st['snapshot_bytes_per_key']:>9,.0f}  target < 1 KB: {_verdict(ok)}"
    )
    print(
        f"  same, uncompressed JSON:               {st['json_bytes']:>12,}  "
        f"per key {st['json_bytes_per_key']:>9,.0f}"
    )
    print(
        f"  Python heap (tracemalloc, restored):   {st['heap_bytes_tracemalloc']:>12,}  "
        f"per key {st['heap_bytes_per_key']:>9,.0f}"
    )
    parts = ", ".join(f"{k} {v:,}" for k, v in st["json_bytes_by_part"].items())
    print(f"  uncompressed JSON by part: {parts}")
    print(
        f"  uncompressed JSON without the orders: per key "
        f"{st['json_bytes_per_key_without_orders']:,.0f} (orders are "
        f"{100 * st['orders_share_of_json']:.0f}% of the state; they are per instrument: "
        "open ones kept up to a day idle, closed ones five minutes)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
