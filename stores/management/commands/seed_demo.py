"""``manage.py seed_demo``: five demo tea stores with 18 months of data, and demo logins."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from config.celery_app import app as celery_app
from stores.demo import DEMO_STORES, DemoLogin, demo_seed, demo_stores_exist, demo_users_ensure


def _end_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--end {value!r} is not a date like 2025-06-30") from exc


class Command(BaseCommand):
    help = (
        "Create five demo tea stores with 18 months of orders and traffic ending on --end "
        "(default yesterday), and the demo logins. Same --seed and --end, same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
        parser.add_argument(
            "--end", type=str, default=None, help="last day of data, YYYY-MM-DD (default yesterday)"
        )
        parser.add_argument(
            "--scale", type=float, default=1.0, help="size factor; 1 is about 180,000 orders"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the demo stores already exist (still print the logins)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scale: float = options["scale"]
        if not 0 < scale <= 10:
            raise CommandError("--scale must be greater than 0 and at most 10")
        end = (
            _end_date(options["end"])
            if options["end"]
            else timezone.localdate() - timedelta(days=1)
        )
        if options["if_empty"] and demo_stores_exist():
            self.stdout.write("Demo stores already exist; leaving them as they are.")
        else:
            started = time.perf_counter()
            self.stdout.write(
                f"Seeding {len(DEMO_STORES)} demo stores (seed {options['seed']}, "
                f"data up to {end:%Y-%m-%d}, scale {scale:g}); existing demo data is replaced."
            )
            seeded = demo_seed(
                seed=options["seed"],
                end=end,
                scale=scale,
                log=lambda line: self.stdout.write(f"  {line}"),
            )
            # Build each store's first pages now (the task is kpitree's, named to keep
            # stores free of imports from it), so the demo's first clicks are quick.
            for result in seeded:
                celery_app.tasks["kpitree.store_pages_warm"].delay(result.store.pk)
            total = sum(result.orders for result in seeded)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Done: {total:,} orders in {time.perf_counter() - started:.1f} s."
                )
            )
        self._print_logins(demo_users_ensure())

    def _print_logins(self, logins: list[DemoLogin]) -> None:
        rows = [("username", "password", "role", "stores")] + [
            (login.username, login.password, login.role, ", ".join(login.stores))
            for login in logins
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("")
        self.stdout.write("Demo logins:")
        for n, row in enumerate(rows):
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            self.stdout.write(f"  {line}  {row[3]}")
            if n == 0:
                self.stdout.write(
                    "  " + "  ".join("-" * width for width in widths) + "  " + "-" * 6
                )
