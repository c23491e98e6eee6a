"""The orders_to_lake and csv_to_dynamodb goldens replayed through the pure helpers.

The Spark jobs are checked against the same goldens only where pyspark exists; this test makes
sure, everywhere, that the goldens themselves say what the helpers decide.
"""

from __future__ import annotations

import csv
import io
import unittest
from decimal import Decimal
from typing import Any

from goldens import load_golden

from dynalake_glue import apply_changes, curated_order, latest_changes, normalized_row, row_id, touched_days


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """A curated row as the goldens write it: decimals as strings."""
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in row.items()}


class OrdersToLakeGoldenTest(unittest.TestCase):
    def setUp(self) -> None:
        self.input, self.expected = load_golden("orders_to_lake")

    def test_merging_the_batch_gives_the_expected_table(self) -> None:
        current = {(row["invoice_no"], row["line_no"]): row for row in self.input["current"]}
        # Curate the new images first, so that current and upserts are rows of one kind.
        latest = {
            key: {**record, "newImage": as_json(curated_order(record["newImage"])) if record["newImage"] else None}
            for key, record in latest_changes(self.input["changes"]).items()
        }
        merged = sorted(apply_changes(current, latest).values(), key=lambda row: (row["invoice_day"], row["invoice_no"], row["line_no"]))
        self.assertEqual(merged, self.expected["rows"])

    def test_the_batch_rewrites_the_expected_partitions(self) -> None:
        days = touched_days(self.input["changes"])
        self.assertEqual(days, self.expected["rewritten_partitions"])
        untouched = [row for row in self.input["current"] if row["invoice_day"] not in days]
        self.assertEqual(untouched, [row for row in self.expected["rows"] if row["invoice_day"] not in days])

    def test_the_partitions_left_empty_are_the_expected_ones(self) -> None:
        occupied = {row["invoice_day"] for row in self.expected["rows"]}
        emptied = [day for day in touched_days(self.input["changes"]) if day not in occupied]
        self.assertEqual(emptied, self.expected["emptied_partitions"])
        self.assertTrue(emptied, "the golden must exercise a partition that a move leaves empty")


class CsvToDynamodbGoldenTest(unittest.TestCase):
    def setUp(self) -> None:
        self.input, self.expected = load_golden("csv_to_dynamodb")

    def test_rows_become_the_expected_items(self) -> None:
        items: dict[str, dict[str, str]] = {}
        for row in csv.DictReader(io.StringIO(self.input["csv"], newline="")):
            values = {column: value for column, value in normalized_row(row).items() if value != ""}
            item = {"id": row_id(row), **values, "ingestion_timestamp": self.input["ingestion_timestamp"], "source_file": self.input["source_file"]}
            # Rows with one id are equal once normalized, so which one the dedupe keeps is moot.
            self.assertEqual(items.setdefault(item["id"], item), item)
        self.assertEqual(sorted(items.values(), key=lambda item: item["id"]), self.expected["items"])

    def test_the_file_has_duplicates_to_drop(self) -> None:
        rows = list(csv.DictReader(io.StringIO(self.input["csv"], newline="")))
        self.assertGreater(len(rows), len(self.expected["items"]))

    def test_the_file_is_iso_8859_1(self) -> None:
        self.input["csv"].encode("iso-8859-1")


if __name__ == "__main__":
    unittest.main()
