"""A saved model: one binary file and one JSON description with its checksum.

Every model kind saves and loads through here, so every one of them refuses the same
way: an unreadable or foreign description, a missing or damaged binary (checksum), or
features of another feature-set version. Nothing half-loaded is ever returned.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from surveillance.errors import ModelError


def write_artifact(
    folder: Path, meta_file: str, model_file: str, fmt: str, meta: dict[str, Any]
) -> None:
    """Write the description of the binary already saved at ``folder / model_file``."""
    blob = (folder / model_file).read_bytes()
    body = {"format": fmt, **meta, "sha256": hashlib.sha256(blob).hexdigest()}
    (folder / meta_file).write_text(json.dumps(body, indent=2))


def read_artifact(
    folder: Path,
    meta_file: str,
    model_file: str,
    fmt: str,
    expected_feature_set: str | None = None,
) -> tuple[dict[str, Any], bytes]:
    """The description and the checked bytes of a saved model."""
    meta_path, model_path = folder / meta_file, folder / model_file
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{meta_path}: cannot read the model description ({exc})") from exc
    if meta.get("format") != fmt:
        raise ModelError(f"{meta_path}: expected a {fmt} model, found {meta.get('format')!r}")
    try:
        blob = model_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{model_path}: cannot read the model ({exc.strerror})") from exc
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        raise ModelError(f"{model_path}: checksum differs from {meta_file}: the file is damaged")
    if expected_feature_set is not None and meta.get("feature_set_version") != expected_feature_set:
        raise ModelError(
            f"{folder}: trained on feature set {meta.get('feature_set_version')}, but the "
            f"features here are {expected_feature_set}: recompute the features or retrain"
        )
    return meta, blob
