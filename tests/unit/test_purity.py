"""The core package stays pure: no module under src/surveillance imports an AWS library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import surveillance

FORBIDDEN = ("boto3", "botocore", "sagemaker", "aws_lambda_powertools", "aws_cdk")
PACKAGE = Path(surveillance.__file__).resolve().parent


def forbidden_imports(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, module) of every import of a forbidden package, at any depth of the tree."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m.split(".")[0] in FORBIDDEN]
    return found


def test_no_module_of_the_package_imports_aws_libraries() -> None:
    """GIVEN every .py file under src/surveillance
    WHEN each is parsed and its imports are walked (top-level and nested)
    THEN none imports boto3, botocore, sagemaker, aws_lambda_powertools or aws_cdk."""
    files = sorted(PACKAGE.rglob("*.py"))
    names = {p.relative_to(PACKAGE).as_posix() for p in files}
    assert {"cli.py", "synth/market.py", "evaluation/leakage.py"} <= names

    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {module}"
        for path in files
        for line, module in forbidden_imports(path.read_text(), str(path))
    ]

    assert offenders == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from boto3 import client", [(1, "boto3")]),
        ("import os\nimport botocore.session", [(2, "botocore.session")]),
        ("import json, sagemaker as sm", [(1, "sagemaker")]),
        (
            "def handler():\n    from aws_lambda_powertools import Logger\n",
            [(2, "aws_lambda_powertools")],
        ),
        (
            "class Stack:\n    def build(self):\n        if True:\n"
            "            import aws_cdk.aws_s3\n",
            [(4, "aws_cdk.aws_s3")],
        ),
        ("try:\n    import boto3\nexcept ImportError:\n    boto3 = None\n", [(2, "boto3")]),
    ],
)
def test_checker_flags_forbidden_imports_anywhere(
    source: str, expected: list[tuple[int, str]]
) -> None:
    """GIVEN a source string importing an AWS library (top-level, aliased, nested)
    WHEN the checker reads it
    THEN it reports that import with its line."""
    assert forbidden_imports(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "import boto3x",
        "from mypkg import boto3",
        "from . import sagemaker",
        "from .aws_cdk import stack",
        "name = 'boto3'",
        "import surveillance.cli",
    ],
)
def test_checker_ignores_lookalikes(source: str) -> None:
    """GIVEN a source string that only looks like an AWS import (other package with a
    similar name, a relative import, a name or a string)
    WHEN the checker reads it
    THEN it reports nothing."""
    assert forbidden_imports(source) == []
