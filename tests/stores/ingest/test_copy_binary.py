"""Rows made for binary COPY read back from PostgreSQL as they were."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from django.db import connection

from stores.ingest.copy_binary import binary_rows
from stores.ingest.stage_postgres import WholeData

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TYPES = ["int8", "int4", "text", "timestamptz", "numeric", "bool"]


def test_every_type_reads_back_as_written_nulls_included():
    moments = [datetime(2025, 10, 7, 9, 50, 26, 123456, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), None,
               datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC)]
    amounts = [Decimal("0.00"), Decimal("12.50"), None, Decimal("99999999999999.99")]
    table = pa.table({
        "id": pa.array([1, -2, None, 2**62], pa.int64()),
        "items": pa.array([0, 7, 2**31 - 1, None], pa.int64()),
        "name": pa.array(["", "订单 #1001", None, "a,b\n\"c\""], pa.large_string()),
        "at": pa.array(moments, pa.timestamp("us", tz="UTC")),
        "amount": pa.array(amounts, pa.decimal128(21, 2)),
        "flag": pa.array([True, False, None, True]),
    })
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE binary_rows_test (id int8, items int4, name text, at timestamptz, "
            "amount numeric(16, 2), flag bool)"
        )
        cursor.cursor.copy_expert("COPY binary_rows_test FROM STDIN WITH (FORMAT binary)",
                                  WholeData(binary_rows(table, TYPES)))
        cursor.execute("SELECT id, items, name, at, amount, flag FROM binary_rows_test ORDER BY items NULLS LAST, id")
        back = cursor.fetchall()
    expected = sorted(zip(*(table.column(i).to_pylist() for i in range(6)), strict=True),
                      key=lambda row: (row[1] is None, row[1] if row[1] is not None else 0, row[0]))
    assert back == expected
    # Scale 2 kept, as numeric(16, 2) shows it.
    assert [str(row[4]) for row in back if row[4] is not None] == ["0.00", "12.50", "99999999999999.99"]


def test_negative_amounts_and_an_empty_table():
    table = pa.table({"amount": pa.array([Decimal("-0.01"), Decimal("-1234.56")], pa.decimal128(21, 2))})
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE binary_money (amount numeric(16, 2))")
        cursor.cursor.copy_expert("COPY binary_money FROM STDIN WITH (FORMAT binary)",
                                  WholeData(binary_rows(table, ["numeric"])))
        cursor.cursor.copy_expert("COPY binary_money FROM STDIN WITH (FORMAT binary)",
                                  WholeData(binary_rows(table.slice(0, 0), ["numeric"])))
        cursor.execute("SELECT amount FROM binary_money ORDER BY amount")
        assert [row[0] for row in cursor.fetchall()] == [Decimal("-1234.56"), Decimal("-0.01")]


def test_an_amount_beyond_what_five_digits_hold_is_refused_before_the_server_sees_it():
    table = pa.table({"amount": pa.array([Decimal("10000000000000000.00")], pa.decimal128(21, 2))})
    with pytest.raises(ValueError, match="too large"):
        binary_rows(table, ["numeric"])


def test_a_count_beyond_an_integer_is_refused_not_wrapped():
    table = pa.table({"items": pa.array([2**31], pa.int64())})
    with pytest.raises(ValueError, match="out of range"):
        binary_rows(table, ["int4"])
