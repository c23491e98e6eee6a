"""The csv_to_dynamodb and sales_star_schema goldens replayed through the helpers those jobs call
(row_id, normalized_row, the star keys), in plain Python: the ids and keys the goldens hold are
the helpers' own, which the TypeScript twins share. test_jobs_spark.py runs the jobs themselves on
the same goldens.
"""

from __future__ import annotations

import csv
import io
import json
import unittest
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from goldens import load_golden

from dynalake_glue import UNKNOWN_KEY, country_key, customer_key, date_key, normalized_row, product_key, row_id


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
            # A whole number times a price of 3 decimals: exact, with the price's 3 decimals.
            "amount": str(row["quantity"] * Decimal(row["unit_price"])),
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
