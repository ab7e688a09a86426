"""The workspace: a folder with a predictable layout that users, notebooks and scripts share.

workspace/
  data/      events and labels (Parquet), validated data, rejects with reasons
  features/  feature tables
  models/    model artifacts per version
  scores/    scored events and alerts
  review/    review queues and reviewers' labels
  reports/   HTML reports and evaluation.json
  runs/      one JSON summary per command run
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ENV_VAR = "SURVEIL_WORKSPACE"
FOLDERS = ("data", "features", "models", "scores", "review", "reports", "runs")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, given: str | os.PathLike[str] | None) -> Workspace:
        """``--workspace`` if given, else ``$SURVEIL_WORKSPACE``, else ``./workspace``."""
        path = given or os.environ.get(ENV_VAR) or "workspace"
        return cls(Path(path).expanduser().resolve())

    def folder(self, name: str, *parts: str) -> Path:
        path = self.root.joinpath(name, *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def data(self) -> Path:
        return self.folder("data")

    def write_run(self, command: str, summary: dict[str, Any]) -> Path:
        """Write one machine-readable summary of a command run under ``runs/``."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder("runs") / f"{stamp}-{command}.json"
        path.write_text(json.dumps({"command": command, **summary}, indent=2, default=str))
        return path
