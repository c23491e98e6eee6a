"""Unit tests of the pure helpers in dynalake_glue (standard library only, no Spark)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import unittest
from typing import Any

from goldens import load_fixture, orders_dataset_argument

import dynalake_glue

from dynalake_glue import (
    CURATED_ORDERS_DDL,
    ORDER_COLUMNS,
    Dataset,
    DatasetColumn,
    DatasetPartition,
    country_key,
    customer_key,
    date_key,
    js_trim,
    literal_path,
    normalized_row,
    parse_dataset,
    product_key,
    row_id,
    s3_path,
    timestamp_format_display,
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


class BuildStateTest(unittest.TestCase):
    """sales_star_schema's build state: the curated orders of its last build."""

    WHERE = "s3://lake/state/sales_star_schema/built.json"

    def test_renders_what_the_twin_renders_for_the_same_build(self) -> None:
        fixture = load_fixture("etl/sales_star_schema/build-state.json")
        fingerprint = dynalake_glue.listing_fingerprint(fixture["listing"])
        self.assertEqual(dynalake_glue.render_build_state("s3://lake/curated/orders/", 2, fingerprint, fixture["builtAt"]), fixture["text"])
        self.assertEqual(dynalake_glue.parse_build_state(fixture["text"], self.WHERE), {"source": "s3://lake/curated/orders/", "objects": 2, "fingerprint": fingerprint})

    def test_fingerprint_is_the_sha256_of_one_tab_separated_line_per_object(self) -> None:
        entries = [("curated/orders/a.parquet", "10", "1700000000000"), ("curated/orders/b.parquet", "20", "1700000000001")]
        lines = b"curated/orders/a.parquet\t10\t1700000000000\ncurated/orders/b.parquet\t20\t1700000000001\n"
        self.assertEqual(dynalake_glue.listing_fingerprint(entries), hashlib.sha256(lines).hexdigest())
        # Any field of any object, or their order, is another fingerprint; no object is the hash of nothing.
        self.assertNotEqual(dynalake_glue.listing_fingerprint(entries), dynalake_glue.listing_fingerprint([entries[0], ("curated/orders/b.parquet", "20", "1700000000002")]))
        self.assertNotEqual(dynalake_glue.listing_fingerprint(entries), dynalake_glue.listing_fingerprint(entries[::-1]))
        self.assertEqual(dynalake_glue.listing_fingerprint([]), hashlib.sha256(b"").hexdigest())

    def test_refuses_another_jobs_state_or_a_broken_one_naming_the_object(self) -> None:
        good = json.loads(load_fixture("etl/sales_star_schema/build-state.json")["text"])
        broken = [
            "{",
            "[]",
            json.dumps({**good, "format": 2}),
            json.dumps({**good, "job": "orders_to_lake"}),
            json.dumps({**good, "curatedOrders": None}),
            json.dumps({**good, "curatedOrders": {**good["curatedOrders"], "source": 1}}),
            json.dumps({**good, "curatedOrders": {**good["curatedOrders"], "objects": "2"}}),
            json.dumps({**good, "curatedOrders": {**good["curatedOrders"], "objects": True}}),
            json.dumps({**good, "curatedOrders": {**good["curatedOrders"], "fingerprint": None}}),
        ]
        for text in broken:
            with self.subTest(text=text), self.assertRaisesRegex(ValueError, r"^s3://lake/state/sales_star_schema/built\.json: .*; delete it to rebuild the star schema$"):
                dynalake_glue.parse_build_state(text, self.WHERE)

    def test_build_state_key_sits_under_the_prefix_however_it_is_written(self) -> None:
        for prefix in ("state/sales_star_schema/", "state/sales_star_schema", "/state/sales_star_schema/"):
            self.assertEqual(dynalake_glue.build_state_key(prefix), "state/sales_star_schema/built.json")
        self.assertEqual(dynalake_glue.build_state_key(""), "built.json")


class DatasetDescriptionTest(unittest.TestCase):
    """The DATASET argument of the CDC-merge job: lib/dataset.ts DatasetDescription as JSON."""

    def description(self) -> dict[str, Any]:
        return copy.deepcopy(load_fixture("etl/orders_to_lake/dataset.json"))

    def refusal(self, description: Any) -> str:
        with self.assertRaises(ValueError) as raised:
            parse_dataset(description if isinstance(description, str) else json.dumps(description))
        return str(raised.exception)

    def test_parses_the_orders_description_as_the_stack_passes_it(self) -> None:
        orders = parse_dataset(orders_dataset_argument())
        self.assertEqual(orders.name, "orders")
        self.assertEqual(orders.job, "orders_to_lake")
        self.assertEqual(orders.key, ("InvoiceNo", "LineNo"))
        self.assertEqual([column.name for column in orders.key_columns], ["invoice_no", "line_no"])
        self.assertEqual(orders.partition, DatasetPartition("invoice_day", "InvoiceDay", "2010-12-01"))
        self.assertEqual(orders.columns[5], DatasetColumn("unit_price", "UnitPrice", "decimal(12,3)"))
        self.assertEqual(orders.columns[5].decimal, (12, 3))
        self.assertEqual(orders.columns[6], DatasetColumn("invoice_ts", "InvoiceDate", "timestamp", "yyyy-MM-dd'T'HH:mm:ss"))
        self.assertEqual(orders.columns[7], DatasetColumn("customer_id", "CustomerID", "bigint", empty_is_null=True))
        # Its columns are those of the curated orders table, in order.
        self.assertEqual(", ".join(f"{column.name} {column.type.upper()}" for column in orders.columns) + f", {orders.partition.column} STRING", CURATED_ORDERS_DDL)
        # Pretty-printed (the fixture) or not, the same description.
        self.assertEqual(parse_dataset(json.dumps(self.description(), indent=2)), orders)

    def test_defaults_a_timestamp_format_and_empty_is_null(self) -> None:
        description = self.description()
        del description["columns"][6]["format"]
        del description["columns"][7]["emptyIsNull"]
        dataset = parse_dataset(json.dumps(description))
        self.assertEqual(dataset.columns[6].format, "yyyy-MM-dd'T'HH:mm:ss")
        self.assertFalse(dataset.columns[7].empty_is_null)

    def test_one_key_attribute_is_a_key(self) -> None:
        description = {**self.description(), "key": ["InvoiceNo"]}
        dataset = parse_dataset(json.dumps(description))
        self.assertIsInstance(dataset, Dataset)
        self.assertEqual([column.name for column in dataset.key_columns], ["invoice_no"])

    def test_shows_a_timestamp_format_as_people_write_it(self) -> None:
        self.assertEqual(timestamp_format_display("yyyy-MM-dd'T'HH:mm:ss"), "YYYY-MM-DDTHH:MM:SS")
        self.assertEqual(timestamp_format_display("yyyy-MM-dd HH:mm:ss.SSS"), "YYYY-MM-DD HH:MM:SS.SSS")
        self.assertEqual(timestamp_format_display("dd/MM/yyyy', at 'HH:mm"), "DD/MM/YYYY, at HH:MM")

    def test_refuses_what_is_not_a_json_object(self) -> None:
        self.assertRegex(self.refusal('{"name": "orders"'), r"^DATASET argument: not JSON \(.+\)$")
        self.assertEqual(self.refusal("[1]"), "DATASET argument: not a JSON object but [1]")

    def test_names_the_field_of_each_problem(self) -> None:
        def changed(change: Any) -> dict[str, Any]:
            description = self.description()
            change(description)
            return description

        cases = [
            (lambda d: d["columns"][2].update(type="float"), 'DATASET argument: columns[2].type "float" is not one of string, int, bigint, boolean, timestamp, decimal(p,s)'),
            (lambda d: d["columns"][5].update(type="decimal(39,2)"), "DATASET argument: columns[5].type decimal(39,2) needs a precision of 1 to 38 and a scale no greater than it"),
            (lambda d: d["columns"][5].update(type="decimal(2,3)"), "DATASET argument: columns[5].type decimal(2,3) needs a precision of 1 to 38 and a scale no greater than it"),
            (lambda d: d["columns"][5].update(type="decimal(0,0)"), "DATASET argument: columns[5].type decimal(0,0) needs a precision of 1 to 38 and a scale no greater than it"),
            (lambda d: d["columns"][5].update(type="DECIMAL(12,3)"), 'DATASET argument: columns[5].type "DECIMAL(12,3)" is not one of'),
            (lambda d: d["columns"][1].pop("type"), "DATASET argument: columns[1].type is missing"),
            (lambda d: d["columns"][1].update(type=7), "DATASET argument: columns[1].type 7 is not a string"),
            (lambda d: d["columns"][5].update(format="yyyy"), "DATASET argument: columns[5].format is for timestamp columns, not decimal(12,3)"),
            (lambda d: d["columns"][6].update(format="yyyy-MM-dd'T'HH:mm:ssXXX"), "DATASET argument: columns[6].format \"yyyy-MM-dd'T'HH:mm:ssXXX\" is not a datetime pattern of yyyy MM dd HH mm ss SSS"),
            (lambda d: d["columns"][6].update(format=""), 'DATASET argument: columns[6].format "" is not a datetime pattern'),
            (lambda d: d["columns"][6].update(format="yyyy''MM"), "DATASET argument: columns[6].format \"yyyy''MM\" is not a datetime pattern"),
            (lambda d: d["columns"][7].update(emptyIsNull="yes"), 'DATASET argument: columns[7].emptyIsNull "yes" is not true or false'),
            (lambda d: d["columns"][3].update(name="Description"), 'DATASET argument: columns[3].name "Description" is not lowercase letters, digits and underscores starting with a letter'),
            (lambda d: d["columns"][3].update(name="stock_code"), 'DATASET argument: columns[3].name "stock_code" is a second column of that name'),
            (lambda d: d["columns"][3].update(attribute=""), "DATASET argument: columns[3].attribute is empty"),
            (lambda d: d["columns"].__setitem__(3, "description"), "DATASET argument: columns[3] is not an object"),
            (lambda d: d.update(columns=[]), "DATASET argument: columns is not a non-empty list of columns"),
            (lambda d: d.update(name="orders-2"), 'DATASET argument: name "orders-2" is not letters, digits and underscores starting with a letter'),
            (lambda d: d.pop("name"), "DATASET argument: name is missing"),
            (lambda d: d.update(key=[]), "DATASET argument: key [] is not a list of 1 or 2 attribute names (partition key, then sort key)"),
            (lambda d: d.update(key=["InvoiceNo", "LineNo", "StockCode"]), 'DATASET argument: key ["InvoiceNo", "LineNo", "StockCode"] is not a list of 1 or 2'),
            (lambda d: d.update(key="InvoiceNo"), 'DATASET argument: key "InvoiceNo" is not a list of 1 or 2'),
            (lambda d: d.update(key=["InvoiceNo", "InvoiceNo"]), 'DATASET argument: key ["InvoiceNo", "InvoiceNo"] names an attribute twice'),
            (lambda d: d.update(key=["InvoiceNo", "SourceFile"]), 'DATASET argument: key[1] "SourceFile" is read into no column: the lake could not tell two items apart'),
            (lambda d: d["partition"].update(column="country"), 'DATASET argument: partition.column "country" is also a column'),
            (lambda d: d["partition"].update(column="Invoice Day"), 'DATASET argument: partition.column "Invoice Day" is not lowercase letters'),
            (lambda d: d["partition"].update(attribute=""), "DATASET argument: partition.attribute is empty"),
            (lambda d: d["partition"].pop("attribute"), "DATASET argument: partition.attribute is missing"),
            (lambda d: d["partition"].update(firstDay="2010-12-32"), 'DATASET argument: partition.firstDay "2010-12-32" is not a day in the form YYYY-MM-DD'),
            (lambda d: d.pop("partition"), "DATASET argument: partition is not an object with column, attribute and firstDay"),
        ]
        for index, (change, error) in enumerate(cases):
            with self.subTest(index=index, error=error):
                message = self.refusal(changed(change))
                self.assertTrue(message.startswith(error), message)
                self.assertEqual(len(message.splitlines()), 1, message)

    def test_lists_every_problem_it_finds(self) -> None:
        description = self.description()
        description["columns"][0]["type"] = "text"
        description["partition"]["firstDay"] = "someday"
        self.assertEqual(
            self.refusal(description).splitlines(),
            [
                'DATASET argument: columns[0].type "text" is not one of string, int, bigint, boolean, timestamp, decimal(p,s)',
                'DATASET argument: partition.firstDay "someday" is not a day in the form YYYY-MM-DD',
            ],
        )


class JobMetricsTest(unittest.TestCase):
    """What a job hands PutMetricData after its commit (a fake client stands in for CloudWatch,
    which cannot run here)."""

    class FakeCloudWatch:
        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def put_metric_data(self, **request: Any) -> dict[str, Any]:
            self.calls.append(request)
            return {}

    def test_publishes_every_figure_in_one_call_with_its_unit_and_both_dimensions(self) -> None:
        client = self.FakeCloudWatch()
        dynalake_glue.publish_job_metrics("dynalake-dev", "orders_to_lake", "orders", {"ChangeObjectsMerged": 3, "RowsWritten": 41, "RunDurationSeconds": 12.5, "LakeFreshnessSeconds": 95.25}, client)
        dimensions = [{"Name": "service", "Value": "orders_to_lake"}, {"Name": "dataset", "Value": "orders"}]
        self.assertEqual(
            client.calls,
            [
                {
                    "Namespace": "dynalake-dev",
                    "MetricData": [
                        {"MetricName": "ChangeObjectsMerged", "Dimensions": dimensions, "Value": 3.0, "Unit": "Count"},
                        {"MetricName": "RowsWritten", "Dimensions": dimensions, "Value": 41.0, "Unit": "Count"},
                        {"MetricName": "RunDurationSeconds", "Dimensions": dimensions, "Value": 12.5, "Unit": "Seconds"},
                        {"MetricName": "LakeFreshnessSeconds", "Dimensions": dimensions, "Value": 95.25, "Unit": "Seconds"},
                    ],
                }
            ],
        )

    def test_refuses_a_figure_that_is_no_job_metric_before_calling_cloudwatch(self) -> None:
        client = self.FakeCloudWatch()
        with self.assertRaisesRegex(ValueError, "^no job metric RowsMerged, Rowz: one of ChangeObjectsMerged, RowsRead, "):
            dynalake_glue.publish_job_metrics("dynalake", "orders_to_lake", "orders", {"Rowz": 1, "RowsMerged": 2, "RowsRead": 3}, client)
        self.assertEqual(client.calls, [])

    def test_names_the_eight_metrics_with_their_units(self) -> None:
        self.assertEqual(
            dynalake_glue.JOB_METRIC_UNITS,
            {
                "ChangeObjectsMerged": "Count",
                "RowsRead": "Count",
                "RowsUpserted": "Count",
                "RowsRemoved": "Count",
                "RowsWritten": "Count",
                "PartitionsRewritten": "Count",
                "RunDurationSeconds": "Seconds",
                "LakeFreshnessSeconds": "Seconds",
            },
        )

    def test_freshness_is_the_age_of_the_newest_change_merged_and_zero_when_none_was(self) -> None:
        self.assertEqual(dynalake_glue.lake_freshness_seconds(1_700_000_000.5, 1_700_000_090.0), 89.5)
        self.assertEqual(dynalake_glue.lake_freshness_seconds(None, 1_700_000_090.0), 0.0)
        # A change stamped after the commit (clock skew) is not fresher than fresh.
        self.assertEqual(dynalake_glue.lake_freshness_seconds(1_700_000_100.0, 1_700_000_090.0), 0.0)


if __name__ == "__main__":
    unittest.main()
