"""DynamicFrame: a DataFrame with Glue's choice types.

Glue infers a type per record; where records disagree on a field (6 and "6"), the field is a
*choice* that must be resolved before the frame is used. Spark's own JSON reader would instead
widen both to a string and hide the disagreement, so S3 JSON is read here record by record:
each value's kind is inferred (int, long, double, string, boolean, struct, array), kinds merge
field by field, and a field seen with several kinds becomes a choice. Integers that fit 32 bits
are `int`, larger ones `long` (the two merge to `long`); an integer and a fraction disagree.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from pyspark import cloudpickle
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

# The reader's functions run in Spark's Python workers, which have no `awsglue` on their path:
# they travel by value, not as a reference to this module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

# A kind tree: ("null",) | (scalar,) | ("struct", {name: kind}) | ("array", kind) | ("choice", {kind name: kind}).
Kind = tuple
_NULL: Kind = ("null",)
_INT_RANGE = range(-(2**31), 2**31)


def kind_of(value: Any) -> Kind:
    """The Glue kind of one JSON value."""
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return ("boolean",)
    if isinstance(value, int):
        return ("int",) if value in _INT_RANGE else ("long",)
    if isinstance(value, float):
        return ("double",)
    if isinstance(value, str):
        return ("string",)
    if isinstance(value, dict):
        return ("struct", {name: kind_of(field) for name, field in value.items()})
    if isinstance(value, list):
        element = _NULL
        for item in value:
            element = merge_kinds(element, kind_of(item))
        return ("array", element)
    raise TypeError(f"{value!r} is not a JSON value")


def _members(kind: Kind) -> dict[str, Kind]:
    return dict(kind[1]) if kind[0] == "choice" else {kind[0]: kind}


def merge_kinds(a: Kind, b: Kind) -> Kind:
    """The kind of a field seen as `a` in some records and `b` in others."""
    if a == _NULL:
        return b
    if b == _NULL:
        return a
    if {a[0], b[0]} == {"int", "long"}:
        return ("long",)
    if a[0] == b[0] == "struct":
        names = list(a[1]) + [name for name in b[1] if name not in a[1]]
        return ("struct", {name: merge_kinds(a[1].get(name, _NULL), b[1].get(name, _NULL)) for name in names})
    if a[0] == b[0] == "array":
        return ("array", merge_kinds(a[1], b[1]))
    if a[0] == b[0] and a[0] != "choice":
        return a
    members = _members(a)
    for name, member in _members(b).items():
        members[name] = merge_kinds(members[name], member) if name in members else member
    if "int" in members and "long" in members:
        del members["int"]  # an int is a long too: one member holds both
    if len(members) == 1:
        return next(iter(members.values()))
    return ("choice", dict(sorted(members.items())))


_SCALARS: dict[str, DataType] = {
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "string": StringType(),
    "boolean": BooleanType(),
    # A field that is null in every record: Spark's JSON reader types it as a string too.
    "null": StringType(),
}


def spark_type(kind: Kind) -> DataType:
    """The Spark type of a kind; a choice is the struct make_struct makes of it."""
    if kind[0] == "struct":
        return StructType([StructField(name, spark_type(field)) for name, field in kind[1].items()])
    if kind[0] == "array":
        return ArrayType(spark_type(kind[1]))
    if kind[0] == "choice":
        return StructType([StructField(name, spark_type(member)) for name, member in kind[1].items()])
    return _SCALARS[kind[0]]


def has_choice(kind: Kind) -> bool:
    if kind[0] == "choice":
        return True
    if kind[0] == "struct":
        return any(has_choice(field) for field in kind[1].values())
    if kind[0] == "array":
        return has_choice(kind[1])
    return False


def choice_paths(kind: Kind, path: str = "") -> list[str]:
    """Where the choices are, as Glue names paths (`a.b`, `list[].c`)."""
    if kind[0] == "choice":
        return [path]
    if kind[0] == "struct":
        return [found for name, field in kind[1].items() for found in choice_paths(field, f"{path}.{name}" if path else name)]
    if kind[0] == "array":
        return choice_paths(kind[1], f"{path}[]")
    return []


def convert(value: Any, kind: Kind) -> Any:
    """A JSON value as a Python value of `spark_type(kind)`."""
    if value is None:
        return None
    if kind[0] == "struct":
        return tuple(convert(value.get(name), field) for name, field in kind[1].items())
    if kind[0] == "array":
        return [convert(item, kind[1]) for item in value]
    if kind[0] == "choice":
        own = kind_of(value)[0]
        if own == "int" and "int" not in kind[1]:
            own = "long"
        return tuple(convert(value, member) if name == own else None for name, member in kind[1].items())
    if kind[0] == "double":
        return float(value)
    return value


class DynamicFrame:
    """A DataFrame and the kinds of its fields (None: built from a DataFrame, no choice); or, after
    map(), self-describing records (dicts) that may each have fields of their own."""

    def __init__(self, frame: DataFrame | None, glue_ctx: Any, name: str = "", kind: Kind | None = None, records: Any = None) -> None:
        self._frame = frame
        self.glue_ctx = glue_ctx
        self.name = name
        self._kind = kind
        self._records = records

    def records(self) -> Any:
        """The frame's records as an RDD of dicts: a DataFrame row holds every column, null or not;
        a record map() made holds the fields its function left."""
        if self._records is not None:
            return self._records
        return self.toDF().rdd.map(lambda row: row.asDict(recursive=True))

    def map(self, f: Any, preservesPartitioning: bool = False, transformation_ctx: str = "", **_options: Any) -> DynamicFrame:  # noqa: N803 (Glue's name)
        """A new frame of f(record) for every record (a dict the function may change and return), as
        DynamicFrame.map does: https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-dynamic-frame.html"""
        return DynamicFrame(None, self.glue_ctx, transformation_ctx or self.name, None, self.records().map(lambda record: f(dict(record))))

    @classmethod
    def fromDF(cls, dataframe: DataFrame, glue_ctx: Any, name: str) -> DynamicFrame:  # noqa: N802 (Glue's name)
        return cls(dataframe, glue_ctx, name)

    def toDF(self) -> DataFrame:  # noqa: N802 (Glue's name)
        if self._frame is None:
            # Records of their own shape: one schema for all, as Glue's toDF gives.
            kind = self._records.map(kind_of).fold(("struct", {}), merge_kinds)
            self._frame = self.glue_ctx.spark_session.createDataFrame(self._records.map(lambda record: convert(record, kind)), spark_type(kind))
            self._kind = kind
        if self._kind is not None and has_choice(self._kind):
            raise ValueError(
                f"DynamicFrame {self.name!r} has unresolved choice types at {', '.join(choice_paths(self._kind))}: "
                "resolve them (resolveChoice) before converting to a DataFrame"
            )
        return self._frame

    def resolveChoice(self, specs: list[tuple[str, str]] | None = None, choice: str = "", **_options: Any) -> DynamicFrame:  # noqa: N802
        """Only `choice="make_struct"` (the frame already holds each choice as that struct)."""
        if specs is not None or choice != "make_struct":
            raise NotImplementedError("the local stand-in implements resolveChoice(choice='make_struct') only")
        return DynamicFrame(self._frame, self.glue_ctx, self.name, None, self._records)

    def count(self) -> int:
        return self.records().count() if self._frame is None else self._frame.count()

    def schema_paths_with_choices(self) -> list[str]:
        return choice_paths(self._kind) if self._kind is not None else []


def read_json_records(spark: SparkSession, paths: Iterable[str], recurse: bool, name: str, glue_ctx: Any, transform: Callable[[Any], Any] | None = None) -> DynamicFrame:
    """JSON-lines objects under `paths` (gzip by suffix) as a DynamicFrame with choice types; each
    parsed line goes through `transform` first when one is given (it runs in Spark's workers, so it
    must travel by value: a function of a module registered with cloudpickle.register_pickle_by_value)."""
    lines = spark.read.option("recursiveFileLookup", str(bool(recurse)).lower()).text(list(paths)).rdd.map(lambda row: row.value)
    records = lines.filter(lambda line: line.strip() != "").map(json.loads)
    if transform is not None:
        records = records.map(transform)
    records = records.cache()
    kind = records.map(kind_of).fold(("struct", {}), merge_kinds) if not records.isEmpty() else ("struct", {})
    if kind[0] != "struct":
        raise ValueError(f"{name}: a JSON record is not an object")
    frame = spark.createDataFrame(records.map(lambda record: convert(record, kind)), spark_type(kind))
    return DynamicFrame(frame, glue_ctx, name, kind)
