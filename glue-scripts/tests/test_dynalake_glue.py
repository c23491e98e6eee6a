"""Unit tests of the pure helpers in dynalake_glue (standard library only, no Spark)."""

from __future__ import annotations

import hashlib
import re
import unittest
from decimal import Decimal

from goldens import load_fixture

import dynalake_glue

from dynalake_glue import (
    CURATED_ORDERS_DDL,
    ORDER_COLUMNS,
    UNIT_PRICE_PRECISION,
    apply_changes,
    country_key,
    curated_order,
    customer_key,
    date_key,
    exact_decimal,
    fixed_decimal,
    js_trim,
    latest_changes,
    literal_path,
    normalized_row,
    parse_invoice_date,
    product_key,
    row_id,
    s3_path,
    touched_days,
)


def order_item(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "InvoiceNo": "536365",
        "LineNo": 1,
        "StockCode": "85123A",
        "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
        "Quantity": 6,
        "UnitPrice": "2.55",
        "InvoiceDate": "2010-12-01T08:26:00",
        "CustomerID": 17850,
        "Country": "United Kingdom",
        "IsCancellation": False,
        "InvoiceDay": "2010-12-01",
    }
    item.update(overrides)
    return item


def change(event: str, sequence: str, line_no: int = 1, **image: object) -> dict[str, object]:
    new_image = None if event == "REMOVE" else order_item(LineNo=line_no, **image)
    old_image = None if event == "INSERT" else order_item(LineNo=line_no)
    return {
        "eventName": event,
        "keys": {"LineNo": line_no, "InvoiceNo": "536365"},
        "newImage": new_image,
        "oldImage": old_image,
        "sequenceNumber": sequence,
        "approximateCreationTime": 1714564800,
    }


class ParseInvoiceDateTest(unittest.TestCase):
    def test_reads_the_kaggle_form(self) -> None:
        self.assertEqual(parse_invoice_date("12/1/2010 8:26"), "2010-12-01T08:26:00")

    def test_reads_optional_seconds(self) -> None:
        self.assertEqual(parse_invoice_date("12/1/2010 8:26:07"), "2010-12-01T08:26:07")

    def test_trims_surrounding_whitespace_like_javascript(self) -> None:
        self.assertEqual(parse_invoice_date("\u00a012/1/2010 8:26\r\n"), "2010-12-01T08:26:00")

    def test_accepts_a_leap_day_only_in_a_leap_year(self) -> None:
        self.assertEqual(parse_invoice_date("2/29/2012 0:00"), "2012-02-29T00:00:00")
        self.assertEqual(parse_invoice_date("2/29/2000 0:00"), "2000-02-29T00:00:00")
        self.assertIsNone(parse_invoice_date("2/29/2011 0:00"))
        self.assertIsNone(parse_invoice_date("2/29/1900 0:00"))

    def test_rejects_dates_and_times_that_do_not_exist(self) -> None:
        for text in ("13/1/2010 8:26", "0/1/2010 8:26", "4/31/2010 8:26", "1/0/2010 8:26", "1/1/2010 24:00", "1/1/2010 8:60", "1/1/2010 8:26:60"):
            with self.subTest(text=text):
                self.assertIsNone(parse_invoice_date(text))

    def test_rejects_other_forms(self) -> None:
        for text in ("", "2010-12-01 08:26", "12/1/10 8:26", "12/1/2010", "12/1/2010  8:26", "١٢/1/2010 8:26"):
            with self.subTest(text=text):
                self.assertIsNone(parse_invoice_date(text))


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


class LatestChangesTest(unittest.TestCase):
    def test_compares_sequence_numbers_as_integers(self) -> None:
        newer = change("MODIFY", "1000000000000000000000", Quantity=8)
        older = change("MODIFY", "999999999999999999999", Quantity=12)
        self.assertIs(latest_changes([newer, older])[("536365", 1)], newer)
        self.assertIs(latest_changes([older, newer])[("536365", 1)], newer)

    def test_compares_forty_digit_sequence_numbers(self) -> None:
        newer = change("MODIFY", "1" + "0" * 39, Quantity=8)
        older = change("MODIFY", "9" * 38, Quantity=12)
        self.assertIs(latest_changes([newer, older])[("536365", 1)], newer)

    def test_remove_after_modify_deletes(self) -> None:
        latest = latest_changes([change("MODIFY", "100", Quantity=8), change("REMOVE", "200")])
        self.assertEqual(apply_changes({("536365", 1): order_item()}, latest), {})

    def test_modify_then_insert_with_lower_sequence_keeps_modify(self) -> None:
        modify = change("MODIFY", "300", Quantity=8)
        latest = latest_changes([modify, change("INSERT", "250", Quantity=6)])
        self.assertEqual(apply_changes({}, latest), {("536365", 1): modify["newImage"]})

    def test_a_tie_goes_to_the_later_record(self) -> None:
        first, second = change("MODIFY", "500", Quantity=1), change("MODIFY", "500", Quantity=2)
        self.assertIs(latest_changes([first, second])[("536365", 1)], second)

    def test_keys_are_values_in_sorted_key_name_order(self) -> None:
        self.assertEqual(list(latest_changes([change("INSERT", "1", line_no=3)])), [("536365", 3)])

    def test_keeps_one_record_per_key(self) -> None:
        records = [change("INSERT", "1", line_no=1), change("INSERT", "2", line_no=2), change("MODIFY", "3", line_no=1, Quantity=9)]
        latest = latest_changes(records)
        self.assertEqual({key: record["sequenceNumber"] for key, record in latest.items()}, {("536365", 1): "3", ("536365", 2): "2"})

    def test_rejects_a_sequence_number_that_is_not_a_decimal_string(self) -> None:
        for sequence in ("12a", "", "-1", 12):
            with self.subTest(sequence=sequence), self.assertRaises(ValueError):
                latest_changes([change("INSERT", sequence)])  # type: ignore[arg-type]

    def test_apply_changes_upserts_and_leaves_its_input_alone(self) -> None:
        current = {("536365", 1): order_item(), ("536365", 2): order_item(LineNo=2)}
        latest = latest_changes([change("MODIFY", "5", Quantity=8), change("INSERT", "6", line_no=3)])
        merged = apply_changes(current, latest)
        self.assertEqual(merged[("536365", 1)]["Quantity"], 8)
        self.assertEqual(merged[("536365", 2)], order_item(LineNo=2))
        self.assertIn(("536365", 3), merged)
        self.assertEqual(current[("536365", 1)]["Quantity"], 6)

    def test_apply_changes_rejects_an_unknown_event(self) -> None:
        with self.assertRaises(ValueError):
            apply_changes({}, {("536365", 1): {**change("INSERT", "1"), "eventName": "TRUNCATE"}})


class TouchedDaysTest(unittest.TestCase):
    def test_counts_the_old_and_the_new_day_of_a_move(self) -> None:
        move = change("MODIFY", "1", InvoiceDate="2010-12-05T08:26:00", InvoiceDay="2010-12-05")
        self.assertEqual(touched_days([move]), ["2010-12-01", "2010-12-05"])

    def test_counts_the_day_of_a_removed_row(self) -> None:
        removal = change("REMOVE", "1")
        removal["oldImage"] = order_item(InvoiceDay="2010-12-02")
        self.assertEqual(touched_days([removal, change("INSERT", "2", line_no=2)]), ["2010-12-01", "2010-12-02"])

    def test_refuses_a_change_without_old_image(self) -> None:
        blind = {**change("REMOVE", "1"), "oldImage": None}
        with self.assertRaisesRegex(ValueError, "NEW_AND_OLD_IMAGES"):
            touched_days([blind])


class CuratedOrderTest(unittest.TestCase):
    def test_maps_every_attribute(self) -> None:
        self.assertEqual(
            curated_order(order_item()),
            {
                "invoice_no": "536365",
                "line_no": 1,
                "stock_code": "85123A",
                "description": "WHITE HANGING HEART T-LIGHT HOLDER",
                "quantity": 6,
                "unit_price": Decimal("2.550"),
                "invoice_ts": "2010-12-01T08:26:00",
                "customer_id": 17850,
                "country": "United Kingdom",
                "is_cancellation": False,
                "invoice_day": "2010-12-01",
            },
        )

    def test_unit_price_is_exact_from_text_and_from_numbers(self) -> None:
        for written, expected in (("0.001", "0.001"), ("-11062.06", "-11062.060"), ("38970", "38970.000"), ("2.1", "2.100")):
            for value in (written, float(written), Decimal(written)):
                with self.subTest(value=value):
                    price = curated_order(order_item(UnitPrice=value))["unit_price"]
                    self.assertIsInstance(price, Decimal)
                    self.assertEqual(str(price), expected)
        self.assertEqual(str(curated_order(order_item(UnitPrice=38970))["unit_price"]), "38970.000")

    def test_unit_price_never_goes_through_a_float(self) -> None:
        # 2.1 as a float is 2.100000000000000088817841970012523...; the curated price is 2.1.
        self.assertEqual(curated_order(order_item(UnitPrice=2.1))["unit_price"], Decimal("2.1"))
        self.assertEqual(curated_order(order_item(Quantity=3, UnitPrice="2.1"))["unit_price"] * 3, Decimal("6.3"))

    def test_refuses_a_price_the_column_would_round_or_cannot_hold(self) -> None:
        for value in ("0.0015", "1000000000", "NaN", "Infinity", "1_000", "", "two"):
            with self.subTest(value=value), self.assertRaises(ValueError):
                curated_order(order_item(UnitPrice=value))

    def test_numbers_may_arrive_as_strings(self) -> None:
        row = curated_order(order_item(LineNo="3", Quantity="-12", CustomerID="17850"))
        self.assertEqual((row["line_no"], row["quantity"], row["customer_id"]), (3, -12, 17850))

    def test_refuses_fractional_whole_numbers(self) -> None:
        with self.assertRaises(ValueError):
            curated_order(order_item(Quantity="6.5"))
        self.assertEqual(curated_order(order_item(Quantity=6.0))["quantity"], 6)

    def test_absent_or_null_customer_is_none(self) -> None:
        without = order_item()
        del without["CustomerID"]
        self.assertIsNone(curated_order(without)["customer_id"])
        self.assertIsNone(curated_order(order_item(CustomerID=None))["customer_id"])

    def test_absent_description_and_country_are_none(self) -> None:
        item = order_item()
        del item["Description"], item["Country"]
        row = curated_order(item)
        self.assertIsNone(row["description"])
        self.assertIsNone(row["country"])

    def test_refuses_a_non_boolean_cancellation_flag(self) -> None:
        with self.assertRaises(ValueError):
            curated_order(order_item(IsCancellation="false"))

    def test_refuses_a_malformed_day_or_time(self) -> None:
        with self.assertRaises(ValueError):
            curated_order(order_item(InvoiceDay="20101201"))
        with self.assertRaises(ValueError):
            curated_order(order_item(InvoiceDate="12/1/2010 8:26"))

    def test_a_boolean_is_not_a_number(self) -> None:
        with self.assertRaises(TypeError):
            exact_decimal(True)

    def test_fixed_decimal_checks_precision_and_scale(self) -> None:
        self.assertEqual(str(fixed_decimal("999999999.999", *UNIT_PRICE_PRECISION)), "999999999.999")
        with self.assertRaises(ValueError):
            fixed_decimal("-1000000000", *UNIT_PRICE_PRECISION)


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

    def test_curated_order_returns_the_schema_columns_in_order(self) -> None:
        names = [part.split(" ", 1)[0] for part in re.split(r",\s*(?![0-9])", CURATED_ORDERS_DDL)]
        self.assertEqual(list(curated_order(order_item())), names)


if __name__ == "__main__":
    unittest.main()


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
