"""The orders_to_lake and csv_to_dynamodb goldens replayed through the pure helpers.

The Spark jobs are checked against the same goldens only where pyspark exists; this test makes
sure, everywhere, that the goldens themselves say what the helpers decide.
"""

from __future__ import annotations

import csv
import io
import json
import unittest
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from goldens import load_golden

from dynalake_glue import (
    AMOUNT_PRECISION,
    UNKNOWN_KEY,
    apply_changes,
    country_key,
    curated_order,
    customer_key,
    date_key,
    fixed_decimal,
    latest_changes,
    normalized_row,
    product_key,
    row_id,
    touched_days,
)


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


def sorted_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in one canonical order (any order is right; nulls sort like any other value)."""
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


def current_images(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A table's items from its full change history: latest change per key, removed ones left out."""
    return [record["newImage"] for record in latest_changes(changes).values() if record["eventName"] != "REMOVE"]


def money(value: Any) -> str | None:
    """A money value as campaign_progress's DECIMAL(12,2) column, written as the golden does."""
    return None if value is None else str(fixed_decimal(value, 12, 2))


def utc_timestamp(text: str | None) -> str | None:
    """An ISO instant (2024-01-12T10:30:00Z) as a UTC wall-clock timestamp, as the goldens write it."""
    if text is None:
        return None
    return datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None).isoformat()


def campaign_progress_rows(user_campaign_changes: list[dict[str, Any]], campaign_info_changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """campaign_progress.explode_progress over latest_images, in plain Python."""
    campaigns = {image["campaignID"]: image for image in current_images(campaign_info_changes)}
    listed = {
        (campaign_id, task["taskID"]): task for campaign_id, image in campaigns.items() for task in image.get("campaignTasks") or []
    }
    rows = []
    for image in current_images(user_campaign_changes):
        campaign = campaigns.get(image["campaignID"])
        created_at = utc_timestamp(image["createdAt"])
        # explode_outer: no progress (empty or null) keeps one row of null task fields.
        for task in image.get("progressDetails") or [{}]:
            listed_task = listed.get((image["campaignID"], task.get("taskID")), {})  # left join; a null task_id never matches
            rows.append(
                {
                    "user_id": image["userID"],
                    "campaign_id": image["campaignID"],
                    "campaign_title": campaign.get("title") if campaign else None,
                    "user_campaign_state": image.get("userCampaignProgressState"),
                    "total_task_rewards_earned": money(image.get("totalTaskRewardsEarned")),
                    "task_id": task.get("taskID"),
                    "task_state": task.get("userCampaignTaskProgressState"),
                    "validated_at": utc_timestamp(task.get("validatedAt")),
                    "validation_failure_reason": task.get("validationFailureReason"),
                    "reward_earned": money(task.get("rewardEarned")),
                    "task_deadline": utc_timestamp(listed_task.get("taskDeadline")),
                    "reward_amount": money(listed_task.get("rewardAmount")),
                    "created_at": created_at,
                    "updated_at": utc_timestamp(image.get("updatedAt")),
                    "created_day": created_at[:10],
                }
            )
    return rows


def most_frequent(orders: list[dict[str, Any]], group: str, value: str) -> dict[Any, Any]:
    """sales_star_schema._most_frequent: per group, the most frequent non-null value; ties to the
    value that sorts first."""
    counts: dict[Any, dict[Any, int]] = {}
    for row in orders:
        if row[value] is not None:
            per_value = counts.setdefault(row[group], {})
            per_value[row[value]] = per_value.get(row[value], 0) + 1
    return {key: min(per_value, key=lambda name: (-per_value[name], name)) for key, per_value in counts.items()}


def star_schema(orders: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """sales_star_schema.build_star, in plain Python, decimals written as strings."""
    fact_sales = [
        {
            "invoice_no": row["invoice_no"],
            "line_no": row["line_no"],
            "date_key": date_key(row["invoice_day"]),
            "product_key": product_key(row["stock_code"]),
            "customer_key": customer_key(row["customer_id"]),
            "country_key": country_key(row["country"]),
            "quantity": row["quantity"],
            "unit_price": row["unit_price"],
            "amount": str(fixed_decimal(Decimal(row["quantity"]) * Decimal(row["unit_price"]), *AMOUNT_PRECISION)),
            "is_cancellation": row["is_cancellation"],
        }
        for row in orders
    ]
    first = date.fromisoformat(min(row["invoice_day"] for row in orders))
    last = date.fromisoformat(max(row["invoice_day"] for row in orders))
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    dim_date = [
        {
            "date_key": date_key(day.isoformat()),
            "date": day.isoformat(),
            "year": day.year,
            "quarter": (day.month - 1) // 3 + 1,
            "month": day.month,
            "day": day.day,
            "day_of_week": day.isoweekday(),
            "is_weekend": day.isoweekday() >= 6,
        }
        for day in days
    ]
    descriptions = most_frequent(orders, "stock_code", "description")
    dim_product = [
        {"product_key": product_key(code), "stock_code": code, "description": descriptions.get(code)}
        for code in {row["stock_code"] for row in orders}
    ]
    countries = most_frequent(orders, "customer_id", "country")
    dim_customer = [
        {"customer_key": customer_key(customer), "customer_id": customer, "country": countries.get(customer)}
        for customer in {row["customer_id"] for row in orders if row["customer_id"] is not None}
    ] + [{"customer_key": UNKNOWN_KEY, "customer_id": None, "country": None}]
    dim_country = [
        {"country_key": country_key(country), "country": country} for country in {row["country"] for row in orders if row["country"] is not None}
    ] + [{"country_key": UNKNOWN_KEY, "country": None}]
    return {"fact_sales": fact_sales, "dim_date": dim_date, "dim_product": dim_product, "dim_customer": dim_customer, "dim_country": dim_country}


class CampaignProgressGoldenTest(unittest.TestCase):
    def test_the_history_gives_the_expected_rows(self) -> None:
        given, expected = load_golden("campaign_progress")
        rows = campaign_progress_rows(given["user_campaign_changes"], given["campaign_info_changes"])
        self.assertEqual(sorted_rows(rows), sorted_rows(expected["rows"]))


class SalesStarSchemaGoldenTest(unittest.TestCase):
    def test_the_orders_give_the_expected_tables(self) -> None:
        given, expected = load_golden("sales_star_schema")
        tables = star_schema(given["orders"])
        self.assertEqual(set(tables), set(expected) - {"description"})
        for name, rows in tables.items():
            with self.subTest(table=name):
                self.assertEqual(sorted_rows(rows), sorted_rows(expected[name]))


if __name__ == "__main__":
    unittest.main()
