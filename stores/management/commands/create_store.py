"""``manage.py create_store``: create a store (or bring it to the given values)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stores.models import Platform
from stores.services_admin import store_create, store_update


class Command(BaseCommand):
    help = (
        "Create a store with its four departments. Safe to run again: the same values "
        "change nothing, different values update the store."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="short name used in URLs, e.g. west-lake-tea")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--platform", required=True, help=f"one of: {', '.join(Platform.values)}"
        )
        parser.add_argument("--currency", required=True, help="ISO 4217 code, e.g. CNY")
        parser.add_argument("--timezone", required=True, help="IANA time zone, e.g. Asia/Shanghai")
        parser.add_argument("--category", default="", help="e.g. tea")

    def handle(self, *args: Any, **options: Any) -> None:
        values = {
            field: options[field]
            for field in ("name", "platform", "currency", "timezone", "category")
        }
        try:
            store, created = store_create(slug=options["slug"], **values)
            changes = {} if created else store_update(store=store, **values)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created store {store.slug} ({store.name})."))
        elif changes:
            self.stdout.write(self.style.SUCCESS(f"Updated store {store.slug}:"))
            for field, (old, new) in changes.items():
                self.stdout.write(f"  {field}: {old!r} -> {new!r}")
        else:
            self.stdout.write(
                f"Store {store.slug} already exists with these values; nothing changed."
            )
