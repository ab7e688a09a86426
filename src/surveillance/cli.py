"""The ``surveil`` command: one composition root for the command line.

Every command ends with a short human summary on stdout and writes a
machine-readable JSON summary under ``<workspace>/runs/``. Errors raised on
purpose (``SurveillanceError``) become one clear line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from surveillance import __version__
from surveillance.errors import SurveillanceError
from surveillance.synth.config import PRESETS
from surveillance.workspace import Workspace

EXIT_OK, EXIT_ERROR, EXIT_REJECTS, EXIT_LEAKAGE = 0, 2, 3, 4


def _stages(total: int, desc: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    """A progress bar over named stages (stderr), and its closer."""
    bar = tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=False, disable=None)

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    return step, bar.close


# ---------------------------------------------------------------- generate


def _market_dir(ws: Workspace, args: argparse.Namespace) -> Path:
    name = args.name or ("synthetic" if args.preset == "default" else f"synthetic_{args.preset}")
    return ws.root / "data" / name  # created by the step once the config is known to be good


def cmd_generate(ws: Workspace, args: argparse.Namespace) -> int:
    from surveillance.steps.generate import GenerateParams, generate

    out = _market_dir(ws, args)
    params = GenerateParams(
        n_events=args.events,
        seed=args.seed,
        preset=args.preset,
        config_path=Path(args.config) if args.config else None,
        audit=not args.no_audit,
    )
    step, close = _stages(7 if params.audit else 6, f"generate {params.n_events:,} events")
    try:
        summary = generate(out, params, step)
    finally:
        close()
    run = ws.write_run("generate", summary)
    _print_market(summary, run)
    audit = summary["leakage_audit"]
    if audit is not None and not audit["passed"] and not args.allow_leakage:
        print(
            "\nLEAKAGE AUDIT FAILED: a single raw column separates manipulation from normal flow.\n"
            "Do not train on this market; fix the config or pass --allow-leakage knowingly.",
            file=sys.stderr,
        )
        for f in audit["failures"]:
            print(f"  {f['typology']}/{f['column']}: {f['note']}", file=sys.stderr)
        return EXIT_LEAKAGE
    return EXIT_OK


def _print_market(s: dict[str, Any], run: Path) -> None:
    print(f"Generated {s['events']:,} events (config {s['config']}, seed {s['seed']})")
    print(
        f"  {s['orders']:,} orders, {s['trades']:,} trades, {s['instruments']} instruments, "
        f"{s['accounts']} accounts, {s['first_event']} .. {s['last_event']}"
    )
    print("  event types: " + ", ".join(f"{k} {v:,}" for k, v in s["event_types"].items()))
    print(
        f"  manipulation: {s['episodes']} episodes, {s['manipulative_events']:,} events "
        f"({100 * s['manipulative_share']:.2f}% of all)"
    )
    for typ, t in s["typologies"].items():
        kind = "supervised" if t["supervised"] else "held out"
        print(f"    {typ:<18} {t['episodes']:>4} episodes {t['events']:>7,} events  ({kind})")
    audit = s["leakage_audit"]
    if audit is not None:
        verdict = (
            "FAILED"
            if not audit["passed"]
            else "passed"
            if audit["conclusive"]
            else "inconclusive (too few episodes to judge: generate more events)"
        )
        print(f"  leakage audit: {verdict} (single-column ROC-AUC within {audit['bound']})")
        for typ, t in audit["typologies"].items():
            flag = "" if t["enforced"] else f" ({t['status']})"
            print(f"    {typ:<18} worst {t['worst_column']} AUC {t['worst_auc']}{flag}")
    print(f"  data:    {Path(s['outputs']['events']).parent}")
    print(f"  summary: {run}")


# ---------------------------------------------------------------- validate


def cmd_validate(ws: Workspace, args: argparse.Namespace) -> int:
    from surveillance.steps.validate import validate_file

    started = time.perf_counter()
    summary = validate_file(Path(args.file), ws.folder("data", "validated"))
    summary["timings_s"] = {"validate": round(time.perf_counter() - started, 3)}
    run = ws.write_run("validate", summary)
    print(f"Validated {args.file}: {summary['n_input']:,} rows")
    print(f"  valid:    {summary['n_valid']:,} -> {summary['outputs']['valid']}")
    print(f"  rejected: {summary['n_rejected']:,} -> {summary['outputs']['rejected']}")
    if summary["n_problems"]:
        print("  problems (row = position among the data rows, from 0; a header is not a row):")
    for field, count in summary["problems_per_field"].items():
        print(f"    {field:<16} {count:,} problem(s)")
    for p in summary["first_problems"][:10]:
        where = "table" if p["row"] is None else f"row {p['row']}"
        print(f"    {where}, field {p['field']}: {p['message']}")
    if summary["n_warnings"]:
        print(f"  warnings: {summary['n_warnings']:,} (see {run})")
    print(f"  summary:  {run}")
    return EXIT_REJECTS if summary["n_rejected"] else EXIT_OK


# ---------------------------------------------------------------- features


def _default_accounts(events: Path) -> Path | None:
    """A generated market's account reference data, when it sits next to its events."""
    beside = events.parent / "accounts.parquet"
    return beside if events.name == "events.parquet" and beside.is_file() else None


def _feature_stem(events: Path) -> str:
    name = events.name
    for suffix in (".gz", ".parquet", ".pq", ".csv", ".tsv", ".txt", ".jsonl", ".ndjson"):
        name = name.removesuffix(suffix)
    return name


def cmd_features(ws: Workspace, args: argparse.Namespace) -> int:
    from surveillance.steps.features import build_features

    events = Path(args.events)
    out = (
        Path(args.out)
        if args.out
        else ws.folder("features") / f"{_feature_stem(events)}.features.parquet"
    )
    accounts = Path(args.accounts) if args.accounts else _default_accounts(events)
    step, close = _stages(5 if accounts else 4, f"features ({args.engine})")
    try:
        summary = build_features(events, out, args.engine, accounts, step)
    finally:
        close()
    summary["accounts_source"] = (
        None if accounts is None else "given" if args.accounts else "found next to the events"
    )
    run = ws.write_run("features", summary)
    _print_features(summary, run)
    return EXIT_REJECTS if summary["n_rejected"] else EXIT_OK


def _print_features(s: dict[str, Any], run: Path) -> None:
    print(
        f"Features of {s['n_events']:,} events ({s['engine']} engine, feature set "
        f"{s['feature_set_version']}): {s['seconds']:.1f} s, {s['events_per_s']:,} events/s "
        f"(compute only: {s['compute_events_per_s']:,} events/s)"
    )
    accounts = s["accounts"] or "none"
    if s.get("accounts_source") == "found next to the events":
        accounts += " (found next to the events)"
    print(f"  accounts: {accounts}")
    if s["n_rejected"]:
        rejects = s["outputs"]["rejects"]
        print(f"  rejected: {s['n_rejected']:,} of {s['n_input']:,} rows -> {rejects}")
        for p in s["first_problems"][:5]:
            where = "table" if p["row"] is None else f"row {p['row']}"
            print(f"    {where}, field {p['field']}: {p['message']}")
    feats = s["features"]
    print(f"  supported: {s['n_supported']} of {s['n_features']} features")
    if s["unsupported"]:
        print("  unsupported on this data (NaN by design):")
        for name, reasons in s["unsupported"].items():
            print(f"    {name:<30} {'; '.join(reasons)}")
    sparse = {
        k: v["availability"] for k, v in feats.items() if v["supported"] and v["availability"] < 1
    }
    if sparse:
        print("  availability below 100% among supported features (share with a value):")
        for name, share in sorted(sparse.items(), key=lambda kv: kv[1]):
            shown = f"{100 * share:5.1f}%" if share < 0.999 else ">99.9%"
            print(f"    {name:<30} {shown:>6}")
    print(f"  features: {s['outputs']['features']}")
    print(f"  summary:  {s['outputs']['summary']}")
    print(f"  run:      {run}")


def cmd_features_report(ws: Workspace, args: argparse.Namespace) -> int:
    from surveillance.features.separation import build_report, write_report

    step, close = _stages(4, f"features report ({args.events:,} events)")
    try:
        report = build_report(args.events, args.seed, args.preset, step)
        step("writing the report")
        doc = Path(args.doc)
        json_path = ws.folder("reports") / "features_separation.json"
        write_report(report, doc, json_path)
    finally:
        close()
    summary = {**report.summary(), "outputs": {"doc": str(doc), "json": str(json_path)}}
    run = ws.write_run("features-report", summary)
    print(
        f"Single-feature separation on {report.n_events:,} events (seed {report.seed}, "
        f"{report.preset} preset, feature set {report.version}): {report.seconds:.1f} s"
    )
    print("  best single features per typology (PR-AUC; (neg): lower values flag it):")
    for typ, best in report.best_per_typology(3).items():
        shown = ", ".join(f"{name} {auc:.3f}{mark}" for name, auc, mark in best)
        print(f"    {typ:<18} base {report.base_rates[typ]:.4f}: {shown}")
    print(f"  doc:     {doc}")
    print(f"  json:    {json_path}")
    print(f"  summary: {run}")
    return EXIT_OK


# ---------------------------------------------------------------- demo


def cmd_demo(ws: Workspace, args: argparse.Namespace) -> int:
    from surveillance.steps.features import build_features
    from surveillance.steps.generate import GenerateParams, generate

    print(f"surveil demo: workspace {ws.root}\n")
    print(f"[1/2] Generating a labelled synthetic market of {args.events:,} events ...")
    out = ws.folder("data", "synthetic")
    step, close = _stages(7, "generate")
    try:
        summary = generate(out, GenerateParams(n_events=args.events, seed=args.seed), step)
    finally:
        close()
    run = ws.write_run("generate", summary)
    _print_market(summary, run)
    print("\n[2/2] Validating the events and computing their features (batch engine) ...")
    events = Path(summary["outputs"]["events"])
    accounts = Path(summary["outputs"]["accounts"])
    features_out = ws.folder("features") / "synthetic.features.parquet"
    step, close = _stages(5, "features (batch)")
    try:
        feats = build_features(events, features_out, "batch", accounts, step)
    finally:
        close()
    feats["accounts_source"] = "generated with the market"
    features_run = ws.write_run("features", feats)
    _print_features(feats, features_run)
    demo = {"generate": summary, "features": feats}
    demo_run = ws.write_run("demo", demo)
    print("\nWhere to look:")
    print(f"  events and labels: {out}")
    print(f"  generation summary with the leakage audit: {summary['outputs']['summary']}")
    print(f"  feature table: {feats['outputs']['features']}")
    print("  what each feature means and how well it separates each typology: docs/features.md")
    print(f"  run summaries: {demo_run.parent}")
    print("  (models, alerts, the review queue and HTML reports arrive with later releases)")
    audit = summary["leakage_audit"]
    ok = audit["passed"] and feats["n_rejected"] == 0
    return EXIT_OK if ok else EXIT_LEAKAGE


# ---------------------------------------------------------------- parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surveil", description="Market-abuse surveillance without labels."
    )
    parser.add_argument("--version", action="version", version=f"surveil {__version__}")
    parser.add_argument(
        "--workspace",
        default=None,
        help="workspace folder (default: $SURVEIL_WORKSPACE or ./workspace)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate a labelled synthetic market")
    gen.add_argument("--events", type=_positive_int, default=100_000, help="about how many events")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--preset", choices=PRESETS, default="default")
    gen.add_argument("--config", help="JSON file merged over the preset")
    gen.add_argument("--name", help="folder under data/ (default: synthetic[_PRESET])")
    gen.add_argument("--no-audit", action="store_true", help="skip the leakage audit")
    gen.add_argument(
        "--allow-leakage", action="store_true", help="exit 0 even when the leakage audit fails"
    )
    gen.set_defaults(func=cmd_generate)

    val = sub.add_parser("validate", help="validate an event file against the canonical schema")
    val.add_argument("file", help="CSV (any delimiter, .gz ok), Parquet or JSON lines")
    val.set_defaults(func=cmd_validate)

    feat = sub.add_parser("features", help="compute the feature table of an event file")
    feat.add_argument("events", help="events: Parquet, CSV (any delimiter, .gz ok) or JSON lines")
    feat.add_argument(
        "--out", help="feature Parquet (default: <workspace>/features/<stem>.features.parquet)"
    )
    feat.add_argument("--engine", choices=("batch", "stream"), default="batch")
    feat.add_argument(
        "--accounts",
        help="account reference data (trader_id, owner_id); default: accounts.parquet "
        "next to a generated market's events.parquet",
    )
    feat.set_defaults(func=cmd_features)

    rep = sub.add_parser(
        "features-report",
        help="single-feature PR-AUC per typology on a generated market; writes docs/features.md",
    )
    rep.add_argument("--events", type=_positive_int, default=300_000)
    rep.add_argument("--seed", type=int, default=5)
    rep.add_argument("--preset", choices=PRESETS, default="default")
    rep.add_argument("--doc", default="docs/features.md", help="markdown page to (over)write")
    rep.set_defaults(func=cmd_features_report)

    demo = sub.add_parser("demo", help="run the main job end to end on embedded defaults")
    demo.add_argument("--events", type=_positive_int, default=200_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ws = Workspace.resolve(args.workspace)
    try:
        code: int = args.func(ws, args)
    except SurveillanceError as exc:
        print(f"surveil: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return code


if __name__ == "__main__":
    raise SystemExit(main())
