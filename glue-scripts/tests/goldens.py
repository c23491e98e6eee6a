"""Where the tests find the Glue scripts and the shared fixtures (test/fixtures/ at the repo root),
and the goldens' rows as Spark takes and gives them.

Importing this module puts glue-scripts/ on sys.path, as --extra-py-files does on Glue.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

GLUE_SCRIPTS = Path(__file__).resolve().parents[1]
FIXTURES = GLUE_SCRIPTS.parent / "test" / "fixtures"

if str(GLUE_SCRIPTS) not in sys.path:
    sys.path.insert(0, str(GLUE_SCRIPTS))


def load_fixture(relative: str) -> Any:
    with (FIXTURES / relative).open(encoding="utf-8") as file:
        return json.load(file)


def orders_dataset_argument() -> str:
    """The DATASET argument of the orders CDC merge: JSON.stringify(ORDERS_DATASET) of lib/dataset.ts,
    whose pretty-printed form test/fixtures/etl/orders_to_lake/dataset.json is (a Jest test checks it)."""
    return json.dumps(load_fixture("etl/orders_to_lake/dataset.json"), separators=(",", ":"))


def load_golden(job: str) -> tuple[Any, Any]:
    """The golden input and expected output of one job (test/fixtures/etl/<job>/)."""
    return load_fixture(f"etl/{job}/input.json"), load_fixture(f"etl/{job}/expected.json")


def curated_input(row: dict[str, Any]) -> dict[str, Any]:
    """A golden curated row as Spark input. Timestamps carry UTC explicitly: PySpark reads a naive
    datetime in the test process's local zone."""
    return {
        **row,
        "unit_price": Decimal(row["unit_price"]),
        "invoice_ts": datetime.fromisoformat(row["invoice_ts"]).replace(tzinfo=timezone.utc),
    }


def curated_progress_input(row: dict[str, Any]) -> dict[str, Any]:
    """A golden campaign_progress row as Spark input (money as Decimal, times as UTC datetimes)."""
    converted = dict(row)
    for name in ("total_task_rewards_earned", "reward_earned", "reward_amount"):
        converted[name] = None if row[name] is None else Decimal(row[name])
    for name in ("validated_at", "task_deadline", "created_at", "updated_at"):
        converted[name] = None if row[name] is None else datetime.fromisoformat(row[name]).replace(tzinfo=timezone.utc)
    return converted


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows_as_json(frame: Any) -> list[dict[str, Any]]:
    """Collected rows in the goldens' form: decimals as strings, dates ISO, timestamps as
    YYYY-MM-DDTHH:MM:SS in the session zone (UTC), formatted by Spark, not by the local zone."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    columns = [
        F.date_format(field.name, "yyyy-MM-dd'T'HH:mm:ss").alias(field.name) if isinstance(field.dataType, TimestampType) else F.col(field.name)
        for field in frame.schema.fields
    ]
    return [{name: _jsonable(value) for name, value in row.asDict().items()} for row in frame.select(*columns).collect()]


def canonical(rows: list[dict[str, Any]]) -> list[str]:
    """Rows compared as a set (Spark gives no order), one JSON text each."""
    return sorted(json.dumps(row, sort_keys=True) for row in rows)
