"""Step: validate an event file; write the valid rows and the rejected rows with reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from surveillance.schema.validation import read_table, validate_events


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".parquet", ".csv", ".jsonl", ".ndjson", ".json", ".txt"):
        name = name.removesuffix(suffix)
    return name


def validate_file(path: Path, out_dir: Path) -> dict[str, Any]:
    """Nothing is dropped: every input row ends in the valid file or in the rejects file."""
    frame = read_table(path)
    result = validate_events(frame)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _stem(path)
    valid_path = out_dir / f"{stem}.valid.parquet"
    rejects_path = out_dir / f"{stem}.rejects.csv"
    pq.write_table(result.valid, valid_path)
    result.rejected.to_csv(rejects_path, index=False)
    summary: dict[str, Any] = dict(result.summary())
    summary["input"] = str(path)
    summary["outputs"] = {"valid": str(valid_path), "rejected": str(rejects_path)}
    return summary
