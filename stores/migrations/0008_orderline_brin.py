"""Order lines are found by a BRIN index on their order, not a B-tree key.

Lines are only ever written by the loaders, in the order of their order's
id (ids are drawn as orders are placed), and read by order: a block-range
index summarises each 32 pages by the lowest and highest order id in them,
costs next to nothing to keep, and finds an order's lines in the one or two
ranges that hold them. The (order, line_no) primary key cost a load of a
million lines 1.8 s of its 2.8 s write. The loaders number each order's
lines 1..n (tests/stores/ingest/test_integrity.py checks no pair repeats),
as they keep the orders' and customers' keys.

Django still sees (order, line_no) as the model's key; SQLite keeps it as a
real primary key.
"""

from django.db import migrations


def to_brin(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE stores_orderline DROP CONSTRAINT stores_orderline_pkey")
        schema_editor.execute(
            "CREATE INDEX orderline_order_brin ON stores_orderline USING brin (order_id) "
            "WITH (pages_per_range = 32, autosummarize = on)"
        )


def to_btree(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX orderline_order_brin")
        schema_editor.execute(
            "ALTER TABLE stores_orderline ADD CONSTRAINT stores_orderline_pkey "
            "PRIMARY KEY (order_id, line_no)"
        )


class Migration(migrations.Migration):

    dependencies = [
        ("stores", "0007_customer_store_unchecked"),
    ]

    operations = [migrations.RunPython(to_brin, to_btree)]
