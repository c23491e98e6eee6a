"""Fixtures of the local Glue stand-in's tests: a local Spark and an embedded S3 (s3rver)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = ROOT / "scripts" / "local" / "spark"
GLUE_SCRIPTS = ROOT / "glue-scripts"
for folder in (STAND_IN, GLUE_SCRIPTS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark is not installed: " + os.environ.get("DYNALAKE_SPARK_UNAVAILABLE", "bash scripts/python/setup.sh makes .venv/"))
    from pyspark.sql import SparkSession

    session = SparkSession.builder.master("local[2]").appName("awsglue-stand-in-tests").config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = subprocess.Popen(["node", str(Path(__file__).with_name("s3rver.mjs"))], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    endpoint = json.loads(server.stdout.readline())["endpoint"]
    yield endpoint
    server.stdin.close()
    server.wait(timeout=10)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    pytest.importorskip("boto3", reason="boto3 is not installed: " + os.environ.get("DYNALAKE_SPARK_UNAVAILABLE", "bash scripts/python/setup.sh makes .venv/"))
    for name, value in {"AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    import local_glue

    return local_glue.s3_client()
