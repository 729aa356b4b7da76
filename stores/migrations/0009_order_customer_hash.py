"""On PostgreSQL, orders are found by customer through a hash index on
``customer_id``, and the (store, placed_at) index does not deduplicate.

Orders arrive in the order they were placed, so a load appends to the
primary key, the (store, placed_at) index and, mostly, the external-id key;
the customer index is the one written all over. As a B-tree on (store,
customer, placed_at) it cost a load of 533k orders 2.7 s of CPU, more than
the heap and the primary key together; a hash index on the customer costs
1.1 s (measured on an empty copy of the table). Every query by customer asks
for equality (one customer's orders, the customers a load touched, a part of
the customers for the rollups), which is what a hash index answers; none
needs the customer's orders in time order from the index (a customer has a
handful; they are sorted after). Customer ids are unique across stores, so
the store adds nothing to the key. Guest orders (no customer) are not
indexed at all.

Deduplication merges equal keys in a B-tree page before it splits; order
times rarely repeat, so on (store, placed_at) it only cost each full page a
failed attempt: 0.3 s per 533k orders.

Django still sees both indexes as declared on the model, under the same
names; SQLite keeps them as B-trees.
"""

from django.db import migrations


def to_hash(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX order_store_cust_idx")
        schema_editor.execute(
            "CREATE INDEX order_store_cust_idx ON stores_order USING hash (customer_id)"
        )
        schema_editor.execute("DROP INDEX order_store_placed_idx")
        schema_editor.execute(
            "CREATE INDEX order_store_placed_idx ON stores_order (store_id, placed_at) "
            "WITH (deduplicate_items = off)"
        )


def to_btree(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX order_store_cust_idx")
        schema_editor.execute(
            "CREATE INDEX order_store_cust_idx ON stores_order (store_id, customer_id, placed_at)"
        )
        schema_editor.execute("DROP INDEX order_store_placed_idx")
        schema_editor.execute(
            "CREATE INDEX order_store_placed_idx ON stores_order (store_id, placed_at)"
        )


class Migration(migrations.Migration):

    dependencies = [
        ("stores", "0008_orderline_brin"),
    ]

    operations = [migrations.RunPython(to_hash, to_btree)]
