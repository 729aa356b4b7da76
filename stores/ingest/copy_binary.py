"""Rows in PostgreSQL's binary COPY format, built with arrow.

A first import's orders carry two times, two amounts and four keys each: as
text, the server tokenises the line and parses every one of them
(``timestamptz_in`` alone is a tenth of that COPY); in the binary format it
only copies them. Measured on 533k orders with their four indexes: 3.4-3.8 s
of server time as CSV, 2.8-3.4 s binary. Each field is made for all rows at
once (a length, then the value, big-endian) and arrow joins a row's fields
into one buffer: no Python per row.

Types: ``int8``, ``int4``, ``bool``, ``text``, ``timestamptz`` (arrow
timestamps), and ``numeric`` from arrow decimals of scale 2 (money, in
cents), each nullable.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # no flags, no extension
TRAILER = b"\xff\xff"
NULL = pa.scalar(b"\xff\xff\xff\xff", pa.binary())  # a field's length of -1
# Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
_PG_EPOCH_US = 946_684_800_000_000
# numeric(16, 2) and below: four base-10000 digits before the point (up to
# 10^16) and one after it, always; PostgreSQL strips the zeros it does not need.
_NUMERIC_DIGITS = 5


def _fixed(values: np.ndarray) -> pa.Array:
    """Each value as a field: its length, then its big-endian bytes."""
    width = values.dtype.itemsize
    fields = np.empty(len(values), dtype=[("length", ">i4"), ("value", values.dtype.newbyteorder(">"))])
    fields["length"] = width
    fields["value"] = values
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4 + width), len(values), [None, pa.py_buffer(fields.tobytes())]
    ).cast(pa.binary())


def _nullable(column: pa.Array, fields: pa.Array) -> pa.Array:
    return pc.if_else(column.is_valid(), fields, NULL) if column.null_count else fields


def _numeric(column: pa.Array) -> pa.Array:
    """Decimals of scale 2 as numeric fields (ndigits, weight, sign, dscale, digits)."""
    if not pa.types.is_decimal(column.type) or column.type.scale != 2:
        raise TypeError(f"numeric fields are made from decimals of scale 2, not {column.type}")
    cents = pc.multiply(column, pa.scalar(Decimal(100))).cast(pa.int64())
    value = np.asarray(pc.fill_null(cents, 0)).astype(np.int64)
    magnitude = np.abs(value)
    whole, fraction = magnitude // 100, magnitude % 100
    n = len(value)
    fields = np.empty(
        n,
        dtype=[("length", ">i4"), ("ndigits", ">i2"), ("weight", ">i2"), ("sign", ">u2"), ("dscale", ">i2"),
               ("digits", ">i2", (_NUMERIC_DIGITS,))],
    )
    fields["length"] = 8 + 2 * _NUMERIC_DIGITS
    fields["ndigits"] = _NUMERIC_DIGITS
    fields["weight"] = _NUMERIC_DIGITS - 2
    fields["sign"] = np.where(value < 0, 0x4000, 0)
    fields["dscale"] = 2
    for i in range(_NUMERIC_DIGITS - 1):  # base-10000 digits of the whole part, highest first
        fields["digits"][:, i] = (whole // 10_000 ** (_NUMERIC_DIGITS - 2 - i)) % 10_000
    fields["digits"][:, -1] = fraction * 100
    if n and int(whole.max()) >= 10_000 ** (_NUMERIC_DIGITS - 1):
        raise ValueError("an amount too large for numeric(16, 2): 10^16 or more")
    encoded = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4 + 8 + 2 * _NUMERIC_DIGITS), n, [None, pa.py_buffer(fields.tobytes())]
    ).cast(pa.binary())
    return _nullable(column, encoded)


def _text(column: pa.Array) -> pa.Array:
    data = column.cast(pa.binary())
    lengths = np.asarray(pc.fill_null(pc.binary_length(data), 0)).astype(">i4")
    prefix = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4), len(lengths), [None, pa.py_buffer(lengths.tobytes())]
    ).cast(pa.binary())
    return _nullable(column, pc.binary_join_element_wise(prefix, pc.fill_null(data, b""), b""))


def _field(column: pa.Array, pg_type: str) -> pa.Array:
    if pg_type == "text":
        return _text(column)
    if pg_type == "numeric":
        return _numeric(column)
    if pg_type == "timestamptz":
        micros = pc.cast(column, pa.timestamp("us", tz="UTC")).cast(pa.int64())
        values = np.asarray(pc.fill_null(micros, _PG_EPOCH_US)).astype(np.int64) - _PG_EPOCH_US
        return _nullable(column, _fixed(values))
    dtype = {"int8": np.int64, "int4": np.int32, "bool": np.bool_}[pg_type]
    values = np.asarray(pc.fill_null(column, False if pg_type == "bool" else 0))
    if pg_type == "int4" and len(values) and (values.min() < -(2**31) or values.max() >= 2**31):
        raise ValueError("a value out of range for type integer")  # as the server says of text
    return _nullable(column, _fixed(values.astype(dtype)))


def binary_rows(table: pa.Table, pg_types: Sequence[str]) -> bytes:
    """``table``'s rows as a whole binary COPY stream, its columns as ``pg_types``."""
    if table.num_columns != len(pg_types):
        raise ValueError("one type per column")
    n = table.num_rows
    count = np.full(n, table.num_columns, dtype=">i2")
    parts = [pa.FixedSizeBinaryArray.from_buffers(pa.binary(2), n, [None, pa.py_buffer(count.tobytes())]).cast(pa.binary())]
    parts += [_field(table.column(i).combine_chunks(), pg_type) for i, pg_type in enumerate(pg_types)]
    rows = pc.binary_join_element_wise(*parts, b"") if n else pa.array([], pa.binary())
    body = rows.buffers()[2] if n else None
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset : rows.offset + n + 1] if n else None
    data = b"" if body is None or offsets is None else body.to_pybytes()[offsets[0] : offsets[-1]]
    return SIGNATURE + data + TRAILER


__all__ = ["binary_rows"]
