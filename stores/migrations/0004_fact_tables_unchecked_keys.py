"""Orders and lines: no row-by-row foreign key checks, lines keyed by (order, line_no).

Loading a million order lines spent 10-20 s at commit in PostgreSQL's deferred
foreign key checks (one per key per row), and wrote two indexes per line (the
surrogate id and the unique (order, line_no)). The loaders take every key from
joins on the store's own rows in the load's transaction, and Django runs the
on_delete rules itself, so the checks bought nothing the code does not keep.

Django cannot migrate a table to a composite primary key by itself: the state
changes are declared and the table is reshaped by hand, per database.
"""

# ruff: noqa: S608 - the only names formatted into SQL are read from the catalogue.
import django.db.models.deletion
from django.db import migrations, models

_SQLITE_LINES = """
CREATE TABLE "stores_orderline__new" (
    "line_no" integer unsigned NOT NULL CHECK ("line_no" >= 0),
    "sku" varchar(100) NOT NULL,
    "title" varchar(500) NOT NULL,
    "quantity" integer NOT NULL,
    "unit_price" decimal NOT NULL,
    "amount" decimal NOT NULL,
    "order_id" bigint NOT NULL,
    PRIMARY KEY ("order_id", "line_no")
)
"""


def rekey_lines(apps, schema_editor):  # type: ignore[no-untyped-def]
    cursor = schema_editor.connection.cursor()
    if schema_editor.connection.vendor == "postgresql":
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'stores_orderline'::regclass "
            "AND contype IN ('f', 'u', 'p')"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE stores_orderline DROP CONSTRAINT "{name}"')
        cursor.execute("ALTER TABLE stores_orderline DROP COLUMN id")
        cursor.execute(
            "ALTER TABLE stores_orderline ADD CONSTRAINT stores_orderline_pkey "
            "PRIMARY KEY (order_id, line_no)"
        )
        return
    # SQLite cannot change a primary key in place: rebuild the table.
    cursor.execute(_SQLITE_LINES)
    cursor.execute(
        'INSERT INTO "stores_orderline__new" (line_no, sku, title, quantity, unit_price, amount, order_id) '
        'SELECT line_no, sku, title, quantity, unit_price, amount, order_id FROM "stores_orderline"'
    )
    cursor.execute('DROP TABLE "stores_orderline"')
    cursor.execute('ALTER TABLE "stores_orderline__new" RENAME TO "stores_orderline"')


class Migration(migrations.Migration):

    dependencies = [
        ("stores", "0003_lean_order_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="customer",
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.RESTRICT, related_name="orders", to="stores.customer"),
        ),
        migrations.AlterField(
            model_name="order",
            name="store",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="orders", to="stores.store"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="orderline",
                    name="orderline_unique_order_line",
                ),
                migrations.RemoveField(
                    model_name="orderline",
                    name="id",
                ),
                migrations.AddField(
                    model_name="orderline",
                    name="pk",
                    field=models.CompositePrimaryKey("order", "line_no", blank=True, editable=False, primary_key=True, serialize=False),
                ),
                migrations.AlterField(
                    model_name="orderline",
                    name="order",
                    field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="lines", to="stores.order"),
                ),
            ],
            database_operations=[migrations.RunPython(rekey_lines, reverse_code=None)],
        ),
    ]
