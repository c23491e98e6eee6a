"""sales_star_schema: the sales star schema (fact_sales and the date, product, customer and country
dimensions) rebuilt from the curated orders table, each table under
s3://LAKE_BUCKET/WAREHOUSE_PREFIX<table>/, overwritten by every run whose curated orders changed
since the last build. The build state (STATE_PREFIX built.json, dynalake_glue
render_build_state) fingerprints the curated Parquet files by key, size and modification time:
Spark names every file it writes anew, so a rewritten partition is a new key. When the
fingerprint is the last build's and every table is in place, the run reads and writes nothing.

Surrogate keys come from the dynalake_glue key functions (hashes of the natural keys), so a
rebuild gives every product, customer and country the key it had before, with no key table.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, IntegerType, LongType

from dynalake_glue import (
    AMOUNT_PRECISION,
    CURATED_ORDERS_DDL,
    UNKNOWN_KEY,
    build_state_key,
    country_key,
    customer_key,
    date_key,
    delete_object,
    list_objects,
    listing_fingerprint,
    parse_build_state,
    path_exists,
    product_key,
    publish_job_metrics,
    read_text_object,
    render_build_state,
    s3_path,
    start_glue_job,
    write_text_object,
)

JOB = "sales_star_schema"
ARGUMENTS = ["JOB_NAME", "LAKE_BUCKET", "CURATED_PREFIX", "WAREHOUSE_PREFIX", "STATE_PREFIX", "METRICS_NAMESPACE"]
STAR_TABLES = ("fact_sales", "dim_date", "dim_product", "dim_customer", "dim_country")

_date_key = F.udf(date_key, IntegerType())
_product_key = F.udf(product_key, LongType())
_customer_key = F.udf(customer_key, LongType())
_country_key = F.udf(country_key, LongType())


def _most_frequent(rows: DataFrame, group: str, value: str, alias: str) -> DataFrame:
    """Per `group`, its most frequent non-null `value` over order lines; a tie goes to the value
    that sorts first, so reruns agree."""
    counts = rows.where(F.col(value).isNotNull()).groupBy(group, value).count()
    best_first = Window.partitionBy(group).orderBy(F.col("count").desc(), F.col(value).asc())
    return counts.withColumn("_rank", F.row_number().over(best_first)).where(F.col("_rank") == 1).select(group, F.col(value).alias(alias))


def _fact_sales(orders: DataFrame) -> DataFrame:
    amount = DecimalType(*AMOUNT_PRECISION)
    return orders.select(
        "invoice_no",
        "line_no",
        _date_key("invoice_day").alias("date_key"),
        _product_key("stock_code").alias("product_key"),
        _customer_key("customer_id").alias("customer_key"),
        _country_key("country").alias("country_key"),
        "quantity",
        "unit_price",
        # Decimal × decimal is exact in Spark (DECIMAL(10,0) × DECIMAL(12,3) → DECIMAL(23,3)).
        (F.col("quantity").cast(DecimalType(10, 0)) * F.col("unit_price")).cast(amount).alias("amount"),
        "is_cancellation",
    )


def _dim_date(orders: DataFrame) -> DataFrame:
    # Every day from the first sale to the last, days without sales included, as reports expect.
    days = orders.agg(F.min("invoice_day").alias("first"), F.max("invoice_day").alias("last")).select(
        F.explode(F.sequence(F.to_date("first"), F.to_date("last"))).alias("date")
    )
    # ISO day of week, Monday 1 … Sunday 7 (Spark's dayofweek counts from Sunday 1).
    day_of_week = (F.dayofweek("date") + 5) % 7 + 1
    return days.select(
        _date_key(F.date_format("date", "yyyy-MM-dd")).alias("date_key"),
        "date",
        F.year("date").alias("year"),
        F.quarter("date").alias("quarter"),
        F.month("date").alias("month"),
        F.dayofmonth("date").alias("day"),
        day_of_week.alias("day_of_week"),
        (day_of_week >= 6).alias("is_weekend"),
    )


def _dim_product(orders: DataFrame) -> DataFrame:
    products = orders.select("stock_code").distinct()
    return products.join(_most_frequent(orders, "stock_code", "description", "description"), "stock_code", "left").select(
        _product_key("stock_code").alias("product_key"), "stock_code", "description"
    )


def _unknown(orders: DataFrame, key: str, **attributes: str) -> DataFrame:
    """A dimension's one "unknown" row: key 0 and null attributes of the given types."""
    return orders.sparkSession.range(1).select(
        F.lit(UNKNOWN_KEY).cast("bigint").alias(key), *(F.lit(None).cast(dtype).alias(name) for name, dtype in attributes.items())
    )


def _dim_customer(orders: DataFrame) -> DataFrame:
    customers = orders.where(F.col("customer_id").isNotNull()).select("customer_id").distinct()
    known = customers.join(_most_frequent(orders, "customer_id", "country", "country"), "customer_id", "left").select(
        _customer_key("customer_id").alias("customer_key"), "customer_id", "country"
    )
    # Key 0 stands for the rows without a CustomerID; it exists even when every row has one.
    return known.unionByName(_unknown(orders, "customer_key", customer_id="bigint", country="string"))


def _dim_country(orders: DataFrame) -> DataFrame:
    countries = orders.where(F.col("country").isNotNull()).select("country").distinct()
    known = countries.select(_country_key("country").alias("country_key"), "country")
    # Key 0 stands for items without a Country, like the unknown customer.
    return known.unionByName(_unknown(orders, "country_key", country="string"))


def build_star(orders: DataFrame) -> dict[str, DataFrame]:
    """The star schema's tables by name, from curated orders (CURATED_ORDERS_DDL)."""
    return {
        "fact_sales": _fact_sales(orders),
        "dim_date": _dim_date(orders),
        "dim_product": _dim_product(orders),
        "dim_customer": _dim_customer(orders),
        "dim_country": _dim_country(orders),
    }


def main() -> None:
    started = time.monotonic()
    args, glue_context, spark, job = start_glue_job(sys.argv, ARGUMENTS)
    lake = args["LAKE_BUCKET"]
    curated = s3_path(lake, args["CURATED_PREFIX"])
    warehouse = s3_path(lake, args["WAREHOUSE_PREFIX"])
    listed = list_objects(spark, lake, args["CURATED_PREFIX"], ".parquet")
    fingerprint = listing_fingerprint((key, str(size), str(modified)) for key, size, modified in listed)
    state = build_state_key(args["STATE_PREFIX"])
    last_text = read_text_object(spark, lake, state)
    last_build = None if last_text is None else parse_build_state(last_text, f"s3://{lake}/{state}")
    if last_build is not None and (last_build["source"], last_build["fingerprint"]) == (curated, fingerprint):
        if all(path_exists(spark, f"{warehouse}{name}/") for name in STAR_TABLES):
            print(f"curated orders unchanged since the last build ({len(listed)} file{'' if len(listed) == 1 else 's'}): nothing to do")
            job.commit()
            publish_job_metrics(args["METRICS_NAMESPACE"], JOB, JOB, {"RowsRead": 0, "RowsWritten": 0, "RunDurationSeconds": round(time.monotonic() - started, 3)})
            return
    # Gone while the tables are rewritten: a run that fails half-way leaves no state, and the next one rebuilds.
    if last_build is not None:
        delete_object(spark, lake, state)
    # A fresh stage has no curated order yet: the star is then empty (the unknown customer and
    # country aside) rather than a failed run that alerts every hour and never reaches the crawler.
    if path_exists(spark, curated):
        orders = spark.read.schema(CURATED_ORDERS_DDL).parquet(curated).cache()
    else:
        print(f"no curated orders under {curated}: the star schema is empty")
        orders = spark.createDataFrame([], CURATED_ORDERS_DDL)
    written = 0
    for name, table in build_star(orders).items():
        # Dimensions are small: one file each. The fact keeps Spark's partitioning.
        rows = (table if name == "fact_sales" else table.coalesce(1)).persist()
        rows.write.mode("overwrite").parquet(f"{warehouse}{name}/")
        written += rows.count()
        rows.unpersist()
    # Last, once every table is in place.
    write_text_object(spark, lake, state, render_build_state(curated, len(listed), fingerprint, datetime.now(timezone.utc).isoformat(timespec="milliseconds")))
    job.commit()
    # After the commit. A rebuild of the whole star: every curated order read, every table's rows written.
    publish_job_metrics(args["METRICS_NAMESPACE"], JOB, JOB, {"RowsRead": orders.count(), "RowsWritten": written, "RunDurationSeconds": round(time.monotonic() - started, 3)})


if __name__ == "__main__":
    main()
