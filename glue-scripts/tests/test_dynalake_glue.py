"""Unit tests of the pure helpers in dynalake_glue (standard library only, no Spark)."""

from __future__ import annotations

import hashlib
import re
import unittest

from goldens import load_fixture

import dynalake_glue

from dynalake_glue import (
    CURATED_ORDERS_DDL,
    ORDER_COLUMNS,
    country_key,
    customer_key,
    date_key,
    js_trim,
    literal_path,
    normalized_row,
    product_key,
    row_id,
    s3_path,
)


class RowIdTest(unittest.TestCase):
    ROW = {
        "InvoiceNo": "536365",
        "StockCode": "85123A",
        "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
        "Quantity": "6",
        "InvoiceDate": "12/1/2010 8:26",
        "UnitPrice": "2.55",
        "CustomerID": "17850",
        "Country": "United Kingdom",
    }

    def test_is_32_lowercase_hex_characters(self) -> None:
        self.assertRegex(row_id(self.ROW), r"^[0-9a-f]{32}$")

    def test_is_the_sha256_of_the_values_joined_by_the_unit_separator(self) -> None:
        text = "\x1f".join(self.ROW[column] for column in ORDER_COLUMNS)
        self.assertEqual(row_id(self.ROW), hashlib.sha256(text.encode("utf-8")).hexdigest()[:32])

    def test_depends_on_content_only(self) -> None:
        with_extras = {**self.ROW, "SourceFile": "raw/a.csv", "LoadedAt": "2024-05-01T12:00:00.000Z"}
        self.assertEqual(row_id(with_extras), row_id(dict(reversed(list(self.ROW.items())))))
        self.assertEqual(row_id(with_extras), row_id(self.ROW))

    def test_trims_every_value_but_description(self) -> None:
        padded = {column: f" {value}\t" for column, value in self.ROW.items() if column != "Description"}
        self.assertEqual(row_id({**self.ROW, **padded}), row_id(self.ROW))
        self.assertNotEqual(row_id({**self.ROW, "Description": self.ROW["Description"] + " "}), row_id(self.ROW))

    def test_trims_as_javascript_does_not_as_python_strip(self) -> None:
        self.assertEqual(row_id({**self.ROW, "Country": "\ufeffUnited Kingdom"}), row_id(self.ROW))
        self.assertNotEqual(row_id({**self.ROW, "Country": "United Kingdom\x1c"}), row_id(self.ROW))
        self.assertNotEqual(row_id({**self.ROW, "Country": "United Kingdom\x85"}), row_id(self.ROW))

    def test_reads_none_and_absent_values_as_empty(self) -> None:
        self.assertEqual(row_id({**self.ROW, "CustomerID": None}), row_id({**self.ROW, "CustomerID": ""}))
        without = {column: value for column, value in self.ROW.items() if column != "CustomerID"}
        self.assertEqual(row_id(without), row_id({**self.ROW, "CustomerID": ""}))

    def test_keeps_values_in_their_columns(self) -> None:
        swapped = {**self.ROW, "Quantity": self.ROW["CustomerID"], "CustomerID": self.ROW["Quantity"]}
        self.assertNotEqual(row_id(swapped), row_id(self.ROW))
        shifted = {**self.ROW, "StockCode": "", "InvoiceNo": "53636585123A"}
        self.assertNotEqual(row_id(shifted), row_id(self.ROW))

    def test_normalized_row_is_what_the_id_hashes(self) -> None:
        self.assertEqual(normalized_row({**self.ROW, "Quantity": " 6 ", "CustomerID": None}), {**self.ROW, "CustomerID": ""})

    def test_ids_vectors(self) -> None:
        vectors = load_fixture("ids.json")
        self.assertGreaterEqual(len(vectors), 12)
        for vector in vectors:
            with self.subTest(note=vector["note"]):
                self.assertEqual(sorted(vector["row"]), sorted(ORDER_COLUMNS))
                self.assertEqual(row_id(vector["row"]), vector["id"])


class JsTrimTest(unittest.TestCase):
    def test_strips_javascript_whitespace(self) -> None:
        self.assertEqual(js_trim("\t\u00a0\u2028\u3000\ufeff x y \r\n\v\f\u202f"), "x y")

    def test_keeps_what_javascript_keeps(self) -> None:
        self.assertEqual(js_trim("\x1cx\x1f\x85"), "\x1cx\x1f\x85")


class StarKeysTest(unittest.TestCase):
    def test_date_key_is_the_days_digits(self) -> None:
        self.assertEqual(date_key("2010-12-01"), 20101201)
        self.assertEqual(date_key("2012-02-29"), 20120229)
        for day in ("2011-02-29", "2010-13-01", "20101201"):
            with self.subTest(day=day), self.assertRaises(ValueError):
                date_key(day)

    def test_keys_are_stable_across_runs(self) -> None:
        # Pinned: a change here re-keys every dimension row already in the warehouse, and breaks
        # the agreement with the local DuckDB twin.
        self.assertEqual(product_key("85123A"), 5782815726652591)
        self.assertEqual(customer_key(17850), 7827360942171626)
        self.assertEqual(country_key("United Kingdom"), 4095969637943790)

    def test_keys_are_distinct_for_distinct_inputs(self) -> None:
        products = ["85123A", "85123a", "71053", "POST", "D", "B", "C2", "DOT"]
        self.assertEqual(len({product_key(code) for code in products}), len(products))
        customers = range(12346, 12346 + 2000)
        self.assertEqual(len({customer_key(customer) for customer in customers}), 2000)
        countries = ["United Kingdom", "France", "EIRE", "Germany", "Unspecified"]
        self.assertEqual(len({country_key(country) for country in countries}), len(countries))

    def test_dimensions_do_not_share_keys(self) -> None:
        self.assertNotEqual(product_key("12345"), customer_key(12345))
        self.assertNotEqual(product_key("France"), country_key("France"))

    def test_keys_are_positive_and_exact_in_javascript(self) -> None:
        for key in (product_key("85123A"), customer_key(12346), country_key("France")):
            self.assertGreater(key, 0)
            self.assertLess(key, 2**53)

    def test_unknown_customer_and_country_are_zero(self) -> None:
        self.assertEqual(customer_key(None), 0)
        self.assertEqual(customer_key(""), 0)
        self.assertEqual(country_key(None), 0)

    def test_customer_key_reads_the_number_not_its_spelling(self) -> None:
        self.assertEqual(customer_key("17850"), customer_key(17850))
        self.assertEqual(customer_key(17850.0), customer_key(17850))

    def test_natural_keys_are_trimmed(self) -> None:
        self.assertEqual(product_key(" 85123A "), product_key("85123A"))


class PathsTest(unittest.TestCase):
    def test_s3_path_has_one_slash_between_parts_and_a_trailing_one(self) -> None:
        for prefix in ("curated/orders", "curated/orders/", "/curated/orders/"):
            self.assertEqual(s3_path("lake", prefix), "s3://lake/curated/orders/")
        self.assertEqual(s3_path("lake", ""), "s3://lake/")

    def test_literal_path_escapes_glob_characters(self) -> None:
        self.assertEqual(literal_path("s3://b/raw/sales [2011] {q?}*.csv"), r"s3://b/raw/sales \[2011\] \{q\?\}\*.csv")
        self.assertEqual(literal_path("s3://b/raw/plain name.csv"), "s3://b/raw/plain name.csv")


class CuratedSchemaTest(unittest.TestCase):
    def test_curated_orders_ddl_is_the_agreed_schema(self) -> None:
        columns = [tuple(part.split(" ", 1)) for part in re.split(r",\s*(?![0-9])", CURATED_ORDERS_DDL)]
        self.assertEqual(
            columns,
            [
                ("invoice_no", "STRING"),
                ("line_no", "INT"),
                ("stock_code", "STRING"),
                ("description", "STRING"),
                ("quantity", "INT"),
                ("unit_price", "DECIMAL(12,3)"),
                ("invoice_ts", "TIMESTAMP"),
                ("customer_id", "BIGINT"),
                ("country", "STRING"),
                ("is_cancellation", "BOOLEAN"),
                ("invoice_day", "STRING"),
            ],
        )


class JobStateTest(unittest.TestCase):
    SOURCE = "s3://landing/cdc/orders/"

    def test_no_state_object_is_nothing_merged(self) -> None:
        self.assertEqual(dynalake_glue.parse_state(None, "orders_to_lake", "s3://lake/state/orders_to_lake/merged.json"), {})

    def test_round_trips_and_is_stable(self) -> None:
        text = dynalake_glue.render_state("orders_to_lake", {self.SOURCE: ["cdc/orders/dt=2/b.jsonl.gz", "cdc/orders/dt=1/a.jsonl.gz"]}, "2024-05-01T00:00:00.000+00:00")
        self.assertEqual(dynalake_glue.parse_state(text, "orders_to_lake", "here"), {self.SOURCE: {"cdc/orders/dt=1/a.jsonl.gz", "cdc/orders/dt=2/b.jsonl.gz"}})
        self.assertEqual(text, dynalake_glue.render_state("orders_to_lake", {self.SOURCE: {"cdc/orders/dt=1/a.jsonl.gz", "cdc/orders/dt=2/b.jsonl.gz"}}, "2024-05-01T00:00:00.000+00:00"))

    def test_refuses_another_jobs_state_or_a_broken_one_naming_the_object(self) -> None:
        other = dynalake_glue.render_state("campaign_progress", {}, "2024-05-01T00:00:00Z")
        for text in (other, "{", '{"format": 2, "job": "orders_to_lake", "sources": {}}', '{"format": 1, "job": "orders_to_lake", "sources": {"s": "k"}}'):
            with self.subTest(text=text), self.assertRaisesRegex(ValueError, r"^s3://lake/state/orders_to_lake/merged\.json: "):
                dynalake_glue.parse_state(text, "orders_to_lake", "s3://lake/state/orders_to_lake/merged.json")

    def test_pending_are_the_listed_objects_not_merged_in_key_order(self) -> None:
        self.assertEqual(dynalake_glue.pending_keys(["c", "a", "b", "a"], {"b"}), ["a", "c"])

    def test_next_state_drops_what_s3_no_longer_lists_and_adds_this_runs(self) -> None:
        self.assertEqual(dynalake_glue.next_state(["b", "c"], {"a", "b"}, ["c"]), ["b", "c"])

    def test_state_key_sits_under_the_prefix_however_it_is_written(self) -> None:
        for prefix in ("state/orders_to_lake/", "state/orders_to_lake", "/state/orders_to_lake/"):
            self.assertEqual(dynalake_glue.state_key(prefix), "state/orders_to_lake/merged.json")


if __name__ == "__main__":
    unittest.main()
