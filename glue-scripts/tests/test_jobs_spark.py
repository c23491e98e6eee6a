"""Each job's Spark transformations on its golden fixture, with a local SparkSession.

Runs with the pinned PySpark of .venv/ (npm test makes it). Where it cannot be installed (a
machine without Python 3.11 or Java) the tests skip and say why; under CI=true, as in CI, a skip
fails the run, so they always run there.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import os
import tempfile
import unittest
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from goldens import GLUE_SCRIPTS, canonical, curated_input, curated_progress_input, load_fixture, load_golden, orders_dataset_argument, rows_as_json

from dynalake_glue import CURATED_ORDERS_DDL, SPARK_SQL_CONF, literal_path, parse_dataset

HAVE_PYSPARK = importlib.util.find_spec("pyspark") is not None
# scripts/test.sh says why .venv/ could not be made; under CI=true the skip fails the run (conftest.py).
SKIP_REASON = "pyspark is not installed: " + os.environ.get("DYNALAKE_SPARK_UNAVAILABLE", "run the tests with .venv/bin/python (bash scripts/python/setup.sh makes it)")

# The orders CDC merge is the generic one with the orders description, as the stack passes it.
ORDERS = parse_dataset(orders_dataset_argument())

CURATED_DTYPES = [
    ("invoice_no", "string"),
    ("line_no", "int"),
    ("stock_code", "string"),
    ("description", "string"),
    ("quantity", "int"),
    ("unit_price", "decimal(12,3)"),
    ("invoice_ts", "timestamp"),
    ("customer_id", "bigint"),
    ("country", "string"),
    ("is_cancellation", "boolean"),
    ("invoice_day", "string"),
]


def order_item(**overrides: Any) -> dict[str, Any]:
    """An orders item as the table holds it (numbers as JSON numbers, the price as text), with
    `overrides`; an override of None leaves the attribute out, as DynamoDB leaves out empty ones."""
    item: dict[str, Any] = {
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
    return {name: value for name, value in item.items() if value is not None}


def change(event: str, sequence: Any, line_no: int = 1, old_day: str = "2010-12-01", **image: Any) -> dict[str, Any]:
    """A change record of item 536365/`line_no`: a new image with `image` (none for a REMOVE) and
    an old image on `old_day` (none for an INSERT). Keys written in the stream's order, not sorted."""
    return {
        "eventName": event,
        "keys": {"LineNo": line_no, "InvoiceNo": "536365"},
        "newImage": None if event == "REMOVE" else order_item(LineNo=line_no, **image),
        "oldImage": None if event == "INSERT" else order_item(LineNo=line_no, InvoiceDay=old_day),
        "sequenceNumber": sequence,
        "approximateCreationTime": 1714564800,
    }


def curated_row(line_no: int, **overrides: Any) -> dict[str, Any]:
    """order_item() as a curated row, in the goldens' form."""
    row: dict[str, Any] = {
        "invoice_no": "536365",
        "line_no": line_no,
        "stock_code": "85123A",
        "description": "WHITE HANGING HEART T-LIGHT HOLDER",
        "quantity": 6,
        "unit_price": "2.550",
        "invoice_ts": "2010-12-01T08:26:00",
        "customer_id": 17850,
        "country": "United Kingdom",
        "is_cancellation": False,
        "invoice_day": "2010-12-01",
    }
    row.update(overrides)
    return row


# A dataset of another shape than orders: a timestamp in the key, milliseconds, a small decimal.
SENSORS_DESCRIPTION: dict[str, Any] = {
    "name": "sensors",
    "key": ["deviceId", "ts"],
    "columns": [
        {"name": "device_id", "attribute": "deviceId", "type": "string"},
        {"name": "ts", "attribute": "ts", "type": "timestamp", "format": "yyyy-MM-dd HH:mm:ss.SSS"},
        {"name": "reading", "attribute": "reading", "type": "bigint"},
        {"name": "temperature", "attribute": "temperature", "type": "decimal(5,2)"},
        {"name": "ok", "attribute": "ok", "type": "boolean"},
        {"name": "label", "attribute": "label", "type": "string", "emptyIsNull": True},
    ],
    "partition": {"column": "day", "attribute": "Day", "firstDay": "2024-05-01"},
}
SENSORS = parse_dataset(json.dumps(SENSORS_DESCRIPTION))
SENSORS_DTYPES = [("device_id", "string"), ("ts", "timestamp"), ("reading", "bigint"), ("temperature", "decimal(5,2)"), ("ok", "boolean"), ("label", "string"), ("day", "string")]
T1, T2, T3, T4 = "2024-05-01 12:00:00.000", "2024-05-01 12:00:00.250", "2024-05-02 00:00:01.999", "2024-05-01 23:59:59.001"


def sensor_item(ts: str = T1, device: str = "dev-1", **overrides: Any) -> dict[str, Any]:
    """A sensors item (numbers as JSON numbers, the temperature as text) with `overrides`; an
    override of None leaves the attribute out."""
    item: dict[str, Any] = {"deviceId": device, "ts": ts, "reading": 7, "temperature": "21.50", "ok": True, "label": "roof", "Day": ts[:10]}
    item.update(overrides)
    return {name: value for name, value in item.items() if value is not None}


def sensor_change(event: str, sequence: str, ts: str = T1, device: str = "dev-1", old_day: str | None = None, **image: Any) -> dict[str, Any]:
    """A change record of sensor reading `device`/`ts`: a new image with `image` (none for a
    REMOVE) and an old image on `old_day` (none for an INSERT)."""
    return {
        "eventName": event,
        "keys": {"ts": ts, "deviceId": device},
        "newImage": None if event == "REMOVE" else sensor_item(ts, device, **image),
        "oldImage": None if event == "INSERT" else sensor_item(ts, device, Day=old_day or ts[:10]),
        "sequenceNumber": sequence,
        "approximateCreationTime": 1714564800,
    }


def sensor_row(ts: str = T1, device: str = "dev-1", **overrides: Any) -> dict[str, Any]:
    """sensor_item() as a lake row, as sensor_rows() gives them."""
    row: dict[str, Any] = {"device_id": device, "ts": ts, "reading": 7, "temperature": "21.50", "ok": True, "label": "roof", "day": ts[:10]}
    row.update(overrides)
    return row


def sensor_rows(frame: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Lake rows of SENSORS by key, times with their milliseconds (formatted by Spark in UTC)."""
    from pyspark.sql import functions as F

    rows = frame.withColumn("ts", F.date_format("ts", "yyyy-MM-dd HH:mm:ss.SSS")).collect()
    by_key = {(row["device_id"], row["ts"]): {name: str(value) if isinstance(value, Decimal) else value for name, value in row.asDict().items()} for row in rows}
    assert len(by_key) == len(rows), "one row per key"
    return by_key


@unittest.skipUnless(HAVE_PYSPARK, SKIP_REASON)
class SparkJobsTest(unittest.TestCase):
    spark: Any
    scratch: tempfile.TemporaryDirectory[str]

    @classmethod
    def setUpClass(cls) -> None:
        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master("local[2]")
            .appName("dynalake-glue-tests")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.enabled", "false")
        )
        for name, value in SPARK_SQL_CONF.items():
            builder = builder.config(name, value)
        cls.spark = builder.getOrCreate()
        # As --extra-py-files does on Glue: Python workers import the helpers (and the job modules,
        # whose UDFs the tests pickle by reference).
        # Imported first: addPyFile also puts its copy of each file ahead on the driver's path, and
        # the driver must run (and the coverage gate measure) the scripts of glue-scripts/ themselves.
        for module in ("dynalake_glue", "dataset_to_lake", "campaign_progress", "csv_to_dynamodb", "sales_star_schema"):
            importlib.import_module(module)
            cls.spark.sparkContext.addPyFile(str(GLUE_SCRIPTS / f"{module}.py"))
        cls.scratch = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.spark.stop()
        cls.scratch.cleanup()

    def write_json_lines(self, folder: str, records: list[dict[str, Any]]) -> str:
        """Records as a gzipped JSON-lines object, laid out as the CDC prefix is (dt= folders)."""
        path = Path(self.scratch.name) / folder / "dt=2024-05-01" / "shard-000-batch.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as file:
            file.writelines(json.dumps(record) + "\n" for record in records)
        return str(Path(self.scratch.name) / folder)

    def curated(self, rows: list[dict[str, Any]]) -> Any:
        return self.spark.createDataFrame([curated_input(row) for row in rows], CURATED_ORDERS_DDL)

    def test_orders_to_lake_merges_the_batch_into_the_touched_partitions(self) -> None:
        import dataset_to_lake
        from pyspark.sql import functions as F

        given, expected = load_golden("orders_to_lake")
        changes = self.spark.read.json(self.write_json_lines("orders", given["changes"]))
        current = self.curated(given["current"])
        rows, days = dataset_to_lake.transform_cdc(ORDERS, changes, current)
        self.assertEqual(days, expected["rewritten_partitions"])
        self.assertTrue(expected["emptied_partitions"], "the golden must exercise a partition that a move leaves empty")
        self.assertEqual(rows.dtypes, CURATED_DTYPES)
        written = rows_as_json(rows)
        self.assertTrue(all(row["invoice_day"] in days for row in written))
        self.assertEqual([day for day in days if day not in {row["invoice_day"] for row in written}], expected["emptied_partitions"])
        # What the lake holds after the job: untouched partitions as they were, touched ones rewritten.
        table = current.where(~F.col(ORDERS.partition.column).isin(days)).unionByName(rows)
        self.assertEqual(canonical(rows_as_json(table)), canonical(expected["rows"]))

    def test_orders_to_lake_takes_a_batch_of_inserts_only(self) -> None:
        import dataset_to_lake

        given, _expected = load_golden("orders_to_lake")
        inserts = [record for record in given["changes"] if record["eventName"] == "INSERT"]
        # With no MODIFY or REMOVE, the reader has no struct type for oldImage at all.
        changes = self.spark.read.json(self.write_json_lines("orders-inserts", inserts))
        rows, days = dataset_to_lake.transform_cdc(ORDERS, changes, self.curated([]))
        self.assertEqual(days, sorted({record["newImage"]["InvoiceDay"] for record in inserts}))
        # 536371/1 is inserted here and never removed: every insert lands.
        self.assertEqual(len(rows_as_json(rows)), len(inserts))

    def test_orders_to_lake_backfill_curates_export_items(self) -> None:
        import dataset_to_lake

        given, expected = load_golden("orders_to_lake")
        # The inserts whose prices are JSON numbers (27.5, -11062.06, 38970): read as doubles.
        images = [record["newImage"] for record in given["changes"] if record["eventName"] == "INSERT" and not isinstance(record["newImage"]["UnitPrice"], str)]
        items = self.spark.read.json(self.write_json_lines("orders-export", images))
        self.assertEqual(dict(items.dtypes)["UnitPrice"], "double")
        rows = dataset_to_lake.curated_rows(ORDERS, items)
        self.assertEqual(rows.dtypes, CURATED_DTYPES)
        by_key = {(row["invoice_no"], row["line_no"]): row for row in expected["rows"]}
        for row in rows_as_json(rows):
            self.assertEqual(row, by_key[(row["invoice_no"], row["line_no"])])

    def read_records(self, name: str, records: list[dict[str, Any]]) -> Any:
        """Records read as the jobs read JSON: each field's type is what its values have in common."""
        return self.spark.read.json(self.write_json_lines(name, records))

    def test_orders_to_lake_converts_numbers_exactly_whether_text_or_json_numbers(self) -> None:
        import dataset_to_lake

        prices = {"0.001": "0.001", "-11062.06": "-11062.060", "38970": "38970.000", "2.1": "2.100", "999999999.999": "999999999.999"}
        # As text, DynamoDB's own form: every number of these items is a string.
        text = [
            order_item(LineNo="1", Quantity="6", CustomerID="17850", UnitPrice="2.55"),
            *(order_item(LineNo=str(line_no), Quantity="6", CustomerID="17850", UnitPrice=price) for line_no, price in enumerate(prices, start=2)),
            order_item(LineNo="7", Quantity="-12", CustomerID="12583", UnitPrice="2.55"),
            order_item(LineNo="8", Quantity="6.0", CustomerID="17850", UnitPrice="2.55"),
            order_item(LineNo="9", Quantity="6", CustomerID=None, UnitPrice="2.55"),  # absent
            {**order_item(LineNo="10", Quantity="6", UnitPrice="2.55"), "CustomerID": None},  # null
            order_item(LineNo="11", Quantity="6", CustomerID="", UnitPrice="2.55"),
            order_item(LineNo="12", Quantity="6", CustomerID="17850", UnitPrice="2.55", Description=None, Country=None),
        ]
        rows = dataset_to_lake.curated_rows(ORDERS, self.read_records("orders-numbers-as-text", text))
        self.assertEqual(rows.dtypes, CURATED_DTYPES)
        by_line = {row["line_no"]: row for row in rows_as_json(rows)}
        self.assertEqual(sorted(by_line), list(range(1, 13)))
        self.assertEqual(by_line[1], curated_row(1))
        for line_no, (written, expected) in enumerate(prices.items(), start=2):
            with self.subTest(price=written):
                self.assertEqual(by_line[line_no]["unit_price"], expected)
        self.assertEqual((by_line[7]["quantity"], by_line[7]["customer_id"]), (-12, 12583))
        self.assertEqual(by_line[8]["quantity"], 6)
        for line_no in (9, 10, 11):
            with self.subTest(customer=text[line_no - 1].get("CustomerID", "absent")):
                self.assertIsNone(by_line[line_no]["customer_id"])
        self.assertEqual((by_line[12]["description"], by_line[12]["country"]), (None, None))

        # As JSON numbers the reader parses as binary (a double column): still the written decimals,
        # never the binary value (2.1 is 2.100000000000000088817841970012523... as a double). No
        # item has a CustomerID, Description or Country: the reader has no such column at all.
        numbers = [
            order_item(LineNo=line_no, Quantity=6.0 if line_no == 1 else 3, UnitPrice=float(price), CustomerID=None, Description=None, Country=None)
            for line_no, price in enumerate(prices, start=1)
        ]
        items = self.read_records("orders-numbers-as-json-numbers", numbers)
        self.assertEqual((dict(items.dtypes)["UnitPrice"], dict(items.dtypes)["Quantity"]), ("double", "double"))
        self.assertFalse({"CustomerID", "Description", "Country"} & set(items.columns))
        collected = {row["line_no"]: row for row in dataset_to_lake.curated_rows(ORDERS, items).collect()}
        for line_no, expected in enumerate(prices.values(), start=1):
            with self.subTest(price=expected):
                self.assertEqual(str(collected[line_no]["unit_price"]), expected)
        self.assertEqual(collected[4]["unit_price"] * collected[4]["quantity"], Decimal("6.3"))
        self.assertEqual(collected[1]["quantity"], 6)
        self.assertEqual({(row["customer_id"], row["description"], row["country"]) for row in collected.values()}, {(None, None, None)})

    def test_orders_to_lake_refuses_a_value_it_cannot_hold_as_written(self) -> None:
        import dataset_to_lake

        cases = [
            # Prices the column would round, or cannot hold.
            ("UnitPrice", "0.0015", "UnitPrice 0.0015 does not fit DECIMAL(12,3) exactly"),
            ("UnitPrice", 0.0015, "UnitPrice 0.0015 does not fit DECIMAL(12,3) exactly"),
            # Text is compared exactly, never through a float (which would make both of these fit).
            ("UnitPrice", "0.0010000000000000001", "UnitPrice 0.0010000000000000001 does not fit DECIMAL(12,3) exactly"),
            ("UnitPrice", "1.0000000000000001E0", "UnitPrice 1.0000000000000001E0 does not fit DECIMAL(12,3) exactly"),
            ("UnitPrice", "-1000000000", "UnitPrice -1000000000 does not fit DECIMAL(12,3) exactly"),
            ("UnitPrice", "NaN", "UnitPrice NaN does not fit"),
            ("UnitPrice", "Infinity", "UnitPrice Infinity does not fit"),
            ("UnitPrice", "1_000", "UnitPrice 1_000 does not fit"),
            ("UnitPrice", "", "UnitPrice  does not fit"),
            ("UnitPrice", "two", "UnitPrice two does not fit"),
            # A boolean is not a number.
            ("UnitPrice", True, "UnitPrice true does not fit"),
            ("Quantity", True, "Quantity true is not a whole number"),
            # A whole number written with a fraction.
            ("Quantity", "6.5", "Quantity 6.5 is not a whole number"),
            # A day in another form (refused.json has 2010-12-3).
            ("InvoiceDay", "20101201", "InvoiceDay 20101201 is not a day in the form YYYY-MM-DD"),
        ]
        for index, (field, value, error) in enumerate(cases):
            with self.subTest(field=field, value=value):
                items = self.read_records(f"orders-refused-value-{index}", [order_item(**{field: value})])
                with self.assertRaises(Exception) as raised:
                    dataset_to_lake.curated_rows(ORDERS, items).collect()
                self.assertIn(f"orders change 536365/1: {error}", str(raised.exception))

    def test_orders_to_lake_keeps_the_latest_change_of_each_key(self) -> None:
        import dataset_to_lake

        current = self.curated([curated_row(line_no) for line_no in (1, 2, 3, 4, 5, 6, 9, 10)] + [curated_row(11, invoice_day="2010-12-02")])
        changes = [
            # Sequence numbers compared as integers: as text, 999... sorts after 1000....
            change("MODIFY", "1000000000000000000000", 1, Quantity=8),
            change("MODIFY", "999999999999999999999", 1, Quantity=12),
            change("MODIFY", "999999999999999999999", 2, Quantity=12),
            change("MODIFY", "1000000000000000000000", 2, Quantity=8),
            # 40 digits, beyond any Spark integer type.
            change("MODIFY", "1" + "0" * 39, 3, Quantity=8),
            change("MODIFY", "9" * 38, 3, Quantity=12),
            change("MODIFY", "100", 4, Quantity=8),
            change("REMOVE", "200", 4),
            change("MODIFY", "300", 5, Quantity=8),
            change("INSERT", "250", 5, Quantity=6),
            # A tie (DynamoDB never makes one) goes to the record read later.
            change("MODIFY", "500", 6, Quantity=1),
            change("MODIFY", "500", 6, Quantity=2),
            change("INSERT", "1", 7, Quantity=5),
            change("INSERT", "2", 8, Quantity=5),
            change("MODIFY", "3", 7, Quantity=9),
            # A move to another day; a removal from a day nothing else in the batch names.
            change("MODIFY", "1", 10, InvoiceDate="2010-12-05T08:26:00", InvoiceDay="2010-12-05", Quantity=10),
            change("REMOVE", "1", 11, old_day="2010-12-02"),
        ]
        rows, days = dataset_to_lake.transform_cdc(ORDERS, self.read_records("orders-latest-wins", changes), current)
        # The old and the new day of the move; the day of the removed row, left empty.
        self.assertEqual(days, ["2010-12-01", "2010-12-02", "2010-12-05"])
        written = rows_as_json(rows)
        by_line = {row["line_no"]: row for row in written}
        self.assertEqual(len(written), len(by_line), "one row per key")
        self.assertEqual(rows.dtypes, CURATED_DTYPES)
        expected = {
            "greater sequence number read first": (1, 8),
            "greater sequence number read last": (2, 8),
            "40 digits": (3, 8),
            "REMOVE after MODIFY deletes": (4, None),
            "an INSERT with a lower sequence number than the MODIFY": (5, 8),
            "a tie goes to the later record": (6, 2),
            "inserted, then modified": (7, 9),
            "inserted": (8, 5),
            "a row the batch does not name, in a touched day": (9, 6),
            "moved": (10, 10),
            "removed": (11, None),
        }
        for case, (line_no, quantity) in expected.items():
            with self.subTest(case=case):
                self.assertEqual(by_line[line_no]["quantity"] if line_no in by_line else None, quantity)
        self.assertEqual(by_line[10], curated_row(10, quantity=10, invoice_ts="2010-12-05T08:26:00", invoice_day="2010-12-05"))
        self.assertEqual(by_line[9], curated_row(9))

    def test_orders_to_lake_refuses_a_change_it_cannot_order_or_place(self) -> None:
        import dataset_to_lake

        cases = [
            # Sequence numbers are decimal strings of at most 64 digits (the stream bridge's codec);
            # anything else would be padded and compared as text, out of order.
            (change("MODIFY", "12a"), "orders change 536365/1: sequenceNumber 12a is not a decimal string"),
            (change("MODIFY", ""), "orders change 536365/1: sequenceNumber  is not a decimal string"),
            (change("MODIFY", "-1"), "orders change 536365/1: sequenceNumber -1 is not a decimal string"),
            (change("MODIFY", 12), "orders change 536365/1: sequenceNumber 12 is not a decimal string"),
            (change("MODIFY", "1" * 65), f"orders change 536365/1: sequenceNumber {'1' * 65} is not a decimal string"),
            ({**change("MODIFY", "1"), "eventName": "TRUNCATE"}, "orders change 536365/1: eventName TRUNCATE is not INSERT, MODIFY or REMOVE"),
            # Without its old image, a change cannot be placed in the partition that holds the row.
            ({**change("REMOVE", "1"), "oldImage": None}, "have no old image: the stream must send NEW_AND_OLD_IMAGES"),
        ]
        for index, (record, error) in enumerate(cases):
            with self.subTest(error=error):
                changes = self.read_records(f"orders-refused-change-{index}", [record])
                with self.assertRaises(Exception) as raised:
                    rows, _days = dataset_to_lake.transform_cdc(ORDERS, changes, self.curated([curated_row(1)]))
                    rows.collect()
                self.assertIn(error, str(raised.exception))

    def test_orders_to_lake_fails_on_every_value_the_twin_refuses(self) -> None:
        import dataset_to_lake

        refused = load_fixture("etl/orders_to_lake/refused.json")["cases"]
        for index, case in enumerate(refused):
            with self.subTest(case=case["case"]):
                changes = self.spark.read.json(self.write_json_lines(f"orders-refused-{index}", [case["record"]]))
                with self.assertRaises(Exception) as raised:
                    rows, _days = dataset_to_lake.transform_cdc(ORDERS, changes, self.curated([]))
                    rows.collect()
                message = str(raised.exception)
                self.assertIn(case["error"], message)
                if "InvoiceDay" not in case["error"]:
                    self.assertIn("orders change 536370/1: ", message)

    def sensors_lake(self, rows: list[dict[str, Any]]) -> Any:
        import dataset_to_lake

        converted = [{**row, "ts": datetime.strptime(row["ts"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc), "temperature": Decimal(row["temperature"])} for row in rows]
        return self.spark.createDataFrame(converted, dataset_to_lake.lake_schema(SENSORS))

    def test_orders_to_lake_lake_schema_is_the_curated_orders_table(self) -> None:
        import dataset_to_lake

        self.assertEqual(dataset_to_lake.lake_schema(ORDERS), self.spark.createDataFrame([], CURATED_ORDERS_DDL).schema)
        self.assertEqual([(field.name, field.dataType.simpleString()) for field in dataset_to_lake.lake_schema(SENSORS).fields], SENSORS_DTYPES)

    def test_orders_to_lake_merges_the_changes_of_another_dataset(self) -> None:
        import dataset_to_lake

        current = self.sensors_lake([sensor_row(T1, reading=1), sensor_row(T2, reading=2), sensor_row(T3, reading=3), sensor_row(T1, "dev-2", reading=4)])
        changes = [
            # Latest wins by sequence number, whatever the read order.
            sensor_change("MODIFY", "20", T1, reading=10),
            sensor_change("MODIFY", "19", T1, reading=11),
            sensor_change("REMOVE", "5", T2),
            # A move from one day to another, the old one left empty.
            sensor_change("MODIFY", "7", T3, old_day="2024-05-02", Day="2024-05-04", reading=30),
            # An empty label is no label (emptyIsNull); the temperature as a JSON number, negative.
            sensor_change("INSERT", "8", T4, label="", temperature=-3.5, ok=False),
            # Same time, another device: another key.
            sensor_change("INSERT", "9", T1, "dev-3", reading=5),
        ]
        rows, days = dataset_to_lake.transform_cdc(SENSORS, self.read_records("sensors-latest-wins", changes), current)
        self.assertEqual(days, ["2024-05-01", "2024-05-02", "2024-05-04"])
        self.assertEqual(rows.dtypes, SENSORS_DTYPES)
        self.assertEqual(
            sensor_rows(rows),
            {
                ("dev-1", T1): sensor_row(T1, reading=10),
                ("dev-1", T3): sensor_row(T3, reading=30, day="2024-05-04"),
                ("dev-1", T4): sensor_row(T4, temperature="-3.50", ok=False, label=None),
                ("dev-3", T1): sensor_row(T1, "dev-3", reading=5),
                # A row of a touched day the batch does not name stays; dev-1/T2 is removed.
                ("dev-2", T1): sensor_row(T1, "dev-2", reading=4),
            },
        )

    def test_orders_to_lake_refuses_another_datasets_values_with_its_names(self) -> None:
        import dataset_to_lake

        what = f"sensors change dev-1/{T1}: "
        cases = [
            (sensor_change("INSERT", "1", reading=6.5), f"{what}reading 6.5 is not a whole number"),
            # emptyIsNull is the label's, not the reading's.
            (sensor_change("INSERT", "1", reading=""), f"{what}reading  is not a whole number"),
            (sensor_change("INSERT", "1", temperature="21.255"), f"{what}temperature 21.255 does not fit DECIMAL(5,2) exactly"),
            (sensor_change("INSERT", "1", temperature=21.255), f"{what}temperature 21.255 does not fit DECIMAL(5,2) exactly"),
            (sensor_change("INSERT", "1", temperature="1000"), f"{what}temperature 1000 does not fit DECIMAL(5,2) exactly"),
            (sensor_change("INSERT", "1", ok="true"), f"{what}ok true is not a boolean"),
            (sensor_change("INSERT", "1", ok=None), f"{what}ok null is not a boolean"),
            ({**sensor_change("INSERT", "1"), "newImage": sensor_item(ts="2024-05-01T12:00:00")}, "sensors change dev-1/2024-05-01T12:00:00: ts 2024-05-01T12:00:00 is not a time in the form YYYY-MM-DD HH:MM:SS.SSS"),
            (sensor_change("INSERT", "1", ts="2024-05-01 12:00:00"), "sensors change dev-1/2024-05-01 12:00:00: keys.ts 2024-05-01 12:00:00 is not a time in the form YYYY-MM-DD HH:MM:SS.SSS"),
            (sensor_change("INSERT", "1", Day="2024-5-1"), 'a change record\'s Day "2024-5-1" is not a day in the form YYYY-MM-DD'),
            (sensor_change("INSERT", "1x"), f"{what}sequenceNumber 1x is not a decimal string"),
            ({**sensor_change("INSERT", "1"), "keys": {"ts": T1}}, f"sensors change ?/{T1}: a change record has no keys.deviceId or keys.ts"),
        ]
        for index, (record, error) in enumerate(cases):
            with self.subTest(error=error):
                changes = self.read_records(f"sensors-refused-{index}", [record])
                with self.assertRaises(Exception) as raised:
                    rows, _days = dataset_to_lake.transform_cdc(SENSORS, changes, self.sensors_lake([]))
                    rows.collect()
                self.assertIn(error, str(raised.exception))

    def test_orders_to_lake_takes_a_json_number_as_a_decimal_only_when_a_double_gives_it_back(self) -> None:
        import dataset_to_lake

        def with_temperature(type_name: str) -> Any:
            columns = [{**column, "type": type_name} if column["name"] == "temperature" else column for column in SENSORS_DESCRIPTION["columns"]]
            return parse_dataset(json.dumps({**SENSORS_DESCRIPTION, "columns": columns}))

        cases = {
            "decimal(5,2)": (["123.45", "2.1", "-999.99", "0.01", "0"], ["21.255", "0.001", "1000.0", "999.995"]),
            # Past 15 significant digits a double no longer tells which decimal was written:
            # 12345678901234567.89 reads as the double of 12345678901234568. Java 17 writes the
            # double of 282879384806159000 as 2.82879384806159008E17: still 282879384806159000.
            "decimal(20,2)": (["123.45", "9999999999999.99", "123456789012345", "-0.5", "282879384806159000"], ["12345678901234567.89", "123.456", "0.30000000000000004", "1e18"]),
        }
        for type_name, (accepted, refused) in cases.items():
            dataset = with_temperature(type_name)
            # Written as JSON numbers (json.dumps writes them back as they are written here).
            json_numbers = [sensor_item(f"2024-05-01 12:00:00.{index:03d}", temperature=json.loads(number)) for index, number in enumerate(accepted)]
            items = self.read_records(f"sensors-doubles-{type_name}", [{**item, "temperature": float(item["temperature"])} for item in json_numbers])
            self.assertEqual(dict(items.dtypes)["temperature"], "double")
            got = {row["ts"]: row["temperature"] for row in sensor_rows(dataset_to_lake.curated_rows(dataset, items)).values()}
            precision, scale = dataset.columns[3].decimal
            for index, number in enumerate(accepted):
                with self.subTest(type=type_name, accepted=number):
                    self.assertEqual(Decimal(got[f"2024-05-01 12:00:00.{index:03d}"]), Decimal(number))
                    self.assertEqual(-Decimal(got[f"2024-05-01 12:00:00.{index:03d}"]).as_tuple().exponent, scale)
            for index, number in enumerate(refused):
                with self.subTest(type=type_name, refused=number):
                    path = self.write_json_lines(f"sensors-doubles-{type_name}-refused-{index}", [])
                    # Written by hand: the JSON number exactly as given, not as a Python float prints it.
                    file = next(Path(path).rglob("*.json.gz"))
                    with gzip.open(file, "wt", encoding="utf-8") as output:
                        output.write(json.dumps(sensor_item(temperature="@")).replace('"@"', number) + "\n")
                    items = self.spark.read.json(path)
                    self.assertEqual(dict(items.dtypes)["temperature"], "double")
                    with self.assertRaises(Exception) as raised:
                        dataset_to_lake.curated_rows(dataset, items).collect()
                    self.assertIn(f"sensors change dev-1/{T1}: temperature ", str(raised.exception))
                    self.assertIn(f" does not fit DECIMAL({precision},{scale}) exactly", str(raised.exception))

    def test_orders_to_lake_refuses_a_key_it_cannot_read_as_its_column(self) -> None:
        import dataset_to_lake

        cases = [
            # A plain cast would have keyed this change as line 6.
            ({**change("MODIFY", "1", 6), "keys": {"InvoiceNo": "536365", "LineNo": 6.5}}, "orders change 536365/6.5: keys.LineNo 6.5 is not a whole number"),
            ({**change("MODIFY", "1"), "keys": {"InvoiceNo": "536365"}}, "orders change 536365/?: a change record has no keys.InvoiceNo or keys.LineNo"),
            ({**change("MODIFY", "1"), "keys": {"LineNo": 1, "InvoiceNo": None}}, "orders change ?/1: a change record has no keys.InvoiceNo or keys.LineNo"),
        ]
        for index, (record, error) in enumerate(cases):
            with self.subTest(error=error):
                changes = self.read_records(f"orders-refused-key-{index}", [change("MODIFY", "2", 2), record])
                with self.assertRaises(Exception) as raised:
                    rows, _days = dataset_to_lake.transform_cdc(ORDERS, changes, self.curated([curated_row(1), curated_row(2)]))
                    rows.collect()
                self.assertIn(error, str(raised.exception))

    def test_orders_to_lake_merges_a_dataset_of_one_key_attribute(self) -> None:
        import dataset_to_lake

        meters = parse_dataset(
            json.dumps(
                {
                    "name": "meters",
                    "key": ["meterId"],
                    "columns": [{"name": "meter_id", "attribute": "meterId", "type": "string"}, {"name": "reading", "attribute": "reading", "type": "int"}],
                    "partition": {"column": "day", "attribute": "Day", "firstDay": "2024-05-01"},
                }
            )
        )
        self.assertEqual(meters.job, "meters_to_lake")

        def record(sequence: str, meter: str | None, reading: Any) -> dict[str, Any]:
            image = {"meterId": meter, "reading": reading, "Day": "2024-05-01"}
            return {"eventName": "MODIFY", "keys": {"meterId": meter}, "newImage": image, "oldImage": image, "sequenceNumber": sequence, "approximateCreationTime": 1}

        current = self.spark.createDataFrame([("m-1", 1, "2024-05-01"), ("m-2", 2, "2024-05-01")], dataset_to_lake.lake_schema(meters))
        changes = self.read_records("meters", [record("2", "m-1", 12), record("3", "m-1", 13), record("1", "m-1", 11)])
        rows, days = dataset_to_lake.transform_cdc(meters, changes, current)
        self.assertEqual(days, ["2024-05-01"])
        self.assertEqual(sorted(rows.collect()), [("m-1", 13, "2024-05-01"), ("m-2", 2, "2024-05-01")])
        for index, (bad, error) in enumerate([(record("1", "m-1", "x"), "meters change m-1: reading x is not a whole number"), (record("1", None, 1), "meters change ?: a change record has no keys.meterId")]):
            with self.subTest(error=error):
                with self.assertRaises(Exception) as raised:
                    rows, _days = dataset_to_lake.transform_cdc(meters, self.read_records(f"meters-refused-{index}", [bad]), current)
                    rows.collect()
                self.assertIn(error, str(raised.exception))
                self.assertNotIn("/", str(raised.exception).split(error)[0][-40:])

    def campaign_changes(self, name: str, records: list[dict[str, Any]], schema: Any) -> Any:
        import campaign_progress

        folder = Path(self.write_json_lines(name, records))
        return campaign_progress.read_changes(self.spark, [str(path) for path in sorted(folder.rglob("*.json.gz"))], schema)

    def test_campaign_progress_explodes_tasks_and_joins_the_campaigns(self) -> None:
        import campaign_progress

        given, expected = load_golden("campaign_progress")
        user_changes = self.campaign_changes("user_Campaign", given["user_campaign_changes"], campaign_progress.USER_CAMPAIGN_CHANGES)
        campaigns = campaign_progress.latest_images(self.campaign_changes("campaignInfo", given["campaign_info_changes"], campaign_progress.CAMPAIGN_INFO_CHANGES), ["campaignID"])
        current = self.spark.createDataFrame([], campaign_progress.CAMPAIGN_PROGRESS_DDL)
        days = campaign_progress.touched_days(user_changes, [], current)
        # 2024-02-04 is USR-000004's day: touched by its REMOVE, left empty, so deleted.
        self.assertEqual(days, ["2024-01-10", "2024-01-31", "2024-02-03", "2024-02-04", "2024-02-10"])
        rows = campaign_progress.merge_progress(user_changes, campaigns, current, days)
        self.assertEqual(
            rows.dtypes,
            [
                ("user_id", "string"),
                ("campaign_id", "string"),
                ("campaign_title", "string"),
                ("user_campaign_state", "string"),
                ("total_task_rewards_earned", "decimal(12,2)"),
                ("task_id", "string"),
                ("task_state", "string"),
                ("validated_at", "timestamp"),
                ("validation_failure_reason", "string"),
                ("reward_earned", "decimal(12,2)"),
                ("task_deadline", "timestamp"),
                ("reward_amount", "decimal(12,2)"),
                ("created_at", "timestamp"),
                ("updated_at", "timestamp"),
                ("created_day", "string"),
            ],
        )
        self.assertEqual(canonical(rows_as_json(rows)), canonical(expected["rows"]))

    def test_campaign_progress_fails_on_every_value_the_twin_refuses(self) -> None:
        import campaign_progress

        for index, case in enumerate(load_fixture("etl/campaign_progress/refused.json")["cases"]):
            with self.subTest(case=case["case"]):
                user_changes = self.campaign_changes(f"user_Campaign-refused-{index}", case["user_campaign_changes"], campaign_progress.USER_CAMPAIGN_CHANGES)
                campaigns = campaign_progress.latest_images(self.campaign_changes(f"campaignInfo-refused-{index}", case["campaign_info_changes"], campaign_progress.CAMPAIGN_INFO_CHANGES), ["campaignID"])
                current = self.spark.createDataFrame([], campaign_progress.CAMPAIGN_PROGRESS_DDL)
                with self.assertRaises(Exception) as raised:
                    days = campaign_progress.touched_days(user_changes, [], current)
                    campaign_progress.merge_progress(user_changes, campaigns, current, days).collect()
                self.assertIn(case["error"], str(raised.exception))
                self.assertIn(f"{case['who']}: ", str(raised.exception))

    def test_campaign_progress_rewrites_only_what_a_later_batch_touches(self) -> None:
        import campaign_progress

        given, expected = load_golden("campaign_progress")
        current = self.spark.createDataFrame([curated_progress_input(row) for row in expected["rows"]], campaign_progress.CAMPAIGN_PROGRESS_DDL)
        campaigns = campaign_progress.latest_images(self.campaign_changes("campaignInfo-all", given["campaign_info_changes"], campaign_progress.CAMPAIGN_INFO_CHANGES), ["campaignID"])
        first = next(row for row in expected["rows"] if row["user_id"] == "USR-000001")
        # USR-000001 leaves (REMOVE): only its day is rewritten, without it.
        old_image = next(record["newImage"] for record in reversed(given["user_campaign_changes"]) if record["keys"]["userID"] == "USR-000001" and record["newImage"])
        removal = [{"eventName": "REMOVE", "keys": {"userID": "USR-000001", "campaignID": first["campaign_id"]}, "sequenceNumber": "99999", "approximateCreationTime": 1.0, "newImage": None, "oldImage": old_image}]
        user_changes = self.campaign_changes("user_Campaign-removal", removal, campaign_progress.USER_CAMPAIGN_CHANGES)
        days = campaign_progress.touched_days(user_changes, [], current)
        self.assertEqual(days, [first["created_day"]])
        rows = rows_as_json(campaign_progress.merge_progress(user_changes, campaigns, current, days))
        self.assertEqual(canonical(rows), canonical([row for row in expected["rows"] if row["created_day"] == first["created_day"] and row["user_id"] != "USR-000001"]))

        # A campaign renamed: the days of its users are rewritten with the new title, nothing else changes.
        renamed_campaign = first["campaign_id"]
        latest = next(record for record in reversed(given["campaign_info_changes"]) if record["keys"]["campaignID"] == renamed_campaign and record["newImage"])
        rename = [{**latest, "eventName": "MODIFY", "sequenceNumber": "99999", "oldImage": latest["newImage"], "newImage": {**latest["newImage"], "title": "Renamed"}}]
        new_campaign_changes = self.campaign_changes("campaignInfo-rename", rename, campaign_progress.CAMPAIGN_INFO_CHANGES)
        campaigns = campaign_progress.latest_images(
            self.campaign_changes("campaignInfo-all-2", given["campaign_info_changes"], campaign_progress.CAMPAIGN_INFO_CHANGES).unionByName(new_campaign_changes), ["campaignID"]
        )
        no_users = self.campaign_changes("user_Campaign-none", [], campaign_progress.USER_CAMPAIGN_CHANGES)
        days = campaign_progress.touched_days(no_users, [renamed_campaign], current)
        self.assertEqual(days, sorted({row["created_day"] for row in expected["rows"] if row["campaign_id"] == renamed_campaign}))
        rows = rows_as_json(campaign_progress.merge_progress(no_users, campaigns, current, days))
        expected_rows = [{**row, "campaign_title": "Renamed"} if row["campaign_id"] == renamed_campaign else row for row in expected["rows"] if row["created_day"] in days]
        self.assertEqual(canonical(rows), canonical(expected_rows))

    def test_csv_to_dynamodb_writes_one_item_per_distinct_row(self) -> None:
        import csv_to_dynamodb

        given, expected = load_golden("csv_to_dynamodb")
        # A name with glob characters, as an upload may have.
        path = Path(self.scratch.name) / "raw" / "online retail [2010].csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        # With a short row and a long one after the golden's rows: rejected, as the twin rejects them.
        path.write_bytes((given["csv"].rstrip("\n") + "\n536999,22728\n536999,22728,X,1,2010-12-01T08:26:00,1.5,17850,France,extra\n").encode("iso-8859-1"))
        rows, rejected = csv_to_dynamodb.split_rejects(csv_to_dynamodb.read_orders_csv(self.spark, literal_path(str(path))))
        self.assertEqual(sorted(row[0] for row in rejected.select(csv_to_dynamodb.CORRUPT_RECORD).collect()), ["536999,22728", "536999,22728,X,1,2010-12-01T08:26:00,1.5,17850,France,extra"])
        items = csv_to_dynamodb.to_items(rows, given["source_file"], given["ingestion_timestamp"])
        # An empty value is no attribute of the item.
        actual = [{name: value for name, value in item.items() if value is not None} for item in rows_as_json(items)]
        self.assertEqual(canonical(actual), canonical(expected["items"]))

    def test_csv_to_dynamodb_names_missing_columns(self) -> None:
        import csv_to_dynamodb

        rows = self.spark.createDataFrame([("536365", "85123A")], "InvoiceNo STRING, StockCode STRING")
        with self.assertRaisesRegex(ValueError, "Description"):
            csv_to_dynamodb.to_items(rows, "raw/partial.csv", "2024-05-01T12:00:00.000Z")

    def test_sales_star_schema_builds_the_fact_and_dimensions(self) -> None:
        import sales_star_schema

        given, expected = load_golden("sales_star_schema")
        tables = sales_star_schema.build_star(self.curated(given["orders"]))
        self.assertEqual(sorted(tables), sorted(name for name in expected if name != "description"))
        # The tables a run checks are in place before it skips an unchanged build.
        self.assertEqual(tuple(tables), sales_star_schema.STAR_TABLES)
        for name, table in tables.items():
            with self.subTest(table=name):
                self.assertEqual(table.columns, list(expected[name][0]))
                self.assertEqual(canonical(rows_as_json(table)), canonical(expected[name]))
        fact_types = dict(tables["fact_sales"].dtypes)
        self.assertEqual((fact_types["amount"], fact_types["unit_price"], fact_types["product_key"]), ("decimal(14,3)", "decimal(12,3)", "bigint"))


if __name__ == "__main__":
    unittest.main()
