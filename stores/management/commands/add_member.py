"""``manage.py add_member``: give a user a role in a store."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stores.models import Role, Store
from stores.services_admin import membership_grant


class Command(BaseCommand):
    help = (
        "Give USERNAME the role ROLE in the store SLUG (updating an existing role). "
        "A new user gets a generated password, printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("role", help=f"one of: {', '.join(Role.values)}")

    def handle(self, *args: Any, **options: Any) -> None:
        slug, username, role = options["slug"], options["username"], options["role"]
        store = Store.objects.filter(slug=slug).first()
        if store is None:
            raise CommandError(f"No store with slug {slug!r}; create it with create_store first.")
        try:
            grant = membership_grant(store=store, username=username, role=role)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if grant.user_created:
            self.stdout.write(self.style.SUCCESS(f"Created user {username}."))
            self.stdout.write(f"Password (shown once, write it down): {grant.password}")
        if grant.created:
            self.stdout.write(self.style.SUCCESS(f"{username} is now {role} of {store.slug}."))
        elif grant.previous_role:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{username} was {grant.previous_role} of {store.slug}; now {role}."
                )
            )
        else:
            self.stdout.write(f"{username} is already {role} of {store.slug}; nothing changed.")
