"""On PostgreSQL, an order's ``updated_at`` defaults to the writing
transaction's start, so a first import's COPY leaves the column out instead
of sending the same time with each of its orders, for the server to parse
again each time (5-10% of that COPY). Django's own writes still set it
(``auto_now``); SQLite is left as it is.
"""

from django.db import migrations


def set_default(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE stores_order ALTER COLUMN updated_at SET DEFAULT now()")


def drop_default(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE stores_order ALTER COLUMN updated_at DROP DEFAULT")


class Migration(migrations.Migration):
    dependencies = [("stores", "0010_upload_language")]

    operations = [migrations.RunPython(set_default, drop_default)]
