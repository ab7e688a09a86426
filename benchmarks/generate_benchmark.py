"""Benchmark: `surveil generate` throughput and peak memory.

Target (issue 2): 1,000,000 events in under 30 s on one core, leakage audit and
Parquet writing included. Run it pinned to one core:

    taskset -c 0 .venv/bin/python benchmarks/generate_benchmark.py --events 1000000

It prints events/s per stage and for the whole command, and the peak resident
memory of the process. It asserts nothing: the figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from surveillance.steps.generate import GenerateParams, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = generate(
            Path(tmp), GenerateParams(n_events=args.events, seed=args.seed, preset=args.preset)
        )
        total = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    n = summary["events"]
    timings = summary["timings_s"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    figures = {
        "events": n,
        "preset": args.preset,
        "cores_available": cores,
        "python": platform.python_version(),
        "seconds_total": round(total, 2),
        "events_per_s_total": round(n / total),
        "seconds_by_stage": timings,
        "events_per_s_generate": round(n / max(timings["generate"], 1e-9)),
        "peak_rss_mib": round(peak_mib),
        "leakage_audit_passed": summary["leakage_audit"]["passed"],
    }
    print(f"generate {n:,} events ({args.preset}) on {cores} core(s)")
    print(f"  total      {total:7.2f} s  {n / total:>12,.0f} events/s  (target: < 30 s for 1M)")
    for stage, secs in timings.items():
        print(f"  {stage:<10} {secs:7.2f} s")
    print(f"  peak RSS   {peak_mib:7.0f} MiB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
