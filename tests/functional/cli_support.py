"""Running ``surveil`` in-process for functional tests."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surveillance.cli import main


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run_cli(*args: str) -> Run:
    """``surveil ARGS`` in-process, capturing stdout and stderr (usable in any fixture)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Run(code, out.getvalue(), err.getvalue())


def run_summaries(ws: Path, command: str) -> list[dict[str, Any]]:
    """The JSON run records a command wrote under ``ws/runs``, oldest first."""
    return [json.loads(p.read_text()) for p in sorted((ws / "runs").glob(f"*-{command}.json"))]
